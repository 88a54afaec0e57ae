//! CloudWatch Embedded Metric Format: metrics written as structured log lines, which CloudWatch
//! turns into metrics without an API call (and so without latency or IAM permissions).
//!
//! The namespace is `POWERTOOLS_METRICS_NAMESPACE` (default `MdiSensorKey`) and every metric carries
//! a `service` dimension from `POWERTOOLS_SERVICE_NAME` (the names Powertools for AWS Lambda reads;
//! the template sets the stack name), so two stacks in one account never share a metric or fire
//! each other's alarms. Metrics: `KeyReads`, `Regenerations`, `Rotations` and `SensorQueries` by
//! `Outcome`, `GraphLatency` (milliseconds), `GraphThrottles` by `Upstream`, `ColdStarts`,
//! `KeyAgeDays`, `CertificateDaysToExpiry` and `DoorRefusals` (the `service` dimension alone, which
//! the template's `DoorRefusalsAlarm` watches).

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const DEFAULT_NAMESPACE: &str = "MdiSensorKey";
pub const DEFAULT_SERVICE: &str = "mdi-sensor-key";
/// The dimension every metric carries, as Powertools names it.
pub const SERVICE_DIMENSION: &str = "service";

/// Where metrics go and which deployment they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub namespace: String,
    pub service: String,
}

impl Settings {
    /// From `POWERTOOLS_METRICS_NAMESPACE` and `POWERTOOLS_SERVICE_NAME`; a value CloudWatch would
    /// refuse (a namespace that is empty, too long, of other characters or under `AWS/`) falls back
    /// to the default rather than losing every metric.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Settings {
        let namespace = lookup("POWERTOOLS_METRICS_NAMESPACE")
            .map(|value| value.trim().to_owned())
            .filter(|namespace| {
                (1..=255).contains(&namespace.len())
                    && !namespace.starts_with("AWS/")
                    && namespace
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || " .-_/#:".contains(c))
            })
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let service = lookup("POWERTOOLS_SERVICE_NAME")
            .map(|value| value.trim().to_owned())
            .filter(|service| (1..=1024).contains(&service.len()) && !service.chars().any(char::is_control))
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        Settings { namespace, service }
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// The settings, read from the environment once.
pub fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings::from_lookup(|name| std::env::var(name).ok()))
}

type Sink = Box<dyn Fn(&str) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends every metric line of this process to `sink` instead of stdout, from now on (the first
/// call wins): how the integration tests see the metrics the handler emits.
pub fn send_to(sink: impl Fn(&str) + Send + Sync + 'static) {
    let _ = SINK.set(Box::new(sink));
}

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
    /// A plain number (days, for the ages).
    None,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::None => "None",
        }
    }
}

/// One EMF document as the line that is printed (a metric with its value, the `service` dimension
/// and at most one other), written directly: building a `serde_json::Value`
/// first cost some 10,000 instructions a line, twice per warm GET (issue 22, docs/benchmark.md).
/// Every string is escaped as serde_json escapes it; the value is spelled by serde_json (a
/// non-finite one is `null`).
pub fn line(
    settings: &Settings,
    metric: &str,
    unit: Unit,
    value: f64,
    dimension: Option<(&str, &str)>,
    at: SystemTime,
) -> String {
    let timestamp = at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as u64;
    let mut out = String::with_capacity(320);
    out.push_str("{\"_aws\":{\"Timestamp\":");
    let _ = write!(out, "{timestamp}");
    out.push_str(",\"CloudWatchMetrics\":[{\"Namespace\":");
    quoted(&mut out, &settings.namespace);
    // One dimension set: the service, then the metric's own dimension if it has one.
    out.push_str(",\"Dimensions\":[[");
    quoted(&mut out, SERVICE_DIMENSION);
    if let Some((name, _)) = dimension {
        out.push(',');
        quoted(&mut out, name);
    }
    out.push_str("]],\"Metrics\":[{\"Name\":");
    quoted(&mut out, metric);
    out.push_str(",\"Unit\":");
    quoted(&mut out, unit.name());
    out.push_str("}]}]},");
    quoted(&mut out, metric);
    out.push(':');
    out.push_str(&serde_json::to_string(&value).unwrap_or_else(|_| "null".to_owned()));
    out.push(',');
    member(&mut out, SERVICE_DIMENSION, &settings.service);
    if let Some((name, value)) = dimension {
        out.push(',');
        member(&mut out, name, value);
    }
    out.push('}');
    out
}

/// `"name":"value"`, both as JSON strings.
fn member(out: &mut String, name: &str, value: &str) {
    quoted(out, name);
    out.push(':');
    quoted(out, value);
}

/// `text` as a JSON string, escaped by serde_json; written in place when nothing in it needs an
/// escape (`"`, `\\` and the control characters are the only characters serde_json escapes).
fn quoted(out: &mut String, text: &str) {
    if text.bytes().any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\') {
        out.push_str(&serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned()));
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

fn emit(metric: &str, unit: Unit, value: f64, dimension: Option<(&str, &str)>) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let line = line(settings(), metric, unit, value, dimension, SystemTime::now());
    if let Some(sink) = SINK.get() {
        return sink(&line);
    }
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

