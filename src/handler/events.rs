//! Non-HTTP events: EventBridge schedules, EventBridge Scheduler input and Secrets Manager
//! rotation steps, parsed into a [`RotationRequest`] and run by the [`Rotator`](crate::rotation::Rotator).
//!
//! An event that is none of these is refused with an error that names its kind, never its content.

use lambda_http::Body;
use lambda_http::lambda_runtime::Diagnostic;
use serde_json::{Map, Value};

use crate::app::App;
use crate::deadline::Deadline;
use crate::keys::{KeySource, Trigger};
use crate::metrics;
use crate::rotation::{RotationError, RotationRequest, RotationSummary, Step};
use crate::secrets::SecretStore;

/// Secrets Manager's ClientRequestToken bounds, which our idempotency keys must also meet.
const TOKEN_LENGTH: std::ops::RangeInclusive<usize> = 32..=64;
/// Namespace for idempotency keys derived from Scheduler occurrences (a fixed, random UUID).
const SCHEDULER_NAMESPACE: uuid::Uuid = uuid::uuid!("6f1b1c38-5d0e-4f55-9a8e-2b7c4f2d9e11");

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(
        "unrecognised event: {0}; expected an HTTP request, an EventBridge schedule, a Scheduler rotate input or a Secrets Manager rotation step"
    )]
    Unrecognised(String),
    #[error("invalid {kind} event: {problem}")]
    Invalid { kind: &'static str, problem: String },
    #[error(
        "refused: a {arrival} does not come through the {door} door (FUNCTION_DOOR; docs/security.md, \"Two doors\")"
    )]
    WrongDoor { door: &'static str, arrival: &'static str },
    #[error("rotation failed: {error}{ids}", error = .0, ids = .0.graph_request_id().map(|id| format!(" (Graph request-id {id})")).unwrap_or_default())]
    Rotation(Box<RotationError>),
}

