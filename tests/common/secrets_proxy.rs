//! A fault-injecting HTTP proxy in front of moto's Secrets Manager: requests pass through to
//! moto unless a fault is queued for their operation (`X-Amz-Target`), in which case the proxy
//! answers as Secrets Manager does when it throttles, fails or hangs.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// The session and resource an `AccessDenied` fault's message names.
pub const DENIED_SESSION: &str =
    "arn:aws:sts::123456789012:assumed-role/mdi-sensor-key-FunctionRole-1A2B3C/mdi-sensor-key";
pub const DENIED_RESOURCE: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:denied-AbCdEf";

#[derive(Debug, Clone)]
pub enum SecretsFault {
    Throttling,
    InternalError,
    AccessDenied,
    /// Waits this long before passing the request on.
    Delay(Duration),
}

#[derive(Clone)]
pub struct SecretsProxy {
    pub url: String,
    faults: Arc<Mutex<HashMap<String, VecDeque<SecretsFault>>>>,
    calls: Arc<Mutex<HashMap<String, usize>>>,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    faults: Arc<Mutex<HashMap<String, VecDeque<SecretsFault>>>>,
    calls: Arc<Mutex<HashMap<String, usize>>>,
}

impl SecretsProxy {
    pub async fn start(upstream: String) -> SecretsProxy {
        let faults = Arc::new(Mutex::new(HashMap::new()));
        let calls = Arc::new(Mutex::new(HashMap::new()));
        let shared = Shared {
            upstream,
            http: mdi_sensor_key::secrets::http::reqwest_client().expect("HTTP client"),
            faults: faults.clone(),
            calls: calls.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new().fallback(forward).with_state(shared);
        tokio::spawn(async move { axum::serve(listener, app).await });
        SecretsProxy { url, faults, calls }
    }

    /// Queues a fault for the next `operation` call (e.g. "PutSecretValue").
    pub fn inject(&self, operation: &str, fault: SecretsFault) {
        self.faults
            .lock()
            .unwrap()
            .entry(operation.to_owned())
            .or_default()
            .push_back(fault);
    }

    pub fn calls(&self, operation: &str) -> usize {
        self.calls.lock().unwrap().get(operation).copied().unwrap_or(0)
    }

    /// Every call that reached the proxy, whatever its operation.
    pub fn total_calls(&self) -> usize {
        self.calls.lock().unwrap().values().sum()
    }
}

fn aws_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-errortype", code),
        ],
        body,
    )
        .into_response()
}

async fn forward(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|target| target.strip_prefix("secretsmanager."))
        .unwrap_or("")
        .to_owned();
    *shared.calls.lock().unwrap().entry(operation.clone()).or_default() += 1;
    let fault = shared
        .faults
        .lock()
        .unwrap()
        .get_mut(&operation)
        .and_then(VecDeque::pop_front);
    match fault {
        Some(SecretsFault::Throttling) => {
            return aws_error(StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded");
        }
        Some(SecretsFault::InternalError) => {
            return aws_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServiceError",
                "internal error",
            );
        }
        Some(SecretsFault::AccessDenied) => {
            // AWS's own shape: the caller's session and the resource it was refused (IAM User
            // Guide, "Troubleshoot access denied error messages"), which a problem document must
            // not repeat.
            let message = format!(
                "User: {DENIED_SESSION} is not authorized to perform: secretsmanager:{operation} on resource: \
                 {DENIED_RESOURCE} because no identity-based policy allows the secretsmanager:{operation} action"
            );
            return aws_error(StatusCode::BAD_REQUEST, "AccessDeniedException", &message);
        }
        Some(SecretsFault::Delay(wait)) => tokio::time::sleep(wait).await,
        None => {}
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = shared
        .http
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let mut reply = Response::builder().status(status);
            for (name, value) in response.headers() {
                if name != "transfer-encoding" && name != "content-length" {
                    reply = reply.header(name, value);
                }
            }
            let bytes = response.bytes().await.unwrap_or_default();
            reply
                .body(Body::from(bytes))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}
