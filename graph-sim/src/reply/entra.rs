//! Microsoft Entra ID's answer shape: `Cache-Control: no-store, no-cache`, `Pragma`,
//! `x-ms-request-id` and, when the caller sent one, `client-request-id`; errors as `error`, an
//! `AADSTSnnnn:` description ending in trace id, correlation id and timestamp, `error_codes`, and
//! the ids again as fields. Like Entra, the correlation id is the caller's `client-request-id`
//! when it sent one.

use axum::http::StatusCode;
use axum::http::header::{HeaderName, HeaderValue};
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

use crate::clock;
use crate::fault::RetryAfter;
use crate::request::Incoming;

use super::Dialect;

const JSON: &str = "application/json; charset=utf-8";

/// Per-request ids, shared by the error body and the headers.
pub(crate) struct EntraReply {
    trace_id: String,
    correlation_id: String,
    client_request_id: Option<String>,
    /// The app's id, which Entra names when it refuses a secret.
    client_id: String,
}

impl EntraReply {
    pub(crate) fn new(req: &Incoming, client_id: &str) -> Self {
        let client_request_id = req.header("client-request-id").map(str::to_owned);
        EntraReply {
            trace_id: Uuid::new_v4().to_string(),
            correlation_id: client_request_id.clone().unwrap_or_else(|| Uuid::new_v4().to_string()),
            client_request_id,
            client_id: client_id.to_owned(),
        }
    }

    pub(crate) fn error(&self, status: StatusCode, error: &str, code: u32, message: &str) -> Response {
        let timestamp = clock::entra_timestamp();
        let body = json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {message}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {timestamp}",
                self.trace_id, self.correlation_id
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": self.trace_id,
            "correlation_id": self.correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        });
        self.respond(status, body.to_string())
    }

    pub(crate) fn missing_parameter(&self, name: &str) -> Response {
        self.error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    pub(crate) fn invalid_client_secret(&self, client_id: &str) -> Response {
        self.error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, \
                 not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    /// Entra's answer to a tenant it does not serve: 90002 for a name that could
    /// be a tenant, 900023 for one that could not.
    pub(crate) fn unknown_tenant(&self, tenant: &str) -> Response {
        if looks_like_guid(tenant) || tenant.contains('.') {
            self.error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90002,
                &format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into \
                     the correct cloud. Check with your subscription administrator, this may happen if there are no \
                     active subscriptions for the tenant."
                ),
            )
        } else {
            self.error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900023,
                &format!(
                    "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."
                ),
            )
        }
    }
}

impl Dialect for EntraReply {
    fn respond(&self, status: StatusCode, body: String) -> Response {
        let mut response = super::raw(status, JSON, body);
        let headers = response.headers_mut();
        headers.insert("cache-control", HeaderValue::from_static("no-store, no-cache"));
        headers.insert("pragma", HeaderValue::from_static("no-cache"));
        if let Ok(v) = HeaderValue::from_str(&self.trace_id) {
            headers.insert("x-ms-request-id", v);
        }
        if let Some(v) = self
            .client_request_id
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(HeaderName::from_static("client-request-id"), v);
        }
        response
    }

    /// An arbitrary status dressed as Entra would dress it.
    fn status(&self, code: u16) -> Response {
        let status = super::status(code);
        match status.as_u16() {
            429 => self.throttled(None),
            401 => self.invalid_client_secret(&self.client_id),
            503 => self.error(
                status,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
            ),
            400..=499 => self.error(
                status,
                "invalid_request",
                90013,
                "Invalid input received from the user.",
            ),
            _ => self.error(
                status,
                "server_error",
                50000,
                "There was an error issuing a token or an issue with our sign-in service.",
            ),
        }
    }

    fn throttled(&self, retry_after: Option<RetryAfter>) -> Response {
        let mut response = self.error(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            90055,
            "TenantThrottlingError: There are too many incoming requests. Please try again later.",
        );
        if let Some(v) = retry_after.and_then(|r| HeaderValue::from_str(&r.header_value()).ok()) {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}

fn looks_like_guid(s: &str) -> bool {
    Uuid::parse_str(s).is_ok()
}
