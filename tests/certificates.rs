//! Certificate credentials end to end: the credentials secret holds a certificate and its private
//! key, the function signs a client assertion for every token request, and the simulated Entra
//! verifies it as Entra does (registered certificate, PS256 signature, audience, issuer, subject,
//! time window, no replayed jti).

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::*;
use graph_sim::{Endpoint, Fault, SimConfig, TestCertificate};
use serde_json::Value;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A world whose credentials secret holds `app_certificate()` and whose Entra has it registered.
async fn certificate_world(send_chain: bool) -> World {
    world(Setup {
        credentials_json: Some(certificate_credentials_json(app_certificate(), send_chain)),
        sim: SimConfig {
            client_certificate_der: Some(app_certificate().der().to_vec()),
            ..SimConfig::default()
        },
        ..Setup::default()
    })
    .await
}

/// The client assertions of the token requests the simulator received, oldest first.
fn assertions(world: &World) -> Vec<String> {
    world
        .sim
        .requests()
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::Token))
        .filter_map(|r| r.form_field("client_assertion").map(str::to_owned))
        .collect()
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn header_and_claims(assertion: &str) -> (Value, Value) {
    let mut parts = assertion.split('.');
    let header = decode(parts.next().unwrap());
    let claims = decode(parts.next().unwrap());
    (header, claims)
}

#[tokio::test]
async fn a_certificate_credential_reads_the_key_with_a_signed_assertion_and_no_client_secret() {
    let world = certificate_world(false).await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.key(), world.sim.current_key());
    let requests = world.sim.requests();
    let token = requests.iter().find(|r| r.endpoint == Some(Endpoint::Token)).unwrap();
    assert_eq!(token.form_field("client_assertion_type"), Some(JWT_BEARER));
    assert_eq!(token.form_field("client_secret"), None);
    assert_eq!(token.form_field("scope"), Some("https://graph.microsoft.com/.default"));
    let (header, claims) = header_and_claims(token.form_field("client_assertion").unwrap());
    assert_eq!(header["alg"], "PS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["x5t#S256"], app_certificate().thumbprint_sha256().as_str());
    assert!(header.get("x5c").is_none());
    let client_id = SimConfig::default().client_id;
    assert_eq!(claims["aud"], world.sim.token_url().as_str());
    assert_eq!(claims["iss"], client_id.as_str());
    assert_eq!(claims["sub"], client_id.as_str());
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["nbf"].as_u64(), Some(iat));
    assert_eq!(claims["exp"].as_u64(), Some(iat + 600));
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
    world.assert_no_leaks();
}

#[tokio::test]
async fn the_certificate_chain_is_sent_in_x5c_when_the_secret_asks_for_it() {
    let world = certificate_world(true).await;

    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);

    let (header, _) = header_and_claims(&assertions(&world)[0]);
    assert_eq!(
        header["x5c"],
        serde_json::json!([STANDARD.encode(app_certificate().der())])
    );
}

#[tokio::test]
async fn a_pkcs1_private_key_works_as_well_as_pkcs8() {
    let certificate = app_certificate();
    let config = SimConfig::default();
    let json = serde_json::json!({
        "tenantId": config.tenant_id, "clientId": config.client_id,
        "certificatePem": certificate.certificate_pem(), "privateKeyPem": certificate.private_key_pkcs1_pem(),
    });
    let world = world(Setup {
        credentials_json: Some(json.to_string()),
        sim: SimConfig {
            client_certificate_der: Some(certificate.der().to_vec()),
            ..SimConfig::default()
        },
        ..Setup::default()
    })
    .await;

    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    world.assert_no_leaks();
}

