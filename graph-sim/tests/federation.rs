//! STS `GetWebIdentityToken` and the simulated Entra's federated assertions, spoken to as the
//! AWS SDK and MSAL speak: the query protocol's form and XML, the issuer's discovery document and
//! JWKS, and Entra's AADSTS answer for each federated identity credential that does not match.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use graph_sim::{Endpoint, FederatedCredential, SimHandle};
use reqwest::Response;
use serde_json::{Value, json};

const AUDIENCE: &str = "api://AzureADTokenExchange";
/// What SigV4 puts first in the header; the simulator cannot check the signature itself.
const SIGV4: &str =
    "AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00";

async fn get_web_identity_token(sim: &SimHandle, form: &[(&str, &str)]) -> Response {
    client()
        .post(sim.sts_url())
        .header("authorization", SIGV4)
        .form(form)
        .send()
        .await
        .expect("STS answers")
}

fn request(audience: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Action", "GetWebIdentityToken".to_owned()),
        ("Version", "2011-06-15".to_owned()),
        ("Audience.member.1", audience.to_owned()),
        ("SigningAlgorithm", "RS256".to_owned()),
        ("DurationSeconds", "300".to_owned()),
    ]
}

async fn web_identity_token(sim: &SimHandle) -> String {
    let form = request(AUDIENCE);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = get_web_identity_token(sim, &form).await;
    assert_eq!(response.status(), 200);
    let xml = response.text().await.unwrap();
    between(&xml, "<WebIdentityToken>", "</WebIdentityToken>").to_owned()
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).unwrap_or_else(|| panic!("{open} in {text}")) + open.len();
    let end = text[start..].find(close).unwrap() + start;
    &text[start..end]
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn trusting(sim: &SimHandle) -> FederatedCredential {
    FederatedCredential {
        issuer: sim.aws_issuer(),
        subject: sim.aws_role_arn(),
        audiences: vec![AUDIENCE.to_owned()],
    }
}

/// Status, `error` and first AADSTS code of an Entra refusal.
async fn aadsts(response: Response) -> (u16, String, u64) {
    let (status, error, code, _) = entra_error(response).await;
    (status, error, code)
}

#[tokio::test]
async fn sts_issues_a_documented_rs256_token_in_the_query_protocols_xml() {
    let sim = start().await;
    let form = request(AUDIENCE);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = get_web_identity_token(&sim, &form).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let xml = response.text().await.unwrap();
    assert!(xml.starts_with("<GetWebIdentityTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
    assert!(
        xml.contains("<GetWebIdentityTokenResult>") && xml.contains("<RequestId>"),
        "{xml}"
    );
    let expiration = between(&xml, "<Expiration>", "</Expiration>");
    assert!(expiration.ends_with('Z') && expiration.contains('T'), "{expiration}");
    let token = between(&xml, "<WebIdentityToken>", "</WebIdentityToken>");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let claims = claims_of(token);
    assert_eq!(claims["iss"], sim.aws_issuer());
    assert_eq!(claims["sub"], sim.aws_role_arn());
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 300);
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
    assert_eq!(claims["https://sts.amazonaws.com/"]["aws_account"], "123456789012");
    assert_eq!(sim.calls(Endpoint::WebIdentityToken), 1);
}

#[tokio::test]
async fn the_issuer_serves_its_discovery_document_and_keys() {
    let sim = start().await;
    let discovery: Value = client()
        .get(format!("{}/.well-known/openid-configuration", sim.aws_issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], sim.aws_issuer());
    let jwks: Value = client()
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["kid"], "RSA_0");
}

#[tokio::test]
async fn sts_refuses_as_aws_does_when_unsigned_invalid_disabled_denied_or_throttled() {
    let sim = start().await;
    let unsigned = client()
        .post(sim.sts_url())
        .form(&request(AUDIENCE))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    assert!(
        unsigned
            .text()
            .await
            .unwrap()
            .contains("<Code>MissingAuthenticationToken</Code>")
    );

    let mut no_algorithm = request(AUDIENCE);
    no_algorithm.retain(|(k, _)| *k != "SigningAlgorithm");
    let form: Vec<(&str, &str)> = no_algorithm.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let invalid = get_web_identity_token(&sim, &form).await;
    assert_eq!(invalid.status(), 400);
    assert!(invalid.text().await.unwrap().contains("<Code>ValidationError</Code>"));

    let form = request(AUDIENCE);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    sim.set_outbound_federation(false);
    let disabled = get_web_identity_token(&sim, &form).await;
    assert_eq!(disabled.status(), 403);
    let text = disabled.text().await.unwrap();
    assert!(
        text.contains("<Code>OutboundWebIdentityFederationDisabledException</Code>"),
        "{text}"
    );
    assert!(
        text.starts_with("<ErrorResponse") && text.contains("<RequestId>"),
        "{text}"
    );

    sim.set_outbound_federation(true);
    sim.set_web_identity_allowed(false);
    let denied = get_web_identity_token(&sim, &form).await;
    assert_eq!(denied.status(), 403);
    assert!(denied.text().await.unwrap().contains("<Code>AccessDenied</Code>"));

    sim.set_web_identity_allowed(true);
    sim.inject(
        Endpoint::WebIdentityToken,
        graph_sim::Fault::TooManyRequests { retry_after: None },
    );
    let throttled = get_web_identity_token(&sim, &form).await;
    assert_eq!(throttled.status(), 400);
    assert!(throttled.text().await.unwrap().contains("<Code>Throttling</Code>"));
}