impl From<EventError> for Diagnostic {
    fn from(error: EventError) -> Diagnostic {
        let error_type = match &error {
            EventError::Unrecognised(_) => "UnrecognisedEvent",
            EventError::Invalid { .. } => "InvalidEvent",
            EventError::Rotation(_) => "RotationFailed",
            EventError::WrongDoor { .. } => "WrongDoor",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

pub(super) async fn handle<K: KeySource, S: SecretStore>(
    app: &App<K, S>,
    body: &Body,
    deadline: Deadline,
) -> Result<RotationSummary, EventError> {
    let request = parse(body)?;
    let outcome = app.rotator.run(&app.keys, request, deadline).await;
    metrics::rotation(outcome.as_ref().map_or("failed", |summary| summary.outcome.name()));
    if let Some(stored_at) = outcome.as_ref().ok().and_then(|summary| summary.key_stored_at) {
        let age = time::OffsetDateTime::now_utc() - stored_at;
        metrics::key_age(age.try_into().unwrap_or_default());
    }
    outcome.map_err(|error| {
        let graph_request_id = error.graph_request_id().unwrap_or_default();
        tracing::error!(error = %error, graph_request_id, "rotation failed");
        EventError::Rotation(Box::new(error))
    })
}

pub(crate) fn parse(body: &Body) -> Result<RotationRequest, EventError> {
    let bytes: &[u8] = match body {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|_| EventError::Unrecognised("not JSON".into()))?;
    let Value::Object(event) = value else {
        return Err(EventError::Unrecognised(format!("a JSON {}", json_kind(&value))));
    };
    if event.contains_key("Step") {
        return native(&event);
    }
    if event.get("action").is_some() && event.contains_key("scheduleArn")
        || event.get("action") == Some(&Value::from("rotate"))
        || event.get("action") == Some(&Value::from("check"))
    {
        return scheduler(&event);
    }
    if event.get("source") == Some(&Value::from("aws.events"))
        && event.get("detail-type") == Some(&Value::from("Scheduled Event"))
    {
        let id = text_field(&event, "id", "scheduled")?;
        return Ok(RotationRequest::Scheduled {
            trigger: Trigger::Schedule,
            token: idempotency_token(id),
        });
    }
    if has_http_members(&event) {
        return Err(EventError::Unrecognised(
            "an HTTP-looking event without a valid request context".into(),
        ));
    }
    if event.contains_key("detail-type") || event.contains_key("source") {
        return Err(EventError::Unrecognised(
            "an EventBridge event other than a scheduled one".into(),
        ));
    }
    Err(EventError::Unrecognised(format!(
        "a JSON object with {} fields of no known event",
        event.len()
    )))
}

/// Members only an HTTP event has.
fn has_http_members(event: &Map<String, Value>) -> bool {
    ["httpMethod", "requestContext", "rawPath", "routeKey"]
        .iter()
        .any(|key| event.contains_key(*key))
}

/// Whether an event without a readable request context still looks like an HTTP request (a JSON
/// object with an HTTP event's members), for the door check.
pub(crate) fn looks_like_http(body: &Body) -> bool {
    let bytes: &[u8] = match body {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => return false,
    };
    matches!(serde_json::from_slice::<Value>(bytes), Ok(Value::Object(event)) if has_http_members(&event))
}

fn native(event: &Map<String, Value>) -> Result<RotationRequest, EventError> {
    const KIND: &str = "Secrets Manager rotation";
    let step = match text_field(event, "Step", KIND)? {
        "createSecret" => Step::Create,
        "setSecret" => Step::Set,
        "testSecret" => Step::Test,
        "finishSecret" => Step::Finish,
        _ => {
            return Err(EventError::Invalid {
                kind: KIND,
                problem: "Step must be createSecret, setSecret, testSecret or finishSecret".into(),
            });
        }
    };
    let secret_id = text_field(event, "SecretId", KIND)?.to_owned();
    let token = text_field(event, "ClientRequestToken", KIND)?;
    if !TOKEN_LENGTH.contains(&token.len()) || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(EventError::Invalid {
            kind: KIND,
            problem: "ClientRequestToken must be 32 to 64 letters, digits, '-' or '_'".into(),
        });
    }
    Ok(RotationRequest::Native {
        step,
        secret_id,
        token: token.to_owned(),
    })
}

fn scheduler(event: &Map<String, Value>) -> Result<RotationRequest, EventError> {
    const KIND: &str = "Scheduler";
    let action = text_field(event, "action", KIND)?;
    if action != "rotate" && action != "check" {
        return Err(EventError::Invalid {
            kind: KIND,
            problem: "action must be \"rotate\" or \"check\"".into(),
        });
    }
    let schedule_arn = text_field(event, "scheduleArn", KIND)?;
    let scheduled_time = text_field(event, "scheduledTime", KIND)?;
    // Every retry of one occurrence carries the same ARN and time, so maps to the same token.
    let token = uuid::Uuid::new_v5(
        &SCHEDULER_NAMESPACE,
        format!("{schedule_arn}|{scheduled_time}").as_bytes(),
    );
    let token = token.to_string();
    Ok(match action {
        "check" => RotationRequest::Check {
            trigger: Trigger::Scheduler,
            token,
        },
        _ => RotationRequest::Scheduled {
            trigger: Trigger::Scheduler,
            token,
        },
    })
}

/// The EventBridge event id when it is usable as a ClientRequestToken as it is; otherwise a
/// stable UUID derived from it.
fn idempotency_token(id: &str) -> String {
    if TOKEN_LENGTH.contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        id.to_owned()
    } else {
        uuid::Uuid::new_v5(&SCHEDULER_NAMESPACE, id.as_bytes()).to_string()
    }
}

fn text_field<'a>(
    event: &'a Map<String, Value>,
    field: &'static str,
    kind: &'static str,
) -> Result<&'a str, EventError> {
    match event.get(field) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text),
        _ => Err(EventError::Invalid {
            kind,
            problem: format!("{field} is missing, empty or not a string"),
        }),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<RotationRequest, EventError> {
        parse(&Body::Text(text.to_owned()))
    }

    #[test]
    fn a_scheduled_event_uses_its_id_as_the_token() {
        let request = parse_text(include_str!("../../events/schedule.json")).unwrap();
        assert_eq!(
            request,
            RotationRequest::Scheduled {
                trigger: Trigger::Schedule,
                token: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa".into()
            }
        );
    }

    #[test]
    fn every_retry_of_a_scheduler_occurrence_maps_to_one_token_and_occurrences_differ() {
        let one = r#"{"action":"rotate","scheduleArn":"arn:aws:scheduler:us-east-1:1:schedule/default/r","scheduledTime":"2026-11-01T00:00:00Z"}"#;
        let next = one.replace("2026-11-01", "2026-12-01");
        assert_eq!(parse_text(one).unwrap(), parse_text(one).unwrap());
        assert_ne!(parse_text(one).unwrap(), parse_text(&next).unwrap());
    }

    #[test]
    fn a_check_input_is_a_check_and_another_action_is_refused() {
        let check = r#"{"action":"check","scheduleArn":"arn:aws:scheduler:us-east-1:1:schedule/g/c","scheduledTime":"2026-11-01T00:00:00Z"}"#;
        assert!(matches!(parse_text(check).unwrap(), RotationRequest::Check { .. }));
        let other = check.replace("\"check\"", "\"delete\"");
        assert!(matches!(parse_text(&other), Err(EventError::Invalid { .. })));
    }

    #[test]
    fn a_scheduler_input_with_a_missing_field_is_named() {
        let error = parse_text(r#"{"action":"rotate","scheduleArn":"arn:x"}"#).unwrap_err();
        assert!(error.to_string().contains("scheduledTime"), "{error}");
    }

    #[test]
    fn rotation_steps_parse_and_bad_tokens_are_refused() {
        let request = parse_text(include_str!("../../events/rotation-create-secret.json")).unwrap();
        assert!(matches!(request, RotationRequest::Native { step: Step::Create, .. }));
        for token in ["short", &"x".repeat(65), "has space in it and is long enough to pass"] {
            let event = format!(r#"{{"Step":"createSecret","SecretId":"arn:s","ClientRequestToken":"{token}"}}"#);
            assert!(matches!(parse_text(&event), Err(EventError::Invalid { .. })), "{token}");
        }
        let missing = r#"{"Step":"createSecret","SecretId":"arn:s"}"#;
        assert!(
            parse_text(missing)
                .unwrap_err()
                .to_string()
                .contains("ClientRequestToken")
        );
    }

    #[test]
    fn unknown_events_are_named_by_kind_not_content() {
        for (text, expected) in [
            ("not json at all", "not JSON"),
            ("[1,2]", "a JSON array"),
            (r#"{"httpMethod":"GET","path":"/sensor-key"}"#, "HTTP-looking"),
            (
                r#"{"source":"aws.s3","detail-type":"Object Created"}"#,
                "EventBridge event other",
            ),
            (r#"{"hunter2":"value"}"#, "1 fields"),
        ] {
            let message = parse_text(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }
}
