//! The Lambda adapter, and the only module that knows `lambda_http`: turns an invocation into an
//! operation, and the operation's result into a response.
//!
//! HTTP requests (Function URL / HTTP API, payload 2.0; no REST API is deployed, so lambda_http
//! is built without its v1 events) are routed on their exact path, from the
//! operations' declarations ([`crate::operations::DECLARATIONS`]): this module names no operation.
//! Every other event arrives as `RequestContext::PassThrough` and goes to [`events`], so an HTTP
//! caller can never reach the rotation branch. Before either, the function's [`Door`] must take
//! the invocation's kind: an HTTP request at the event door, or an event at the HTTP door, is
//! refused before anything upstream is touched.

mod events;
mod path;
mod refusal;
mod sanitize;

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::access::Permission;
use crate::app::App;
use crate::deadline::{DEFAULT_BUDGET, Deadline};
use crate::door::{Arrival, Door};
use crate::keys::KeySource;
use crate::metrics;
use crate::operations::{
    self, AuditSubject, DECLARATIONS, Declaration, Operation, OperationError, Outcome, Ports, RequestParts, Tally,
};
use crate::problem::Problem;
use crate::secrets::SecretStore;
use crate::sensors::SensorSource;

pub use events::EventError;
pub use refusal::RequestError;
pub use sanitize::make_convertible;

/// Larger bodies are refused before anything else is read from them.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Handles one invocation. HTTP outcomes, errors included, are responses; a failed event is an
/// `Err`, so Lambda retries it and the failure destination receives it.
pub async fn handle<K: KeySource + SensorSource, S: SecretStore>(
    app: &App<K, S>,
    request: Request,
) -> Result<Response<Body>, EventError> {
    metrics::invocation_started();
    let (request_id, deadline) = match request.lambda_context_ref() {
        Some(context) => (
            context.request_id.clone(),
            Deadline::from_lambda_millis(context.deadline),
        ),
        None => (String::new(), Deadline::after(DEFAULT_BUDGET)),
    };
    let arrival = match request.request_context_ref() {
        Some(RequestContext::PassThrough) | None if events::looks_like_http(request.body()) => {
            Arrival::HttpWithoutContext
        }
        Some(RequestContext::PassThrough) | None => Arrival::Event,
        Some(_) => Arrival::Http,
    };
    if !app.door.takes(arrival) {
        return Err(refused_at_door(app.door, arrival, &request_id));
    }
    match request.request_context_ref() {
        Some(RequestContext::PassThrough) | None => {
            // Boxed, as the operations are: the rotation's future would make every request's large.
            let summary = Box::pin(events::handle(app, request.body(), deadline)).await?;
            Ok(json_response(StatusCode::OK, "application/json", summary))
        }
        Some(context) => {
            let caller = Caller::from_context(context);
            Ok(http(app, &request, &caller, &request_id, deadline).await)
        }
    }
}

/// An invocation of the kind this door does not take: an audit line (the door and the event's
/// kind, never its body, whose caller a forger chose), one `DoorRefusals` metric, and an
/// invocation error, so Lambda's `Errors` counts it too.
fn refused_at_door(door: Door, arrival: Arrival, request_id: &str) -> EventError {
    tracing::warn!(
        target: "audit",
        request_id,
        door = door.name(),
        event_kind = arrival.name(),
        outcome = "refused",
        "invocation refused: it came through the wrong door"
    );
    metrics::door_refusal();
    EventError::WrongDoor {
        door: door.name(),
        arrival: arrival.name(),
    }
}

/// An audit line about an HTTP request: who asked, from the request context (the ARN, and what
/// matches the line with CloudTrail's record of the call), then the line's own fields.
macro_rules! audit {
    ($level:ident, $request_id:expr, $caller:expr, $($fields:tt)*) => {
        tracing::$level!(
            target: "audit",
            request_id = $request_id,
            caller = $caller.arn(),
            access_key_id = $caller.access_key_id(),
            source_ip = $caller.source_ip(),
            user_agent = $caller.user_agent(),
            $($fields)*
        )
    };
}