#[tokio::test]
async fn entra_accepts_an_sts_token_that_a_federated_credential_trusts() {
    let sim = start().await;
    sim.register_federated_credential(trusting(&sim));
    let response = post_assertion(&sim, &web_identity_token(&sim).await).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["access_token"].as_str().is_some());
    assert_eq!(sim.calls(Endpoint::IssuerMetadata), 2, "discovery document and JWKS");
}

#[tokio::test]
async fn entra_names_the_issuer_subject_or_audience_no_credential_matches() {
    let sim = start().await;
    let token = web_identity_token(&sim).await;
    assert_eq!(
        aadsts(post_assertion(&sim, &token).await).await,
        (400, "invalid_request".into(), 700211)
    );

    sim.register_federated_credential(FederatedCredential {
        subject: "arn:aws:iam::123456789012:role/someone-else".into(),
        ..trusting(&sim)
    });
    assert_eq!(
        aadsts(post_assertion(&sim, &token).await).await,
        (400, "invalid_request".into(), 700213)
    );

    sim.remove_federated_credentials();
    sim.register_federated_credential(FederatedCredential {
        audiences: vec!["api://AzureADTokenExchangeUSGov".into()],
        ..trusting(&sim)
    });
    let response = post_assertion(&sim, &token).await;
    let text = response.text().await.unwrap();
    assert!(text.contains("AADSTS700212") && text.contains(AUDIENCE), "{text}");

    sim.remove_federated_credentials();
    sim.register_federated_credential(FederatedCredential {
        subject: sim.aws_role_arn().to_uppercase(),
        ..trusting(&sim)
    });
    assert_eq!(
        aadsts(post_assertion(&sim, &token).await).await.2,
        700213,
        "subjects match case-sensitively"
    );
}

#[tokio::test]
async fn entra_refuses_an_expired_a_forged_and_an_unreachable_issuers_token() {
    let sim = start().await;
    sim.register_federated_credential(trusting(&sim));
    let now = now();
    let mut claims = claims_of(&web_identity_token(&sim).await);
    claims["iat"] = json!(now - 900);
    claims["exp"] = json!(now - 600);
    let expired = sim.sign_web_identity_token(&claims);
    assert_eq!(
        aadsts(post_assertion(&sim, &expired).await).await,
        (401, "invalid_client".into(), 700024)
    );

    let genuine = web_identity_token(&sim).await;
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let mut forged_claims = claims_of(&genuine);
    forged_claims["sub"] = json!("arn:aws:iam::999999999999:role/intruder");
    let forged_payload = URL_SAFE_NO_PAD.encode(forged_claims.to_string());
    parts[1] = &forged_payload;
    assert_eq!(aadsts(post_assertion(&sim, &parts.join(".")).await).await.2, 700027);

    let elsewhere = "https://abc123.tokens.sts.global.api.aws";
    sim.register_federated_credential(FederatedCredential {
        issuer: elsewhere.into(),
        ..trusting(&sim)
    });
    claims["iss"] = json!(elsewhere);
    claims["exp"] = json!(now + 300);
    let foreign = sim.sign_web_identity_token(&claims);
    assert_eq!(
        aadsts(post_assertion(&sim, &foreign).await).await.2,
        90061,
        "nothing leaves loopback"
    );
}

#[tokio::test]
async fn other_processes_steer_sts_and_the_apps_federated_credentials_through_sim_routes() {
    let sim = start().await;
    assert_eq!(
        control_post(&sim, "sts", json!({ "federationEnabled": false })).await,
        204
    );
    let form = request(AUDIENCE);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(get_web_identity_token(&sim, &form).await.status(), 403);
    assert_eq!(
        control_post(&sim, "sts", json!({ "federationEnabled": true })).await,
        204
    );
    let credential = json!({ "issuer": sim.aws_issuer(), "subject": sim.aws_role_arn(), "audiences": [AUDIENCE] });
    assert_eq!(control_post(&sim, "federated-credentials", credential).await, 204);
    assert_eq!(
        post_assertion(&sim, &web_identity_token(&sim).await).await.status(),
        200
    );
}

#[tokio::test]
async fn iam_answers_the_accounts_issuer_or_feature_disabled() {
    let sim = start().await;
    let ask = || {
        client()
            .post(sim.iam_url())
            .header("authorization", SIGV4)
            .form(&[
                ("Action", "GetOutboundWebIdentityFederationInfo"),
                ("Version", "2010-05-08"),
            ])
            .send()
    };
    let xml = ask().await.unwrap().text().await.unwrap();
    assert_eq!(
        between(&xml, "<IssuerIdentifier>", "</IssuerIdentifier>"),
        sim.aws_issuer()
    );
    assert_eq!(between(&xml, "<JwtVendingEnabled>", "</JwtVendingEnabled>"), "true");
    sim.set_outbound_federation(false);
    let disabled = ask().await.unwrap();
    assert_eq!(disabled.status(), 404);
    assert!(disabled.text().await.unwrap().contains("<Code>FeatureDisabled</Code>"));
}

#[tokio::test]
async fn stats_count_sts_calls_and_the_issuer_document_fetches_of_a_federated_token_request() {
    let sim = start().await;
    let credential = json!({ "issuer": sim.aws_issuer(), "subject": sim.aws_role_arn(), "audiences": [AUDIENCE] });
    assert_eq!(control_post(&sim, "federated-credentials", credential).await, 204);

    let assertion = web_identity_token(&sim).await;
    assert_eq!(post_assertion(&sim, &assertion).await.status(), 200);

    let stats = control_get(&sim, "stats").await;
    assert_eq!(stats["calls"]["webIdentityToken"], 1);
    assert_eq!(stats["calls"]["token"], 1);
    assert_eq!(stats["calls"]["issuerMetadata"], 2, "discovery document and JWKS");
    assert_eq!(stats["calls"]["getKey"], 0);
}
