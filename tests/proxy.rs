//! The sensor key proxy end to end: real events through the real handler, against the Graph
//! simulator and moto's Secrets Manager over HTTP.

mod common;

use std::time::Duration;

use common::*;
use graph_sim::{Endpoint, Fault, KeyShape, RetryAfter};
use mdi_sensor_key::graph::RetryPolicy;

#[tokio::test]
async fn a_reader_gets_graphs_current_key_with_no_store_headers() {
    let world = world(Setup::default()).await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.key(), world.sim.current_key());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(calls(&world), (1, 1, 0));
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_warm_read_makes_one_graph_call_and_no_token_or_secret_reads() {
    let world = world(Setup::default()).await;
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    // If the warm path read the credentials secret again, it would now fail.
    world
        .moto
        .delete_secret()
        .secret_id(&world.credentials_secret)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(calls(&world), (1, 2, 0));
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_rest_api_event_is_no_request_and_reaches_nothing_upstream() {
    // No door of the template sends REST API (payload 1.0) events, and lambda_http is built
    // without them (issue 22: trying each event as one cost some 56,000 instructions a request).
    // A REST-shaped event, even one naming an allowed caller, is refused as an unknown event.
    let world = world(Setup::default()).await;

    let refused = invoke_event(&world.app, &events_json("get-key-rest.json")).await;

    let error = refused.expect_err("not served");
    assert!(format!("{error:?}").contains("HTTP-looking event"), "{error:?}");
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn a_request_without_an_iam_identity_is_401_even_with_forged_identity_headers() {
    let world = world(Setup::default()).await;

    let reply = call(&world.app, event("get-key-no-identity.json")).await;

    assert_eq!(reply.status, 401);
    // RFC 9110 §15.5.2: a 401 carries a challenge, here for a SigV4-signed request.
    assert_eq!(reply.header("www-authenticate"), Some("AWS4-HMAC-SHA256"));
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/unauthenticated");
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.json["status"], 401);
    assert!(reply.json["requestId"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn a_caller_on_no_list_is_403_and_graph_is_not_called() {
    let world = world(Setup::default()).await;

    let reply = call(&world.app, event("get-key-refused.json")).await;

    assert_eq!(reply.status, 403);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/forbidden");
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn a_reader_may_not_regenerate() {
    let world = world(Setup::default()).await;
    let key_before = world.sim.current_key();

    let reply = call(&world.app, event("regenerate-by-reader.json")).await;

    assert_eq!(reply.status, 403);
    assert_eq!(world.sim.current_key(), key_before);
    assert_eq!(world.sim.calls(Endpoint::RegenerateKey), 0);
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let world = world(Setup::default()).await;
    let text = events_json("get-key.json");

    let unknown = text.replace("\"/sensor-key\"", "\"/sensor-keys\"");
    let reply = call(&world.app, request_from_json(&unknown, Duration::from_secs(30))).await;
    assert_eq!(reply.status, 404);

    let post = text.replace("\"GET\"", "\"DELETE\"");
    let reply = call(&world.app, request_from_json(&post, Duration::from_secs(30))).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET"));
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn regenerate_returns_the_new_key_and_stores_it_as_current_keeping_the_old_as_previous() {
    let world = world(Setup::default()).await;
    let old_key = world.sim.current_key();

    let reply = call(&world.app, event_as("regenerate.json", CUSTODIAN)).await;

    assert_eq!(reply.status, 200);
    let new_key = world.sim.current_key();
    assert_ne!(new_key, old_key);
    assert_eq!(reply.key(), new_key);
    assert_eq!(reply.json["stored"]["secretId"], world.key_secret_arn.as_str());
    let version_id = reply.json["stored"]["versionId"].as_str().unwrap();
    assert_eq!(stored_key(&world.moto, &world.key_secret).await, new_key);
    let (_, previous_text) = at_stage(&world.moto, &world.key_secret, "AWSPREVIOUS").await;
    assert!(previous_text.contains(&old_key));
    let (current_version, current_text) = at_stage(&world.moto, &world.key_secret, "AWSCURRENT").await;
    assert_eq!(current_version, version_id);
    let document: serde_json::Value = serde_json::from_str(&current_text).unwrap();
    assert_eq!(document["trigger"], "api");
    assert_eq!(calls(&world), (1, 1, 1), "one POST and one verification GET");
    world.assert_no_leaks();
}

#[tokio::test]
async fn regenerate_without_a_key_secret_answers_stored_null() {
    let world = world(Setup {
        key_secret: false,
        ..Setup::default()
    })
    .await;

    let reply = call(&world.app, event_as("regenerate.json", CUSTODIAN)).await;

    assert_eq!(reply.status, 200);
    assert!(reply.json["stored"].is_null());
    assert_eq!(reply.key(), world.sim.current_key());
    assert_eq!(calls(&world), (1, 0, 1));
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_the_read_succeeds() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::GetKey, Fault::TokenRevoked);

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(calls(&world), (2, 2, 0));
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_client_secret_rotated_in_entra_and_the_secret_is_picked_up_on_invalid_client() {
    let world = world(Setup::default()).await;
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    let rotated = "rotated-client-secret-5d1c0b9a";
    remember_secret(rotated);
    world.sim.set_client_secret(rotated);
    world
        .moto
        .put_secret_value()
        .secret_id(&world.credentials_secret)
        .secret_string(credentials_json(&world.sim, rotated))
        .send()
        .await
        .unwrap();
    world.sim.revoke_tokens();

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        world.sim.calls(Endpoint::Token),
        3,
        "first token, refused with the old secret, then the new one"
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_502_that_names_invalid_client_and_carries_entras_ids() {
    let world = world(Setup {
        credentials_json: Some(format!(
            r#"{{"tenantId":"{}","clientId":"{}","clientSecret":"wrong-secret-value-123"}}"#,
            graph_sim::SimConfig::default().tenant_id,
            graph_sim::SimConfig::default().client_id
        )),
        ..Setup::default()
    })
    .await;
    remember_secret("wrong-secret-value-123");

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert_eq!(reply.json["upstream"], "entra");
    assert!(reply.json["code"].as_str().unwrap().starts_with("invalid_client"));
    assert!(reply.json["correlationId"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(reply.json["detail"].as_str().unwrap().contains("clientSecret"));
    assert_eq!(
        world.sim.calls(Endpoint::Token),
        2,
        "the secret is re-read and tried once more"
    );
    assert!(!reply.json.to_string().contains("wrong-secret-value-123"));
    world.assert_no_leaks();
}

#[tokio::test]
async fn throttling_is_retried_honouring_retry_after_in_seconds_and_as_a_date() {
    let world = world(Setup::default()).await;
    world.sim.inject(
        Endpoint::GetKey,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(0)),
        },
    );
    world.sim.inject(
        Endpoint::GetKey,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::HttpDate(std::time::SystemTime::now())),
        },
    );
    world
        .sim
        .inject(Endpoint::GetKey, Fault::TooManyRequests { retry_after: None });

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(world.sim.calls(Endpoint::GetKey), 4);
}

#[tokio::test]
async fn throttling_past_the_retry_budget_is_503_with_retry_after_and_graphs_request_id() {
    let world = world(Setup::default()).await;
    for _ in 0..4 {
        world.sim.inject(
            Endpoint::GetKey,
            Fault::TooManyRequests {
                retry_after: Some(RetryAfter::Seconds(0)),
            },
        );
    }

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.json["upstream"], "graph");
    assert!(
        reply.json["upstreamRequestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(world.sim.calls(Endpoint::GetKey), 4, "1 try and 3 retries");
}

#[tokio::test]
async fn a_retry_after_longer_than_the_time_left_is_not_waited_for() {
    let world = world(Setup::default()).await;
    world.sim.inject(
        Endpoint::GetKey,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(120)),
        },
    );

    let started = std::time::Instant::now();
    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("120"));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(world.sim.calls(Endpoint::GetKey), 1);
}

#[tokio::test]
async fn transient_503_and_504_are_retried() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::GetKey, Fault::Status(503));
    world.sim.inject(Endpoint::GetKey, Fault::Status(504));

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(world.sim.calls(Endpoint::GetKey), 3);
}

#[tokio::test]
async fn a_graph_that_keeps_timing_out_is_504() {
    let mut retry = fast_retries();
    retry.call_timeout = Duration::from_millis(200);
    let world = world(Setup {
        retry,
        ..Setup::default()
    })
    .await;
    for _ in 0..4 {
        world.sim.inject(Endpoint::GetKey, Fault::Delay(Duration::from_secs(1)));
    }

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 504);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/upstream-timeout");
}

