//! The Lambda adapter, and the only module that knows `lambda_http`: turns an invocation into an
//! operation, and the operation's result into a response.
//!
//! HTTP requests (Function URL / HTTP API v2, REST API v1) are routed on their exact path; every
//! other event arrives as `RequestContext::PassThrough` and goes to [`events`], so an HTTP caller
//! can never reach the rotation branch.

mod events;
mod query;
mod sanitize;

use lambda_http::http::{StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::access::Permission;
use crate::app::App;
use crate::candidates;
use crate::deadline::{DEFAULT_BUDGET, Deadline};
use crate::keys::{KeySource, Trigger};
use crate::metrics;
use crate::operations::{self, Operation, OperationError, Outcome, Tally};
use crate::problem::{Problem, RequestError};
use crate::secrets::SecretStore;
use crate::sensors::SensorSource;

pub use events::EventError;
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
    match request.request_context_ref() {
        Some(RequestContext::PassThrough) | None => {
            let summary = events::handle(app, request.body(), deadline).await?;
            Ok(json_response(StatusCode::OK, "application/json", summary))
        }
        Some(context) => {
            let caller = Caller::from_context(context);
            Ok(http(app, &request, &caller, &request_id, deadline).await)
        }
    }
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
            RequestContext::ApiGatewayV1(context) => (
                context.identity.user_arn.clone(),
                context.identity.access_key.clone(),
                context.identity.source_ip.clone(),
                context.identity.user_agent.clone(),
            ),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    ReadKey,
    RegenerateKey,
    SensorPackage,
    InstallBundle,
    ListSensors,
    SensorVerdict,
    SensorHealthIssues,
    ListSensorCandidates,
    ActivationMode,
    SetActivationMode,
    ActivateSensors,
}

impl Route {
    /// The allow-list that guards the route, known before its input is parsed, so a caller off
    /// the list learns nothing about its input (a test holds it to the operation's own).
    fn permission(self) -> Permission {
        match self {
            Route::RegenerateKey => Permission::RegenerateKey,
            Route::ActivateSensors | Route::SetActivationMode => Permission::ActivateSensors,
            _ => Permission::ReadKey,
        }
    }
}

/// Routes match exactly: no normalisation, so `/sensor-key/`, `//sensor-key` or `/Sensor-Key`
/// are simply unknown.
fn route(path: &str, method: &lambda_http::http::Method) -> Result<Route, RequestError> {
    use lambda_http::http::Method;
    match (path, method) {
        ("/sensor-key", &Method::GET) => Ok(Route::ReadKey),
        ("/sensor-key", _) => Err(RequestError::MethodNotAllowed("GET")),
        ("/sensor-key/regenerate", &Method::POST) => Ok(Route::RegenerateKey),
        ("/sensor-key/regenerate", _) => Err(RequestError::MethodNotAllowed("POST")),
        (sanitize::MALFORMED_REQUEST_PATH, _) => {
            Err(RequestError::BadRequest("the request's URL or headers are malformed"))
        }
        ("/sensor-package", &Method::GET) => Ok(Route::SensorPackage),
        ("/sensor-install-bundle", &Method::GET) => Ok(Route::InstallBundle),
        ("/sensors", &Method::GET) => Ok(Route::ListSensors),
        ("/sensor-candidates", &Method::GET) => Ok(Route::ListSensorCandidates),
        ("/sensor-candidates", _) => Err(RequestError::MethodNotAllowed("GET")),
        ("/sensor-candidates/activate", &Method::POST) => Ok(Route::ActivateSensors),
        ("/sensor-candidates/activate", _) => Err(RequestError::MethodNotAllowed("POST")),
        ("/sensor-candidates/activation-mode", &Method::GET) => Ok(Route::ActivationMode),
        ("/sensor-candidates/activation-mode", &Method::PUT) => Ok(Route::SetActivationMode),
        ("/sensor-candidates/activation-mode", _) => Err(RequestError::MethodNotAllowed("GET, PUT")),
        ("/sensor-package" | "/sensor-install-bundle" | "/sensors", _) => Err(RequestError::MethodNotAllowed("GET")),
        (path, method) if verdict_segment(path).is_some() => match *method {
            Method::GET => Ok(Route::SensorVerdict),
            _ => Err(RequestError::MethodNotAllowed("GET")),
        },
        (path, method) if host_segment(path, HEALTH_ISSUES).is_some() => match *method {
            Method::GET => Ok(Route::SensorHealthIssues),
            _ => Err(RequestError::MethodNotAllowed("GET")),
        },
        _ => Err(RequestError::NotFound),
    }
}

/// The `{displayName}` of `/sensors/{displayName}/verdict`, still percent-encoded.
fn verdict_segment(path: &str) -> Option<&str> {
    host_segment(path, "/verdict")
}

const HEALTH_ISSUES: &str = "/health-issues";

/// The `{host}` of `/sensors/{host}{suffix}`, still percent-encoded.
fn host_segment<'a>(path: &'a str, suffix: &str) -> Option<&'a str> {
    let segment = path.strip_prefix("/sensors/")?.strip_suffix(suffix)?;
    (!segment.is_empty() && !segment.contains('/')).then_some(segment)
}

