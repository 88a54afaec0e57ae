//! Counters, recorded requests, reset, and the `/_sim` HTTP routes that let
//! another process steer the simulator as tests do through the handle.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::*;
use graph_sim::{Endpoint, Fault, KeyShape, RetryAfter};
use serde_json::{Value, json};

#[tokio::test]
async fn calls_count_every_request_per_endpoint() {
    let sim = start().await;
    let token = token(&sim).await;
    get_key(&sim, &token).await;
    get_key(&sim, "bogus").await;
    regenerate(&sim, &token).await;
    client()
        .get(graph_url(&sim, "beta", "security/unknown"))
        .send()
        .await
        .unwrap();
    assert_eq!(sim.calls(Endpoint::Token), 1);
    assert_eq!(sim.calls(Endpoint::GetKey), 2);
    assert_eq!(sim.calls(Endpoint::RegenerateKey), 1);
}

#[tokio::test]
async fn token_requests_are_recorded_with_form_fields_and_lowercased_headers() {
    let sim = start().await;
    client()
        .post(sim.token_url())
        .header("X-Custom-Header", "yes")
        .form(&good_form())
        .send()
        .await
        .unwrap();
    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    let recorded = &requests[0];
    assert_eq!(recorded.endpoint, Some(Endpoint::Token));
    assert_eq!(recorded.method, "POST");
    assert_eq!(recorded.path, "/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token");
    assert_eq!(recorded.form_field("grant_type"), Some("client_credentials"));
    assert_eq!(
        recorded.form_field("scope"),
        Some("https://graph.microsoft.com/.default")
    );
    assert_eq!(recorded.form_field("client_secret"), Some("sim-client-secret"));
    assert!(
        recorded
            .headers
            .iter()
            .any(|(n, v)| n == "x-custom-header" && v == "yes")
    );
    assert_eq!(recorded.header("X-CUSTOM-HEADER"), Some("yes"));
    assert!(recorded.body.contains("grant_type=client_credentials"));
}

