//! The answer pieces the simulated services are built from: a response with a content type and
//! a `Date` header, the statuses a fault names, and the bodies that are not the service's own (a
//! gateway's HTML error page, garbage, half a document, a dropped connection, a redirect, an
//! oversized body). Each service's own answer shape lives beside them: [`graph`] (Graph's headers
//! and `{"error":{…}}` body), [`entra`] (Entra's `AADSTSnnnn` errors) and [`aws`] (the AWS query
//! protocol's XML).
//!
//! [`Dialect`] is what the fault layer ([`crate::injection`]) needs of an answer shape. This
//! layer knows nothing of the simulator's state or routes; the services call it.

pub(crate) mod aws;
pub(crate) mod entra;
pub(crate) mod graph;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, DATE, HeaderValue, LOCATION};
use axum::response::{IntoResponse, Response};

use crate::clock;
use crate::fault::RetryAfter;

/// A service family's answer shape, as the fault layer uses it for the faults that stand in for
/// the service's own answer.
pub(crate) trait Dialect {
    /// An answer carrying `body` in this family's content type and headers.
    fn respond(&self, status: StatusCode, body: String) -> Response;

    /// This family's headers on an answer it did not write (a gateway's HTML page).
    fn dress(&self, response: Response) -> Response {
        response
    }

    /// `code` in this family's error shape.
    fn status(&self, code: u16) -> Response;

    /// Its answer to a client that calls too often; a plain 429 in its error shape unless the
    /// family has its own.
    fn throttled(&self, _retry_after: Option<RetryAfter>) -> Response {
        self.status(429)
    }
}

/// Plain `application/json`, whose errors are an empty object: the AWS issuer's documents.
pub(crate) struct PlainJson;

impl Dialect for PlainJson {
    fn respond(&self, status: StatusCode, body: String) -> Response {
        raw(status, "application/json", body)
    }

    fn status(&self, code: u16) -> Response {
        raw(status(code), "application/json", "{}")
    }
}

/// A redirect and nothing else: no body, no service headers.
pub(crate) fn redirect(code: u16, location: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status(code);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

const OVERSIZED_OPEN: &str = "{\"padding\":\"";
const OVERSIZED_CLOSE: &str = "\"}";

/// A 200 JSON object `bytes` long (at least its braces and the padding member's name).
pub(crate) fn oversized(bytes: usize, chunked: bool) -> Response {
    let padding = bytes.saturating_sub(OVERSIZED_OPEN.len() + OVERSIZED_CLOSE.len());
    if !chunked {
        let body = format!("{OVERSIZED_OPEN}{}{OVERSIZED_CLOSE}", "x".repeat(padding));
        return raw(StatusCode::OK, "application/json", body);
    }
    raw(
        StatusCode::OK,
        "application/json",
        Body::new(PaddedBody {
            open: true,
            padding,
            close: true,
        }),
    )
}

/// [`oversized`]'s chunked body: the opening, the padding 64 KiB at a time, the closing. Its size
/// is not known up front, so hyper sends it chunked, without `Content-Length`.
struct PaddedBody {
    open: bool,
    padding: usize,
    close: bool,
}

impl http_body::Body for PaddedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        const CHUNK: usize = 64 * 1024;
        let data = if std::mem::take(&mut self.open) {
            Bytes::from_static(OVERSIZED_OPEN.as_bytes())
        } else if self.padding > 0 {
            let size = CHUNK.min(self.padding);
            self.padding -= size;
            Bytes::from(vec![b'x'; size])
        } else if std::mem::take(&mut self.close) {
            Bytes::from_static(OVERSIZED_CLOSE.as_bytes())
        } else {
            return Poll::Ready(None);
        };
        Poll::Ready(Some(Ok(http_body::Frame::data(data))))
    }
}

/// A 200 OData collection of empty objects, about `bytes` long (`{"value":[{},{},…]}`).
pub(crate) fn dense_collection(bytes: usize) -> Response {
    const OPEN: &str = "{\"value\":[{}";
    let members = bytes.saturating_sub(OPEN.len() + 2) / 3;
    let mut body = String::with_capacity(OPEN.len() + 3 * members + 2);
    body.push_str(OPEN);
    for _ in 0..members {
        body.push_str(",{}");
    }
    body.push_str("]}");
    raw(StatusCode::OK, "application/json", body)
}

/// A status from a fault description; out-of-range numbers become 500 so a
/// typo in a test still produces a failure rather than a panic.
pub(crate) fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A response with the given body, content type and a `Date` header.
pub(crate) fn raw(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut response = (status, body.into()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(date) = HeaderValue::from_str(&clock::http_date()) {
        headers.insert(DATE, date);
    }
    response
}

/// The page a load balancer or gateway in front of the service shows when
/// the service behind it fails; clients must not try to parse it as JSON.
pub(crate) fn html_error_page(code: u16) -> Response {
    let status = status(code);
    let title = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("Error"));
    let page = format!(
        "<!DOCTYPE html>\r\n<html><head><title>{title}</title></head>\r\n\
         <body><h1>{title}</h1><p>The server encountered a temporary error and could not complete your request.</p></body></html>\r\n"
    );
    raw(status, "text/html; charset=utf-8", page)
}

/// What a proxy that swallowed the service's answer might pass on: text
/// under a JSON content type.
pub(crate) const MALFORMED_BODY: &str =
    "upstream connect error or disconnect/reset before headers. reset reason: connection termination";

/// The first half of a JSON document, so the body is complete at the HTTP
/// level yet cannot be parsed.
pub(crate) fn truncated(json: &str) -> String {
    let mut cut = json.len() / 2;
    while !json.is_char_boundary(cut) {
        cut -= 1;
    }
    json[..cut].to_owned()
}

/// A response whose body fails before its first byte. Hyper then abandons
/// the connection before flushing the status line, so the client sees the
/// connection close with no answer at all, as after a crashed backend.
pub(crate) fn dropped_connection() -> Response {
    Response::new(Body::new(FailingBody))
}

struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "graph-sim: simulated connection drop",
        ))))
    }
}