/// The route's operation with its input, from the path, the query string and (for the two
/// activation writes) the JSON body; unknown query parameters are ignored, unknown body members
/// refused.
fn operation(route: Route, request: &Request) -> Result<Operation, RequestError> {
    let query = request.query_string_parameters_ref();
    let values = |name: &str| query.and_then(|query| query.all(name)).unwrap_or_default();
    Ok(match route {
        Route::ReadKey => Operation::ReadKey,
        Route::RegenerateKey => Operation::RegenerateKey { trigger: Trigger::Api },
        Route::SensorPackage => Operation::ReadSensorPackage,
        Route::InstallBundle => Operation::ReadInstallBundle(query::install_options(values)?),
        Route::ListSensors => Operation::ListSensors(query::sensor_filter(values)?),
        Route::SensorVerdict => {
            let segment = verdict_segment(request.raw_http_path()).ok_or(RequestError::NotFound)?;
            Operation::SensorVerdict(query::host_from_path_segment(segment)?)
        }
        Route::SensorHealthIssues => {
            let segment = host_segment(request.raw_http_path(), HEALTH_ISSUES).ok_or(RequestError::NotFound)?;
            Operation::SensorHealthIssues(query::host_from_path_segment(segment)?)
        }
        Route::ListSensorCandidates => Operation::ListSensorCandidates,
        Route::ActivationMode => Operation::ReadActivationMode,
        Route::ActivateSensors => Operation::ActivateSensors(candidates::activation_body(body_bytes(request.body())?)?),
        Route::SetActivationMode => {
            Operation::SetActivationMode(candidates::activation_mode_body(body_bytes(request.body())?)?)
        }
    })
}

