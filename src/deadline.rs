//! The time an invocation may spend, shared by every outbound call and retry in it.
//!
//! Lambda kills a function at its deadline, mid-call, without a response. We stop a safety margin
//! early so the caller gets a clean 503/504 instead.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Left unspent before Lambda's deadline, to build and send the error response.
pub const SAFETY_MARGIN: Duration = Duration::from_millis(500);
/// Used when no deadline was given (or it had already passed on arrival, as with cargo-lambda's
/// emulator, which sends a fixed 1970 value).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(25);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn after(budget: Duration) -> Self {
        Deadline(Instant::now() + budget)
    }

    /// From Lambda's deadline (milliseconds since the Unix epoch).
    pub fn from_lambda_millis(deadline_ms: u64) -> Self {
        let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
        match deadline.duration_since(SystemTime::now()) {
            Ok(left) if !left.is_zero() => Deadline::after(left.saturating_sub(SAFETY_MARGIN)),
            _ => Deadline::after(DEFAULT_BUDGET),
        }
    }

    pub fn instant(self) -> Instant {
        self.0
    }

    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Whether `wait` can still be spent with `reserve` left for the call that follows it.
    pub fn allows(self, wait: Duration, reserve: Duration) -> bool {
        wait + reserve <= self.remaining()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis_from_now(offset: Duration) -> u64 {
        (SystemTime::now() + offset)
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    #[tokio::test]
    async fn a_deadline_in_the_past_means_none_was_given() {
        let deadline = Deadline::from_lambda_millis(1_000);
        assert!(deadline.remaining() > DEFAULT_BUDGET - Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_future_deadline_keeps_a_safety_margin() {
        let deadline = Deadline::from_lambda_millis(millis_from_now(Duration::from_secs(3)));
        let left = deadline.remaining();
        assert!(left <= Duration::from_secs(3) - SAFETY_MARGIN, "{left:?}");
        assert!(left > Duration::from_secs(2), "{left:?}");
    }

    #[tokio::test]
    async fn a_deadline_closer_than_the_margin_leaves_nothing() {
        let deadline = Deadline::from_lambda_millis(millis_from_now(Duration::from_millis(200)));
        assert_eq!(deadline.remaining(), Duration::ZERO);
        assert!(!deadline.allows(Duration::ZERO, Duration::from_millis(1)));
    }
}
