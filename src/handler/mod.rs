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

pub use events::EventError;
pub use sanitize::make_convertible;

/// Larger bodies are refused before anything else is read from them.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Handles one invocation. HTTP outcomes, errors included, are responses; a failed event is an
/// `Err`, so Lambda retries it and the failure destination receives it.
pub async fn handle<K: KeySource, S: SecretStore>(
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
            let caller = caller_arn(context).map(str::to_owned);
            Ok(http(app, &request, caller.as_deref(), &request_id, deadline).await)
        }
    }
}

/// The IAM principal that signed the request, from the request context only: headers are the
/// caller's to forge, the request context is set by AWS.
fn caller_arn(context: &RequestContext) -> Option<&str> {
    let arn = match context {
        RequestContext::ApiGatewayV2(context) => context.authorizer.as_ref()?.iam.as_ref()?.user_arn.as_deref(),
        RequestContext::ApiGatewayV1(context) => context.identity.user_arn.as_deref(),
        _ => None,
    };
    arn.filter(|arn| arn.starts_with("arn:"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    ReadKey,
    RegenerateKey,
}

impl Route {
    fn operation(self) -> Operation {
        match self {
            Route::ReadKey => Operation::ReadKey,
            Route::RegenerateKey => Operation::RegenerateKey,
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
        _ => Err(RequestError::NotFound),
    }
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

async fn http<K: KeySource, S: SecretStore>(
    app: &App<K, S>,
    request: &Request,
    caller: Option<&str>,
    request_id: &str,
    deadline: Deadline,
) -> Response<Body> {
    let caller_for_log = caller.unwrap_or("");
    let route = match admit(app, request, caller) {
        Ok(route) => route,
        Err(refusal) => {
            let problem = Problem::from(&refusal).with_request_id(request_id);
            tracing::info!(
                target: "audit",
                request_id,
                caller = caller_for_log,
                path = request.raw_http_path(),
                outcome = "refused",
                status = problem.status,
                "request refused"
            );
            return problem_response(&problem);
        }
    };
    let operation = route.operation();
    match perform(app, route, request_id, deadline).await {
        Ok((body, graph_request_id)) => {
            count(operation, "ok");
            tracing::info!(
                target: "audit",
                request_id,
                caller = caller_for_log,
                operation = operation.name(),
                outcome = "ok",
                graph_request_id = graph_request_id.as_deref().unwrap_or(""),
                "key operation"
            );
            json_response(StatusCode::OK, "application/json", body)
        }
        Err(error) => {
            count(operation, "failed");
            let problem = Problem::from(&error).with_request_id(request_id);
            log_failure(request_id, caller_for_log, operation.name(), &error, &problem);
            problem_response(&problem)
        }
    }
}

/// Route, then identity, then permission, then body: nothing upstream is touched before all pass.
fn admit<K: KeySource, S: SecretStore>(
    app: &App<K, S>,
    request: &Request,
    caller: Option<&str>,
) -> Result<Route, RequestError> {
    let route = route(request.raw_http_path(), request.method())?;
    let caller = caller.ok_or(RequestError::Unauthenticated)?;
    if !app.access.allows(caller, route.operation()) {
        return Err(RequestError::NotAllowed(route.operation().name()));
    }
    check_empty_body(request.body())?;
    Ok(route)
}

/// Runs the operation; the body holds the key, so it is built here and handed straight back.
async fn perform<K: KeySource, S: SecretStore>(
    app: &App<K, S>,
    route: Route,
    request_id: &str,
    deadline: Deadline,
) -> Result<(serde_json::Value, Option<String>), KeyError> {
    match route {
        Route::ReadKey => {
            let answer = app.keys.read(deadline).await?;
            let body = json!({ "sensorDeploymentAccessKey": answer.key.expose().expose_secret() });
            Ok((body, answer.graph_request_id))
        }
        Route::RegenerateKey => {
            let token = uuid::Uuid::new_v4().to_string();
            let done = app.keys.regenerate(Trigger::Api, &token, deadline).await?;
            if done.drift_repaired {
                tracing::warn!(
                    request_id,
                    "a concurrent regenerate won; answering with Graph's current key"
                );
            }
            let body = json!({
                "sensorDeploymentAccessKey": done.key.expose().expose_secret(),
                "stored": done.stored,
            });
            Ok((body, done.graph_request_id))
        }
    }
}

fn count(operation: Operation, outcome: &str) {
    match operation {
        Operation::ReadKey => metrics::key_read(outcome),
        Operation::RegenerateKey => metrics::regeneration(outcome),
    }
}

fn log_failure(request_id: &str, caller: &str, operation: &str, error: &KeyError, problem: &Problem) {
    tracing::warn!(
        target: "audit",
        request_id,
        caller,
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
    response(status, content_type, text, None, None)
}

fn problem_response(problem: &Problem) -> Response<Body> {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry_after = problem.retry_after.map(|after| after.as_secs().to_string());
    response(
        status,
        "application/problem+json",
        problem.to_json(),
        retry_after,
        problem.allow,
    )
}

fn response(
    status: StatusCode,
    content_type: &str,
    body: String,
    retry_after: Option<String>,
    allow: Option<&str>,
) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store");
    if let Some(seconds) = retry_after {
        builder = builder.header(header::RETRY_AFTER, seconds);
    }
    if let Some(methods) = allow {
        builder = builder.header(header::ALLOW, methods);
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
