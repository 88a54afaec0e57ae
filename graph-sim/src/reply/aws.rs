//! The AWS query protocol's answer shape, as STS and IAM send it: `text/xml` with
//! `x-amzn-requestid`, and errors as `ErrorResponse/Error/{Type,Code,Message}` plus `RequestId`
//! (the query protocol's wrapped errors), `Type` being `Receiver` for 5xx and `Sender` otherwise.

use axum::http::StatusCode;
use axum::http::header::HeaderValue;
use axum::response::Response;
use uuid::Uuid;

use super::Dialect;
use crate::fault::RetryAfter;

const XML: &str = "text/xml";

/// Per-request id and the namespace of the service answering.
pub(crate) struct AwsReply {
    pub request_id: String,
    pub namespace: &'static str,
}

impl AwsReply {
    pub(crate) fn new(namespace: &'static str) -> Self {
        AwsReply {
            request_id: Uuid::new_v4().to_string(),
            namespace,
        }
    }

    pub(crate) fn error(&self, status: StatusCode, code: &str, message: &str) -> Response {
        let kind = if status.is_server_error() { "Receiver" } else { "Sender" };
        let body = format!(
            "<ErrorResponse xmlns=\"{}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    \
             <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
            self.namespace,
            escape(message),
            self.request_id
        );
        self.respond(status, body)
    }

    /// AWS's 403 for a request without a SigV4 signature.
    pub(crate) fn missing_authentication_token(&self) -> Response {
        self.error(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )
    }

    pub(crate) fn validation(&self, message: &str) -> Response {
        self.error(StatusCode::BAD_REQUEST, "ValidationError", message)
    }
}

impl Dialect for AwsReply {
    fn respond(&self, status: StatusCode, body: String) -> Response {
        let mut response = super::raw(status, XML, body);
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            response.headers_mut().insert("x-amzn-requestid", v);
        }
        response
    }

    /// The codes STS uses for a status: `Throttling` for 400 and 429, `AccessDenied` for 403,
    /// `InternalFailure` for 5xx, `ValidationError` otherwise.
    fn status(&self, code: u16) -> Response {
        let status = super::status(code);
        match status.as_u16() {
            400 | 429 => self.throttled(None),
            403 => self.error(status, "AccessDenied", "Access denied"),
            500..=599 => self.error(
                status,
                "InternalFailure",
                "The request processing has failed because of an unknown error.",
            ),
            _ => self.validation("Invalid request"),
        }
    }

    /// AWS throttles with a 400 `Throttling` and no `Retry-After`.
    fn throttled(&self, _retry_after: Option<RetryAfter>) -> Response {
        self.error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
