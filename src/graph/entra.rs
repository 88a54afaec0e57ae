//! The Entra ID client-credentials token request, and the token it yields.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;

use super::retry::{NoAnswer, Replay, RetryPolicy};
use super::{EntraRefusal, GraphError, Unavailable, Upstream, UpstreamIds};
use crate::credentials::GraphCredentials;
use crate::deadline::Deadline;

/// A bearer token for Graph. `Debug` redacts it.
#[derive(Clone, Debug)]
pub struct AccessToken {
    value: SecretString,
    expires_at: Instant,
}

/// Assumed when Entra omits `expires_in`: short, so such a token is soon replaced.
const LIFETIME_WHEN_UNSTATED: Duration = Duration::from_secs(600);

impl AccessToken {
    pub fn new(value: SecretString, lifetime: Duration) -> Self {
        AccessToken {
            value,
            expires_at: Instant::now() + lifetime,
        }
    }

    pub(crate) fn secret(&self) -> &str {
        self.value.expose_secret()
    }

    /// Whether the token has `margin` or less of its life left.
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at.saturating_duration_since(Instant::now()) <= margin
    }

    pub(crate) fn same_as(&self, other: &AccessToken) -> bool {
        self.value.expose_secret() == other.value.expose_secret()
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<SecretString>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct EntraErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_codes: Vec<u32>,
    correlation_id: Option<String>,
    trace_id: Option<String>,
}

pub(crate) async fn request_token(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    token_url: &str,
    scope: &str,
    credentials: &GraphCredentials,
    deadline: Deadline,
) -> Result<AccessToken, GraphError> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", credentials.client_id.as_str()),
        ("client_secret", credentials.client_secret.expose_secret()),
        ("scope", scope),
    ];
    let started = Instant::now();
    let response = policy
        .send(Upstream::Entra, Replay::Safe, deadline, || {
            http.post(token_url).header("Accept", "application/json").form(&form)
        })
        .await
        .map_err(|failure| no_answer(failure, UpstreamIds::default()))?;
    let status = response.status().as_u16();
    let header_request_id = response
        .headers()
        .get("x-ms-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = super::retry::retry_after(response.headers(), std::time::SystemTime::now());
    let body = response.bytes().await.map_err(|_| GraphError::Timeout {
        upstream: Upstream::Entra,
        ids: UpstreamIds {
            request_id: header_request_id.clone(),
            ..Default::default()
        },
    })?;
    tracing::info!(
        upstream = "entra",
        status,
        entra_request_id = header_request_id.as_deref().unwrap_or(""),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "token request answered"
    );

    if status == 200 {
        let ids = UpstreamIds {
            request_id: header_request_id,
            ..Default::default()
        };
        let parsed: TokenBody = serde_json::from_slice(&body).map_err(|_| GraphError::BadResponse {
            upstream: Upstream::Entra,
            reason: "token response is not JSON",
            ids: ids.clone(),
        })?;
        let value = parsed
            .access_token
            .filter(|token| !token.expose_secret().is_empty())
            .ok_or(GraphError::BadResponse {
                upstream: Upstream::Entra,
                reason: "token response has no access_token",
                ids,
            })?;
        let lifetime = match parsed.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64().map(Duration::from_secs),
            // Entra has historically sent this as a string.
            Some(serde_json::Value::String(s)) => s.parse().ok().map(Duration::from_secs),
            _ => None,
        };
        return Ok(AccessToken::new(value, lifetime.unwrap_or(LIFETIME_WHEN_UNSTATED)));
    }

    let error: EntraErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let ids = UpstreamIds {
        request_id: header_request_id.or(error.trace_id),
        client_request_id: None,
        correlation_id: error.correlation_id,
    };
    let aadsts = error.error_codes.first().copied();
    Err(match (status, error.error.as_str()) {
        (429, _) => GraphError::Throttled {
            upstream: Upstream::Entra,
            retry_after,
            ids,
        },
        (500..=599, _) => GraphError::Unavailable {
            upstream: Upstream::Entra,
            cause: Unavailable::Status(status),
            ids,
        },
        (_, "invalid_client") => GraphError::Entra {
            refusal: EntraRefusal::InvalidClient,
            code: error.error,
            aadsts,
            ids,
        },
        (_, "unauthorized_client") => GraphError::Entra {
            refusal: EntraRefusal::UnauthorizedClient,
            code: error.error,
            aadsts,
            ids,
        },
        (_, _) if matches!(aadsts, Some(90002 | 900023 | 90072)) => GraphError::Entra {
            refusal: EntraRefusal::UnknownTenant,
            code: error.error,
            aadsts,
            ids,
        },
        (_, "") => GraphError::Rejected {
            upstream: Upstream::Entra,
            status,
            code: "unreadable error".into(),
            ids,
        },
        (_, _) => GraphError::Entra {
            refusal: EntraRefusal::Other,
            code: error.error,
            aadsts,
            ids,
        },
    })
}

pub(crate) fn no_answer(failure: NoAnswer, ids: UpstreamIds) -> GraphError {
    match failure {
        NoAnswer::Timeout => GraphError::Timeout {
            upstream: Upstream::Entra,
            ids,
        },
        NoAnswer::Unreachable => GraphError::Unavailable {
            upstream: Upstream::Entra,
            cause: Unavailable::Unreachable,
            ids,
        },
        NoAnswer::Lost => GraphError::Unavailable {
            upstream: Upstream::Entra,
            cause: Unavailable::ConnectionLost,
            ids,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_reports_when_it_nears_expiry() {
        let token = AccessToken::new(SecretString::from("t"), Duration::from_secs(600));
        assert!(!token.expires_within(Duration::from_secs(300)));
        assert!(token.expires_within(Duration::from_secs(600)));
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = AccessToken::new(SecretString::from("eyJ-secret-token"), Duration::from_secs(1));
        assert!(!format!("{token:?}").contains("eyJ-secret-token"));
    }
}
