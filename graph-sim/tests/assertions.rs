//! The simulated Entra token endpoint checks a certificate's client assertion
//! as Entra does: the certificate must be registered on the app, the
//! signature must verify against it, the claims must name the app and the
//! token endpoint, the assertion must be within its time window, and a `jti`
//! is accepted once. Each failure gets its AADSTS code.

mod common;

use std::sync::OnceLock;

use common::*;
use graph_sim::{Endpoint, Sim, SimConfig, SimHandle, TestCertificate, thumbprint_sha256};
use serde_json::{Value, json};

/// The app's certificate, made once per test binary (RSA key generation is slow).
fn app_certificate() -> &'static TestCertificate {
    static CERTIFICATE: OnceLock<TestCertificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| TestCertificate::generate("graph-sim-app"))
}

/// A certificate the app registration does not hold.
fn stranger() -> &'static TestCertificate {
    static CERTIFICATE: OnceLock<TestCertificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| TestCertificate::generate("graph-sim-stranger"))
}

async fn start_with_certificate() -> SimHandle {
    Sim::start(SimConfig {
        client_certificate_der: Some(app_certificate().der().to_vec()),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn header(certificate: &TestCertificate) -> Value {
    json!({ "alg": "PS256", "typ": "JWT", "x5t#S256": certificate.thumbprint_sha256() })
}

/// The claims MSAL sends: right audience, issuer and subject, ten minutes of life.
fn claims(sim: &SimHandle) -> Value {
    let client_id = SimConfig::default().client_id;
    let now = now();
    json!({
        "aud": sim.token_url(), "iss": client_id, "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "nbf": now, "exp": now + 600,
    })
}

/// The status, `error` and AADSTS code of posting `claims` under `header`, signed by `signer`.
async fn refusal(
    sim: &SimHandle,
    signer: &TestCertificate,
    header: Value,
    claims: Value,
) -> (u16, String, u64, String) {
    entra_error(post_assertion(sim, &signer.sign_jwt(&header, &claims)).await).await
}

#[tokio::test]
async fn an_assertion_signed_with_a_registered_certificate_gets_a_token_graph_accepts() {
    let sim = start_with_certificate().await;
    let assertion = app_certificate().sign_jwt(&header(app_certificate()), &claims(&sim));

    let response = post_assertion(&sim, &assertion).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(key_of(get_key(&sim, token).await).await, sim.current_key());
}

#[tokio::test]
async fn an_rs256_assertion_is_accepted_as_entra_accepts_it() {
    let sim = start_with_certificate().await;
    let mut header = header(app_certificate());
    header["alg"] = json!("RS256");
    let assertion = app_certificate().sign_jwt(&header, &claims(&sim));
    assert_eq!(post_assertion(&sim, &assertion).await.status(), 200);
}

#[tokio::test]
async fn a_certificate_registered_at_run_time_is_accepted_from_then_on_and_removal_revokes_it() {
    let sim = start().await;
    let certificate = app_certificate();
    let (status, _, code, description) = refusal(&sim, certificate, header(certificate), claims(&sim)).await;
    assert_eq!((status, code), (401, 700027));
    assert!(description.contains("not registered"), "{description}");
    assert!(description.contains(&certificate.thumbprint_sha256()), "{description}");

    let thumbprint = sim.register_certificate(certificate.der()).unwrap();
    assert_eq!(thumbprint, thumbprint_sha256(certificate.der()));
    let assertion = certificate.sign_jwt(&header(certificate), &claims(&sim));
    assert_eq!(post_assertion(&sim, &assertion).await.status(), 200);

    sim.remove_certificates();
    let (status, _, code, _) = refusal(&sim, certificate, header(certificate), claims(&sim)).await;
    assert_eq!((status, code), (401, 700027));
}

#[tokio::test]
async fn registering_something_that_is_not_a_certificate_is_refused() {
    let sim = start().await;
    assert!(sim.register_certificate(b"not a certificate").is_err());
    let config = SimConfig {
        client_certificate_der: Some(b"junk".to_vec()),
        ..SimConfig::default()
    };
    let error = Sim::start(config).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_signature_by_another_key_fails_signature_validation() {
    let sim = start_with_certificate().await;
    // The registered certificate's thumbprint, but the stranger's key.
    let (status, error, code, description) = refusal(&sim, stranger(), header(app_certificate()), claims(&sim)).await;
    assert_eq!((status, error.as_str(), code), (401, "invalid_client", 700027));
    assert!(description.contains("failed signature validation"), "{description}");
}

#[tokio::test]
async fn a_tampered_assertion_fails_signature_validation() {
    let sim = start_with_certificate().await;
    let assertion = app_certificate().sign_jwt(&header(app_certificate()), &claims(&sim));
    let parts: Vec<&str> = assertion.split('.').collect();
    let mut forged = claims(&sim);
    forged["exp"] = json!(now() + 3000);
    let forged_payload = base64_url(&forged.to_string());
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let (status, _, code, _) = entra_error(post_assertion(&sim, &tampered).await).await;
    assert_eq!((status, code), (401, 700027));
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn a_wrong_audience_is_refused_with_700023() {
    let sim = start_with_certificate().await;
    for audience in [
        json!("https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token"),
        json!(format!("{}/other-tenant/oauth2/v2.0/token", sim.authority_url())),
        Value::Null,
    ] {
        let mut claims = claims(&sim);
        claims["aud"] = audience.clone();
        let (status, _, code, _) = refusal(&sim, app_certificate(), header(app_certificate()), claims).await;
        assert_eq!((status, code), (401, 700023), "{audience}");
    }
}

#[tokio::test]
async fn an_issuer_or_subject_other_than_the_client_is_refused_with_700021() {
    let sim = start_with_certificate().await;
    for claim in ["iss", "sub"] {
        let mut claims = claims(&sim);
        claims[claim] = json!("33333333-3333-3333-3333-333333333333");
        let (status, _, code, description) = refusal(&sim, app_certificate(), header(app_certificate()), claims).await;
        assert_eq!((status, code), (401, 700021), "{claim}");
        assert!(description.contains("client_id"), "{description}");
    }
}

#[tokio::test]
async fn an_assertion_outside_its_time_window_is_refused_with_700024() {
    let sim = start_with_certificate().await;
    let now = now();
    for (nbf, exp, why) in [
        (now - 1200, now - 600, "expired"),
        (now - 600, now, "expires now"),
        (now + 900, now + 1500, "not yet valid"),
        (now, now + 7200, "valid for more than an hour"),
    ] {
        let mut claims = claims(&sim);
        claims["nbf"] = json!(nbf);
        claims["exp"] = json!(exp);
        let (status, _, code, _) = refusal(&sim, app_certificate(), header(app_certificate()), claims).await;
        assert_eq!((status, code), (401, 700024), "{why}");
    }
    let mut skewed = claims(&sim);
    skewed["nbf"] = json!(now + 60);
    let assertion = app_certificate().sign_jwt(&header(app_certificate()), &skewed);
    assert_eq!(
        post_assertion(&sim, &assertion).await.status(),
        200,
        "a minute of clock skew is tolerated"
    );
}

#[tokio::test]
async fn a_replayed_jti_is_refused_with_50013() {
    let sim = start_with_certificate().await;
    let assertion = app_certificate().sign_jwt(&header(app_certificate()), &claims(&sim));
    assert_eq!(post_assertion(&sim, &assertion).await.status(), 200);

    let (status, error, code, description) = entra_error(post_assertion(&sim, &assertion).await).await;

    assert_eq!((status, error.as_str(), code), (401, "invalid_client", 50013));
    assert!(description.contains("jti"), "{description}");
}

#[tokio::test]
async fn malformed_assertions_and_unsupported_algorithms_are_refused_with_50027() {
    let sim = start_with_certificate().await;
    for assertion in ["not-a-jwt", "a.b", "a.b.c", "e30.e30.AAAA"] {
        let (status, _, code, _) = entra_error(post_assertion(&sim, assertion).await).await;
        assert_eq!((status, code), (401, 50027), "{assertion}");
    }
    let mut hs256 = header(app_certificate());
    hs256["alg"] = json!("HS256");
    let (status, _, code, description) = refusal(&sim, app_certificate(), hs256, claims(&sim)).await;
    assert_eq!((status, code), (401, 50027));
    assert!(description.contains("HS256"), "{description}");
    let mut no_jti = claims(&sim);
    no_jti.as_object_mut().unwrap().remove("jti");
    let (_, _, code, _) = refusal(&sim, app_certificate(), header(app_certificate()), no_jti).await;
    assert_eq!(code, 50027);
}

#[tokio::test]
async fn an_assertion_without_the_jwt_bearer_type_is_an_invalid_request() {
    let sim = start_with_certificate().await;
    let assertion = app_certificate().sign_jwt(&header(app_certificate()), &claims(&sim));
    let c = SimConfig::default();
    for assertion_type in [None, Some("urn:ietf:params:oauth:client-assertion-type:saml2-bearer")] {
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", c.client_id.clone()),
            ("client_assertion", assertion.clone()),
            ("scope", "https://graph.microsoft.com/.default".to_owned()),
        ];
        if let Some(kind) = assertion_type {
            form.push(("client_assertion_type", kind.to_owned()));
        }
        let (status, error, code, description) = entra_error(post_token(&sim, &form).await).await;
        assert_eq!((status, error.as_str(), code), (400, "invalid_request", 900144));
        assert!(description.contains("client_assertion_type"), "{description}");
    }
    assert_eq!(sim.calls(Endpoint::Token), 2);
}
