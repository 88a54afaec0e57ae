//! Each injected fault does what it says to exactly one request, then the
//! endpoint behaves normally again.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::*;
use graph_sim::{Endpoint, Fault, RetryAfter};
use serde_json::Value;

#[tokio::test]
async fn too_many_requests_on_graph_is_a_429_with_retry_after_seconds() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(
        Endpoint::GetKey,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(7)),
        },
    );
    let response = get_key(&sim, &token).await;
    assert_eq!(response.headers()["retry-after"], "7");
    let (status, code, _) = graph_error(response).await;
    assert_eq!((status, code.as_str()), (429, "TooManyRequests"));
    assert_eq!(get_key(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn too_many_requests_can_carry_an_http_date() {
    let sim = start().await;
    let token = token(&sim).await;
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    sim.inject(
        Endpoint::RegenerateKey,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::HttpDate(when)),
        },
    );
    let before = sim.current_key();
    let response = regenerate(&sim, &token).await;
    assert_eq!(response.status(), 429);
    let header = response.headers()["retry-after"].to_str().unwrap().to_owned();
    assert_eq!(httpdate::parse_http_date(&header).unwrap(), when);
    assert_eq!(sim.current_key(), before);
}

#[tokio::test]
async fn too_many_requests_without_retry_after_sends_no_header() {
    let sim = start().await;
    sim.inject(Endpoint::GetKey, Fault::TooManyRequests { retry_after: None });
    let response = get_key(&sim, &token(&sim).await).await;
    assert_eq!(response.status(), 429);
    assert!(!response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn too_many_requests_on_the_token_endpoint_is_an_entra_429() {
    let sim = start().await;
    sim.inject(
        Endpoint::Token,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(3)),
        },
    );
    let response = post_token(&sim, &good_form()).await;
    assert_eq!(response.headers()["retry-after"], "3");
    let (status, error, code, _) = entra_error(response).await;
    assert_eq!((status, error.as_str(), code), (429, "temporarily_unavailable", 90055));
    assert_eq!(post_token(&sim, &good_form()).await.status(), 200);
}

