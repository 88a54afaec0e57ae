//! The function as Secrets Manager invokes it for native rotation, and the moto wrapper's control
//! routes (tools/moto_server.py).
//!
//! [`RotationFunction`] serves the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`)
//! on loopback and runs each event through the real handler of a function instance of its own;
//! the wrapper invokes it once registered under a function ARN, as Secrets Manager invokes the
//! rotation function named in `RotateSecret`. A failed invocation answers as Lambda does: `200`
//! with `X-Amz-Function-Error: Unhandled` and the error's type and message.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lambda_http::Body;
use lambda_http::lambda_runtime::Diagnostic;
use mdi_sensor_key::handler;

use super::{TestApp, World, moto_endpoint, request_from_json, unique};

/// One invocation as the function saw it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub step: String,
    pub token: String,
    /// The summary's `outcome`, or the error message.
    pub result: Result<String, String>,
}

pub struct RotationFunction {
    pub arn: String,
    url: String,
    invocations: Arc<Mutex<Vec<Invocation>>>,
}

#[derive(Clone)]
struct Shared {
    app: Arc<TestApp>,
    invocations: Arc<Mutex<Vec<Invocation>>>,
}

impl RotationFunction {
    /// Lets the wrapper invoke it: until then Secrets Manager cannot reach the function (as
    /// without `lambda:InvokeFunction`) and its rotations fail.
    pub async fn register(&self) {
        control_post(
            "/_rotation/functions",
            serde_json::json!({ "functionArn": self.arn, "invokeUrl": self.url }),
        )
        .await;
    }

    /// Every invocation so far, in order.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.invocations.lock().unwrap().clone()
    }

    /// The invocations for `token`, as `(step, outcome or error)`.
    pub fn steps_for(&self, token: &str) -> Vec<(String, Result<String, String>)> {
        self.invocations()
            .into_iter()
            .filter(|invocation| invocation.token == token)
            .map(|invocation| (invocation.step, invocation.result))
            .collect()
    }
}

impl World {
    /// Starts the function's Invoke API with its own instance and registers it with the wrapper
    /// under a new function ARN.
    pub async fn rotation_function(&self) -> RotationFunction {
        let function = self.unreachable_rotation_function().await;
        function.register().await;
        function
    }

    /// As [`rotation_function`](Self::rotation_function), not yet registered.
    pub async fn unreachable_rotation_function(&self) -> RotationFunction {
        let invocations = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            app: Arc::new(self.another_instance()),
            invocations: invocations.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new()
            .route("/2015-03-31/functions/{name}/invocations", axum::routing::post(invoke))
            .with_state(shared);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let arn = format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            unique("mdi-sensor-key")
        );
        RotationFunction { arn, url, invocations }
    }

    /// Selects the wrapper's variants for the key secret: `pendingAfterRotation` (`kept` or
    /// `cleared`) and `testVersionValue` (`empty` or `current`).
    pub async fn secrets_manager_variant(&self, pending_after_rotation: &str, test_version_value: &str) {
        control_post(
            "/_rotation/secrets",
            serde_json::json!({
                "secretId": self.key_secret_arn,
                "pendingAfterRotation": pending_after_rotation,
                "testVersionValue": test_version_value,
            }),
        )
        .await;
    }

    /// Waits until no rotation of the key secret is running, then returns its rotation events as
    /// `(eventName, token)`.
    pub async fn rotation_events(&self) -> Vec<(String, String)> {
        let url = format!("{}/_rotation/events?secretId={}", moto_endpoint(), self.key_secret_arn);
        let http = mdi_sensor_key::secrets::http::reqwest_client().expect("HTTP client");
        for _ in 0..600 {
            let answer: serde_json::Value = http
                .get(&url)
                .send()
                .await
                .expect("the wrapper answers")
                .json()
                .await
                .expect("JSON");
            if answer["running"] == 0 {
                return answer["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|event| {
                        (
                            event["eventName"].as_str().unwrap_or_default().to_owned(),
                            event["token"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("a rotation of the key secret is still running after 30 s");
    }
}

/// Makes every version of `secret_id` `seconds` older, as time passing would.
pub async fn age_versions(secret_id: &str, seconds: u64) {
    control_post(
        "/_rotation/age",
        serde_json::json!({ "secretId": secret_id, "seconds": seconds }),
    )
    .await;
}

async fn control_post(path: &str, body: serde_json::Value) {
    let response = mdi_sensor_key::secrets::http::reqwest_client()
        .expect("HTTP client")
        .post(format!("{}{path}", moto_endpoint()))
        .json(&body)
        .send()
        .await
        .expect("the wrapper answers");
    assert_eq!(
        response.status(),
        200,
        "{path}: {}",
        response.text().await.unwrap_or_default()
    );
}

async fn invoke(State(shared): State<Shared>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    let event: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let field = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
    let request = request_from_json(&text, Duration::from_secs(30));
    let (result, response) = match handler::handle(shared.app.as_ref(), request).await {
        Ok(response) => {
            let text = match response.into_body() {
                Body::Text(text) => text,
                _ => String::new(),
            };
            let summary: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let outcome = summary["outcome"].as_str().unwrap_or_default().to_owned();
            (Ok(outcome), (StatusCode::OK, text).into_response())
        }
        Err(error) => {
            let diagnostic = Diagnostic::from(error);
            let message = diagnostic.error_message.clone();
            let mut headers = HeaderMap::new();
            headers.insert("X-Amz-Function-Error", HeaderValue::from_static("Unhandled"));
            let body = serde_json::json!({
                "errorType": diagnostic.error_type,
                "errorMessage": diagnostic.error_message,
            });
            (
                Err(message),
                (StatusCode::OK, headers, body.to_string()).into_response(),
            )
        }
    };
    shared.invocations.lock().unwrap().push(Invocation {
        step: field("Step"),
        token: field("ClientRequestToken"),
        result,
    });
    response
}