/// Sensor activations and activation mode changes.
pub fn sensor_activation(outcome: &str) {
    emit("SensorActivations", Unit::Count, 1.0, Some(("Outcome", outcome)));
}

pub fn rotation(outcome: &str) {
    emit("Rotations", Unit::Count, 1.0, Some(("Outcome", outcome)));
}

/// An invocation refused because it came through the wrong door. No dimension beside `service`:
/// an EMF metric with another dimension would be another metric, which the alarm would not see.
pub fn door_refusal() {
    emit("DoorRefusals", Unit::Count, 1.0, None);
}

pub fn graph_latency(elapsed: Duration) {
    emit("GraphLatency", Unit::Milliseconds, elapsed.as_secs_f64() * 1000.0, None);
}

pub fn throttled(upstream: &str) {
    emit("GraphThrottles", Unit::Count, 1.0, Some(("Upstream", upstream)));
}

/// Days since the key AWSCURRENT holds was stored (its document's `updatedAt`).
pub fn key_age(age: Duration) {
    emit("KeyAgeDays", Unit::None, days(age), None);
}

/// Days until the credential certificate's `notAfter` (negative once it has expired).
pub fn certificate_days_to_expiry(days: f64) {
    emit("CertificateDaysToExpiry", Unit::None, days, None);
}

fn days(duration: Duration) -> f64 {
    duration.as_secs_f64() / 86_400.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The line, parsed back: what CloudWatch reads.
    fn document(
        settings: &Settings,
        metric: &str,
        unit: Unit,
        value: f64,
        dimension: Option<(&str, &str)>,
        at: SystemTime,
    ) -> Value {
        serde_json::from_str(&line(settings, metric, unit, value, dimension, at)).unwrap_or(Value::Null)
    }
    use serde_json::json;

    #[test]
    fn a_line_is_valid_json_and_escapes_every_string_it_quotes() {
        let settings = Settings {
            namespace: "Ns".to_owned(),
            service: "a \"quoted\"\\ service\u{1}".to_owned(),
        };
        let at = UNIX_EPOCH + Duration::from_millis(5);
        let line = line(&settings, "KeyReads", Unit::Count, 1.0, Some(("Outcome", "o\"k")), at);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["service"], settings.service.as_str());
        assert_eq!(parsed["Outcome"], "o\"k");
        assert_eq!(parsed["KeyReads"], 1.0);
        assert_eq!(parsed["_aws"]["Timestamp"], 5);
        assert!(!line.contains('\n'));
        let nan = line_of_nan();
        assert_eq!(
            serde_json::from_str::<Value>(&nan).unwrap()["GraphLatency"],
            Value::Null
        );
    }

    fn line_of_nan() -> String {
        let settings = Settings::from_lookup(|_| None);
        line(
            &settings,
            "GraphLatency",
            Unit::Milliseconds,
            f64::NAN,
            None,
            SystemTime::now(),
        )
    }

    fn stack(name: &str) -> Settings {
        Settings {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            service: name.to_owned(),
        }
    }

    #[test]
    fn a_document_declares_its_metric_the_service_and_its_dimension_as_emf_requires() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let document = document(
            &stack("prod-keys"),
            "Rotations",
            Unit::Count,
            1.0,
            Some(("Outcome", "rotated")),
            at,
        );
        assert_eq!(document["_aws"]["Timestamp"], 1_700_000_000_123u64);
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "MdiSensorKey");
        assert_eq!(directive["Dimensions"], json!([["service", "Outcome"]]));
        assert_eq!(directive["Metrics"], json!([{ "Name": "Rotations", "Unit": "Count" }]));
        assert_eq!(document["Rotations"], 1.0);
        assert_eq!(document["Outcome"], "rotated");
        assert_eq!(document["service"], "prod-keys");
    }

    #[test]
    fn a_document_without_its_own_dimension_still_names_the_service() {
        let document = document(
            &stack("prod-keys"),
            "GraphLatency",
            Unit::Milliseconds,
            12.5,
            None,
            SystemTime::now(),
        );
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["service"]])
        );
        assert_eq!(document["GraphLatency"], 12.5);
    }

    #[test]
    fn the_namespace_and_service_come_from_the_powertools_variables_or_default() {
        let settings = Settings::from_lookup(|name| match name {
            "POWERTOOLS_METRICS_NAMESPACE" => Some("Security/Keys".into()),
            "POWERTOOLS_SERVICE_NAME" => Some("mdi-prod".into()),
            _ => None,
        });
        assert_eq!(settings.namespace, "Security/Keys");
        assert_eq!(settings.service, "mdi-prod");
        assert_eq!(Settings::from_lookup(|_| None), stack(DEFAULT_SERVICE));
        let refused = Settings::from_lookup(|name| match name {
            "POWERTOOLS_METRICS_NAMESPACE" => Some("AWS/Lambda".into()),
            "POWERTOOLS_SERVICE_NAME" => Some("  ".into()),
            _ => None,
        });
        assert_eq!(refused, stack(DEFAULT_SERVICE), "CloudWatch refuses AWS/ namespaces");
    }
}
