//! Every dependency is flaky: Graph, Entra and Secrets Manager faults, each injected across a
//! real wire (the Graph simulator; a fault proxy in front of moto), with the outcome asserted.

mod common;

use std::time::{Duration, Instant};

use common::secrets_proxy::{DENIED_RESOURCE, DENIED_SESSION, SecretsFault};
use common::*;
use graph_sim::{Endpoint, Fault, RetryAfter};

fn proxied() -> Setup {
    Setup {
        secrets_proxy: true,
        ..Setup::default()
    }
}

// ---- Graph ----

#[tokio::test]
async fn graph_500_and_502_are_502_without_retrying() {
    for status in [500, 502] {
        let world = world(Setup::default()).await;
        world.sim.inject(Endpoint::GetKey, Fault::Status(status));

        let reply = call(&world.app, event("get-key.json")).await;

        assert_eq!(reply.status, 502, "{status}");
        assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/upstream-failed");
        assert_eq!(world.sim.calls(Endpoint::GetKey), 1, "{status} is not retried");
        assert!(reply.json["upstreamRequestId"].as_str().is_some());
    }
}

#[tokio::test]
async fn an_html_error_page_from_a_gateway_is_502_and_not_echoed() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::GetKey, Fault::HtmlErrorPage(502));

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert!(!reply.json.to_string().to_lowercase().contains("<html"));
}

#[tokio::test]
async fn an_unreachable_graph_is_retried_then_503_with_retry_after() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let world = world(Setup {
        extra_env: vec![("GRAPH_ENDPOINT", format!("http://{closed}"))],
        ..Setup::default()
    })
    .await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 503);
    assert!(reply.header("retry-after").is_some());
    assert_eq!(reply.json["upstream"], "graph");
}

#[tokio::test]
async fn graph_error_messages_are_never_echoed_to_callers() {
    let world = world(Setup::default()).await;
    for _ in 0..2 {
        world.sim.inject(
            Endpoint::GetKey,
            Fault::Forbidden {
                message: "Tenant contoso-internal-detail-42 has policy X".into(),
            },
        );
    }

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert!(!reply.json.to_string().contains("contoso-internal-detail-42"));
    assert_eq!(reply.json["code"], "Forbidden");
}

// ---- Entra ----

#[tokio::test]
async fn an_unknown_client_id_is_502_unauthorized_client() {
    let config = graph_sim::SimConfig::default();
    let world = world(Setup {
        credentials_json: Some(format!(
            r#"{{"tenantId":"{}","clientId":"99999999-9999-9999-9999-999999999999","clientSecret":"{CLIENT_SECRET}"}}"#,
            config.tenant_id
        )),
        ..Setup::default()
    })
    .await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert!(reply.json["code"].as_str().unwrap().starts_with("unauthorized_client"));
    assert!(reply.json["detail"].as_str().unwrap().contains("clientId"));
    // Sent as MSAL sends it, and echoed by Entra as the correlation id of its error.
    let sent = reply.json["clientRequestId"].as_str().expect("the id sent to Entra");
    assert!(uuid::Uuid::parse_str(sent).is_ok(), "{sent}");
    assert_eq!(reply.json["correlationId"], sent);
    world.assert_no_leaks();
}

#[tokio::test]
async fn an_unknown_tenant_is_502_naming_the_tenant_and_cloud() {
    let config = graph_sim::SimConfig::default();
    let world = world(Setup {
        credentials_json: Some(format!(
            r#"{{"tenantId":"00000000-0000-0000-0000-000000000000","clientId":"{}","clientSecret":"{CLIENT_SECRET}"}}"#,
            config.client_id
        )),
        ..Setup::default()
    })
    .await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("tenantId") && detail.contains("GRAPH_CLOUD"),
        "{detail}"
    );
}

#[tokio::test]
async fn entra_throttling_past_the_budget_is_503_from_entra() {
    let world = world(Setup::default()).await;
    for _ in 0..4 {
        world.sim.inject(
            Endpoint::Token,
            Fault::TooManyRequests {
                retry_after: Some(RetryAfter::Seconds(0)),
            },
        );
    }

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.json["upstream"], "entra");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);
}

#[tokio::test]
async fn an_entra_5xx_is_retried_when_it_says_unavailable_and_reported_otherwise() {
    let unavailable = world(Setup::default()).await;
    unavailable.sim.inject(Endpoint::Token, Fault::Status(503));
    assert_eq!(call(&unavailable.app, event("get-key.json")).await.status, 200);

    let failing = world(Setup::default()).await;
    failing.sim.inject(Endpoint::Token, Fault::Status(500));
    let reply = call(&failing.app, event("get-key.json")).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.json["upstream"], "entra");
}