#[tokio::test]
async fn graph_requests_are_recorded_with_query_and_authorization() {
    let sim = start().await;
    let token = token(&sim).await;
    client()
        .get(format!("{}?$select=x", graph_url(&sim, "beta", GET_KEY_PATH)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let recorded = sim.requests().pop().unwrap();
    assert_eq!(recorded.endpoint, Some(Endpoint::GetKey));
    assert_eq!(recorded.method, "GET");
    assert_eq!(recorded.query.as_deref(), Some("$select=x"));
    assert_eq!(
        recorded.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert!(recorded.form.is_empty());
}

#[tokio::test]
async fn reset_clears_faults_counters_requests_and_revocations_but_keeps_the_key() {
    let sim = start().await;
    let token = token(&sim).await;
    regenerate(&sim, &token).await;
    let key = sim.current_key();
    sim.inject(Endpoint::GetKey, Fault::Status(500));
    sim.set_fault_rate(Endpoint::RegenerateKey, 100, Fault::Status(503));
    sim.revoke_tokens();
    sim.reset();
    assert_eq!(sim.calls(Endpoint::Token), 0);
    assert_eq!(sim.calls(Endpoint::RegenerateKey), 0);
    assert_eq!(sim.keys_generated(), 0);
    assert!(sim.requests().is_empty());
    assert_eq!(sim.current_key(), key);
    assert_eq!(key_of(get_key(&sim, &token).await).await, key);
    assert_eq!(regenerate(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn stats_report_calls_and_the_current_key() {
    let sim = start().await;
    let token = token(&sim).await;
    get_key(&sim, &token).await;
    regenerate(&sim, &token).await;
    regenerate(&sim, &token).await;
    assert_eq!(
        control_get(&sim, "stats").await,
        json!({
            "calls": {
                "token": 1,
                "getKey": 1,
                "regenerateKey": 2,
                "openIdConfiguration": 0,
                "webIdentityToken": 0,
                "issuerMetadata": 0,
            },
            "key": sim.current_key(),
            "keysGenerated": 2,
        })
    );
}

#[tokio::test]
async fn control_requests_are_neither_counted_nor_recorded_nor_delayed() {
    let sim = start().await;
    sim.set_latency(Duration::from_millis(300));
    let started = Instant::now();
    control_get(&sim, "stats").await;
    assert!(started.elapsed() < Duration::from_millis(300));
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn a_fault_posted_over_http_is_queued_for_its_endpoint() {
    let sim = start().await;
    let token = token(&sim).await;
    let body = json!({"endpoint": "getKey", "fault": {"type": "status", "status": 503}});
    assert_eq!(control_post(&sim, "faults", body).await, 204);
    assert_eq!(get_key(&sim, &token).await.status(), 503);
    assert_eq!(get_key(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn a_fault_posted_with_times_is_queued_that_often() {
    let sim = start().await;
    let body = json!({"endpoint": "token", "fault": {"type": "invalidClient"}, "times": 2});
    assert_eq!(control_post(&sim, "faults", body).await, 204);
    assert_eq!(post_token(&sim, &good_form()).await.status(), 401);
    assert_eq!(post_token(&sim, &good_form()).await.status(), 401);
    assert_eq!(post_token(&sim, &good_form()).await.status(), 200);
}

#[tokio::test]
async fn a_too_many_requests_fault_posted_over_http_keeps_its_retry_after() {
    let sim = start().await;
    let token = token(&sim).await;
    let body = json!({"endpoint": "getKey", "fault": {"type": "tooManyRequests", "retryAfter": 12}});
    assert_eq!(control_post(&sim, "faults", body).await, 204);
    let body = json!({"endpoint": "getKey", "fault": {"type": "tooManyRequests", "retryAfter": "Wed, 21 Oct 2037 07:28:00 GMT"}});
    assert_eq!(control_post(&sim, "faults", body).await, 204);
    assert_eq!(get_key(&sim, &token).await.headers()["retry-after"], "12");
    assert_eq!(
        get_key(&sim, &token).await.headers()["retry-after"],
        "Wed, 21 Oct 2037 07:28:00 GMT"
    );
}

#[tokio::test]
async fn a_malformed_control_body_is_refused() {
    let sim = start().await;
    let unknown_type = json!({"endpoint": "getKey", "fault": {"type": "explode"}});
    assert!((400..500).contains(&control_post(&sim, "faults", unknown_type).await));
    let unknown_endpoint = json!({"endpoint": "nowhere", "fault": {"type": "malformedBody"}});
    assert!((400..500).contains(&control_post(&sim, "faults", unknown_endpoint).await));
    let bad_date = json!({"endpoint": "getKey", "fault": {"type": "tooManyRequests", "retryAfter": "soon"}});
    assert!((400..500).contains(&control_post(&sim, "faults", bad_date).await));
    let too_many_percent = json!({"endpoint": "getKey", "percent": 101, "fault": {"type": "malformedBody"}});
    assert_eq!(control_post(&sim, "fault-rate", too_many_percent).await, 422);
}

#[tokio::test]
async fn the_fault_rate_route_sets_and_clears_random_faults() {
    let sim = start().await;
    let token = token(&sim).await;
    let on =
        json!({"endpoint": "regenerateKey", "percent": 100, "fault": {"type": "processThenStatus", "status": 504}});
    assert_eq!(control_post(&sim, "fault-rate", on).await, 204);
    let before = sim.current_key();
    assert_eq!(regenerate(&sim, &token).await.status(), 504);
    assert_ne!(sim.current_key(), before);
    let off = json!({"endpoint": "regenerateKey", "percent": 0, "fault": {"type": "malformedBody"}});
    assert_eq!(control_post(&sim, "fault-rate", off).await, 204);
    assert_eq!(regenerate(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn the_latency_route_delays_answers() {
    let sim = start().await;
    let token = token(&sim).await;
    assert_eq!(control_post(&sim, "latency", json!({"millis": 150})).await, 204);
    let started = Instant::now();
    get_key(&sim, &token).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn the_reset_route_resets() {
    let sim = start().await;
    token(&sim).await;
    sim.inject(Endpoint::Token, Fault::Status(500));
    assert_eq!(control_post(&sim, "reset", Value::Null).await, 204);
    assert_eq!(sim.calls(Endpoint::Token), 0);
    assert_eq!(post_token(&sim, &good_form()).await.status(), 200);
}

#[tokio::test]
async fn the_state_routes_change_key_shape_secret_roles_and_revocation() {
    let sim = start().await;
    let old_token = token(&sim).await;
    assert_eq!(control_post(&sim, "key", json!({"key": "over-http"})).await, 204);
    assert_eq!(sim.current_key(), "over-http");
    assert_eq!(
        control_post(&sim, "key-shape", json!({"shape": "bareDeploymentAccessKey"})).await,
        204
    );
    let body: Value = get_key(&sim, &old_token).await.json().await.unwrap();
    assert_eq!(body, json!({"deploymentAccessKey": "over-http"}));

    assert_eq!(control_post(&sim, "revoke-tokens", Value::Null).await, 204);
    assert_eq!(get_key(&sim, &old_token).await.status(), 401);

    assert_eq!(
        control_post(&sim, "client-secret", json!({"secret": "rotated"})).await,
        204
    );
    assert_eq!(post_token(&sim, &good_form()).await.status(), 401);

    assert_eq!(control_post(&sim, "roles", json!({"roles": []})).await, 204);
    let response = post_token(&sim, &form_with("client_secret", Some("rotated"))).await;
    let new_token = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(get_key(&sim, &new_token).await.status(), 403);
}

#[tokio::test]
async fn the_requests_route_lists_recorded_requests() {
    let sim = start().await;
    token(&sim).await;
    let listed = control_get(&sim, "requests").await;
    assert_eq!(listed[0]["endpoint"], "token");
    assert_eq!(listed[0]["method"], "POST");
    assert!(
        listed[0]["form"]
            .as_array()
            .unwrap()
            .contains(&json!(["grant_type", "client_credentials"]))
    );
}

#[test]
fn every_fault_survives_the_json_round_trip() {
    let faults = [
        Fault::TooManyRequests { retry_after: None },
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(5)),
        },
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::HttpDate(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            )),
        },
        Fault::Status(503),
        Fault::Delay(Duration::from_millis(1500)),
        Fault::MalformedBody,
        Fault::TruncatedBody,
        Fault::HtmlErrorPage(502),
        Fault::UnexpectedShape,
        Fault::TokenRevoked,
        Fault::Forbidden {
            message: "nope".to_owned(),
        },
        Fault::InvalidClient,
        Fault::UnknownSegment,
        Fault::ProcessThenStatus(504),
        Fault::ProcessThenDrop,
        Fault::WithoutExpiresIn,
    ];
    for fault in faults {
        let text = serde_json::to_string(&fault).unwrap();
        assert_eq!(serde_json::from_str::<Fault>(&text).unwrap(), fault, "{text}");
    }
}

#[test]
fn the_documented_fault_json_parses() {
    let cases = [
        (json!({"type": "status", "status": 503}), Fault::Status(503)),
        (
            json!({"type": "delay", "millis": 250}),
            Fault::Delay(Duration::from_millis(250)),
        ),
        (
            json!({"type": "htmlErrorPage", "status": 502}),
            Fault::HtmlErrorPage(502),
        ),
        (
            json!({"type": "processThenStatus", "status": 504}),
            Fault::ProcessThenStatus(504),
        ),
        (json!({"type": "processThenDrop"}), Fault::ProcessThenDrop),
        (
            json!({"type": "forbidden", "message": "m"}),
            Fault::Forbidden {
                message: "m".to_owned(),
            },
        ),
        (
            json!({"type": "tooManyRequests"}),
            Fault::TooManyRequests { retry_after: None },
        ),
        (json!({"type": "withoutExpiresIn"}), Fault::WithoutExpiresIn),
        (json!({"type": "unknownSegment"}), Fault::UnknownSegment),
    ];
    for (value, expected) in cases {
        assert_eq!(serde_json::from_value::<Fault>(value).unwrap(), expected);
    }
    assert_eq!(serde_json::to_value(Endpoint::RegenerateKey).unwrap(), "regenerateKey");
    assert_eq!(
        serde_json::to_value(KeyShape::ValueWrappedDeploymentAccessKey).unwrap(),
        "valueWrappedDeploymentAccessKey"
    );
}

#[tokio::test]
async fn the_certificates_route_registers_a_pem_certificate_and_delete_removes_them() {
    let sim = start().await;
    let certificate = graph_sim::TestCertificate::generate("control-route");
    let pem = certificate.certificate_pem();

    assert_eq!(
        control_post(&sim, "certificates", json!({ "certificatePem": pem })).await,
        204
    );
    let client_id = graph_sim::SimConfig::default().client_id;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({ "alg": "PS256", "typ": "JWT", "x5t#S256": certificate.thumbprint_sha256() });
    let assertion = |jti: &str| {
        let claims = json!({
            "aud": sim.token_url(), "iss": client_id, "sub": client_id, "jti": jti,
            "iat": now, "nbf": now, "exp": now + 600,
        });
        [
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", client_id.clone()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ),
            ("client_assertion", certificate.sign_jwt(&header, &claims)),
            ("scope", "https://graph.microsoft.com/.default".to_owned()),
        ]
    };
    assert_eq!(post_token(&sim, &assertion("one")).await.status(), 200);

    let deleted = client()
        .delete(format!("{}/_sim/certificates", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(post_token(&sim, &assertion("two")).await.status(), 401);
    assert_eq!(
        control_post(&sim, "certificates", json!({ "certificatePem": "not a certificate" })).await,
        422
    );
}
