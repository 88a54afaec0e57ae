//! CloudWatch Embedded Metric Format: metrics written as structured log lines, which CloudWatch
//! turns into metrics without an API call (and so without latency or IAM permissions).
//!
//! Namespace `MdiSensorKey`: `KeyReads`, `Regenerations`, `Rotations` and `SensorQueries` by
//! `Outcome`, `GraphLatency` (milliseconds), `GraphThrottles` by `Upstream`, and `ColdStarts`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

pub const NAMESPACE: &str = "MdiSensorKey";

static COLD: AtomicBool = AtomicBool::new(true);
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Stops emitting: the CLI's stdout is for its output, and no CloudWatch reads it.
pub fn disable() {
    ENABLED.store(false, Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF document: a metric with its value and at most one dimension.
pub fn document(metric: &str, unit: Unit, value: f64, dimension: Option<(&str, &str)>, at: SystemTime) -> Value {
    let timestamp = at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as u64;
    // One dimension set, possibly empty: `[[]]` publishes the metric without dimensions.
    let dimensions: Vec<Vec<&str>> = vec![dimension.iter().map(|(name, _)| *name).collect()];
    let mut document = json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": [{ "Name": metric, "Unit": unit.name() }],
            }],
        },
        metric: value,
    });
    if let Some((name, value)) = dimension {
        document[name] = Value::from(value);
    }
    document
}

fn emit(metric: &str, unit: Unit, value: f64, dimension: Option<(&str, &str)>) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let line = document(metric, unit, value, dimension, SystemTime::now()).to_string();
    // println! writes the line under stdout's lock, so lines from concurrent tasks never interleave.
    println!("{line}");
}

/// Counts the first invocation of this process, once.
pub fn invocation_started() {
    if COLD.swap(false, Ordering::Relaxed) {
        emit("ColdStarts", Unit::Count, 1.0, None);
    }
}

pub fn key_read(outcome: &str) {
    emit("KeyReads", Unit::Count, 1.0, Some(("Outcome", outcome)));
}

pub fn regeneration(outcome: &str) {
    emit("Regenerations", Unit::Count, 1.0, Some(("Outcome", outcome)));
}

/// The sensor routes that hand out no key: the package, the sensor list, a verdict.
pub fn sensor_query(outcome: &str) {
    emit("SensorQueries", Unit::Count, 1.0, Some(("Outcome", outcome)));
}

pub fn rotation(outcome: &str) {
    emit("Rotations", Unit::Count, 1.0, Some(("Outcome", outcome)));
}

pub fn graph_latency(elapsed: Duration) {
    emit("GraphLatency", Unit::Milliseconds, elapsed.as_secs_f64() * 1000.0, None);
}

pub fn throttled(upstream: &str) {
    emit("GraphThrottles", Unit::Count, 1.0, Some(("Upstream", upstream)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_declares_its_metric_and_dimension_as_emf_requires() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let document = document("Rotations", Unit::Count, 1.0, Some(("Outcome", "rotated")), at);
        assert_eq!(document["_aws"]["Timestamp"], 1_700_000_000_123u64);
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "MdiSensorKey");
        assert_eq!(directive["Dimensions"], json!([["Outcome"]]));
        assert_eq!(directive["Metrics"], json!([{ "Name": "Rotations", "Unit": "Count" }]));
        assert_eq!(document["Rotations"], 1.0);
        assert_eq!(document["Outcome"], "rotated");
    }

    #[test]
    fn a_document_without_a_dimension_has_one_empty_dimension_set() {
        let document = document("GraphLatency", Unit::Milliseconds, 12.5, None, SystemTime::now());
        assert_eq!(document["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert_eq!(document["GraphLatency"], 12.5);
    }
}