/// Whether the route takes a JSON body (the activation writes); the others take none.
fn takes_body(route: Route) -> bool {
    matches!(route, Route::ActivateSensors | Route::SetActivationMode)
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

/// The other operations take no input: only an empty body or an empty JSON object is accepted.
fn check_empty_body(body: &Body) -> Result<(), RequestError> {
    let bytes: &[u8] = match body {
        Body::Empty => return Ok(()),
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) if bytes.is_empty() => return Ok(()),
        Body::Binary(bytes) if bytes.len() > MAX_BODY_BYTES => return Err(RequestError::TooLarge(MAX_BODY_BYTES)),
        Body::Binary(_) => {
            return Err(RequestError::BadRequest(
                "this operation takes no body; binary bodies are refused",
            ));
        }
        _ => return Err(RequestError::BadRequest("this operation takes no body")),
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge(MAX_BODY_BYTES));
    }
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
            tracing::info!(
                target: "audit",
                request_id,
                caller = caller.arn(),
                access_key_id = caller.access_key_id(),
                source_ip = caller.source_ip(),
                user_agent = caller.user_agent(),
                path = request.raw_http_path(),
                outcome = "refused",
                status = problem.status,
                "request refused"
            );
            return problem_response(&problem);
        }
    };
    let name = operation.name();
    let tally = operation.tally();
    match operations::run(app.graph.as_ref(), &app.keys, operation, deadline).await {
        Ok(answer) => {
            count(tally, "ok");
            if let Outcome::Regenerated(regenerated) = &answer.outcome
                && regenerated.concurrent_regenerate_won
            {
                tracing::warn!(
                    request_id,
                    "a concurrent regenerate won; answering with Graph's current key"
                );
            }
            tracing::info!(
                target: "audit",
                request_id,
                caller = caller.arn(),
                access_key_id = caller.access_key_id(),
                source_ip = caller.source_ip(),
                user_agent = caller.user_agent(),
                operation = name,
                outcome = "ok",
                graph_request_id = answer.graph_request_id.as_deref().unwrap_or(""),
                "key operation"
            );
            json_response(StatusCode::OK, "application/json", &answer.outcome)
        }
        Err(error) => {
            count(tally, "failed");
            let problem = Problem::from(&error).with_request_id(request_id);
            log_failure(request_id, caller, name, &error, &problem);
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
    let route = route(request.raw_http_path(), request.method())?;
    let caller = caller.ok_or(RequestError::Unauthenticated)?;
    let permission = route.permission();
    if !app.access.allows(caller, permission) {
        return Err(RequestError::NotAllowed(permission.name()));
    }
    if !takes_body(route) {
        check_empty_body(request.body())?;
    }
    operation(route, request)
}

fn count(tally: Tally, outcome: &str) {
    match tally {
        Tally::KeyRead => metrics::key_read(outcome),
        Tally::Regeneration => metrics::regeneration(outcome),
        Tally::SensorQuery => metrics::sensor_query(outcome),
        Tally::SensorActivation => metrics::sensor_activation(outcome),
    }
}

fn log_failure(request_id: &str, caller: &Caller, operation: &str, error: &OperationError, problem: &Problem) {
    tracing::warn!(
        target: "audit",
        request_id,
        caller = caller.arn(),
        access_key_id = caller.access_key_id(),
        source_ip = caller.source_ip(),
        user_agent = caller.user_agent(),
        operation,
        outcome = "failed",
        status = problem.status,
        graph_request_id = problem.upstream_request_id.as_deref().unwrap_or(""),
        error = %error,
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
    use lambda_http::http::Method;

    #[test]
    fn routes_match_exactly() {
        assert_eq!(route("/sensor-key", &Method::GET), Ok(Route::ReadKey));
        assert_eq!(route("/sensor-key/regenerate", &Method::POST), Ok(Route::RegenerateKey));
        for path in [
            "/sensor-key/",
            "//sensor-key",
            "/Sensor-Key",
            "/sensor-key/../sensor-key",
            "/%2e/sensor-key",
            "",
        ] {
            assert_eq!(route(path, &Method::GET), Err(RequestError::NotFound), "{path}");
        }
        assert_eq!(
            route("/sensor-key", &Method::POST),
            Err(RequestError::MethodNotAllowed("GET"))
        );
        assert_eq!(
            route("/sensor-key/regenerate", &Method::GET),
            Err(RequestError::MethodNotAllowed("POST"))
        );
    }

    #[test]
    fn sensor_routes_match_exactly_and_take_only_get() {
        assert_eq!(route("/sensor-package", &Method::GET), Ok(Route::SensorPackage));
        assert_eq!(route("/sensor-install-bundle", &Method::GET), Ok(Route::InstallBundle));
        assert_eq!(route("/sensors", &Method::GET), Ok(Route::ListSensors));
        assert_eq!(
            route("/sensors/DC1%2Ex/verdict", &Method::GET),
            Ok(Route::SensorVerdict)
        );
        assert_eq!(
            route("/sensors/dc1.contoso.com/health-issues", &Method::GET),
            Ok(Route::SensorHealthIssues)
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
            assert_eq!(route(path, &Method::GET), Err(RequestError::NotFound), "{path}");
        }
        for path in [
            "/sensor-package",
            "/sensors",
            "/sensors/DC1/verdict",
            "/sensors/DC1/health-issues",
        ] {
            assert_eq!(
                route(path, &Method::POST),
                Err(RequestError::MethodNotAllowed("GET")),
                "{path}"
            );
        }
        assert_eq!(
            Route::ListSensors.permission(),
            Permission::ReadKey,
            "KEY_READERS guards it"
        );
    }

    #[test]
    fn candidate_routes_match_exactly_and_only_the_writes_take_a_body_and_need_activators() {
        assert_eq!(
            route("/sensor-candidates", &Method::GET),
            Ok(Route::ListSensorCandidates)
        );
        assert_eq!(
            route("/sensor-candidates/activate", &Method::POST),
            Ok(Route::ActivateSensors)
        );
        assert_eq!(
            route("/sensor-candidates/activation-mode", &Method::GET),
            Ok(Route::ActivationMode)
        );
        assert_eq!(
            route("/sensor-candidates/activation-mode", &Method::PUT),
            Ok(Route::SetActivationMode)
        );
        assert_eq!(
            route("/sensor-candidates/activation-mode", &Method::POST),
            Err(RequestError::MethodNotAllowed("GET, PUT"))
        );
        for path in [
            "/sensor-candidates/",
            "/sensor-candidates/activate/",
            "/Sensor-Candidates",
        ] {
            assert_eq!(route(path, &Method::GET), Err(RequestError::NotFound), "{path}");
        }
        for route in [Route::ActivateSensors, Route::SetActivationMode] {
            assert!(takes_body(route));
            assert_eq!(route.permission(), Permission::ActivateSensors);
        }
        for route in [
            Route::ListSensorCandidates,
            Route::ActivationMode,
            Route::ReadKey,
            Route::RegenerateKey,
        ] {
            assert!(!takes_body(route), "{route:?} keeps refusing bodies");
        }
    }

    #[test]
    fn a_routes_permission_is_its_operations_whatever_the_input() {
        for (name, route) in [
            ("get-key.json", Route::ReadKey),
            ("regenerate.json", Route::RegenerateKey),
            ("get-sensor-package.json", Route::SensorPackage),
            ("get-install-bundle.json", Route::InstallBundle),
            ("get-sensors.json", Route::ListSensors),
            ("get-sensor-verdict.json", Route::SensorVerdict),
            ("get-sensor-health-issues.json", Route::SensorHealthIssues),
            ("get-sensor-candidates.json", Route::ListSensorCandidates),
            ("activate-sensors.json", Route::ActivateSensors),
            ("set-activation-mode.json", Route::SetActivationMode),
        ] {
            let text = std::fs::read_to_string(format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            let mut event: lambda_http::request::LambdaRequest = serde_json::from_str(&text).unwrap();
            make_convertible(&mut event);
            let request: Request = event.into();
            let operation = operation(route, &request).unwrap();
            assert_eq!(route.permission(), operation.permission(), "{name}");
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
        assert_eq!(
            check_empty_body(&Body::Text(" ".repeat(MAX_BODY_BYTES + 1))),
            Err(RequestError::TooLarge(MAX_BODY_BYTES))
        );
    }
}
