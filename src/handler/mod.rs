//! The Lambda adapter, and the only module that knows `lambda_http`: turns an invocation into an
//! operation, and the operation's result into a response.
//!
//! HTTP requests (Function URL / HTTP API v2, REST API v1) are routed on their exact path; every
//! other event arrives as `RequestContext::PassThrough` and goes to [`events`], so an HTTP caller
//! can never reach the rotation branch.

mod events;
mod sanitize;

use lambda_http::http::{StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::access::Operation;
use crate::app::App;
use crate::deadline::{DEFAULT_BUDGET, Deadline};
use crate::keys::{KeyError, KeySource, Trigger};
use crate::metrics;
use crate::problem::{Problem, RequestError};
use crate::secrets::SecretStore;
use crate::sensors::{self, HostName, InstallOptions, SensorError, SensorFilter, SensorSource};

pub use events::EventError;
pub use sanitize::make_convertible;

/// Why an admitted operation failed: the key's errors or the sensors'; problem.rs maps each.
#[derive(Debug, thiserror::Error)]
enum Failed {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Sensor(#[from] SensorError),
}

impl From<crate::graph::GraphError> for Failed {
    fn from(error: crate::graph::GraphError) -> Self {
        Failed::Key(KeyError::Graph(error))
    }
}

impl From<&Failed> for Problem {
    fn from(failed: &Failed) -> Self {
        match failed {
            Failed::Key(error) => Problem::from(error),
            Failed::Sensor(error) => Problem::from(error),
        }
    }
}

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
}

impl Route {
    /// The allow-list that guards the route: the sensor routes are reads, for `KEY_READERS`.
    fn operation(self) -> Operation {
        match self {
            Route::RegenerateKey => Operation::RegenerateKey,
            _ => Operation::ReadKey,
        }
    }

    /// The operation's name in the audit log.
    fn name(self) -> &'static str {
        match self {
            Route::ReadKey | Route::RegenerateKey => self.operation().name(),
            Route::SensorPackage => "read-sensor-package",
            Route::InstallBundle => "read-install-bundle",
            Route::ListSensors => "list-sensors",
            Route::SensorVerdict => "sensor-verdict",
        }
    }
}

/// An admitted request: its route and the input parsed from its path and query.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    ReadKey,
    RegenerateKey,
    SensorPackage,
    InstallBundle(InstallOptions),
    ListSensors(SensorFilter),
    SensorVerdict(HostName),
}