#[tokio::test]
async fn a_regenerate_that_answers_504_after_taking_effect_is_read_back_not_posted_again() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::RegenerateKey, Fault::ProcessThenStatus(504));
    let old_key = world.sim.current_key();

    let reply = call(&world.app, event_as("regenerate.json", CUSTODIAN)).await;

    assert_eq!(reply.status, 200);
    assert_eq!(world.sim.calls(Endpoint::RegenerateKey), 1, "never a second POST");
    assert_ne!(world.sim.current_key(), old_key);
    assert_eq!(reply.key(), world.sim.current_key());
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_regenerate_whose_connection_drops_is_read_back_not_posted_again() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::RegenerateKey, Fault::ProcessThenDrop);

    let reply = call(&world.app, event_as("regenerate.json", CUSTODIAN)).await;

    assert_eq!(reply.status, 200);
    assert_eq!(world.sim.calls(Endpoint::RegenerateKey), 1);
    assert_eq!(reply.key(), world.sim.current_key());
}

#[tokio::test]
async fn a_throttled_regenerate_is_posted_again_because_it_was_not_processed() {
    let world = world(Setup::default()).await;
    world.sim.inject(
        Endpoint::RegenerateKey,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(0)),
        },
    );

    let reply = call(&world.app, event("regenerate.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(world.sim.calls(Endpoint::RegenerateKey), 2);
    assert_eq!(world.sim.keys_generated(), 1);
}

#[tokio::test]
async fn the_key_is_read_in_every_documented_response_shape() {
    let world = world(Setup::default()).await;
    for shape in [
        KeyShape::ValueWrapped,
        KeyShape::ValueWrappedDeploymentAccessKey,
        KeyShape::Bare,
        KeyShape::BareDeploymentAccessKey,
    ] {
        world.sim.set_key_shape(shape);
        let reply = call(&world.app, event("get-key.json")).await;
        assert_eq!(reply.status, 200, "{shape:?}");
        assert_eq!(reply.key(), world.sim.current_key(), "{shape:?}");
    }
}

#[tokio::test]
async fn an_unreadable_key_response_is_a_502_that_does_not_echo_the_body() {
    let world = world(Setup::default()).await;
    for fault in [
        Fault::MalformedBody,
        Fault::TruncatedBody,
        Fault::UnexpectedShape,
        Fault::HtmlErrorPage(200),
    ] {
        world.sim.inject(Endpoint::GetKey, fault.clone());
        let reply = call(&world.app, event("get-key.json")).await;
        assert_eq!(reply.status, 502, "{fault:?}");
        assert_eq!(
            reply.json["type"], "tag:mdi-sensor-key,2026:problem/upstream-bad-response",
            "{fault:?}"
        );
        assert!(!reply.json.to_string().contains(&world.sim.current_key()));
    }
}

#[tokio::test]
async fn an_app_without_the_permission_is_told_which_permission_and_consent_it_lacks() {
    let world = world(Setup::default()).await;
    world.sim.set_roles(vec![]);

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/graph-forbidden");
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("SecurityIdentitiesSensors.ReadWrite.All") && detail.contains("consent"),
        "{detail}"
    );
    assert_eq!(world.sim.calls(Endpoint::Token), 2, "one fresh token is tried first");
    assert!(reply.json["upstreamRequestId"].as_str().is_some());
}

