//! A panic in a handler is one failed invocation, not a dead sandbox. With `panic = "unwind"`
//! (the release profile, held below; tests always unwind) lambda_runtime's catcher turns the panic
//! into an error posted to the Runtime API, and the same process serves the next invocation, its
//! caches (token, credentials, connections) intact. With `abort` the process would die and the
//! next invocation would pay a cold start.
//!
//! The runtime reads its Runtime API address from the environment, so it runs in a child process
//! (this test binary, running only the ignored `runtime_child`) against a fake Runtime API here.

use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[test]
fn the_release_profile_unwinds_so_a_panic_is_caught() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let release = manifest
        .split("[profile.release]")
        .nth(1)
        .expect("a release profile")
        .split("\n[")
        .next()
        .unwrap();
    let panic: Vec<_> = release
        .lines()
        .filter(|line| line.trim_start().starts_with("panic"))
        .map(|line| line.split('=').nth(1).unwrap_or("").trim().trim_matches('"'))
        .collect();
    assert_eq!(panic, ["unwind"]);
}

#[derive(Default)]
struct FakeRuntimeApi {
    /// Events still to hand out, with their request ids.
    events: Mutex<VecDeque<(String, Value)>>,
    /// What the runtime posted back: (request id, "response" | "error", body).
    posted: Mutex<Vec<(String, String, Value)>>,
}

async fn next(State(api): State<Arc<FakeRuntimeApi>>) -> axum::response::Response {
    let event = api.events.lock().unwrap().pop_front();
    let Some((request_id, payload)) = event else {
        // No more work: hold the runtime here until the test ends it.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_str(&request_id).unwrap(),
    );
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from_static("99999999999999"));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:mdi-sensor-key"),
    );
    (headers, payload.to_string()).into_response()
}

async fn respond(
    State(api): State<Arc<FakeRuntimeApi>>,
    Path((request_id, kind)): Path<(String, String)>,
    body: String,
) -> StatusCode {
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    api.posted.lock().unwrap().push((request_id, kind, body));
    StatusCode::ACCEPTED
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_panicking_invocation_is_reported_as_an_error_and_the_same_process_serves_the_next() {
    let api = Arc::new(FakeRuntimeApi::default());
    api.events.lock().unwrap().extend([
        ("first".to_owned(), json!({ "panic": true })),
        ("second".to_owned(), json!({ "panic": false })),
    ]);
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(respond))
        .with_state(Arc::clone(&api));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let _child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args(["runtime_child", "--exact", "--ignored", "--quiet"])
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "mdi-sensor-key")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..400 {
        if api.posted.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let posted = api.posted.lock().unwrap().clone();
    assert_eq!(posted.len(), 2, "{posted:?}");
    let (first_id, first_kind, first_body) = &posted[0];
    assert_eq!((first_id.as_str(), first_kind.as_str()), ("first", "error"));
    assert!(
        first_body["errorMessage"]
            .as_str()
            .unwrap_or("")
            .starts_with("Lambda panicked"),
        "{first_body}"
    );
    let (second_id, second_kind, second_body) = &posted[1];
    assert_eq!((second_id.as_str(), second_kind.as_str()), ("second", "response"));
    assert_eq!(
        second_body["invocations"], 2,
        "the same process: its state survived the panic"
    );
}

/// The function process the test above starts: a handler that panics when asked to and counts its
/// invocations, as a warm sandbox keeps its caches.
#[tokio::test]
#[ignore = "started by the test above in a child process with the Runtime API's environment"]
async fn runtime_child() {
    let invocations = Arc::new(Mutex::new(0));
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let invocations = Arc::clone(&invocations);
        async move {
            let count = {
                let mut count = invocations.lock().unwrap();
                *count += 1;
                *count
            };
            if event.payload["panic"] == true {
                panic!("a bug in a handler");
            }
            Ok::<_, lambda_runtime::Error>(json!({ "invocations": count }))
        }
    });
    lambda_runtime::run(handler).await.unwrap();
}
