//! A counting proxy in front of moto. moto keeps no call counters, so every Secrets Manager
//! request the function makes goes through here and is counted by its `X-Amz-Target` operation
//! (`secretsmanager.GetSecretValue` counts as `GetSecretValue`) before it is forwarded.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use http_body_util::Full;
use tokio::task::JoinHandle;

use crate::http::Http;

/// Secrets Manager calls by operation.
pub type OperationCounts = BTreeMap<String, u64>;

const MAX_BODY: usize = 1 << 20;
const HOP_BY_HOP: [HeaderName; 3] = [header::CONNECTION, header::TRANSFER_ENCODING, header::CONTENT_LENGTH];

struct Shared {
    upstream: String,
    http: Http,
    counts: Mutex<OperationCounts>,
}

/// The proxy; stops serving when dropped.
pub struct CountingProxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> Result<Self, String> {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: Http::default(),
            counts: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("proxy: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("proxy: {e}"))?;
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CountingProxy { shared, addr, task })
    }

    /// The URL to give the function as `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The counts so far.
    pub fn counts(&self) -> OperationCounts {
        self.shared.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

async fn forward(State(proxy): State<Arc<Shared>>, request: Request) -> Response {
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|target| target.rsplit('.').next().unwrap_or(target).to_owned())
        .unwrap_or_else(|| "(no X-Amz-Target)".to_owned());
    if let Ok(mut counts) = proxy.counts.lock() {
        *counts.entry(operation).or_default() += 1;
    }
    match relay(&proxy, request).await {
        Ok(response) => response,
        Err(error) => (StatusCode::BAD_GATEWAY, error).into_response(),
    }
}

async fn relay(proxy: &Shared, request: Request) -> Result<Response, String> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| format!("proxy: reading the request: {e}"))?;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = hyper::Request::builder()
        .method(parts.method)
        .uri(format!("{}{path}", proxy.upstream));
    for (name, value) in parts.headers.iter().filter(|(name, _)| !HOP_BY_HOP.contains(name)) {
        upstream = upstream.header(name, value);
    }
    let upstream = upstream.body(Full::new(body)).map_err(|e| e.to_string())?;
    let answer = proxy.http.send(upstream).await?;
    let mut response = Response::builder().status(answer.status);
    for (name, value) in answer.headers.iter().filter(|(name, _)| !HOP_BY_HOP.contains(name)) {
        response = response.header(name, value);
    }
    response.body(Body::from(answer.body)).map_err(|e| e.to_string())
}