#[tokio::test]
async fn a_tenant_not_onboarded_to_mdi_is_explained() {
    let world = world(Setup::default()).await;
    for _ in 0..2 {
        world.sim.inject(
            Endpoint::GetKey,
            Fault::Forbidden {
                message: "The tenant is not onboarded to Microsoft Defender for Identity.".into(),
            },
        );
    }

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert!(reply.json["detail"].as_str().unwrap().contains("not onboarded"));
}

#[tokio::test]
async fn a_token_with_only_the_read_permission_is_told_the_key_needs_read_write_and_admin_consent() {
    let world = world(Setup::default()).await;
    world.sim.set_roles(vec![graph_sim::READ_ROLE.to_owned()]);

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/graph-forbidden");
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("SecurityIdentitiesSensors.ReadWrite.All")
            && detail.contains("roles claim")
            && detail.contains("admin-consent"),
        "{detail}"
    );
    assert_eq!(world.sim.calls(Endpoint::Token), 2, "one fresh token is tried first");
    let sensors = call(&world.app, event("get-sensors.json")).await;
    assert_eq!(sensors.status, 200, "Read.All is enough for the sensor list");
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_missing_role_is_reported_whatever_graphs_message_says() {
    let world = world(Setup::default()).await;
    world.sim.set_roles(vec![]);
    for _ in 0..2 {
        world.sim.inject(
            Endpoint::GetKey,
            Fault::Forbidden {
                message: "The tenant is not onboarded to Microsoft Defender for Identity.".into(),
            },
        );
    }

    let reply = call(&world.app, event("get-key.json")).await;

    let detail = reply.json["detail"].as_str().unwrap();
    assert!(detail.contains("lacks the application permission"), "{detail}");
    assert!(!detail.contains("not onboarded"), "{detail}");
}