/// Who signed the request, from the request context only: headers are the caller's to forge, the
/// request context is set by AWS. Beside the ARN, the audit line records the access key id, the
/// source IP and the user agent, so a line can be matched with CloudTrail's record of the same
/// call (and a direct invoke with a made-up context told from a real URL request).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Caller {
    arn: Option<String>,
    access_key_id: Option<String>,
    source_ip: Option<String>,
    user_agent: Option<String>,
}

/// A user agent is the caller's own text: kept short in the audit line.
const MAX_USER_AGENT_CHARS: usize = 200;

impl Caller {
    fn from_context(context: &RequestContext) -> Caller {
        let (arn, access_key_id, source_ip, user_agent) = match context {
            RequestContext::ApiGatewayV2(context) => {
                let iam = context
                    .authorizer
                    .as_ref()
                    .and_then(|authorizer| authorizer.iam.as_ref());
                (
                    iam.and_then(|iam| iam.user_arn.clone()),
                    iam.and_then(|iam| iam.access_key.clone()),
                    context.http.source_ip.clone(),
                    context.http.user_agent.clone(),
                )
            }
            _ => (None, None, None, None),
        };
        Caller {
            arn: arn.filter(|arn| arn.starts_with("arn:")),
            access_key_id: access_key_id
                .filter(|id| (16..=128).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric())),
            source_ip: source_ip.filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()),
            user_agent: user_agent.map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect()),
        }
    }

    fn arn(&self) -> &str {
        self.arn.as_deref().unwrap_or("")
    }

    fn access_key_id(&self) -> &str {
        self.access_key_id.as_deref().unwrap_or("")
    }

    fn source_ip(&self) -> &str {
        self.source_ip.as_deref().unwrap_or("")
    }

    fn user_agent(&self) -> &str {
        self.user_agent.as_deref().unwrap_or("")
    }
}

/// The declaration whose route `path` and `method` are, with the path's `{host}` segment; `404`
/// when no declaration has the path, `405` with the methods it takes when none has the method.
fn route<'a>(path: &'a str, method: &Method) -> Result<(&'static Declaration, Option<&'a str>), RequestError> {
    if path == sanitize::MALFORMED_REQUEST_PATH {
        return Err(RequestError::BadRequest("the request's URL or headers are malformed"));
    }
    let mut allowed: Vec<&str> = Vec::new();
    for declaration in DECLARATIONS {
        if let Some(host) = declaration.matches_path(path) {
            if declaration.method == method {
                return Ok((declaration, host));
            }
            allowed.push(declaration.method.as_str());
        }
    }
    match allowed.is_empty() {
        true => Err(RequestError::NotFound),
        false => Err(RequestError::MethodNotAllowed(allowed.join(", "))),
    }
}

/// A body's bytes, at most [`MAX_BODY_BYTES`] of them.
fn body_bytes(body: &Body) -> Result<&[u8], RequestError> {
    let bytes: &[u8] = match body {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => return Err(RequestError::BadRequest("the body could not be read")),
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge(MAX_BODY_BYTES));
    }
    Ok(bytes)
}

/// The other operations take no input: only an empty body or an empty JSON object is accepted,
/// however the door delivered it. A function URL base64-encodes a body whose content type it does
/// not take for text (`curl -d '{}'` sends `application/x-www-form-urlencoded`, which arrives as
/// `isBase64Encoded: true`, body `e30=`), so a binary body is read like a text one.
fn check_empty_body(body: &Body) -> Result<(), RequestError> {
    let bytes = body_bytes(body)?;
    let text = std::str::from_utf8(bytes).map_err(|_| RequestError::BadRequest("this operation takes no body"))?;
    if text.trim().is_empty() {
        return Ok(());
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(fields)) if fields.is_empty() => Ok(()),
        _ => Err(RequestError::BadRequest(
            "this operation takes no body: send nothing or {}",
        )),
    }
}

