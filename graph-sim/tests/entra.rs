//! The simulated Entra token endpoint accepts what Entra accepts and refuses
//! the rest with Entra's status, `error` and AADSTS code.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use graph_sim::{Endpoint, SimConfig};
use serde_json::Value;

#[tokio::test]
async fn good_credentials_get_a_bearer_token_that_graph_accepts() {
    let sim = start().await;
    let response = post_token(&sim, &good_form()).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-ms-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();

    let key = key_of(get_key(&sim, token).await).await;
    assert_eq!(key, sim.current_key());
}

#[tokio::test]
async fn the_access_token_is_a_jwt_with_the_app_only_claims() {
    let sim = start().await;
    let token = token(&sim).await;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let c = SimConfig::default();
    assert_eq!(payload["aud"], "https://graph.microsoft.com");
    assert_eq!(payload["tid"], c.tenant_id.as_str());
    assert_eq!(payload["appid"], c.client_id.as_str());
    assert_eq!(payload["roles"][0], "SecurityIdentitiesSensors.ReadWrite.All");
    assert!(payload["iss"].as_str().unwrap().contains(&c.tenant_id));
    let iat = payload["iat"].as_u64().unwrap();
    assert_eq!(payload["nbf"].as_u64().unwrap(), iat);
    assert_eq!(payload["exp"].as_u64().unwrap(), iat + 3599);
    assert!(payload["uti"].is_string());
}

#[tokio::test]
async fn the_configured_lifetime_is_reported_in_expires_in() {
    let sim = start_with(SimConfig {
        token_lifetime_secs: 120,
        ..SimConfig::default()
    })
    .await;
    let body: Value = post_token(&sim, &good_form()).await.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
}

#[tokio::test]
async fn a_json_body_is_refused_as_a_request_without_grant_type() {
    let sim = start().await;
    let response = client()
        .post(sim.token_url())
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_request", 900144));
    assert!(
        description.starts_with("AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
    );
}

#[tokio::test]
async fn an_unknown_tenant_is_not_found() {
    let sim = start().await;
    let url = format!(
        "{}/33333333-3333-3333-3333-333333333333/oauth2/v2.0/token",
        sim.authority_url()
    );
    let response = client().post(url).form(&good_form()).send().await.unwrap();
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_request", 90002));
    assert!(description.contains("Tenant '33333333-3333-3333-3333-333333333333' not found."));
}

#[tokio::test]
async fn a_tenant_that_is_neither_guid_nor_domain_is_invalid() {
    let sim = start().await;
    let url = format!("{}/not-a-tenant/oauth2/v2.0/token", sim.authority_url());
    let response = client().post(url).form(&good_form()).send().await.unwrap();
    let (status, error, code, _) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_request", 900023));
}

#[tokio::test]
async fn the_common_endpoint_refuses_client_credentials() {
    let sim = start().await;
    let url = format!("{}/common/oauth2/v2.0/token", sim.authority_url());
    let response = client().post(url).form(&good_form()).send().await.unwrap();
    let (status, error, code, _) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_request", 9001023));
}

#[tokio::test]
async fn a_grant_other_than_client_credentials_is_unsupported() {
    let sim = start().await;
    let response = post_token(&sim, &form_with("grant_type", Some("password"))).await;
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "unsupported_grant_type", 70003));
    assert!(description.contains("'password'"));
}

#[tokio::test]
async fn a_missing_client_id_is_a_missing_parameter() {
    let sim = start().await;
    let response = post_token(&sim, &form_with("client_id", None)).await;
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_request", 900144));
    assert!(description.contains("'client_id'"));
}

#[tokio::test]
async fn an_unknown_client_id_is_an_unauthorized_client() {
    let sim = start().await;
    let response = post_token(
        &sim,
        &form_with("client_id", Some("44444444-4444-4444-4444-444444444444")),
    )
    .await;
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "unauthorized_client", 700016));
    assert!(description.contains("Application with identifier '44444444-4444-4444-4444-444444444444' was not found"));
}

#[tokio::test]
async fn a_wrong_client_secret_is_an_invalid_client() {
    let sim = start().await;
    let response = post_token(&sim, &form_with("client_secret", Some("wrong"))).await;
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (401, "invalid_client", 7000215));
    assert!(description.starts_with("AADSTS7000215: Invalid client secret provided."));
}

#[tokio::test]
async fn a_missing_client_secret_is_an_invalid_client_of_its_own_kind() {
    let sim = start().await;
    let response = post_token(&sim, &form_with("client_secret", None)).await;
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (401, "invalid_client", 7000218));
    assert!(description.contains("'client_assertion' or 'client_secret'"));
}

