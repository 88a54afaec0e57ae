//! Microsoft Graph's answer shape: every answer carries Graph's `request-id`,
//! `client-request-id`, `Cache-Control` and `Date` headers, errors use Graph's
//! `{"error":{"code","message","innerError"}}` body, and every 401 carries Graph's
//! `WWW-Authenticate` pointing the client at Entra.

use axum::http::StatusCode;
use axum::http::header::HeaderValue;
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

use crate::clock;
use crate::fault::{DEFAULT_FORBIDDEN_MESSAGE, RetryAfter};
use crate::request::Incoming;

use super::Dialect;

/// Graph's content type for JSON answers.
const JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// What Graph sends with every 401, pointing the client at Entra.
const WWW_AUTHENTICATE: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

/// Graph's message for a token that has expired or was revoked.
pub(crate) const EXPIRED: &str = "Access token has expired or is not yet valid.";

/// Per-request ids, shared by the error body and the headers.
pub(crate) struct GraphReply {
    request_id: String,
    client_request_id: String,
}

impl GraphReply {
    pub(crate) fn new(req: &Incoming) -> Self {
        GraphReply {
            request_id: Uuid::new_v4().to_string(),
            client_request_id: req
                .header("client-request-id")
                .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned),
        }
    }

    /// Adds Graph's tracing headers to any answer, JSON or not.
    fn stamp(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        for (name, value) in [
            ("request-id", &self.request_id),
            ("client-request-id", &self.client_request_id),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        }
        headers.insert("cache-control", HeaderValue::from_static("no-cache"));
        response
    }

    pub(crate) fn error(&self, status: StatusCode, code: &str, message: &str) -> Response {
        let body = json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": clock::graph_date(),
                    "request-id": self.request_id,
                    "client-request-id": self.client_request_id,
                }
            }
        });
        let mut response = self.respond(status, body.to_string());
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert("www-authenticate", HeaderValue::from_static(WWW_AUTHENTICATE));
        }
        response
    }

    /// Graph's answer for a path it does not know: `400 BadRequest`, "Resource not found for the
    /// segment '<segment>'." (the words in microsoftgraph/msgraph-sdk-dotnet#1779,
    /// msgraph-beta-sdk-python#764 and microsoft-graph-docs#21648).
    pub(crate) fn unknown_segment(&self, segment: &str) -> Response {
        self.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{segment}'."),
        )
    }

    pub(crate) fn unauthenticated(&self, message: &str) -> Response {
        self.error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    }

    /// The refusal of an application that lacks `required` (the only role the endpoint accepts).
    pub(crate) fn missing_role(&self, required: &str, roles: &[String]) -> Response {
        self.missing_roles(&[required], roles)
    }

    /// The refusal of an application that holds none of `acceptable`; the first is named as the
    /// required one.
    pub(crate) fn missing_roles(&self, acceptable: &[&str], roles: &[String]) -> Response {
        self.error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "Missing application roles. API required roles: {}. API acceptable roles: {}. \
                 Application roles: {}.",
                acceptable.first().copied().unwrap_or_default(),
                acceptable.join(","),
                roles.join(",")
            ),
        )
    }
}

impl Dialect for GraphReply {
    fn respond(&self, status: StatusCode, body: String) -> Response {
        self.stamp(super::raw(status, JSON, body))
    }

    fn dress(&self, response: Response) -> Response {
        self.stamp(response)
    }

    /// An arbitrary status with the code Graph uses for it.
    fn status(&self, code: u16) -> Response {
        let status = super::status(code);
        let (code, message) = match status.as_u16() {
            400 => ("BadRequest", "Bad request."),
            401 => return self.unauthenticated(EXPIRED),
            403 => ("Forbidden", DEFAULT_FORBIDDEN_MESSAGE),
            404 => ("NotFound", "Resource not found."),
            409 => (
                "Conflict",
                "The request conflicts with the current state of the resource.",
            ),
            429 => ("TooManyRequests", "Too many requests."),
            500 => ("InternalServerError", "An internal server error occurred."),
            502 => ("BadGateway", "Bad gateway."),
            503 => (
                "ServiceUnavailable",
                "The service is temporarily unavailable. Please retry later.",
            ),
            504 => ("GatewayTimeout", "The request timed out."),
            _ => ("UnknownError", ""),
        };
        self.error(status, code, message)
    }

    /// 429 `TooManyRequests`, with `Retry-After` when given.
    fn throttled(&self, retry_after: Option<RetryAfter>) -> Response {
        let mut response = self.error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests.");
        if let Some(v) = retry_after.and_then(|r| HeaderValue::from_str(&r.header_value()).ok()) {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}
