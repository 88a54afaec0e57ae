//! Sending one logical request: per-attempt timeouts, bounded retries with `Retry-After` or
//! jittered exponential backoff, and never past the invocation's deadline.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};

use super::Upstream;
use crate::deadline::Deadline;
use crate::metrics;

/// How hard to try. The defaults follow Graph's throttling guidance: a few retries, honouring
/// `Retry-After`, with backoff capped so a retry still fits in a Lambda invocation.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest a single attempt may take (less when the deadline is nearer).
    pub call_timeout: Duration,
    /// How long Graph's refusal of a fresh token at an endpoint is taken as standing (issue 22):
    /// within it a 403 there fetches no new token, so a missing optional permission costs one
    /// token request per hold (or per token, when it is replaced sooner) instead of one per call,
    /// and a consent granted meanwhile is seen once the hold has passed.
    pub refusal_hold: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            call_timeout: Duration::from_secs(10),
            refusal_hold: Duration::from_secs(300),
        }
    }
}

/// An attempt with less time than this left is not worth starting.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);

/// Whether a request may be sent again after an unclear outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Reads and token requests: sending twice does no harm.
    Safe,
    /// Regenerate: only when the service said it did not process the request (429, 503) or the
    /// connection was never made.
    OnlyIfNotProcessed,
}

/// A request that got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoAnswer {
    /// The attempt (or the whole budget) ran out of time.
    Timeout,
    /// No connection could be made: the request was certainly not processed.
    Unreachable,
    /// Sent, but the connection failed before an answer: it may have been processed.
    Lost,
}

/// Why [`RetryPolicy::try_send`] ended without an answer.
#[derive(Debug)]
pub(crate) enum Unsent<E> {
    NoAnswer(NoAnswer),
    /// An attempt's request could not be built (e.g. its client assertion not signed).
    NotBuilt(E),
}

impl RetryPolicy {
    pub(crate) async fn send(
        &self,
        upstream: Upstream,
        replay: Replay,
        deadline: Deadline,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, NoAnswer> {
        self.try_send(
            upstream,
            replay,
            deadline,
            || Ok::<_, std::convert::Infallible>(build()),
        )
        .await
        .map_err(|unsent| match unsent {
            Unsent::NoAnswer(failure) => failure,
            Unsent::NotBuilt(never) => match never {},
        })
    }

    /// As [`send`](Self::send), with a request built afresh for each attempt by a `build` that
    /// may fail; a failure ends the call at once.
    pub(crate) async fn try_send<E>(
        &self,
        upstream: Upstream,
        replay: Replay,
        deadline: Deadline,
        build: impl Fn() -> Result<RequestBuilder, E>,
    ) -> Result<Response, Unsent<E>> {
        let mut retries = 0;
        loop {
            let remaining = deadline.remaining();
            if remaining < MIN_ATTEMPT {
                return Err(Unsent::NoAnswer(NoAnswer::Timeout));
            }
            let outcome = build()
                .map_err(Unsent::NotBuilt)?
                .timeout(self.call_timeout.min(remaining))
                .send()
                .await
                .map_err(classify);
            if matches!(&outcome, Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS) {
                metrics::throttled(upstream.slug());
            }
            let wait = match &outcome {
                Ok(response) if retryable(response.status(), replay) => {
                    retry_after(response.headers(), SystemTime::now()).unwrap_or_else(|| self.backoff(retries))
                }
                Ok(_) => return outcome.map_err(Unsent::NoAnswer),
                Err(NoAnswer::Unreachable) => self.backoff(retries),
                Err(NoAnswer::Timeout | NoAnswer::Lost) if replay == Replay::Safe => self.backoff(retries),
                Err(_) => return outcome.map_err(Unsent::NoAnswer),
            };
            if retries >= self.max_retries || !deadline.allows(wait, MIN_ATTEMPT) {
                return outcome.map_err(Unsent::NoAnswer);
            }
            tracing::debug!(
                retry = retries + 1,
                wait_ms = wait.as_millis() as u64,
                "retrying upstream call"
            );
            retries += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// Full-jitter exponential backoff.
    fn backoff(&self, retries: u32) -> Duration {
        let ceiling = self
            .base_backoff
            .saturating_mul(1 << retries.min(16))
            .min(self.max_backoff);
        ceiling.mul_f64(fastrand::f64())
    }
}

fn retryable(status: StatusCode, replay: Replay) -> bool {
    match replay {
        Replay::Safe => matches!(status.as_u16(), 429 | 503 | 504),
        Replay::OnlyIfNotProcessed => matches!(status.as_u16(), 429 | 503),
    }
}

fn classify(error: reqwest::Error) -> NoAnswer {
    if error.is_timeout() {
        NoAnswer::Timeout
    } else if error.is_connect() {
        NoAnswer::Unreachable
    } else {
        NoAnswer::Lost
    }
}

/// The longest `Retry-After` taken at its word: anything longer is past any Lambda deadline
/// anyway, and an absurd value (`1e300`) must not overflow a `Duration`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// `Retry-After` as delta-seconds or an HTTP-date; a date in the past means "now". RFC 9110
/// defines delta-seconds as whole seconds, but throttling front ends have been seen sending
/// fractions (`0.5`), so a plain non-negative decimal is read too rather than dropped.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
    }
    if value.bytes().all(|b| b.is_ascii_digit() || b == b'.') && value.bytes().filter(|&b| b == b'.').count() <= 1 {
        // Digits and one dot only: never negative or NaN, at worst infinite, which the clamp catches.
        let seconds = value.parse::<f64>().ok()?;
        return Some(Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers_with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after(&headers_with("7"), now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_after(&headers_with(&later), now), Some(Duration::from_secs(30)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_after(&headers_with(&earlier), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers_with("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn a_fractional_retry_after_is_read_and_an_absurd_one_is_clamped() {
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(retry_after(&headers_with("0.5"), now), Some(Duration::from_millis(500)));
        assert_eq!(
            retry_after(&headers_with("2.25"), now),
            Some(Duration::from_millis(2250))
        );
        assert_eq!(retry_after(&headers_with(".5"), now), Some(Duration::from_millis(500)));
        assert_eq!(
            retry_after(&headers_with("99999999999999999999"), now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(retry_after(&headers_with("."), now), None);
        assert_eq!(
            retry_after(&headers_with("18446744073709551615"), now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            retry_after(&headers_with(&format!("{}.0", "9".repeat(400))), now),
            Some(MAX_RETRY_AFTER)
        );
        for refused in ["-1", "-0.5", "1.2.3", "1e3", "NaN", "inf", "0x10", "1,5"] {
            assert_eq!(retry_after(&headers_with(refused), now), None, "{refused}");
        }
    }

    #[test]
    fn backoff_grows_but_stays_under_its_cap() {
        let policy = RetryPolicy::default();
        for retries in 0..20 {
            let ceiling = policy
                .base_backoff
                .saturating_mul(1 << retries.min(16))
                .min(policy.max_backoff);
            assert!(policy.backoff(retries) <= ceiling);
        }
    }

    #[test]
    fn a_regenerate_is_replayed_only_when_it_was_not_processed() {
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS, Replay::OnlyIfNotProcessed));
        assert!(retryable(StatusCode::SERVICE_UNAVAILABLE, Replay::OnlyIfNotProcessed));
        assert!(!retryable(StatusCode::GATEWAY_TIMEOUT, Replay::OnlyIfNotProcessed));
        assert!(retryable(StatusCode::GATEWAY_TIMEOUT, Replay::Safe));
        assert!(!retryable(StatusCode::INTERNAL_SERVER_ERROR, Replay::Safe));
    }
}
