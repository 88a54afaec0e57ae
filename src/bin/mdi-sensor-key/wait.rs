//! `verdict HOST --wait DURATION`: asks for the verdict again, with backoff, until the sensor is
//! `healthy`, or `needs-configuration` (which waits for a person: Microsoft documents no way it
//! clears by itself), or the time is up, and exits with a code per verdict (see [`exit_code`]), so
//! a pipeline can branch on it without parsing output.
//!
//! It keeps polling through `initialising` (Microsoft: the service "changes from stopped to
//! running" within "a couple of minutes"), `unhealthy` and `missing` too: right after an install or an
//! activation a sensor may be neither registered nor up yet, and in the US Government clouds a
//! starting sensor can read `unhealthy` for its first minutes (docs/sensors.md). A failed poll that
//! is worth retrying (throttled, unavailable: exit 5) is retried until the deadline; any other
//! failure ends the wait at once. Progress goes to stderr only when stderr is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mdi_sensor_key::deadline::Deadline;
use mdi_sensor_key::keys::KeySource;
use mdi_sensor_key::operations::{self, Answer, Operation, Outcome, Ports};
use mdi_sensor_key::secrets::SecretStore;
use mdi_sensor_key::sensors::{HostName, SensorSource, Verdict};
use tokio::time::Instant;

use crate::args::Wait;
use crate::exit::Failure;

/// The longest wait accepted: a day.
const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// `90s`, `10m`, `1h`, or plain seconds; 1 second to a day.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err("a duration is a whole number with s, m or h after it: 90s, 10m, 1h".into()),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| "a duration is a whole number with s, m or h after it: 90s, 10m, 1h".to_owned())?;
    let duration = Duration::from_secs(value.saturating_mul(seconds_per));
    if duration.is_zero() || duration > MAX_WAIT {
        return Err("the wait must be between 1s and 24h".into());
    }
    Ok(duration)
}

/// The exit code for the last verdict of a wait: 0 healthy, 6 unhealthy, 7 still installing,
/// 8 missing, 9 needs configuration, 10 still initialising (docs/cli.md; 1 to 5 are the failures
/// of every command).
pub fn exit_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Healthy => 0,
        Verdict::Unhealthy => 6,
        Verdict::Installing => 7,
        Verdict::Missing => 8,
        Verdict::NeedsConfiguration => 9,
        Verdict::Initialising => 10,
    }
}

/// Growing pauses between polls: from a twentieth of the wait (at least 100 ms, at most 5 s),
/// times 1.5 each time, up to a fifth of the wait (at most a minute), never past the deadline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn for_wait(wait: Duration) -> Self {
        let next = (wait / 20).clamp(Duration::from_millis(100), Duration::from_secs(5));
        let max = (wait / 5).clamp(next, Duration::from_secs(60));
        Backoff { next, max }
    }

    /// The pause before the next poll, and the one after it.
    pub fn pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = self.next.mul_f64(1.5).min(self.max);
        pause
    }
}

/// Asks for `verdict` (the verdict operation) until the sensor is healthy, needs configuration or
/// `wait` has passed;
/// each poll gets `per_poll` to answer. The answer is the last verdict's.
pub async fn wait_for<G, K, S>(
    ports: Ports<'_, G, K, S>,
    verdict: Operation,
    wait: &Wait,
    per_poll: Duration,
) -> Result<(Answer, Verdict), Failure>
where
    G: SensorSource + KeySource,
    K: KeySource,
    S: SecretStore,
{
    let host = &wait.host;
    let started = Instant::now();
    let until = started + wait.duration;
    let mut backoff = Backoff::for_wait(wait.duration);
    let progress = progress(host);
    let mut last: Option<(Answer, Verdict)> = None;
    loop {
        let deadline = Deadline::after(per_poll);
        match operations::run(ports, verdict.clone(), deadline).await {
            Ok(answer) => {
                let verdict = match &answer.outcome {
                    Outcome::Verdict(verdict) => verdict.verdict,
                    _ => return Err(Failure::Other("internal: a verdict answered something else".into())),
                };
                progress.set_message(format!(
                    "{}: {} after {}s",
                    host.as_str(),
                    verdict.name(),
                    started.elapsed().as_secs()
                ));
                if !verdict.may_change_by_itself() {
                    progress.finish_and_clear();
                    return Ok((answer, verdict));
                }
                last = Some((answer, verdict));
            }
            Err(error) => {
                let failure = Failure::from(&error);
                // Only what is worth retrying is retried; the rest will not change by waiting.
                if failure.code() != 5 {
                    progress.finish_and_clear();
                    return Err(failure);
                }
                progress.set_message(format!("{}: {} (retrying)", host.as_str(), failure.message()));
                if Instant::now() >= until && last.is_none() {
                    progress.finish_and_clear();
                    return Err(failure);
                }
            }
        }
        let now = Instant::now();
        if now >= until {
            progress.finish_and_clear();
            return last.ok_or_else(|| Failure::Unavailable("no verdict within the wait".into()));
        }
        tokio::time::sleep(backoff.pause().min(until - now)).await;
    }
}

/// A spinner on stderr when it is a terminal; nothing at all otherwise (a pipe, a log file).
fn progress(host: &HostName) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.set_message(format!("{}: waiting for the first verdict", host.as_str()));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_minutes_or_hours_within_a_day() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in [
            "",
            "0s",
            "25h",
            "1d",
            "m",
            "-5s",
            "1.5m",
            "10 m",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn each_verdict_has_its_own_exit_code_apart_from_the_failures() {
        let codes = [
            Verdict::Healthy,
            Verdict::Unhealthy,
            Verdict::Installing,
            Verdict::Missing,
            Verdict::NeedsConfiguration,
            Verdict::Initialising,
        ]
        .map(exit_code);
        assert_eq!(codes, [0, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn the_backoff_grows_by_half_up_to_a_fifth_of_the_wait() {
        let mut backoff = Backoff::for_wait(Duration::from_secs(600));
        let pauses: Vec<u64> = (0..8).map(|_| backoff.pause().as_millis() as u64).collect();
        assert_eq!(pauses[0], 5000);
        assert_eq!(pauses[1], 7500);
        assert!(pauses.windows(2).all(|pair| pair[1] >= pair[0]));
        assert_eq!(
            *pauses.last().unwrap(),
            60_000,
            "a fifth of 10 minutes is 2, capped at 1"
        );
        let mut short = Backoff::for_wait(Duration::from_secs(1));
        assert_eq!(short.pause(), Duration::from_millis(100));
        assert!(short.pause() <= Duration::from_millis(200));
    }
}