#[tokio::test]
async fn a_token_without_expires_in_is_used_but_not_for_long() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::Token, Fault::WithoutExpiresIn);

    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);

    assert_eq!(world.sim.calls(Endpoint::Token), 1, "cached for its assumed lifetime");
}

// ---- Secrets Manager ----

#[tokio::test]
async fn a_throttled_credentials_read_is_retried_by_the_sdk() {
    let world = world(proxied()).await;
    let proxy = world.proxy.as_ref().unwrap();
    proxy.inject("GetSecretValue", SecretsFault::Throttling);

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(proxy.calls("GetSecretValue"), 2);
}

#[tokio::test]
async fn a_credentials_read_that_keeps_failing_is_503_and_recovers_once_secrets_manager_does() {
    for fault in [
        SecretsFault::Throttling,
        SecretsFault::InternalError,
        SecretsFault::Delay(Duration::from_secs(1)),
    ] {
        let world = world(proxied()).await;
        let proxy = world.proxy.as_ref().unwrap();
        for _ in 0..3 {
            proxy.inject("GetSecretValue", fault.clone());
        }

        let reply = call(&world.app, event("get-key.json")).await;

        assert_eq!(reply.status, 503, "{fault:?}");
        assert_eq!(
            reply.json["type"], "tag:mdi-sensor-key,2026:problem/credentials-unavailable",
            "{fault:?}"
        );
        assert!(reply.header("retry-after").is_some());
        assert_eq!(call(&world.app, event("get-key.json")).await.status, 200, "{fault:?}");
    }
}

#[tokio::test]
async fn access_denied_on_the_credentials_secret_is_a_500_for_the_operator() {
    let world = world(proxied()).await;
    world
        .proxy
        .as_ref()
        .unwrap()
        .inject("GetSecretValue", SecretsFault::AccessDenied);

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500);
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains(&world.credentials_secret) && detail.contains("AccessDenied"),
        "{detail}"
    );
    assert_aws_message_only_in_the_log(&reply);
}

/// AWS's message names the function's role session and the secret it was refused: the problem
/// keeps its type, code and requestId and says where the message is; the request's log line has it.
fn assert_aws_message_only_in_the_log(reply: &Reply) {
    let body = reply.json.to_string();
    assert!(
        !body.contains(DENIED_SESSION) && !body.contains(DENIED_RESOURCE),
        "{body}"
    );
    assert!(reply.json["detail"].as_str().unwrap().contains("log line"), "{body}");
    let request_id = reply.json["requestId"].as_str().unwrap();
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|line| line.contains(request_id) && line.contains("\"target\":\"audit\""))
        .unwrap_or_else(|| panic!("the log line of request {request_id}"));
    assert!(
        line.contains(DENIED_SESSION) && line.contains(DENIED_RESOURCE),
        "{line}"
    );
}

#[tokio::test]
async fn access_denied_on_writing_the_key_secret_keeps_aws_message_out_of_the_problem() {
    let world = world(proxied()).await;
    world
        .proxy
        .as_ref()
        .unwrap()
        .inject("PutSecretValue", SecretsFault::AccessDenied);

    let reply = call(&world.app, event("regenerate.json")).await;

    assert_eq!(reply.status, 500, "{}", reply.json);
    assert_eq!(
        reply.json["type"],
        "tag:mdi-sensor-key,2026:problem/key-store-misconfigured"
    );
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("not lost") && detail.contains("AccessDeniedException"),
        "{detail}"
    );
    assert_aws_message_only_in_the_log(&reply);
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_binary_credentials_secret_is_a_500_saying_so() {
    let world = world(Setup::default()).await;
    world
        .moto
        .put_secret_value()
        .secret_id(&world.credentials_secret)
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(
            b"\x00\x01binary".to_vec(),
        ))
        .send()
        .await
        .unwrap();

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500);
    assert!(reply.json["detail"].as_str().unwrap().contains("binary"));
}

#[tokio::test]
async fn a_store_that_fails_after_a_regenerate_loses_nothing_and_the_next_rotation_stores_the_key() {
    for fault in [SecretsFault::Throttling, SecretsFault::InternalError] {
        let world = world(proxied()).await;
        let proxy = world.proxy.as_ref().unwrap();
        for _ in 0..3 {
            proxy.inject("PutSecretValue", fault.clone());
        }

        let reply = call(&world.app, event("regenerate.json")).await;

        assert_eq!(reply.status, 503, "{fault:?}");
        let detail = reply.json["detail"].as_str().unwrap();
        assert!(detail.contains("not lost"), "{detail}");
        assert!(!reply.json.to_string().contains(&world.sim.current_key()));
        assert_eq!(world.sim.keys_generated(), 1);

        let summary = invoke_event(&world.app, &events_json("schedule.json")).await.unwrap();

        assert_eq!(
            summary["regenerated"], false,
            "the key Graph already has is stored, not replaced"
        );
        assert_eq!(world.sim.keys_generated(), 1);
        assert_eq!(
            stored_key(&world.moto, &world.key_secret).await,
            world.sim.current_key()
        );
        world.assert_no_leaks();
    }
}

