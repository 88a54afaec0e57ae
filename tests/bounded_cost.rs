//! Bounded cost per request (issue 22), across the wire: no token storm when Graph refuses an
//! optional permission or Entra throttles, a token of five minutes or less still cached, and
//! Secrets Manager's answers read with a byte cap as Graph's are. (Memory bounded by members:
//! tests/dense_page.rs, which measures the process alone, and tests/upstream.rs.)

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use graph_sim::{Endpoint, Fault, HEALTH_READ_ROLE, READ_ROLE, RetryAfter, SimConfig, SimHealthIssue, SimSensor};
use mdi_sensor_key::app::App;
use mdi_sensor_key::secrets::AwsSecretStore;
use tokio::io::AsyncWriteExt;

fn unhealthy_dc1() -> SimSensor {
    SimSensor::healthy("DC1", "contoso.com").with_status("disconnected", "stopped", "notHealthyHigh")
}

#[tokio::test]
async fn twenty_verdicts_without_the_health_permission_cost_at_most_two_token_requests() {
    let world = world(Setup::default()).await;
    world.sim.set_roles(vec![READ_ROLE.to_owned()]);
    world.sim.set_sensors(vec![unhealthy_dc1()]);
    world
        .sim
        .set_health_issues(vec![SimHealthIssue::open_on("dc1.contoso.com")]);

    for n in 0..20 {
        let verdict = call(&world.app, event("get-sensor-verdict.json")).await;

        assert_eq!(verdict.status, 200, "verdict {n}: {}", verdict.json);
        assert_eq!(verdict.json["verdict"], "unhealthy");
        let gap = verdict.json["healthIssuesUnavailable"].as_str().unwrap_or_default();
        assert!(
            gap.contains(HEALTH_READ_ROLE),
            "verdict {n} names the permission: {gap}"
        );
    }

    let tokens = world.sim.calls(Endpoint::Token);
    assert!(tokens <= 2, "{tokens} token requests for 20 verdicts");
    assert_eq!(
        world.sim.calls(Endpoint::ListHealthIssues),
        21,
        "each verdict still asks Graph (the first twice, once with a fresh token)"
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_remembered_refusal_ends_with_its_token_and_a_granted_permission_is_then_seen() {
    let world = world(Setup::default()).await;
    world.sim.set_roles(vec![READ_ROLE.to_owned()]);
    world.sim.set_sensors(vec![unhealthy_dc1()]);
    world
        .sim
        .set_health_issues(vec![SimHealthIssue::open_on("dc1.contoso.com")]);
    for _ in 0..3 {
        call(&world.app, event("get-sensor-verdict.json")).await;
    }
    assert_eq!(world.sim.calls(Endpoint::Token), 2);

    // The admin consents; Graph revokes the tokens issued so far, so the next call gets a 401
    // and a new token, which carries the permission and is not held to the old one's refusal.
    world
        .sim
        .set_roles(vec![READ_ROLE.to_owned(), HEALTH_READ_ROLE.to_owned()]);
    world.sim.revoke_tokens();
    let verdict = call(&world.app, event("get-sensor-verdict.json")).await;

    assert_eq!(verdict.status, 200, "{}", verdict.json);
    assert_eq!(world.sim.calls(Endpoint::Token), 3);
    assert!(
        verdict.json.get("healthIssuesUnavailable").is_none(),
        "{}",
        verdict.json
    );
    assert!(verdict.json["healthIssues"].is_array(), "{}", verdict.json);
}

#[tokio::test]
async fn a_five_minute_token_serves_many_calls() {
    let world = world(Setup {
        sim: SimConfig {
            token_lifetime_secs: 300,
            ..SimConfig::default()
        },
        ..Setup::default()
    })
    .await;

    for _ in 0..10 {
        assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    }

    assert_eq!(world.sim.calls(Endpoint::Token), 1, "cached for 270 of its 300 seconds");
    assert_eq!(world.sim.calls(Endpoint::GetKey), 10);
}

#[tokio::test]
async fn a_thirty_second_token_is_cached_too() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::Token, Fault::ExpiresIn(30));

    for _ in 0..5 {
        assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    }

    assert_eq!(world.sim.calls(Endpoint::Token), 1);
}

#[tokio::test]
async fn no_token_request_is_sent_while_entras_retry_after_lasts() {
    let world = world(Setup::default()).await;
    world.sim.inject(
        Endpoint::Token,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(60)),
        },
    );

    let throttled = call(&world.app, event("get-key.json")).await;
    let held_back = call(&world.app, event("get-key.json")).await;

    for reply in [&throttled, &held_back] {
        assert_eq!(reply.status, 503, "{}", reply.json);
        assert_eq!(reply.json["upstream"], "entra");
        let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "retry-after {wait}");
    }
    assert_eq!(
        world.sim.calls(Endpoint::Token),
        1,
        "the second call did not ask Entra again"
    );
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);
}

#[tokio::test]
async fn token_requests_resume_once_entras_retry_after_has_passed() {
    let world = world(Setup::default()).await;
    world.sim.inject(
        Endpoint::Token,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(1)),
        },
    );
    // Too little time left in the invocation (1.5 s less the 0.5 s safety margin) to wait a
    // second and try again: it fails, and the wait is kept.
    let short = call(
        &world.app,
        event_with_budget("get-key.json", Duration::from_millis(1500)),
    )
    .await;
    assert_eq!(short.status, 503, "{}", short.json);
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 503);
    assert_eq!(world.sim.calls(Endpoint::Token), 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;

    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    assert_eq!(world.sim.calls(Endpoint::Token), 2);
}

/// A stand-in for Secrets Manager that answers every request with a 200 of 2 MiB, declared by
/// `Content-Length` or chunked; it counts the requests.
async fn oversized_secrets_manager(chunked: bool) -> (String, Arc<AtomicUsize>) {
    const BYTES: usize = 2 * 1024 * 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = vec![0; 64 * 1024];
                let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut request).await;
                let chunk = format!("{{\"SecretString\":\"{}", "x".repeat(64 * 1024 - 17));
                let head = if chunked {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                        .to_owned()
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {BYTES}\r\n\r\n"
                    )
                };
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..BYTES / chunk.len() {
                    let piece = if chunked {
                        format!("{:x}\r\n{chunk}\r\n", chunk.len())
                    } else {
                        chunk.clone()
                    };
                    if stream.write_all(piece.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, requests)
}

#[tokio::test]
async fn an_oversized_secrets_manager_answer_is_refused_unread_and_not_retried() {
    let world = world(Setup::default()).await;
    for chunked in [false, true] {
        let (url, requests) = oversized_secrets_manager(chunked).await;
        let app = App::from_config(
            &world.config,
            AwsSecretStore::new(secrets_client(&url)),
            None,
            world.retry.clone(),
        )
        .expect("app builds");

        let reply = call(&app, event("get-key.json")).await;

        assert_eq!(reply.status, 503, "chunked {chunked}: {}", reply.json);
        let detail = reply.json["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("larger than the 1 MiB"), "chunked {chunked}: {detail}");
        assert_eq!(requests.load(Ordering::SeqCst), 1, "chunked {chunked}: not retried");
        assert_eq!(world.sim.calls(Endpoint::Token), 0, "no credentials, no token request");
    }
}
