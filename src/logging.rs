//! Structured JSON logs for CloudWatch, one line per event, with the Lambda request id on each
//! line through the runtime's span.
//!
//! The function writes JSON lines itself in every region. Where Lambda's JSON log format exists,
//! Lambda filters those lines by their `level` and tells the function its level
//! (`AWS_LAMBDA_LOG_LEVEL`); where it does not (GovCloud), Lambda sets neither and the template
//! sets `LOG_FORMAT=JSON` and `LOG_LEVEL` (its `LogLevel` parameter) instead, so the function
//! filters by itself (docs/deploy.md, "Where it deploys").

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the JSON subscriber on stdout.
pub fn init() {
    let lookup = |name: &str| std::env::var(name).ok();
    subscriber(lookup, std::io::stdout).init();
    if lookup("LOG_FORMAT").is_some_and(|format| !format.trim().eq_ignore_ascii_case("json")) {
        tracing::warn!(
            variable = "LOG_FORMAT",
            "LOG_FORMAT is not JSON; the function writes JSON lines regardless"
        );
    }
}

/// The subscriber [`init`] installs, writing to `writer`: JSON lines, at the level of
/// [`filter`].
pub fn subscriber<W>(lookup: impl Fn(&str) -> Option<String>, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter(&lookup))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_writer(writer)
        .finish()
}

/// The level: `RUST_LOG` (a developer's full directive) if it parses, else Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`, else the template's `LOG_LEVEL` (where Lambda sets no level), else
/// `info`. Lambda's level names are mapped to tracing's (`FATAL` is `error`); an unknown one is
/// `info`, never silence.
pub fn filter(lookup: &impl Fn(&str) -> Option<String>) -> EnvFilter {
    if let Some(filter) = lookup("RUST_LOG").and_then(|directive| EnvFilter::try_new(directive).ok()) {
        return filter;
    }
    let level = ["AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"]
        .into_iter()
        .find_map(|name| lookup(name).filter(|value| !value.trim().is_empty()));
    EnvFilter::new(lambda_level(level.as_deref()))
}

fn lambda_level(level: Option<&str>) -> &'static str {
    match level.map(|level| level.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") => "trace",
        Some("DEBUG") => "debug",
        Some("WARN") => "warn",
        Some("ERROR" | "FATAL") => "error",
        Some("INFO") | Some(_) | None => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines the function's own subscriber writes for `run`, under the environment `pairs`.
    fn lines(pairs: &'static [(&'static str, &'static str)], run: impl FnOnce()) -> Vec<serde_json::Value> {
        let capture = Capture::default();
        let writer = capture.clone();
        let lookup = |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, v)| v.to_string());
        tracing::subscriber::with_default(subscriber(lookup, move || writer.clone()), run);
        let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}")))
            .collect()
    }

    fn log_each_level() {
        tracing::trace!("a trace");
        tracing::debug!("a debug");
        tracing::info!(target: "audit", caller = "arn:aws:iam::123456789012:user/alice", "an audit line");
        tracing::warn!("a warning");
    }

    fn messages(lines: &[serde_json::Value]) -> Vec<&str> {
        lines
            .iter()
            .map(|line| line["fields"]["message"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn where_lambda_formats_nothing_the_function_writes_json_lines_at_the_templates_level() {
        // GovCloud: no AWS_LAMBDA_LOG_FORMAT or AWS_LAMBDA_LOG_LEVEL; the template's two instead.
        let info = lines(&[("LOG_FORMAT", "JSON"), ("LOG_LEVEL", "INFO")], log_each_level);
        assert_eq!(messages(&info), ["an audit line", "a warning"]);
        assert_eq!(info[0]["level"], "INFO");
        assert_eq!(info[0]["target"], "audit");
        assert_eq!(info[0]["fields"]["caller"], "arn:aws:iam::123456789012:user/alice");
        assert!(info[0]["timestamp"].is_string());

        let debug = lines(&[("LOG_FORMAT", "JSON"), ("LOG_LEVEL", "DEBUG")], log_each_level);
        assert_eq!(messages(&debug), ["a debug", "an audit line", "a warning"]);
    }

    #[test]
    fn the_level_is_rust_log_then_lambdas_then_the_templates_then_info() {
        let level = |pairs: &'static [(&'static str, &'static str)]| messages(&lines(pairs, log_each_level)).len();
        assert_eq!(level(&[]), 2, "info by default");
        assert_eq!(level(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE"), ("LOG_LEVEL", "INFO")]), 4);
        assert_eq!(level(&[("RUST_LOG", "warn"), ("AWS_LAMBDA_LOG_LEVEL", "TRACE")]), 1);
        assert_eq!(level(&[("LOG_LEVEL", "FATAL")]), 0, "FATAL is error");
        assert_eq!(
            level(&[("LOG_LEVEL", "loud")]),
            2,
            "an unknown level is info, never silence"
        );
    }
}