async fn http<K: KeySource + SensorSource, S: SecretStore>(
    app: &App<K, S>,
    request: &Request,
    caller: &Caller,
    request_id: &str,
    deadline: Deadline,
) -> Response<Body> {
    let operation = match admit(app, request, caller.arn.as_deref()) {
        Ok(operation) => operation,
        Err(refusal) => {
            let problem = Problem::from(&refusal).with_request_id(request_id);
            audit!(
                info,
                request_id,
                caller,
                path = request.raw_http_path(),
                outcome = "refused",
                status = problem.status,
                "request refused"
            );
            return problem_response(&problem);
        }
    };
    let Declaration { name, tally, .. } = operation.declaration();
    let subject = operation.audit_subject();
    let ports = Ports {
        graph: app.graph.as_ref(),
        keys: &app.keys,
    };
    // A rotator who is not also a reader learns what the regenerate did, not the key (issue 21).
    let reads_key = caller
        .arn
        .as_deref()
        .is_some_and(|arn| app.access.allows(arn, Permission::ReadKey));
    match operations::run(ports, operation, deadline).await {
        Ok(mut answer) => {
            if !reads_key {
                answer.outcome.withhold_key();
            }
            count(*tally, "ok");
            if let Outcome::Regenerated(regenerated) = &answer.outcome
                && regenerated.concurrent_regenerate_won
            {
                tracing::warn!(
                    request_id,
                    "a concurrent regenerate won; answering with Graph's current key"
                );
            }
            audit!(
                info,
                request_id,
                caller,
                operation = name,
                server_ids = subject.server_ids.as_str(),
                activation_mode = subject.activation_mode,
                outcome = "ok",
                graph_request_id = answer.graph_request_id.as_deref().unwrap_or(""),
                "key operation"
            );
            json_response(StatusCode::OK, "application/json", &answer.outcome)
        }
        Err(error) => {
            count(*tally, "failed");
            let problem = Problem::from(&error).with_request_id(request_id);
            log_failure(request_id, caller, name, &subject, &error, &problem);
            problem_response(&problem)
        }
    }
}

/// Route, then identity, then permission, then body and input: nothing upstream is touched before
/// all pass.
fn admit<K: KeySource, S: SecretStore>(
    app: &App<K, S>,
    request: &Request,
    caller: Option<&str>,
) -> Result<Operation, RequestError> {
    let path = path::routed_path(request.raw_http_path(), request.request_context_ref())?;
    let (declaration, host) = route(&path, request.method())?;
    let caller = caller.ok_or(RequestError::Unauthenticated)?;
    let permission = declaration.permission;
    if !app.access.allows(caller, permission) {
        return Err(RequestError::NotAllowed(permission.name()));
    }
    let body = match declaration.body {
        operations::Body::None => check_empty_body(request.body()).map(|()| &[][..])?,
        operations::Body::Json => body_bytes(request.body())?,
    };
    let query = request.query_string_parameters_ref();
    let names: Vec<&str> = query
        .map(|query| query.iter().map(|(name, _)| name).collect())
        .unwrap_or_default();
    operations::only_declared(&names, declaration.query)?;
    let values = |name: &str| query.and_then(|query| query.all(name)).unwrap_or_default();
    let parts = RequestParts {
        host,
        query: &values,
        body,
    };
    Ok((declaration.input)(&parts)?)
}

fn count(tally: Tally, outcome: &str) {
    match tally {
        Tally::KeyRead => metrics::key_read(outcome),
        Tally::Regeneration => metrics::regeneration(outcome),
        Tally::SensorQuery => metrics::sensor_query(outcome),
        Tally::SensorActivation => metrics::sensor_activation(outcome),
    }
}

fn log_failure(
    request_id: &str,
    caller: &Caller,
    operation: &str,
    subject: &AuditSubject,
    error: &OperationError,
    problem: &Problem,
) {
    audit!(
        warn,
        request_id,
        caller,
        operation,
        server_ids = subject.server_ids.as_str(),
        activation_mode = subject.activation_mode,
        outcome = "failed",
        status = problem.status,
        graph_request_id = problem.upstream_request_id.as_deref().unwrap_or(""),
        error = %error,
        diagnosis = problem.full_detail.as_deref().unwrap_or(""),
        "key operation failed"
    );
}

