//! The AWS query protocol's answer shape, as STS and IAM send it: `text/xml` with
//! `x-amzn-requestid`, and errors as `ErrorResponse/Error/{Type,Code,Message}` plus `RequestId`
//! (the query protocol's wrapped errors), `Type` being `Receiver` for 5xx and `Sender` otherwise.

use axum::http::StatusCode;
use axum::http::header::HeaderValue;
use axum::response::Response;
use uuid::Uuid;

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

    pub(crate) fn respond(&self, status: StatusCode, body: String) -> Response {
        let mut response = super::raw(status, XML, body);
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            response.headers_mut().insert("x-amzn-requestid", v);
        }
        response
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

    pub(crate) fn validation(&self, message: &str) -> Response {
        self.error(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    pub(crate) fn throttled(&self) -> Response {
        self.error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