#[tokio::test]
async fn a_refusal_of_a_token_that_carries_the_role_is_not_blamed_on_the_permission() {
    let world = world(Setup::default()).await;
    for _ in 0..2 {
        world.sim.inject(
            Endpoint::GetKey,
            Fault::Forbidden {
                message: "Access denied.".into(),
            },
        );
    }

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(detail.contains("carries the required permission"), "{detail}");
    assert!(!detail.contains("lacks"), "{detail}");
    assert!(captured_logs().contains("Graph refused a fresh token (403)"));
    world.assert_no_leaks();
}

#[tokio::test]
async fn consent_granted_after_the_first_token_is_picked_up_by_a_fresh_token_once_the_refusal_hold_has_passed() {
    let hold = Duration::from_millis(300);
    let world = world(Setup {
        retry: RetryPolicy {
            refusal_hold: hold,
            ..fast_retries()
        },
        ..Setup::default()
    })
    .await;
    world.sim.set_roles(vec![]);
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 502);
    world.sim.set_roles(vec![graph_sim::REQUIRED_ROLE.to_owned()]);
    // Within the hold the refusal stands: no token request (issue 22, no token storm).
    let held = call(&world.app, event("get-key.json")).await;
    assert_eq!(held.status, 502, "{}", held.json);
    assert_eq!(world.sim.calls(Endpoint::Token), 2);

    tokio::time::sleep(hold + Duration::from_millis(50)).await;
    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(world.sim.calls(Endpoint::Token), 3);
}

#[tokio::test]
async fn a_credentials_secret_missing_a_field_is_a_500_naming_the_field_not_a_value() {
    let world = world(Setup {
        credentials_json: Some(r#"{"tenantId":"t","clientSecret":"secret-value-that-must-not-show"}"#.into()),
        ..Setup::default()
    })
    .await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500);
    assert!(reply.json["detail"].as_str().unwrap().contains("clientId"));
    assert!(!reply.json.to_string().contains("secret-value-that-must-not-show"));
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn a_credentials_secret_that_is_not_json_is_a_500_and_fixing_it_recovers_without_restart() {
    let world = world(Setup {
        credentials_json: Some("not-json-secret-value".into()),
        credentials_ttl_seconds: 0,
        ..Setup::default()
    })
    .await;
    let reply = call(&world.app, event("get-key.json")).await;
    assert_eq!(reply.status, 500);
    assert!(reply.json["detail"].as_str().unwrap().contains("not a JSON object"));

    world
        .moto
        .put_secret_value()
        .secret_id(&world.credentials_secret)
        .secret_string(credentials_json(&world.sim, CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_missing_credentials_secret_is_a_500_naming_the_secret() {
    let world = world(Setup::default()).await;
    world
        .moto
        .delete_secret()
        .secret_id(&world.credentials_secret)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500);
    assert!(
        reply.json["detail"]
            .as_str()
            .unwrap()
            .contains(&world.credentials_secret)
    );
}

#[tokio::test]
async fn graph_requests_carry_the_headers_graph_asks_for() {
    let world = world(Setup::default()).await;

    call(&world.app, event("get-key.json")).await;

    let requests = world.sim.requests();
    let graph = requests.iter().find(|r| r.endpoint == Some(Endpoint::GetKey)).unwrap();
    assert!(graph.header("authorization").unwrap().starts_with("Bearer "));
    assert_eq!(graph.header("accept"), Some("application/json"));
    assert!(uuid::Uuid::parse_str(graph.header("client-request-id").unwrap()).is_ok());
    assert!(graph.header("user-agent").unwrap().starts_with("mdi-sensor-key/"));
    let token = requests.iter().find(|r| r.endpoint == Some(Endpoint::Token)).unwrap();
    assert_eq!(token.form_field("grant_type"), Some("client_credentials"));
    assert_eq!(token.form_field("scope"), Some("https://graph.microsoft.com/.default"));
}