#[tokio::test]
async fn a_status_fault_on_graph_answers_graph_error_json() {
    let sim = start().await;
    let token = token(&sim).await;
    for (status, expected_code) in [
        (500, "InternalServerError"),
        (502, "BadGateway"),
        (503, "ServiceUnavailable"),
        (504, "GatewayTimeout"),
    ] {
        sim.inject(Endpoint::GetKey, Fault::Status(status));
        let (got, code, _) = graph_error(get_key(&sim, &token).await).await;
        assert_eq!((got, code.as_str()), (status, expected_code));
    }
    assert_eq!(get_key(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn a_status_fault_on_the_token_endpoint_answers_entra_error_json() {
    let sim = start().await;
    sim.inject(Endpoint::Token, Fault::Status(500));
    sim.inject(Endpoint::Token, Fault::Status(503));
    let (status, error, _, _) = entra_error(post_token(&sim, &good_form()).await).await;
    assert_eq!((status, error.as_str()), (500, "server_error"));
    let (status, error, _, _) = entra_error(post_token(&sim, &good_form()).await).await;
    assert_eq!((status, error.as_str()), (503, "temporarily_unavailable"));
    assert_eq!(post_token(&sim, &good_form()).await.status(), 200);
}

#[tokio::test]
async fn a_status_fault_does_not_regenerate() {
    let sim = start().await;
    let token = token(&sim).await;
    let before = sim.current_key();
    sim.inject(Endpoint::RegenerateKey, Fault::Status(503));
    assert_eq!(regenerate(&sim, &token).await.status(), 503);
    assert_eq!(sim.current_key(), before);
    assert_eq!(sim.keys_generated(), 0);
}

#[tokio::test]
async fn an_unknown_segment_fault_is_graphs_400_naming_the_last_segment_and_does_no_work() {
    let sim = start().await;
    let token = token(&sim).await;
    let before = sim.current_key();
    sim.inject(Endpoint::RegenerateKey, Fault::UnknownSegment);
    sim.inject(Endpoint::Token, Fault::UnknownSegment);

    let (status, code, message) = graph_error(regenerate(&sim, &token).await).await;

    assert_eq!((status, code.as_str()), (400, "BadRequest"));
    assert_eq!(
        message,
        "Resource not found for the segment 'regenerateDeploymentAccessKey'."
    );
    assert_eq!(sim.current_key(), before);
    assert_eq!(
        post_token(&sim, &good_form()).await.status(),
        200,
        "Entra has no such answer: consumed harmlessly"
    );
}

#[tokio::test]
async fn a_delay_outlasts_a_short_client_timeout_then_answers_normally() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(Endpoint::GetKey, Fault::Delay(Duration::from_millis(400)));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let error = impatient
        .get(graph_url(&sim, "beta", GET_KEY_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("times out");
    assert!(error.is_timeout());
    assert_eq!(get_key(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn a_delayed_request_is_answered_normally_after_the_delay() {
    let sim = start().await;
    sim.inject(Endpoint::Token, Fault::Delay(Duration::from_millis(200)));
    let started = Instant::now();
    assert_eq!(post_token(&sim, &good_form()).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn a_malformed_body_is_a_200_that_is_not_json() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(Endpoint::GetKey, Fault::MalformedBody);
    sim.inject(Endpoint::Token, Fault::MalformedBody);
    for response in [get_key(&sim, &token).await, post_token(&sim, &good_form()).await] {
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }
    assert_eq!(get_key(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn a_truncated_body_is_the_start_of_a_real_answer() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(Endpoint::GetKey, Fault::TruncatedBody);
    sim.inject(Endpoint::Token, Fault::TruncatedBody);
    let key_text = get_key(&sim, &token).await.text().await.unwrap();
    assert!(key_text.starts_with("{\"@odata.context\""), "{key_text}");
    assert!(serde_json::from_str::<Value>(&key_text).is_err());
    let token_response = post_token(&sim, &good_form()).await;
    assert_eq!(token_response.status(), 200);
    let token_text = token_response.text().await.unwrap();
    assert!(token_text.starts_with('{'));
    assert!(serde_json::from_str::<Value>(&token_text).is_err());
}

#[tokio::test]
async fn an_html_error_page_has_an_html_content_type() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(Endpoint::GetKey, Fault::HtmlErrorPage(502));
    sim.inject(Endpoint::Token, Fault::HtmlErrorPage(503));
    let response = get_key(&sim, &token).await;
    assert_eq!(response.status(), 502);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("<html>"));
    let response = post_token(&sim, &good_form()).await;
    assert_eq!(response.status(), 503);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn an_unexpected_shape_is_valid_json_without_a_key_or_token() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(Endpoint::GetKey, Fault::UnexpectedShape);
    sim.inject(Endpoint::Token, Fault::UnexpectedShape);
    let body: Value = get_key(&sim, &token).await.json().await.unwrap();
    assert_eq!(body["value"], serde_json::json!({"somethingElse": 1}));
    for field in ["sensorDeploymentAccessKey", "deploymentAccessKey"] {
        assert!(body.get(field).is_none() && body["value"].get(field).is_none());
    }
    let body: Value = post_token(&sim, &good_form()).await.json().await.unwrap();
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn token_revoked_refuses_a_valid_token_and_keeps_refusing_it() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(Endpoint::GetKey, Fault::TokenRevoked);
    let (status, code, _) = graph_error(get_key(&sim, &token).await).await;
    assert_eq!((status, code.as_str()), (401, "InvalidAuthenticationToken"));
    assert_eq!(get_key(&sim, &token).await.status(), 401);
    assert_eq!(get_key(&sim, &common::token(&sim).await).await.status(), 200);
}

#[tokio::test]
async fn forbidden_carries_the_given_message() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(
        Endpoint::RegenerateKey,
        Fault::Forbidden {
            message: "Tenant is not onboarded.".to_owned(),
        },
    );
    let (status, code, message) = graph_error(regenerate(&sim, &token).await).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (403, "Forbidden", "Tenant is not onboarded.")
    );
    assert_eq!(regenerate(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn invalid_client_refuses_the_right_secret_once() {
    let sim = start().await;
    sim.inject(Endpoint::Token, Fault::InvalidClient);
    let (status, error, code, _) = entra_error(post_token(&sim, &good_form()).await).await;
    assert_eq!((status, error.as_str(), code), (401, "invalid_client", 7000215));
    assert_eq!(post_token(&sim, &good_form()).await.status(), 200);
}

#[tokio::test]
async fn process_then_status_regenerates_yet_answers_the_error() {
    let sim = start().await;
    let token = token(&sim).await;
    let before = sim.current_key();
    sim.inject(Endpoint::RegenerateKey, Fault::ProcessThenStatus(504));
    let (status, code, _) = graph_error(regenerate(&sim, &token).await).await;
    assert_eq!((status, code.as_str()), (504, "GatewayTimeout"));
    assert_ne!(sim.current_key(), before);
    assert_eq!(sim.keys_generated(), 1);
}

#[tokio::test]
async fn process_then_status_does_nothing_for_a_refused_request() {
    let sim = start().await;
    let before = sim.current_key();
    sim.inject(Endpoint::RegenerateKey, Fault::ProcessThenStatus(504));
    assert_eq!(regenerate(&sim, "not.a.token").await.status(), 401);
    assert_eq!(sim.current_key(), before);
}

#[tokio::test]
async fn process_then_drop_regenerates_and_closes_the_connection_unanswered() {
    let sim = start().await;
    let token = token(&sim).await;
    let before = sim.current_key();
    sim.inject(Endpoint::RegenerateKey, Fault::ProcessThenDrop);
    let error = client()
        .post(graph_url(&sim, "beta", REGENERATE_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("no answer");
    assert!(!error.is_timeout());
    assert!(error.status().is_none());
    assert_ne!(sim.current_key(), before);
    assert_eq!(regenerate(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn a_dropped_answer_on_a_reused_connection_is_an_error_not_a_silent_retry() {
    let sim = start().await;
    let http = client();
    let token = token(&sim).await;
    let url = graph_url(&sim, "beta", REGENERATE_PATH);
    assert_eq!(http.post(&url).bearer_auth(&token).send().await.unwrap().status(), 200);
    sim.inject(Endpoint::RegenerateKey, Fault::ProcessThenDrop);
    assert!(http.post(&url).bearer_auth(&token).send().await.is_err());
    assert_eq!(sim.calls(Endpoint::RegenerateKey), 2);
    assert_eq!(sim.keys_generated(), 2);
    assert_eq!(http.post(&url).bearer_auth(&token).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn without_expires_in_issues_a_working_token_without_lifetime() {
    let sim = start().await;
    sim.inject(Endpoint::Token, Fault::WithoutExpiresIn);
    let body: Value = post_token(&sim, &good_form()).await.json().await.unwrap();
    assert!(body.get("expires_in").is_none());
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(get_key(&sim, token).await.status(), 200);
}

#[tokio::test]
async fn a_fault_that_does_not_apply_to_the_endpoint_is_consumed_harmlessly() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(Endpoint::GetKey, Fault::InvalidClient);
    assert_eq!(get_key(&sim, &token).await.status(), 200);
    sim.inject(Endpoint::Token, Fault::TokenRevoked);
    assert_eq!(post_token(&sim, &good_form()).await.status(), 200);
}

#[tokio::test]
async fn queued_faults_are_consumed_in_order_one_per_request() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(Endpoint::GetKey, Fault::Status(500));
    sim.inject(Endpoint::GetKey, Fault::Status(503));
    sim.inject(Endpoint::RegenerateKey, Fault::Status(502));
    assert_eq!(get_key(&sim, &token).await.status(), 500);
    assert_eq!(get_key(&sim, &token).await.status(), 503);
    assert_eq!(get_key(&sim, &token).await.status(), 200);
    assert_eq!(regenerate(&sim, &token).await.status(), 502);
}

#[tokio::test]
async fn faults_are_consumed_even_by_requests_that_would_be_refused() {
    let sim = start().await;
    sim.inject(Endpoint::GetKey, Fault::Status(503));
    assert_eq!(get_key(&sim, "bogus").await.status(), 503);
    assert_eq!(get_key(&sim, &token(&sim).await).await.status(), 200);
}

#[tokio::test]
async fn a_full_fault_rate_faults_every_request_until_disabled() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.set_fault_rate(Endpoint::GetKey, 100, Fault::Status(503));
    for _ in 0..5 {
        assert_eq!(get_key(&sim, &token).await.status(), 503);
    }
    sim.set_fault_rate(Endpoint::GetKey, 0, Fault::Status(503));
    assert_eq!(get_key(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn a_partial_fault_rate_faults_some_requests() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.set_fault_rate(Endpoint::GetKey, 50, Fault::Status(503));
    let mut faulted = 0;
    for _ in 0..200 {
        if get_key(&sim, &token).await.status() == 503 {
            faulted += 1;
        }
    }
    // 50 % of 200: the bounds are ~7 standard deviations wide.
    assert!((50..=150).contains(&faulted), "{faulted}");
}

#[tokio::test]
async fn queued_faults_take_precedence_over_the_fault_rate() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.set_fault_rate(Endpoint::GetKey, 100, Fault::Status(503));
    sim.inject(Endpoint::GetKey, Fault::Status(500));
    assert_eq!(get_key(&sim, &token).await.status(), 500);
    assert_eq!(get_key(&sim, &token).await.status(), 503);
}

#[tokio::test]
async fn expires_in_issues_a_working_token_with_that_lifetime_however_absurd() {
    let sim = start().await;
    sim.inject(Endpoint::Token, Fault::ExpiresIn(u64::MAX));
    let body: Value = post_token(&sim, &good_form()).await.json().await.unwrap();
    assert_eq!(body["expires_in"].as_u64(), Some(u64::MAX));
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(get_key(&sim, token).await.status(), 200);
}

#[tokio::test]
async fn a_redirect_answers_only_its_status_and_location_and_does_no_work() {
    let sim = start().await;
    let token = token(&sim).await;
    let before = sim.current_key();
    for status in [307, 308] {
        sim.inject(
            Endpoint::RegenerateKey,
            Fault::Redirect {
                status,
                location: "http://127.0.0.1:9/elsewhere".into(),
            },
        );
        // The test client follows no redirects, so the answer is the redirect itself.
        let response = regenerate(&sim, &token).await;
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["location"], "http://127.0.0.1:9/elsewhere");
        assert!(response.bytes().await.unwrap().is_empty());
    }
    assert_eq!(sim.current_key(), before);
    assert_eq!(sim.keys_generated(), 0);
}

#[tokio::test]
async fn an_oversized_body_is_a_200_of_exactly_that_many_bytes_with_or_without_content_length() {
    let sim = start().await;
    let token = token(&sim).await;
    for chunked in [false, true] {
        sim.inject(
            Endpoint::GetKey,
            Fault::OversizedBody {
                bytes: 300_000,
                chunked,
            },
        );
        let response = get_key(&sim, &token).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers().contains_key("content-length"), !chunked);
        let body = response.bytes().await.unwrap();
        assert_eq!(body.len(), 300_000);
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert!(json["padding"].as_str().unwrap().len() > 299_000);
    }
}

#[tokio::test]
async fn a_dense_collection_is_a_200_list_of_empty_objects_about_that_long() {
    let sim = start().await;
    let token = token(&sim).await;
    sim.inject(Endpoint::GetKey, Fault::DenseCollection { bytes: 300_000 });
    let response = get_key(&sim, &token).await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert!((299_990..=300_000).contains(&body.len()), "{}", body.len());
    let json: Value = serde_json::from_slice(&body).unwrap();
    let members = json["value"].as_array().unwrap();
    // `{"value":[` and `]}` aside, each member is three bytes: `{}` and a comma.
    assert_eq!(members.len(), (body.len() - r#"{"value":[]}"#.len() + 1) / 3);
    assert!(members.iter().all(|member| member == &serde_json::json!({})));
}

#[test]
fn the_new_faults_travel_as_json() {
    for (fault, json) in [
        (Fault::ExpiresIn(5), r#"{"type":"expiresIn","seconds":5}"#),
        (
            Fault::Redirect {
                status: 308,
                location: "http://x/".into(),
            },
            r#"{"type":"redirect","status":308,"location":"http://x/"}"#,
        ),
        (
            Fault::OversizedBody {
                bytes: 10,
                chunked: true,
            },
            r#"{"type":"oversizedBody","bytes":10,"chunked":true}"#,
        ),
        (
            Fault::DenseCollection { bytes: 10 },
            r#"{"type":"denseCollection","bytes":10}"#,
        ),
    ] {
        assert_eq!(serde_json::to_string(&fault).unwrap(), json);
        assert_eq!(serde_json::from_str::<Fault>(json).unwrap(), fault);
    }
}
