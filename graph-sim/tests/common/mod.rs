//! Helpers the integration tests share: starting a simulator and speaking
//! to it the way the Lambda's client does.

#![allow(dead_code)] // each test binary uses its own subset

use std::time::{SystemTime, UNIX_EPOCH};

use graph_sim::{Sim, SimConfig, SimHandle};
use reqwest::{Client, Response};
use serde_json::Value;

/// The client assertion type of a JWT assertion (RFC 7523), certificate or federated.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub const GET_KEY_PATH: &str = "security/identities/sensors/getDeploymentAccessKey";
pub const REGENERATE_PATH: &str = "security/identities/sensors/regenerateDeploymentAccessKey";

pub async fn start() -> SimHandle {
    start_with(SimConfig::default()).await
}

pub async fn start_with(config: SimConfig) -> SimHandle {
    Sim::start(config).await.expect("simulator starts")
}

/// A client that follows no redirects, so a test sees exactly what the simulator answered.
pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

/// The form a correctly configured client sends.
pub fn good_form() -> Vec<(&'static str, String)> {
    let c = SimConfig::default();
    vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", c.client_id),
        ("client_secret", c.client_secret),
        ("scope", "https://graph.microsoft.com/.default".to_owned()),
    ]
}

/// `good_form` with one field replaced, or removed when `value` is `None`.
pub fn form_with(name: &str, value: Option<&str>) -> Vec<(&'static str, String)> {
    let mut form: Vec<_> = good_form().into_iter().filter(|(n, _)| *n != name).collect();
    if let Some(v) = value {
        let name = good_form()
            .into_iter()
            .map(|(n, _)| n)
            .find(|n| *n == name)
            .expect("known field");
        form.push((name, v.to_owned()));
    }
    form
}

pub async fn post_token(sim: &SimHandle, form: &[(&str, String)]) -> Response {
    client()
        .post(sim.token_url())
        .form(form)
        .send()
        .await
        .expect("token request is answered")
}

/// A client-credentials token request that presents `assertion` (a certificate's signed JWT or a
/// federated token) instead of a secret, as MSAL sends it.
pub async fn post_assertion(sim: &SimHandle, assertion: &str) -> Response {
    let c = SimConfig::default();
    post_token(
        sim,
        &[
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", c.client_id),
            ("client_assertion_type", JWT_BEARER.to_owned()),
            ("client_assertion", assertion.to_owned()),
            ("scope", "https://graph.microsoft.com/.default".to_owned()),
        ],
    )
    .await
}

/// Seconds since the Unix epoch, for the time claims of hand-made JWTs.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// `POST /_sim/{route}` with a JSON body, as another process steers the simulator; the status.
pub async fn control_post(sim: &SimHandle, route: &str, body: Value) -> u16 {
    client()
        .post(format!("{}/_sim/{route}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .expect("the control route answers")
        .status()
        .as_u16()
}

/// `GET /_sim/{route}`'s JSON (`stats`, `requests`).
pub async fn control_get(sim: &SimHandle, route: &str) -> Value {
    client()
        .get(format!("{}/_sim/{route}", sim.base_url()))
        .send()
        .await
        .expect("the control route answers")
        .json()
        .await
        .expect("the control route answers JSON")
}

/// A token for the default credentials, for the Graph of the simulator's cloud; panics unless
/// Entra issues one.
pub async fn token(sim: &SimHandle) -> String {
    let scope = format!("{}/.default", sim.cloud().graph_root());
    let response = post_token(sim, &form_with("scope", Some(&scope))).await;
    assert_eq!(response.status(), 200, "token request should succeed");
    let body: Value = response.json().await.expect("token body is JSON");
    body["access_token"].as_str().expect("access_token").to_owned()
}

pub fn graph_url(sim: &SimHandle, version: &str, path: &str) -> String {
    format!("{}/{version}/{path}", sim.graph_url())
}

pub async fn get_key(sim: &SimHandle, token: &str) -> Response {
    client()
        .get(graph_url(sim, "beta", GET_KEY_PATH))
        .bearer_auth(token)
        .send()
        .await
        .expect("Graph answers")
}

pub async fn regenerate(sim: &SimHandle, token: &str) -> Response {
    client()
        .post(graph_url(sim, "beta", REGENERATE_PATH))
        .bearer_auth(token)
        .send()
        .await
        .expect("Graph answers")
}

/// The key from a default-shaped (`ValueWrapped`) body.
pub async fn key_of(response: Response) -> String {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("key body is JSON");
    body["value"]["sensorDeploymentAccessKey"]
        .as_str()
        .expect("sensorDeploymentAccessKey")
        .to_owned()
}

/// Status, `error`, first AADSTS code and description of an Entra refusal.
pub async fn entra_error(response: Response) -> (u16, String, u64, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("Entra error is JSON");
    (
        status,
        body["error"].as_str().expect("error").to_owned(),
        body["error_codes"][0].as_u64().expect("error_codes"),
        body["error_description"]
            .as_str()
            .expect("error_description")
            .to_owned(),
    )
}

/// Status, `error.code` and `error.message` of a Graph refusal.
pub async fn graph_error(response: Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("Graph error is JSON");
    let error = &body["error"];
    (
        status,
        error["code"].as_str().expect("code").to_owned(),
        error["message"].as_str().expect("message").to_owned(),
    )
}