#[tokio::test]
async fn every_token_request_signs_a_fresh_assertion_even_a_retried_one() {
    let world = certificate_world(false).await;
    // Entra spends the assertion's jti, then fails: a retry that reused it would be a replay.
    world.sim.inject(Endpoint::Token, Fault::ProcessThenStatus(503));

    let reply = call(&world.app, event("get-key.json")).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    world.sim.revoke_tokens();
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);

    let jtis: Vec<Value> = assertions(&world)
        .iter()
        .map(|a| header_and_claims(a).1["jti"].clone())
        .collect();
    assert_eq!(jtis.len(), 3, "a retry, then a fresh token after the revocation");
    assert!(
        jtis[0] != jtis[1] && jtis[1] != jtis[2] && jtis[0] != jtis[2],
        "{jtis:?}"
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn an_unregistered_certificate_is_a_502_that_says_to_register_it_after_one_re_read() {
    let world = certificate_world(false).await;
    world.sim.remove_certificates();

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/entra-refused");
    assert_eq!(reply.json["code"], "invalid_client AADSTS700027");
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("not registered") && detail.contains("az ad app credential reset"),
        "{detail}"
    );
    assert_eq!(
        world.sim.calls(Endpoint::Token),
        2,
        "the secret is re-read (it may hold a rotated certificate) and tried once more"
    );
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_certificate_rotated_in_entra_and_the_secret_is_picked_up_on_invalid_client() {
    let world = certificate_world(false).await;
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    let rotated = TestCertificate::generate("rotated");
    remember_private_key(&rotated);
    world.sim.remove_certificates();
    world.sim.register_certificate(rotated.der()).unwrap();
    world
        .moto
        .put_secret_value()
        .secret_id(&world.credentials_secret)
        .secret_string(certificate_credentials_json(&rotated, false))
        .send()
        .await
        .unwrap();
    world.sim.revoke_tokens();

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    let thumbprints: Vec<Value> = assertions(&world)
        .iter()
        .map(|a| header_and_claims(a).0["x5t#S256"].clone())
        .collect();
    assert_eq!(
        thumbprints,
        [
            app_certificate().thumbprint_sha256(),
            app_certificate().thumbprint_sha256(),
            rotated.thumbprint_sha256()
        ]
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn an_assertion_entra_refuses_is_explained_by_its_aadsts_code() {
    // An authority spelled with another host name than the one Entra serves under: the
    // assertion's audience then names an endpoint that is not Entra's own.
    let world = world(Setup {
        credentials_json: Some(certificate_credentials_json(app_certificate(), false)),
        sim: SimConfig {
            client_certificate_der: Some(app_certificate().der().to_vec()),
            ..SimConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let localhost = world.sim.authority_url().replace("127.0.0.1", "localhost");
    let config = mdi_sensor_key::config::Config {
        authority_host: Some(localhost),
        ..world.config.clone()
    };
    let app = mdi_sensor_key::app::App::from_config(
        &config,
        mdi_sensor_key::secrets::AwsSecretStore::new(world.moto.clone()),
        None,
        world.retry.clone(),
    )
    .unwrap();

    let reply = call(&app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert_eq!(reply.json["code"], "invalid_client AADSTS700023");
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("client assertion") && detail.contains("audience"),
        "{detail}"
    );
    assert_eq!(
        world.sim.calls(Endpoint::Token),
        1,
        "a rejected assertion is no stale secret"
    );
}

#[tokio::test]
async fn a_private_key_that_does_not_match_the_certificate_is_a_500_before_anything_is_sent() {
    let stranger = TestCertificate::generate("stranger");
    remember_private_key(&stranger);
    let config = SimConfig::default();
    let json = serde_json::json!({
        "tenantId": config.tenant_id, "clientId": config.client_id,
        "certificatePem": app_certificate().certificate_pem(), "privateKeyPem": stranger.private_key_pem(),
    });
    let world = world(Setup {
        credentials_json: Some(json.to_string()),
        ..Setup::default()
    })
    .await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/misconfigured");
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("privateKeyPem") && detail.contains("does not match"),
        "{detail}"
    );
    assert!(!reply.json.to_string().contains("MII"), "no PEM in the answer");
    assert_eq!(calls(&world), (0, 0, 0));
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_secret_with_both_a_client_secret_and_a_certificate_is_a_500_naming_both() {
    let config = SimConfig::default();
    let json = serde_json::json!({
        "tenantId": config.tenant_id, "clientId": config.client_id, "clientSecret": CLIENT_SECRET,
        "certificatePem": app_certificate().certificate_pem(), "privateKeyPem": app_certificate().private_key_pem(),
    });
    let world = world(Setup {
        credentials_json: Some(json.to_string()),
        ..Setup::default()
    })
    .await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500);
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("clientSecret") && detail.contains("certificatePem") && detail.contains("exactly one"),
        "{detail}"
    );
    assert_eq!(calls(&world), (0, 0, 0));
    world.assert_no_leaks();
}
