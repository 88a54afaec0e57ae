//! Entra's and Graph's answers are untrusted input. This module holds the rules every answer
//! passes before anything of it is kept: bodies read with a cap (an answer over it is
//! `502 upstream-bad-response`, read no further), redirects refused rather than followed, error
//! codes and ids vetted before they reach a log line or a problem, and token lifetimes clamped.

use std::time::Duration;

use reqwest::{Response, StatusCode};

use super::{GraphError, Upstream, UpstreamIds};

/// How much of an answer is read before it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cap {
    pub bytes: usize,
    /// The problem's reason when an answer is over the cap.
    pub reason: &'static str,
}

/// A key, a token, a discovery document, an error body, the package: a few hundred bytes each.
pub(crate) const SMALL: Cap = Cap {
    bytes: 64 * 1024,
    reason: "the answer is larger than the 64 KiB a key, token, package or discovery document needs; not read further",
};

/// One page of the sensor list (Graph pages at 100 sensors or so, a few hundred bytes each).
pub(crate) const SENSOR_PAGE: Cap = Cap {
    bytes: 4 * 1024 * 1024,
    reason: "a page of the sensor list is larger than 4 MiB; not read further",
};

/// Every page of the sensor list together: some 20,000 sensors, well inside the function's memory.
pub(crate) const SENSOR_LIST: Cap = Cap {
    bytes: 32 * 1024 * 1024,
    reason: "the sensor list is larger than 32 MiB in all; not read further",
};

/// The longest a token is trusted for, whatever `expires_in` says: Entra's access tokens live
/// 60 to 90 minutes, and a configurable token lifetime policy allows at most a day.
pub(crate) const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Why a body could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Over the cap (declared by `Content-Length`, or counted while reading).
    TooLarge,
    /// The connection failed or timed out while the body was read.
    Failed,
}

/// Reads `response`'s body, refusing it as soon as it is known to be over `cap`: before reading
/// when `Content-Length` says so, else while counting chunks. Nothing over the cap is buffered.
pub(crate) async fn read_capped(mut response: Response, cap: Cap) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|declared| declared > cap.bytes as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| BodyError::Failed)? {
        if body.len() + chunk.len() > cap.bytes {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The error for a body that could not be had: over the cap, or cut off.
pub(crate) fn body_error(error: BodyError, cap: Cap, upstream: Upstream, ids: UpstreamIds) -> GraphError {
    match error {
        BodyError::TooLarge => {
            tracing::warn!(
                upstream = upstream.slug(),
                cap_bytes = cap.bytes,
                "upstream answer over its size cap; refused"
            );
            GraphError::BadResponse {
                upstream,
                reason: cap.reason,
                ids,
            }
        }
        BodyError::Failed => GraphError::Timeout { upstream, ids },
    }
}

/// No client here follows redirects (`redirect::Policy::none()`): following a 307 or 308 sends
/// the same method and body again (RFC 9110 sections 15.4.8 and 15.4.9), so the client secret, the
/// assertion or the bearer token would go to whatever host `Location` names. A redirect is an
/// answer that could not be used.
pub(crate) fn refuse_redirect(status: StatusCode, upstream: Upstream, ids: UpstreamIds) -> Option<GraphError> {
    status.is_redirection().then(|| {
        tracing::warn!(
            upstream = upstream.slug(),
            status = status.as_u16(),
            "upstream answered with a redirect; not followed"
        );
        GraphError::BadResponse {
            upstream,
            reason: "it answered with a redirect, which is never followed (it would send the request, credentials included, elsewhere)",
            ids,
        }
    })
}

/// An error code, only when it looks like one: codes are echoed to callers, messages never.
pub(crate) fn vetted_code(code: &str) -> String {
    let plausible = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if plausible {
        code.to_owned()
    } else {
        "unknown".to_owned()
    }
}

/// A request, trace or correlation id, only when it looks like one (a GUID or similar): ids are
/// echoed to callers and logged.
pub(crate) fn vetted_id(id: Option<String>) -> Option<String> {
    id.filter(|id| !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// A token's lifetime from `expires_in` seconds, at most [`MAX_TOKEN_LIFETIME`].
pub(crate) fn clamp_lifetime(seconds: u64) -> Duration {
    Duration::from_secs(seconds).min(MAX_TOKEN_LIFETIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_lifetime_is_clamped_to_a_day() {
        assert_eq!(clamp_lifetime(u64::MAX), MAX_TOKEN_LIFETIME);
        assert_eq!(clamp_lifetime(3599), Duration::from_secs(3599));
    }

    #[test]
    fn codes_and_ids_that_do_not_look_like_codes_and_ids_are_not_kept() {
        assert_eq!(vetted_code("invalid_client"), "invalid_client");
        assert_eq!(vetted_code("<script>"), "unknown");
        assert_eq!(vetted_code(&"a".repeat(65)), "unknown");
        let guid = "7f3a9c1e-0000-4000-8000-000000000000".to_owned();
        assert_eq!(vetted_id(Some(guid.clone())), Some(guid));
        assert_eq!(vetted_id(Some("secret value with spaces".into())), None);
        assert_eq!(vetted_id(Some("x".repeat(65))), None);
    }

    #[test]
    fn only_redirect_statuses_are_refused_as_redirects() {
        for status in [301, 302, 303, 307, 308] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(refuse_redirect(status, Upstream::Graph, UpstreamIds::default()).is_some());
        }
        assert!(refuse_redirect(StatusCode::OK, Upstream::Graph, UpstreamIds::default()).is_none());
    }
}
