//! A local Lambda Runtime API, one per function process, as Lambda's own speaks it:
//! `GET /2018-06-01/runtime/invocation/next` long-polls until the benchmark hands out an event,
//! `POST …/invocation/{id}/response` and `…/{id}/error` return the outcome, and
//! `POST /2018-06-01/runtime/init/error` reports a failed init.
//!
//! The first `next` marks the end of init. An invocation is timed from the moment its event is
//! handed out (the `next` handler returns) to the moment its outcome's body has been read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The deadline each invocation is given, as Lambda's `Lambda-Runtime-Deadline-Ms`.
const INVOCATION_BUDGET: Duration = Duration::from_secs(30);
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:mdi-sensor-key";

/// How the function answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    Response,
    Error,
}

/// One finished invocation.
#[derive(Debug)]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// From handing out the event to having read the function's answer.
    pub duration: Duration,
    pub body: Bytes,
}

struct Invocation {
    event: Bytes,
    done: oneshot::Sender<Outcome>,
}

struct Pending {
    handed_out: Instant,
    done: oneshot::Sender<Outcome>,
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, Pending>>,
    first_next: Mutex<Option<oneshot::Sender<Instant>>>,
    init_error: Mutex<Option<oneshot::Sender<String>>>,
    next_id: AtomicU64,
}

/// The Runtime API; stops serving when dropped, which also ends any `next` still waiting.
pub struct RuntimeApi {
    addr: SocketAddr,
    events: mpsc::Sender<Invocation>,
    first_next: Option<oneshot::Receiver<Instant>>,
    init_error: Option<oneshot::Receiver<String>>,
    task: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> Result<Self, String> {
        let (events, queue) = mpsc::channel(1);
        let (first_next_tx, first_next) = oneshot::channel();
        let (init_error_tx, init_error) = oneshot::channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(queue),
            pending: Mutex::default(),
            first_next: Mutex::new(Some(first_next_tx)),
            init_error: Mutex::new(Some(init_error_tx)),
            next_id: AtomicU64::new(1),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error_report))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("runtime API: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("runtime API: {e}"))?;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi {
            addr,
            events,
            first_next: Some(first_next),
            init_error: Some(init_error),
            task,
        })
    }

    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Waits for the function's first `next`: the instant init ended. An init error, or no
    /// `next` within `timeout`, is an error.
    pub async fn init_done(&mut self, timeout: Duration) -> Result<Instant, String> {
        let (Some(first_next), Some(init_error)) = (self.first_next.take(), self.init_error.take()) else {
            return Err("init_done called twice".into());
        };
        tokio::select! {
            at = first_next => at.map_err(|_| "runtime API stopped".to_owned()),
            report = init_error => Err(format!("init error: {}", report.unwrap_or_default())),
            () = tokio::time::sleep(timeout) => Err(format!("no invocation/next within {timeout:?}")),
        }
    }

    /// Hands `event` to the function and waits for its outcome.
    pub async fn invoke(&self, event: Bytes, timeout: Duration) -> Result<Outcome, String> {
        let (done, outcome) = oneshot::channel();
        self.events
            .send(Invocation { event, done })
            .await
            .map_err(|_| "runtime API stopped".to_owned())?;
        match tokio::time::timeout(timeout, outcome).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err("the invocation was dropped".into()),
            Err(_) => Err(format!("no response within {timeout:?}")),
        }
    }
}

async fn next(State(api): State<Arc<Shared>>) -> Response {
    if let Some(first) = api.first_next.lock().ok().and_then(|mut f| f.take()) {
        let _ = first.send(Instant::now());
    }
    let Some(invocation) = api.queue.lock().await.recv().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let serial = api.next_id.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("00000000-0000-4000-8000-{serial:012}");
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(INVOCATION_BUDGET)
        .as_millis()
        .to_string();
    let trace_id = format!("Root=1-00000000-{serial:024x};Parent={serial:016x};Sampled=0");
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline),
        ("lambda-runtime-invoked-function-arn", FUNCTION_ARN.to_owned()),
        ("lambda-runtime-trace-id", trace_id),
    ];
    if let Ok(mut pending) = api.pending.lock() {
        pending.insert(
            request_id,
            Pending {
                handed_out: Instant::now(),
                done: invocation.done,
            },
        );
    }
    (headers, invocation.event).into_response()
}

fn finish(api: &Shared, id: &str, kind: OutcomeKind, body: Bytes) -> Response {
    let received = Instant::now();
    let Some(pending) = api.pending.lock().ok().and_then(|mut p| p.remove(id)) else {
        return (StatusCode::BAD_REQUEST, "unknown request id").into_response();
    };
    let _ = pending.done.send(Outcome {
        kind,
        duration: received - pending.handed_out,
        body,
    });
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

async fn response(State(api): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&api, &id, OutcomeKind::Response, body)
}

async fn error(State(api): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&api, &id, OutcomeKind::Error, body)
}

async fn init_error_report(State(api): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Some(report) = api.init_error.lock().ok().and_then(|mut r| r.take()) {
        let _ = report.send(String::from_utf8_lossy(&body).into_owned());
    }
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}