impl Call {
    fn route(&self) -> Route {
        match self {
            Call::ReadKey => Route::ReadKey,
            Call::RegenerateKey => Route::RegenerateKey,
            Call::SensorPackage => Route::SensorPackage,
            Call::InstallBundle(_) => Route::InstallBundle,
            Call::ListSensors(_) => Route::ListSensors,
            Call::SensorVerdict(_) => Route::SensorVerdict,
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
        ("/sensor-package" | "/sensor-install-bundle" | "/sensors", _) => Err(RequestError::MethodNotAllowed("GET")),
        (path, method) if verdict_segment(path).is_some() => match *method {
            Method::GET => Ok(Route::SensorVerdict),
            _ => Err(RequestError::MethodNotAllowed("GET")),
        },
        _ => Err(RequestError::NotFound),
    }
}

/// The `{displayName}` of `/sensors/{displayName}/verdict`, still percent-encoded.
fn verdict_segment(path: &str) -> Option<&str> {
    let segment = path.strip_prefix("/sensors/")?.strip_suffix("/verdict")?;
    (!segment.is_empty() && !segment.contains('/')).then_some(segment)
}

/// The route's input, from the path and the query string; unknown query parameters are ignored.
fn input(route: Route, request: &Request) -> Result<Call, RequestError> {
    let query = request.query_string_parameters_ref();
    let values = |name: &str| query.and_then(|query| query.all(name)).unwrap_or_default();
    Ok(match route {
        Route::ReadKey => Call::ReadKey,
        Route::RegenerateKey => Call::RegenerateKey,
        Route::SensorPackage => Call::SensorPackage,
        Route::InstallBundle => Call::InstallBundle(InstallOptions::from_query(values)?),
        Route::ListSensors => Call::ListSensors(SensorFilter::from_query(values)?),
        Route::SensorVerdict => {
            let segment = verdict_segment(request.raw_http_path()).ok_or(RequestError::NotFound)?;
            Call::SensorVerdict(HostName::from_path_segment(segment)?)
        }
    })
}

/// The operations take no input: only an empty body or an empty JSON object is accepted.
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
    let call = match admit(app, request, caller.arn.as_deref()) {
        Ok(call) => call,
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
    let route = call.route();
    match perform(app, call, request_id, deadline).await {
        Ok((body, graph_request_id)) => {
            count(route, "ok");
            tracing::info!(
                target: "audit",
                request_id,
                caller = caller.arn(),
                access_key_id = caller.access_key_id(),
                source_ip = caller.source_ip(),
                user_agent = caller.user_agent(),
                operation = route.name(),
                outcome = "ok",
                graph_request_id = graph_request_id.as_deref().unwrap_or(""),
                "key operation"
            );
            json_response(StatusCode::OK, "application/json", body)
        }
        Err(error) => {
            count(route, "failed");
            let problem = Problem::from(&error).with_request_id(request_id);
            log_failure(request_id, caller, route.name(), &error, &problem);
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
) -> Result<Call, RequestError> {
    let route = route(request.raw_http_path(), request.method())?;
    let caller = caller.ok_or(RequestError::Unauthenticated)?;
    if !app.access.allows(caller, route.operation()) {
        return Err(RequestError::NotAllowed(route.operation().name()));
    }
    check_empty_body(request.body())?;
    input(route, request)
}

/// Runs the operation; the body holds the key, so it is built here and handed straight back.
async fn perform<K: KeySource + SensorSource, S: SecretStore>(
    app: &App<K, S>,
    call: Call,
    request_id: &str,
    deadline: Deadline,
) -> Result<(serde_json::Value, Option<String>), Failed> {
    let graph = app.keys.source();
    match call {
        Call::ReadKey => {
            let answer = app.keys.read(deadline).await?;
            let body = json!({ "sensorDeploymentAccessKey": answer.key.expose().expose_secret() });
            Ok((body, answer.graph_request_id))
        }
        Call::RegenerateKey => {
            let token = uuid::Uuid::new_v4().to_string();
            let done = app.keys.regenerate(Trigger::Api, &token, deadline).await?;
            if done.drift_repaired {
                tracing::warn!(
                    request_id,
                    "a concurrent regenerate won; answering with Graph's current key"
                );
            }
            // `verified: false`: regenerated and stored, but the check against Graph failed. The
            // key is still the new one; an error here would only invite a second regenerate.
            let body = json!({
                "sensorDeploymentAccessKey": done.key.expose().expose_secret(),
                "stored": done.stored,
                "verified": done.verified,
            });
            Ok((body, done.graph_request_id))
        }
        Call::SensorPackage => {
            let answer = graph.deployment_package(deadline).await?;
            Ok((json!(answer.package), answer.graph_request_id))
        }
        Call::InstallBundle(options) => {
            let bundle = sensors::install_bundle(graph, &options, deadline).await?;
            let body = json!({
                "sensorDeploymentAccessKey": bundle.key.expose().expose_secret(),
                "downloadUrl": bundle.package.download_url,
                "version": bundle.package.version,
                "installCommand": bundle.install_command.expose_secret(),
                "installCommandPowerShell": bundle.install_command_powershell.expose_secret(),
            });
            Ok((body, bundle.graph_request_id))
        }
        Call::ListSensors(filter) => {
            let list = sensors::list(graph, &filter, deadline).await?;
            let graph_request_id = list.graph_request_id.clone();
            Ok((json!(list), graph_request_id))
        }
        Call::SensorVerdict(host) => {
            let verdict = sensors::verdict(graph, &host, deadline).await?;
            let graph_request_id = verdict.graph_request_id.clone();
            Ok((json!(verdict), graph_request_id))
        }
    }
}

/// The bundle hands out the key, so it counts as a key read; the other sensor routes do not.
fn count(route: Route, outcome: &str) {
    match route {
        Route::ReadKey | Route::InstallBundle => metrics::key_read(outcome),
        Route::RegenerateKey => metrics::regeneration(outcome),
        Route::SensorPackage | Route::ListSensors | Route::SensorVerdict => metrics::sensor_query(outcome),
    }
}

fn log_failure(request_id: &str, caller: &Caller, operation: &str, error: &Failed, problem: &Problem) {
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
        for path in [
            "/sensors/",
            "/sensors//verdict",
            "/sensors/a/b/verdict",
            "/sensors/a/verdict/",
            "/Sensors",
        ] {
            assert_eq!(route(path, &Method::GET), Err(RequestError::NotFound), "{path}");
        }
        for path in ["/sensor-package", "/sensors", "/sensors/DC1/verdict"] {
            assert_eq!(
                route(path, &Method::POST),
                Err(RequestError::MethodNotAllowed("GET")),
                "{path}"
            );
        }
        assert_eq!(
            Route::ListSensors.operation(),
            Operation::ReadKey,
            "KEY_READERS guards it"
        );
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
