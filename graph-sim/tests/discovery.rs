//! The simulated tenant's OpenID configuration document names its cloud as
//! Entra's does, unknown tenants get Entra's 400, and the document can be
//! faulted like any other endpoint.

mod common;

use common::*;
use graph_sim::{Endpoint, Fault, SimCloud, SimConfig};
use serde_json::Value;

async fn document(url: &str) -> (u16, Value) {
    let response = client().get(url).send().await.expect("Entra answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn each_cloud_is_named_by_its_instance_graph_host_and_sub_scope() {
    let cases = [
        (
            SimCloud::Global,
            "microsoftonline.com",
            "graph.microsoft.com",
            "NA",
            None,
        ),
        (
            SimCloud::Gcc,
            "microsoftonline.com",
            "graph.microsoft.com",
            "NA",
            Some("GCC"),
        ),
        (
            SimCloud::UsGov,
            "microsoftonline.us",
            "graph.microsoft.us",
            "USGov",
            Some("DODCON"),
        ),
        (
            SimCloud::Dod,
            "microsoftonline.us",
            "dod-graph.microsoft.us",
            "USGov",
            Some("DOD"),
        ),
    ];
    for (cloud, instance, graph_host, scope, sub_scope) in cases {
        let sim = start_with(SimConfig::in_cloud(cloud)).await;
        assert_eq!(sim.cloud(), cloud);
        let (status, doc) = document(&sim.openid_configuration_url()).await;
        assert_eq!(status, 200, "{cloud:?}");
        assert_eq!(doc["cloud_instance_name"], instance, "{cloud:?}");
        assert_eq!(doc["msgraph_host"], graph_host, "{cloud:?}");
        assert_eq!(doc["tenant_region_scope"], scope, "{cloud:?}");
        assert_eq!(doc["tenant_region_sub_scope"].as_str(), sub_scope, "{cloud:?}");
        assert_eq!(doc["token_endpoint"], sim.token_url().as_str(), "{cloud:?}");
        let tenant = SimConfig::default().tenant_id;
        assert_eq!(doc["issuer"], format!("{}/{tenant}/v2.0", sim.authority_url()).as_str());
    }
}

#[tokio::test]
async fn a_cloud_sets_the_resource_its_entra_issues_tokens_for() {
    let sim = start_with(SimConfig::in_cloud(SimCloud::UsGov)).await;
    let response = post_token(&sim, &good_form()).await;
    let (status, error, code, _) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_resource", 500011));
    let usgov = form_with("scope", Some("https://graph.microsoft.us/.default"));
    assert_eq!(post_token(&sim, &usgov).await.status(), 200);
}

#[tokio::test]
async fn an_unknown_tenant_gets_entras_400_with_aadsts90002() {
    let sim = start().await;
    let url = format!(
        "{}/99999999-9999-9999-9999-999999999999/v2.0/.well-known/openid-configuration",
        sim.authority_url()
    );
    let response = client().get(url).send().await.unwrap();
    let (status, error, code, description) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (400, "invalid_request", 90002));
    assert!(description.contains("not found"), "{description}");
    let bad_name = format!(
        "{}/not_a_tenant/v2.0/.well-known/openid-configuration",
        sim.authority_url()
    );
    let (_, _, code, _) = entra_error(client().get(bad_name).send().await.unwrap()).await;
    assert_eq!(code, 900023);
}

#[tokio::test]
async fn the_document_is_counted_and_faulted_like_any_endpoint() {
    let sim = start().await;
    sim.inject(Endpoint::OpenIdConfiguration, Fault::Status(503));
    let (status, _) = document(&sim.openid_configuration_url()).await;
    assert_eq!(status, 503);
    sim.inject(Endpoint::OpenIdConfiguration, Fault::MalformedBody);
    let response = client().get(sim.openid_configuration_url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.json::<Value>().await.is_err());
    let (status, _) = document(&sim.openid_configuration_url()).await;
    assert_eq!(status, 200);
    assert_eq!(sim.calls(Endpoint::OpenIdConfiguration), 3);
    assert_eq!(sim.calls(Endpoint::Token), 0);
}

#[tokio::test]
async fn a_post_to_the_document_is_refused() {
    let sim = start().await;
    let response = client().post(sim.openid_configuration_url()).send().await.unwrap();
    let (status, _, code, _) = entra_error(response).await;
    assert_eq!((status, code), (400, 900561));
}
