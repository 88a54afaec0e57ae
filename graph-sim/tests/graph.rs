//! The simulated Graph key endpoints serve and rotate the key for tokens
//! this simulator issued, and refuse everything else in Graph's shapes.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use graph_sim::{Endpoint, KeyShape, SimConfig};
use serde_json::{Value, json};

const GRAPH_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

#[tokio::test]
async fn get_returns_the_current_key_with_graph_headers() {
    let sim = start().await;
    let token = token(&sim).await;
    let response = client()
        .get(graph_url(&sim, "v1.0", GET_KEY_PATH))
        .bearer_auth(&token)
        .header("client-request-id", "0f1e2d3c-0000-4000-8000-000000000001")
        .send()
        .await
        .unwrap();
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], GRAPH_JSON);
    assert_eq!(headers["client-request-id"], "0f1e2d3c-0000-4000-8000-000000000001");
    assert!(uuid::Uuid::parse_str(headers["request-id"].to_str().unwrap()).is_ok());
    assert!(httpdate::parse_http_date(headers["date"].to_str().unwrap()).is_ok());
    assert_eq!(key_of(response).await, sim.current_key());
}

#[tokio::test]
async fn a_fresh_client_request_id_is_made_up_when_none_is_sent() {
    let sim = start().await;
    let response = get_key(&sim, &token(&sim).await).await;
    assert!(uuid::Uuid::parse_str(response.headers()["client-request-id"].to_str().unwrap()).is_ok());
}

#[tokio::test]
async fn the_default_key_looks_like_a_real_mdi_key() {
    let sim = start().await;
    let key = sim.current_key();
    assert_eq!(key.len(), 88);
    assert_eq!(STANDARD.decode(&key).unwrap().len(), 64);
}

#[tokio::test]
async fn get_answers_in_each_configured_shape() {
    let sim = start_with(SimConfig {
        initial_key: "the-key".to_owned(),
        ..SimConfig::default()
    })
    .await;
    let token = token(&sim).await;
    let context = format!(
        "{}/beta/$metadata#microsoft.graph.security.deploymentAccessKeyType",
        sim.graph_url()
    );
    let expectations = [
        (
            KeyShape::ValueWrapped,
            json!({"@odata.context": context, "value": {"@odata.type": "#microsoft.graph.security.deploymentAccessKeyType", "sensorDeploymentAccessKey": "the-key"}}),
        ),
        (
            KeyShape::ValueWrappedDeploymentAccessKey,
            json!({"value": {"deploymentAccessKey": "the-key"}}),
        ),
        (
            KeyShape::Bare,
            json!({"@odata.type": "#microsoft.graph.security.deploymentAccessKeyType", "sensorDeploymentAccessKey": "the-key"}),
        ),
        (
            KeyShape::BareDeploymentAccessKey,
            json!({"deploymentAccessKey": "the-key"}),
        ),
    ];
    for (shape, expected) in expectations {
        sim.set_key_shape(shape);
        let body: Value = get_key(&sim, &token).await.json().await.unwrap();
        assert_eq!(body, expected, "{shape:?}");
    }
}

#[tokio::test]
async fn post_replaces_the_key_and_returns_the_new_one() {
    let sim = start().await;
    let token = token(&sim).await;
    let before = sim.current_key();
    let returned = key_of(regenerate(&sim, &token).await).await;
    assert_ne!(returned, before);
    assert_eq!(returned, sim.current_key());
    assert_eq!(STANDARD.decode(&returned).unwrap().len(), 64);
    assert_eq!(key_of(get_key(&sim, &token).await).await, returned);
    assert_eq!(sim.keys_generated(), 1);
}

#[tokio::test]
async fn post_answers_in_the_configured_shape() {
    let sim = start().await;
    sim.set_key_shape(KeyShape::BareDeploymentAccessKey);
    let body: Value = regenerate(&sim, &token(&sim).await).await.json().await.unwrap();
    assert_eq!(body, json!({"deploymentAccessKey": sim.current_key()}));
}

#[tokio::test]
async fn set_key_changes_what_get_returns() {
    let sim = start().await;
    sim.set_key("replaced");
    assert_eq!(key_of(get_key(&sim, &token(&sim).await).await).await, "replaced");
    assert_eq!(sim.keys_generated(), 0);
}