#[tokio::test]
async fn a_failed_verification_read_after_a_store_answers_200_with_the_new_key_unverified() {
    let world = world(proxied()).await;
    let proxy = world.proxy.as_ref().unwrap();
    call(&world.app, event("get-key.json")).await;
    for _ in 0..3 {
        proxy.inject("GetSecretValue", SecretsFault::InternalError);
    }

    let reply = call(&world.app, event_as("regenerate.json", CUSTODIAN)).await;

    // The key was regenerated and stored: an error would only invite a second regenerate.
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["verified"], false);
    assert_eq!(reply.key(), world.sim.current_key());
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
}

#[tokio::test]
async fn a_rotation_whose_store_times_out_fails_and_its_retry_stores_without_regenerating() {
    let world = world(proxied()).await;
    let proxy = world.proxy.as_ref().unwrap();
    // The delivery's claim on the occurrence (a PutSecretValue on the claim store) goes through;
    // the key's store after the regenerate is slow.
    proxy.inject("PutSecretValue", SecretsFault::Delay(Duration::ZERO));
    for _ in 0..3 {
        proxy.inject("PutSecretValue", SecretsFault::Delay(Duration::from_secs(1)));
    }

    let failed = invoke_event(&world.app, &events_json("schedule.json")).await;
    assert!(failed.is_err());
    let retried = invoke_event(&world.app, &events_json("schedule.json")).await.unwrap();

    assert_eq!(world.sim.keys_generated(), 1);
    // Whether the slow write landed (already-done) or not (Graph's key stored: repaired).
    assert!(["repaired", "already-done"].contains(&retried["outcome"].as_str().unwrap()));
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
}

#[tokio::test]
async fn a_regenerate_refused_by_the_version_quota_is_a_retryable_quota_problem_and_loses_nothing() {
    let world = world(Setup::default()).await;
    // Today's writes: the key secret holds 100 versions, all younger than a day, so Secrets
    // Manager can prune none of them (tools/moto_server.py follows the quotas page).
    for n in 1..100 {
        world
            .moto
            .put_secret_value()
            .secret_id(&world.key_secret)
            .secret_string(format!(
                r#"{{"sensorDeploymentAccessKey":"{}","n":{n}}}"#,
                world.sim.current_key()
            ))
            .send()
            .await
            .unwrap();
    }

    let reply = call(&world.app, event("regenerate.json")).await;

    assert_eq!(reply.status, 503, "{:?}", reply.json);
    assert_eq!(
        reply.json["type"],
        "tag:mdi-sensor-key,2026:problem/key-store-quota-exceeded"
    );
    assert!(reply.header("retry-after").is_some());
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(detail.contains("not lost"), "{detail}");
    assert!(!reply.json.to_string().contains(&world.sim.current_key()));

    // A day later the unlabelled versions can go, and the next rotation stores Graph's key.
    common::rotation_function::age_versions(&world.key_secret, 25 * 60 * 60).await;
    let summary = invoke_event(&world.app, &events_json("schedule.json")).await.unwrap();

    assert_eq!(summary["regenerated"], false);
    assert_eq!(world.sim.keys_generated(), 1);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
    world.assert_no_leaks();
}

// ---- the deadline ----

#[tokio::test]
async fn with_little_time_left_a_slow_graph_gets_a_504_before_the_deadline() {
    let world = world(Setup::default()).await;
    call(&world.app, event("get-key.json")).await;
    world.sim.inject(Endpoint::GetKey, Fault::Delay(Duration::from_secs(5)));
    let budget = Duration::from_millis(1500);

    let started = Instant::now();
    let reply = call(&world.app, event_with_budget("get-key.json", budget)).await;

    assert_eq!(reply.status, 504);
    assert!(started.elapsed() < budget, "answered in {:?}", started.elapsed());
}

#[tokio::test]
async fn the_remaining_time_bounds_all_retries_together() {
    let world = world(Setup::default()).await;
    call(&world.app, event("get-key.json")).await;
    for _ in 0..10 {
        world.sim.inject(
            Endpoint::GetKey,
            Fault::TooManyRequests {
                retry_after: Some(RetryAfter::Seconds(1)),
            },
        );
    }
    let budget = Duration::from_millis(2500);

    let started = Instant::now();
    let reply = call(&world.app, event_with_budget("get-key.json", budget)).await;

    assert_eq!(reply.status, 503);
    assert!(started.elapsed() < budget, "answered in {:?}", started.elapsed());
    assert!(
        world.sim.calls(Endpoint::GetKey) <= 3,
        "only the retries that fit were made"
    );
}
