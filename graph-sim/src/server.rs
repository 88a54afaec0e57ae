//! The HTTP front door: binds the loopback listener, sorts each request into
//! Entra, Graph or the `/_sim` control routes, records and counts it, adds
//! the configured latency, and holds the answer pieces both simulated
//! services share (HTML error pages, garbage bodies, dropped connections).
//!
//! Entra and Graph requests go through one fallback handler rather than
//! axum routes, because both services answer unknown paths and wrong
//! methods in their own JSON, which axum's routing would preempt.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, DATE, HeaderMap, HeaderValue, LOCATION};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use crate::fault::{Endpoint, Fault};
use crate::state::{RecordedRequest, Shared};
use crate::sts::IssuerDocument;
use crate::{candidates, clock, control, discovery, entra, graph, health, sensors, sts};

/// Token requests are a few hundred bytes; anything far larger is not a
/// client of these services.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Binds the listener and spawns the server task; the caller keeps the
/// task's handle to stop it.
pub(crate) async fn spawn(
    addr: SocketAddr,
    make_shared: impl FnOnce(String) -> Shared,
) -> std::io::Result<(Arc<Shared>, SocketAddr, tokio::task::JoinHandle<()>)> {
    if !addr.ip().is_loopback() {
        // The control routes can rewrite the key and fault every request;
        // they must never be reachable from another machine.
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("graph-sim binds loopback addresses only, not {addr}"),
        ));
    }
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let shared = Arc::new(make_shared(format!("http://{local}")));
    let app = Router::new()
        .nest("/_sim", control::routes())
        .fallback(dispatch)
        .with_state(Arc::clone(&shared));
    let task = tokio::spawn(async move {
        // Accept errors are retried inside axum::serve; it only returns
        // when the task is aborted.
        let _ = axum::serve(listener, app).await;
    });
    Ok((shared, local, task))
}

/// What the service handlers need to know about a request.
pub(crate) struct Incoming {
    pub method: Method,
    pub headers: HeaderMap,
    /// The raw query string, for paging.
    pub query: Option<String>,
    /// Decoded fields of a form body; `None` when the body is not a form.
    pub form: Option<Vec<(String, String)>>,
    /// The raw body, for JSON action parameters.
    pub body: Vec<u8>,
}

impl Incoming {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn form_field(&self, name: &str) -> Option<&str> {
        self.form
            .as_deref()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

enum Route {
    Token { tenant: String },
    Discovery { tenant: String },
    Sts,
    Iam,
    Issuer { account: String, document: IssuerDocument },
    Sensors(sensors::Target),
    Health(health::Target),
    Candidates(candidates::Target),
    Graph(graph::Target),
}

impl Route {
    fn parse(path: &str, cloud: crate::config::SimCloud) -> Route {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            [tenant, "oauth2", "v2.0", "token"] => Route::Token {
                tenant: (*tenant).to_owned(),
            },
            [tenant, "v2.0", ".well-known", "openid-configuration"] => Route::Discovery {
                tenant: (*tenant).to_owned(),
            },
            ["sts"] => Route::Sts,
            ["iam"] => Route::Iam,
            ["aws-issuer", account, ".well-known", "openid-configuration"] => Route::Issuer {
                account: (*account).to_owned(),
                document: IssuerDocument::OpenIdConfiguration,
            },
            ["aws-issuer", account, ".well-known", "jwks.json"] => Route::Issuer {
                account: (*account).to_owned(),
                document: IssuerDocument::Jwks,
            },
            _ => match (sensors::Target::parse(&segments), health::Target::parse(&segments)) {
                (Some(target), _) => Route::Sensors(target),
                (None, Some(target)) => Route::Health(target),
                (None, None) => match candidates::Target::parse(&segments, |version, name| {
                    candidates::published(cloud, version, name)
                }) {
                    Some(target) => Route::Candidates(target),
                    None => Route::Graph(graph::Target::parse(&segments)),
                },
            },
        }
    }

    fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Route::Token { .. } => Some(Endpoint::Token),
            Route::Discovery { .. } => Some(Endpoint::OpenIdConfiguration),
            Route::Sts => Some(Endpoint::WebIdentityToken),
            Route::Iam => Some(Endpoint::FederationInfo),
            Route::Issuer { .. } => Some(Endpoint::IssuerMetadata),
            Route::Sensors(target) => Some(target.endpoint()),
            Route::Health(target) => Some(target.endpoint()),
            Route::Candidates(target) => Some(target.endpoint()),
            Route::Graph(target) => target.endpoint(),
        }
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES).await.unwrap_or_default();
    let route = Route::parse(parts.uri.path(), shared.fixed.cloud);
    let form = is_form(&parts.headers)
        .then(|| serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).unwrap_or_default());
    let record = RecordedRequest {
        endpoint: route.endpoint(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        form: form.clone().unwrap_or_default(),
    };
    let (fault, latency) = shared.admit(record);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // Answered the same way by every endpoint, before any service looks at the request.
    match fault {
        Some(Fault::Redirect { status: code, location }) => return redirect(code, &location),
        Some(Fault::OversizedBody { bytes, chunked }) => return oversized(bytes, chunked),
        _ => {}
    }
    let incoming = Incoming {
        method: parts.method,
        headers: parts.headers,
        query: parts.uri.query().map(str::to_owned),
        form,
        body: body.to_vec(),
    };
    match route {
        Route::Token { tenant } => entra::answer(&shared, &incoming, &tenant, fault).await,
        Route::Discovery { tenant } => discovery::answer(&shared, &incoming, &tenant, fault).await,
        Route::Sts => sts::answer(&shared, &incoming, fault).await,
        Route::Iam => sts::iam_answer(&shared, &incoming).await,
        Route::Issuer { account, document } => sts::issuer(&shared, &incoming, &account, document, fault).await,
        Route::Sensors(target) => sensors::answer(&shared, &incoming, &target, fault).await,
        Route::Health(target) => health::answer(&shared, &incoming, &target, fault).await,
        Route::Candidates(target) => candidates::answer(&shared, &incoming, &target, fault).await,
        Route::Graph(target) => graph::answer(&shared, &incoming, &target, fault).await,
    }
}

/// A redirect and nothing else: no body, no service headers.
fn redirect(code: u16, location: &str) -> Response {
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
fn oversized(bytes: usize, chunked: bool) -> Response {
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