fn json_response(status: StatusCode, content_type: &str, body: impl serde::Serialize) -> Response<Body> {
    let text = serde_json::to_string(&body).unwrap_or_default();
    response(status, content_type, text, Vec::new())
}

fn problem_response(problem: &Problem) -> Response<Body> {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response(status, "application/problem+json", problem.to_json(), problem.headers())
}

fn response(
    status: StatusCode,
    content_type: &str,
    body: String,
    headers: Vec<(header::HeaderName, String)>,
) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store");
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.body(Body::Text(body)).unwrap_or_else(|_| {
        let mut fallback = Response::new(Body::Empty);
        *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(path: &str, method: &Method) -> Result<&'static str, RequestError> {
        route(path, method).map(|(declaration, _)| declaration.name)
    }

    #[test]
    fn routes_match_exactly() {
        assert_eq!(routed("/sensor-key", &Method::GET), Ok("read-key"));
        assert_eq!(routed("/sensor-key/regenerate", &Method::POST), Ok("regenerate-key"));
        for path in [
            "/sensor-key/",
            "//sensor-key",
            "/Sensor-Key",
            "/sensor-key/../sensor-key",
            "/%2e/sensor-key",
            "",
        ] {
            assert_eq!(routed(path, &Method::GET), Err(RequestError::NotFound), "{path}");
        }
        assert_eq!(
            routed("/sensor-key", &Method::POST),
            Err(RequestError::MethodNotAllowed("GET".into()))
        );
        assert_eq!(
            routed("/sensor-key/regenerate", &Method::GET),
            Err(RequestError::MethodNotAllowed("POST".into()))
        );
        assert_eq!(
            routed(sanitize::MALFORMED_REQUEST_PATH, &Method::GET),
            Err(RequestError::BadRequest("the request's URL or headers are malformed"))
        );
    }

    #[test]
    fn sensor_routes_match_exactly_and_take_only_get() {
        assert_eq!(routed("/sensor-package", &Method::GET), Ok("read-sensor-package"));
        assert_eq!(
            routed("/sensor-install-bundle", &Method::GET),
            Ok("read-install-bundle")
        );
        assert_eq!(routed("/sensors", &Method::GET), Ok("list-sensors"));
        assert_eq!(
            route("/sensors/DC1%2Ex/verdict", &Method::GET).map(|(declaration, host)| (declaration.name, host)),
            Ok(("sensor-verdict", Some("DC1%2Ex")))
        );
        assert_eq!(
            routed("/sensors/dc1.contoso.com/health-issues", &Method::GET),
            Ok("sensor-health-issues")
        );
        for path in [
            "/sensors/",
            "/sensors//verdict",
            "/sensors/a/b/verdict",
            "/sensors/a/verdict/",
            "/sensors//health-issues",
            "/sensors/a/b/health-issues",
            "/sensors/a/Health-Issues",
            "/Sensors",
        ] {
            assert_eq!(routed(path, &Method::GET), Err(RequestError::NotFound), "{path}");
        }
        for path in [
            "/sensor-package",
            "/sensors",
            "/sensors/DC1/verdict",
            "/sensors/DC1/health-issues",
        ] {
            assert_eq!(
                routed(path, &Method::POST),
                Err(RequestError::MethodNotAllowed("GET".into())),
                "{path}"
            );
        }
    }

    #[test]
    fn candidate_routes_match_exactly_and_a_path_with_two_methods_allows_both() {
        assert_eq!(routed("/sensor-candidates", &Method::GET), Ok("list-sensor-candidates"));
        assert_eq!(
            routed("/sensor-candidates/activate", &Method::POST),
            Ok("activate-sensors")
        );
        assert_eq!(
            routed("/sensor-candidates/activation-mode", &Method::GET),
            Ok("read-activation-mode")
        );
        assert_eq!(
            routed("/sensor-candidates/activation-mode", &Method::PUT),
            Ok("set-activation-mode")
        );
        assert_eq!(
            routed("/sensor-candidates/activation-mode", &Method::POST),
            Err(RequestError::MethodNotAllowed("GET, PUT".into()))
        );
        for path in [
            "/sensor-candidates/",
            "/sensor-candidates/activate/",
            "/Sensor-Candidates",
        ] {
            assert_eq!(routed(path, &Method::GET), Err(RequestError::NotFound), "{path}");
        }
    }

    /// Each HTTP event of events/, converted as Lambda delivers it.
    fn event_fixtures() -> Vec<(String, Request)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
        let mut fixtures = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            if !text.contains("\"requestContext\"") {
                continue;
            }
            let mut event: lambda_http::request::LambdaRequest = serde_json::from_str(&text).unwrap();
            make_convertible(&mut event);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            fixtures.push((name, event.into()));
        }
        fixtures
    }

    #[test]
    fn every_declared_operation_has_an_event_fixture_and_its_input_makes_that_operation() {
        let fixtures = event_fixtures();
        for declaration in DECLARATIONS {
            let mut covered = false;
            for (name, request) in &fixtures {
                let path = path::routed_path(request.raw_http_path(), request.request_context_ref()).unwrap();
                let Ok((routed, host)) = route(&path, request.method()) else {
                    continue;
                };
                if routed.name != declaration.name {
                    continue;
                }
                let body = body_bytes(request.body()).unwrap();
                let query = request.query_string_parameters_ref();
                let values = |name: &str| query.and_then(|query| query.all(name)).unwrap_or_default();
                let parts = RequestParts {
                    host,
                    query: &values,
                    body,
                };
                let operation = (declaration.input)(&parts).unwrap_or_else(|error| panic!("{name}: {error}"));
                assert!(
                    operation.name() == declaration.name,
                    "{name}: {} makes {:?}",
                    declaration.name,
                    operation
                );
                covered = true;
            }
            assert!(
                covered,
                "{}: add an events/ fixture for {} {}",
                declaration.name, declaration.method, declaration.path
            );
        }
    }

    #[test]
    fn the_caller_is_read_from_the_request_context_with_its_key_id_address_and_agent() {
        let mut event: lambda_http::request::LambdaRequest =
            serde_json::from_str(include_str!("../../events/get-key.json")).unwrap();
        make_convertible(&mut event);
        let request: Request = event.into();

        let caller = Caller::from_context(request.request_context_ref().unwrap());

        assert_eq!(
            caller,
            Caller {
                arn: Some("arn:aws:sts::123456789012:assumed-role/sensor-installer/i-0123456789abcdef0".into()),
                access_key_id: Some("ASIAEXAMPLEEXAMPLE00".into()),
                source_ip: Some("10.0.0.10".into()),
                user_agent: Some("sensor-installer/1.0".into()),
            }
        );
    }

    #[test]
    fn only_an_empty_body_or_an_empty_object_is_accepted() {
        assert!(check_empty_body(&Body::Empty).is_ok());
        assert!(check_empty_body(&Body::Text(" {} ".into())).is_ok());
        assert!(check_empty_body(&Body::Text("".into())).is_ok());
        assert!(check_empty_body(&Body::Text("{\"a\":1}".into())).is_err());
        assert!(check_empty_body(&Body::Text("{".into())).is_err());
        assert!(check_empty_body(&Body::Binary(vec![0, 1])).is_err());
        // A function URL's base64 body, decoded by lambda_http: `e30=` is `{}`.
        assert!(check_empty_body(&Body::Binary(b"{}".to_vec())).is_ok());
        assert!(check_empty_body(&Body::Binary(b"{\"a\":1}".to_vec())).is_err());
        assert_eq!(
            check_empty_body(&Body::Text(" ".repeat(MAX_BODY_BYTES + 1))),
            Err(RequestError::TooLarge(MAX_BODY_BYTES))
        );
    }
}
