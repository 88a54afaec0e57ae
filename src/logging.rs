//! Structured JSON logs for CloudWatch, one line per event, with the Lambda request id on each
//! line through the runtime's span.
//!
//! The function writes JSON lines itself in every region. Where Lambda's JSON log format exists,
//! Lambda filters those lines by their `level` and tells the function its level
//! (`AWS_LAMBDA_LOG_LEVEL`); where it does not (GovCloud), Lambda sets neither and the template
//! sets `LOG_FORMAT=JSON` and `LOG_LEVEL` (its `LogLevel` parameter) instead, so the function
//! filters by itself (docs/deploy.md, "Where it deploys").
//!
//! The lines are tracing-subscriber's JSON lines (`timestamp`, `level`, `fields`, `target`, and
//! `span` with the runtime's `requestId` and `xrayTraceId` and the span's `name`), written by
//! [`JsonLines`] straight into the output. tracing-subscriber's own JSON formatter parses the
//! span's stored fields back into a map and serialises them again for every line; a warm GET
//! writes two lines, and that cost was a visible part of its instructions (issue 22,
//! docs/benchmark.md). A unit test holds the two formatters to the same lines.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
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
    // `json()` for the span fields' storage (JSON object text); the lines by JsonLines.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter(&lookup))
        .event_format(JsonLines)
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

/// tracing-subscriber's JSON line with the current span and the target (its `json()` with
/// `with_current_span(true)`, `with_span_list(false)`, `with_target(true)`), written directly.
/// Span fields must have been stored by `JsonFields` (the `json()` builder's), as JSON objects.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut writer)?;
        writer.write_str("\",\"level\":\"")?;
        writer.write_str(meta.level().as_str())?;
        writer.write_str("\",\"fields\":{")?;
        let mut fields = FieldsVisitor {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_str("},\"target\":")?;
        write_quoted(&mut writer, meta.target())?;
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            writer.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            let stored = extensions
                .get::<FormattedFields<N>>()
                .and_then(|fields| fields.fields.trim().strip_prefix('{')?.strip_suffix('}'))
                .filter(|inner| !inner.trim().is_empty());
            if let Some(inner) = stored {
                writer.write_str(inner)?;
                writer.write_char(',')?;
            }
            writer.write_str("\"name\":")?;
            write_quoted(&mut writer, span.metadata().name())?;
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

/// Writes an event's fields as JSON members: strings quoted, numbers and booleans as they are,
/// anything else by its `Debug` (`%x` by its `Display`) as a string, as tracing-serde does.
struct FieldsVisitor<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl FieldsVisitor<'_, '_> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.first { "" } else { "," };
        self.first = false;
        self.result = self
            .writer
            .write_str(separator)
            .and_then(|()| write_quoted(self.writer, field.name()))
            .and_then(|()| self.writer.write_char(':'))
            .and_then(|()| value(self.writer));
    }
}

impl Visit for FieldsVisitor<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |writer| write_quoted(writer, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |writer| {
            writer.write_char('"')?;
            write!(Escaped(writer), "{value:?}")?;
            writer.write_char('"')
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |writer| write!(writer, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |writer| write!(writer, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |writer| write!(writer, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // serde_json's spelling (1.0, not 1); JSON has no infinity or NaN: null, as serde_json.
        self.member(field, |writer| match value.is_finite() {
            true => {
                writer.write_str(&serde_json::Number::from_f64(value).map_or_else(|| "null".into(), |n| n.to_string()))
            }
            false => writer.write_str("null"),
        });
    }
}

/// `text` as a JSON string, escaped as serde_json escapes it.
fn write_quoted(writer: &mut impl fmt::Write, text: &str) -> fmt::Result {
    writer.write_char('"')?;
    Escaped(writer).write_str(text)?;
    writer.write_char('"')
}

/// A writer that escapes what goes through it as the inside of a JSON string, as serde_json
/// does: `"`, `\` and the control characters below U+0020.
struct Escaped<'a, W: ?Sized>(&'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let bytes = text.as_bytes();
        let mut start = 0;
        // Runs of bytes that need no escape are written whole (a log line's text almost always is one).
        while let Some(offset) = bytes[start..].iter().position(|&byte| NEEDS_ESCAPE[byte as usize]) {
            let at = start + offset;
            self.0.write_str(&text[start..at])?;
            match bytes[at] {
                b'"' => self.0.write_str("\\\"")?,
                b'\\' => self.0.write_str("\\\\")?,
                b'\n' => self.0.write_str("\\n")?,
                b'\r' => self.0.write_str("\\r")?,
                b'\t' => self.0.write_str("\\t")?,
                0x08 => self.0.write_str("\\b")?,
                0x0c => self.0.write_str("\\f")?,
                byte => write!(self.0, "\\u{byte:04x}")?,
            }
            start = at + 1;
        }
        self.0.write_str(&text[start..])
    }
}

/// The bytes a JSON string cannot hold as they are: `"`, `\` and the control characters.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

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

#[cfg(test)]
mod json_lines_tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;

        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    /// What the product logs, in a span like the runtime's, and outside any span.
    fn log_some_events() {
        let span = tracing::info_span!("Lambda runtime invoke", requestId = "r-1", xrayTraceId = "Root=1-a\"b");
        let entered = span.enter();
        tracing::info!(
            target: "audit",
            request_id = "r-1",
            caller = "arn:aws:sts::1:assumed-role/r/s",
            status = 200u16,
            elapsed_ms = 3u64,
            offset = -4i64,
            ratio = 1.5f64,
            whole = 2.0f64,
            ok = true,
            error = %"a \"displayed\"\nerror\u{1}\\",
            debugged = ?Some("x"),
            "key operation"
        );
        tracing::warn!(upstream = "graph", "Graph call got no answer");
        drop(entered);
        tracing::error!("outside any span: {}", 42);
        let empty = tracing::info_span!("no fields");
        empty.in_scope(|| tracing::info!(n = 1u64, "in a span without fields"));
    }

    fn lines(json_lines: bool) -> Vec<Value> {
        let out = Lines::default();
        let builder = tracing_subscriber::fmt().json().with_writer(out.clone());
        let dispatch = match json_lines {
            true => tracing::Dispatch::new(builder.event_format(JsonLines).finish()),
            false => tracing::Dispatch::new(
                builder
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_target(true)
                    .finish(),
            ),
        };
        tracing::dispatcher::with_default(&dispatch, log_some_events);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                let mut value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                let timestamp = value["timestamp"].take();
                assert!(
                    timestamp.as_str().is_some_and(|t| t.len() >= 20 && t.ends_with('Z')),
                    "{timestamp}"
                );
                value
            })
            .collect()
    }

    #[test]
    fn json_lines_are_tracing_subscribers_json_lines() {
        let ours = lines(true);
        let theirs = lines(false);
        assert_eq!(ours.len(), 4);
        assert_eq!(ours, theirs);
        assert_eq!(ours[0]["span"]["requestId"], "r-1");
        assert_eq!(ours[0]["fields"]["error"], "a \"displayed\"\nerror\u{1}\\");
    }
}