#[tokio::test]
async fn a_scope_without_default_suffix_is_an_invalid_scope() {
    let sim = start().await;
    let scope = "https://graph.microsoft.com/SecurityIdentitiesSensors.ReadWrite.All";
    let response = post_token(&sim, &form_with("scope", Some(scope))).await;
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_scope", 1002012));
    assert!(description.contains(scope));
}

#[tokio::test]
async fn a_default_scope_for_another_resource_names_an_unknown_resource() {
    let sim = start().await;
    let response = post_token(&sim, &form_with("scope", Some("https://graph.windows.net/.default"))).await;
    let (status, error, code, _) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_resource", 500011));
}

#[tokio::test]
async fn several_scopes_are_an_invalid_scope() {
    let sim = start().await;
    let scope = "https://graph.microsoft.com/.default offline_access";
    let response = post_token(&sim, &form_with("scope", Some(scope))).await;
    let (status, error, code, _) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_scope", 70011));
}

#[tokio::test]
async fn a_missing_scope_is_a_missing_parameter() {
    let sim = start().await;
    let response = post_token(&sim, &form_with("scope", None)).await;
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_request", 900144));
    assert!(description.contains("'scope'"));
}

#[tokio::test]
async fn graph_application_id_is_accepted_as_the_scope_resource() {
    let sim = start().await;
    let response = post_token(
        &sim,
        &form_with("scope", Some("00000003-0000-0000-c000-000000000000/.default")),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_custom_graph_root_is_the_only_accepted_scope_resource() {
    let sim = start_with(SimConfig {
        graph_root: "https://graph.microsoft.us".to_owned(),
        ..SimConfig::default()
    })
    .await;
    let refused = post_token(&sim, &good_form()).await;
    assert_eq!(refused.status(), 400);
    let accepted = post_token(&sim, &form_with("scope", Some("https://graph.microsoft.us/.default"))).await;
    assert_eq!(accepted.status(), 200);
}

#[tokio::test]
async fn a_get_on_the_token_endpoint_is_refused_as_entra_does() {
    let sim = start().await;
    let response = client().get(sim.token_url()).send().await.unwrap();
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_request", 900561));
    assert!(description.contains("Received a GET request"));
}

#[tokio::test]
async fn credentials_in_a_basic_authorization_header_are_accepted() {
    let sim = start().await;
    let c = SimConfig::default();
    let response = client()
        .post(sim.token_url())
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_at_once() {
    let sim = start().await;
    sim.set_client_secret("new-secret");
    let old = post_token(&sim, &good_form()).await;
    assert_eq!(entra_error(old).await.2, 7000215);
    let new = post_token(&sim, &form_with("client_secret", Some("new-secret"))).await;
    assert_eq!(new.status(), 200);
}

#[tokio::test]
async fn the_error_body_has_every_field_entra_sends() {
    let sim = start().await;
    let response = client()
        .post(sim.token_url())
        .header("client-request-id", "5b7bd4b7-0d1c-4cb5-8b4b-53c3c7e2a1a0")
        .form(&form_with("client_secret", Some("wrong")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["client-request-id"],
        "5b7bd4b7-0d1c-4cb5-8b4b-53c3c7e2a1a0"
    );
    let trace_header = response.headers()["x-ms-request-id"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["trace_id"], trace_header.as_str());
    assert_eq!(body["correlation_id"], "5b7bd4b7-0d1c-4cb5-8b4b-53c3c7e2a1a0");
    assert_eq!(body["error_codes"], serde_json::json!([7000215]));
    let timestamp = body["timestamp"].as_str().unwrap();
    assert_eq!(timestamp.len(), "2024-05-01 12:00:00Z".len());
    assert!(timestamp.ends_with('Z'));
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains(&format!("Trace ID: {trace_header}")));
    assert!(description.contains("Correlation ID: 5b7bd4b7-0d1c-4cb5-8b4b-53c3c7e2a1a0"));
    assert!(description.contains(&format!("Timestamp: {timestamp}")));
}

#[tokio::test]
async fn refused_token_requests_are_counted_too() {
    let sim = start().await;
    post_token(&sim, &form_with("client_secret", Some("wrong"))).await;
    post_token(&sim, &good_form()).await;
    assert_eq!(sim.calls(Endpoint::Token), 2);
    assert_eq!(sim.calls(Endpoint::GetKey), 0);
}
