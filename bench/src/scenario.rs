//! One cold start of a function, measured end to end: spawn, init, the first (cold) GET, warm
//! GETs, optionally a regenerate, peak RSS, stop. Every request's upstream calls are counted.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use crate::calls::{Calls, Counters};
use crate::function::{self, Env, FunctionProcess};
use crate::runtime_api::{Outcome, OutcomeKind, RuntimeApi};

const INIT_TIMEOUT: Duration = Duration::from_secs(15);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A function under test.
pub struct Subject {
    pub name: &'static str,
    pub binary: PathBuf,
    /// Its configuration, on top of Lambda's own environment.
    pub env: Env,
    /// Whether to regenerate the key after the warm GETs.
    pub regenerates: bool,
    /// Whether the answer must carry the simulator's key (the floor answers a constant).
    pub answers_the_key: bool,
}

/// The events handed to the function.
pub struct Events {
    pub get_key: Bytes,
    pub regenerate: Bytes,
}

/// Everything measured for one subject, over all its cold starts.
#[derive(Default)]
pub struct Samples {
    pub init: Vec<Duration>,
    pub first_request: Vec<Duration>,
    pub warm: Vec<Duration>,
    pub regenerate: Vec<Duration>,
    pub peak_rss_kib: Vec<u64>,
    pub cold_calls: Vec<Calls>,
    pub warm_calls: Vec<Calls>,
    pub regenerate_calls: Vec<Calls>,
    pub failures: Vec<String>,
}

/// Runs one cold start with `warm` warm GETs, adding what it measures to `samples`. A failed
/// request is recorded and the run goes on; a function that cannot start or stops answering
/// ends this cold start early.
pub async fn cold_start(
    subject: &Subject,
    events: &Events,
    counters: &Counters<'_>,
    warm: usize,
    samples: &mut Samples,
) -> Result<(), String> {
    let mut api = RuntimeApi::start().await?;
    let task_root = subject.binary.parent().map(PathBuf::from).unwrap_or_default();
    let mut env = function::lambda_env(&api.address(), &task_root);
    env.extend(subject.env.iter().cloned());
    let mut process = FunctionProcess::spawn(&subject.binary, &env)?;
    let spawned_at = process.spawned_at;
    let ready = tokio::select! {
        ready = api.init_done(INIT_TIMEOUT) => ready,
        exit = process.exited() => Err(format!("{exit} during init")),
    };
    let run = async {
        let ready = ready?;
        samples.init.push(ready - spawned_at);

        let (duration, calls) = request(&api, counters, subject, &events.get_key, true, samples).await?;
        samples.first_request.push(duration);
        samples.cold_calls.push(calls);
        for _ in 0..warm {
            let (duration, calls) = request(&api, counters, subject, &events.get_key, true, samples).await?;
            samples.warm.push(duration);
            samples.warm_calls.push(calls);
        }
        if subject.regenerates {
            // The regenerate's caller is a rotator and not a reader: its answer carries the
            // outcome but not the key (issue 21), so only its 200 is checked.
            let (duration, calls) = request(&api, counters, subject, &events.regenerate, false, samples).await?;
            samples.regenerate.push(duration);
            samples.regenerate_calls.push(calls);
        }
        samples.peak_rss_kib.push(process.peak_rss_kib()?);
        Ok::<_, String>(())
    }
    .await;
    let result = run.map_err(|e| format!("{}: {e}\n--- last output ---\n{}", subject.name, process.output_tail()));
    process.stop().await;
    result
}

/// One invocation, with its calls. An answer that is not a 200 (carrying the simulator's key,
/// when `keyed` and the subject answers with it) is recorded as a failure.
async fn request(
    api: &RuntimeApi,
    counters: &Counters<'_>,
    subject: &Subject,
    event: &Bytes,
    keyed: bool,
    samples: &mut Samples,
) -> Result<(Duration, Calls), String> {
    let (before, _) = counters.snapshot().await?;
    let outcome = api.invoke(event.clone(), INVOKE_TIMEOUT).await?;
    let (after, key) = counters.snapshot().await?;
    let expected = (keyed && subject.answers_the_key).then_some(key.as_str());
    if let Err(problem) = check(&outcome, expected) {
        samples.failures.push(format!("{}: {problem}", subject.name));
    }
    Ok((outcome.duration, after.since(&before)))
}

/// A 200 (carrying `key`, when given), or what the function answered instead.
pub fn check(outcome: &Outcome, key: Option<&str>) -> Result<(), String> {
    let text = String::from_utf8_lossy(&outcome.body);
    if outcome.kind == OutcomeKind::Error {
        return Err(format!("invocation error: {text}"));
    }
    let answer: serde_json::Value = serde_json::from_str(&text).map_err(|_| format!("not JSON: {text}"))?;
    if answer["statusCode"].as_u64() != Some(200) {
        return Err(format!("status {}: {}", answer["statusCode"], answer["body"]));
    }
    match key {
        Some(key) if !answer["body"].as_str().unwrap_or_default().contains(key) => {
            Err("the answer does not carry the simulator's current key".into())
        }
        _ => Ok(()),
    }
}