#[tokio::test]
async fn namespace_qualified_and_parenthesised_function_names_are_accepted() {
    let sim = start().await;
    let token = token(&sim).await;
    for path in [
        "security/identities/sensors/microsoft.graph.security.getDeploymentAccessKey",
        "security/identities/sensors/getDeploymentAccessKey()",
    ] {
        let response = client()
            .get(graph_url(&sim, "beta", path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    assert_eq!(sim.calls(Endpoint::GetKey), 2);
}

#[tokio::test]
async fn a_missing_token_is_an_empty_access_token() {
    let sim = start().await;
    let response = client()
        .get(graph_url(&sim, "beta", GET_KEY_PATH))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (status, code, message) = graph_error(response).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (401, "InvalidAuthenticationToken", "Access token is empty.")
    );
}

#[tokio::test]
async fn a_token_that_is_not_a_jwt_is_not_well_formed() {
    let sim = start().await;
    let (status, code, message) = graph_error(get_key(&sim, "opaque-token").await).await;
    assert_eq!((status, code.as_str()), (401, "InvalidAuthenticationToken"));
    assert!(message.starts_with("IDX14100: JWT is not well formed"));
}

#[tokio::test]
async fn a_forged_jwt_is_refused() {
    let sim = start().await;
    let genuine = token(&sim).await;
    let (header, rest) = genuine.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let forged = format!("{header}.{payload}.Zm9yZ2Vk");
    let (status, code, message) = graph_error(get_key(&sim, &forged).await).await;
    assert_eq!((status, code.as_str()), (401, "InvalidAuthenticationToken"));
    assert_eq!(message, "Access token validation failure.");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let sim = start_with(SimConfig {
        token_lifetime_secs: 0,
        ..SimConfig::default()
    })
    .await;
    let (status, code, message) = graph_error(get_key(&sim, &token(&sim).await).await).await;
    assert_eq!((status, code.as_str()), (401, "InvalidAuthenticationToken"));
    assert_eq!(message, "Access token has expired or is not yet valid.");
}

#[tokio::test]
async fn revoked_tokens_are_refused_and_new_ones_work() {
    let sim = start().await;
    let old = token(&sim).await;
    sim.revoke_tokens();
    let (status, code, _) = graph_error(get_key(&sim, &old).await).await;
    assert_eq!((status, code.as_str()), (401, "InvalidAuthenticationToken"));
    assert_eq!(get_key(&sim, &token(&sim).await).await.status(), 200);
}

#[tokio::test]
async fn a_token_without_the_role_is_forbidden() {
    let sim = start().await;
    sim.set_roles(vec!["User.Read.All".to_owned()]);
    let (status, code, message) = graph_error(get_key(&sim, &token(&sim).await).await).await;
    assert_eq!((status, code.as_str()), (403, "Forbidden"));
    assert_eq!(
        message,
        "Missing application roles. API required roles: SecurityIdentitiesSensors.ReadWrite.All. \
         API acceptable roles: SecurityIdentitiesSensors.ReadWrite.All. Application roles: User.Read.All."
    );
}

#[tokio::test]
async fn a_token_keeps_the_roles_it_was_issued_with() {
    let sim = start().await;
    let before = token(&sim).await;
    sim.set_roles(Vec::new());
    assert_eq!(get_key(&sim, &before).await.status(), 200);
    assert_eq!(get_key(&sim, &token(&sim).await).await.status(), 403);
}

#[tokio::test]
async fn a_forbidden_post_does_not_regenerate() {
    let sim = start_with(SimConfig {
        roles: Vec::new(),
        ..SimConfig::default()
    })
    .await;
    let before = sim.current_key();
    assert_eq!(regenerate(&sim, &token(&sim).await).await.status(), 403);
    assert_eq!(sim.current_key(), before);
}

#[tokio::test]
async fn the_wrong_method_is_not_allowed() {
    let sim = start().await;
    let token = token(&sim).await;
    let before = sim.current_key();
    let response = client()
        .get(graph_url(&sim, "beta", REGENERATE_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    let (status, code, _) = graph_error(response).await;
    assert_eq!((status, code.as_str()), (405, "BadRequest"));
    assert_eq!(sim.current_key(), before);

    let response = client()
        .post(graph_url(&sim, "beta", GET_KEY_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(sim.calls(Endpoint::RegenerateKey), 1);
    assert_eq!(sim.calls(Endpoint::GetKey), 1);
}

#[tokio::test]
async fn an_unknown_segment_is_a_bad_request_naming_it() {
    let sim = start().await;
    let token = token(&sim).await;
    let url = graph_url(&sim, "beta", "security/identities/sensors/getDeploymentAccessKeys");
    let (status, code, message) = graph_error(client().get(url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "BadRequest"));
    assert_eq!(message, "Resource not found for the segment 'getDeploymentAccessKeys'.");

    let url = graph_url(&sim, "v1.0", "security/identitys/sensors/getDeploymentAccessKey");
    let (_, _, message) = graph_error(client().get(url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(message, "Resource not found for the segment 'identitys'.");
}

#[tokio::test]
async fn an_unknown_version_is_invalid() {
    let sim = start().await;
    let url = graph_url(&sim, "v2.0", GET_KEY_PATH);
    let (status, code, message) =
        graph_error(client().get(url).bearer_auth(token(&sim).await).send().await.unwrap()).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (400, "BadRequest", "Invalid version.")
    );
    assert_eq!(sim.calls(Endpoint::GetKey), 0);
}

#[tokio::test]
async fn graph_errors_carry_inner_error_ids_matching_the_headers() {
    let sim = start().await;
    let response = client()
        .get(graph_url(&sim, "beta", GET_KEY_PATH))
        .header("client-request-id", "aaaaaaaa-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["request-id"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["content-type"], GRAPH_JSON);
    let body: Value = response.json().await.unwrap();
    let inner = &body["error"]["innerError"];
    assert_eq!(inner["request-id"], request_id.as_str());
    assert_eq!(inner["client-request-id"], "aaaaaaaa-0000-4000-8000-000000000000");
    let date = inner["date"].as_str().unwrap();
    assert_eq!(date.len(), "2024-05-01T12:00:00".len());
    assert_eq!(&date[10..11], "T");
}

#[tokio::test]
async fn latency_is_added_to_every_answer() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(get_key(&sim, &token).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(post_token(&sim, &good_form()).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn clones_of_a_handle_steer_the_same_server() {
    let sim = start().await;
    let clone = sim.clone();
    clone.set_key("shared");
    assert_eq!(sim.current_key(), "shared");
    assert_eq!(sim.base_url(), clone.base_url());
    assert_eq!(sim.base_url(), format!("http://{}", sim.addr()));
    assert_eq!(sim.authority_url(), sim.base_url());
    assert_eq!(sim.graph_url(), sim.base_url());
}

#[tokio::test]
async fn starting_on_a_non_loopback_address_is_refused() {
    let addr = "0.0.0.0:0".parse().unwrap();
    let error = graph_sim::Sim::start_on(addr, SimConfig::default())
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_server() {
    let sim = start().await;
    let url = format!("{}/_sim/stats", sim.base_url());
    drop(sim);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(client().get(url).send().await.is_err());
}
