//! Rotation that never loses a key: scheduled (EventBridge rule and Scheduler) and native Secrets
//! Manager rotation, through the real handler, against the Graph simulator and moto.

mod common;

use std::time::Duration;

use aws_sdk_secretsmanager::types::RotationRulesType;
use common::rotation_function::RotationFunction;
use common::*;
use graph_sim::{Endpoint, Fault};
use mdi_sensor_key::handler::EventError;
use mdi_sensor_key::rotation::{Claims, Rotator};

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:mdi-sensor-key";

fn scheduler_event(time: &str) -> String {
    format!(
        r#"{{"action":"rotate","scheduleArn":"arn:aws:scheduler:us-east-1:123456789012:schedule/default/rotation","scheduledTime":"{time}"}}"#
    )
}

/// A regenerate made outside the function (the portal, another tool), through the simulator's
/// control route as another process would.
async fn regenerate_elsewhere(world: &World) -> String {
    let key = graph_sim::random_key();
    let response = mdi_sensor_key::secrets::http::reqwest_client()
        .unwrap()
        .post(format!("{}/_sim/key", world.sim.base_url()))
        .json(&serde_json::json!({ "key": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    remember_secret(&key);
    key
}

/// Every Graph read fails past the retry budget, once.
fn graph_unreadable(world: &World) {
    for _ in 0..=world.retry.max_retries {
        world.sim.inject(Endpoint::GetKey, Fault::Status(500));
    }
}

async fn wait_for_calls(world: &World, endpoint: Endpoint, calls: usize) {
    for _ in 0..500 {
        if world.sim.calls(endpoint) >= calls {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{endpoint:?} was not called {calls} times");
}

/// The end state the RotateSecret reference requires: AWSPENDING on no version, or on the one
/// AWSCURRENT is on; and AWSCURRENT on exactly one version.
async fn assert_no_stray_pending(world: &World) {
    let described = world
        .moto
        .describe_secret()
        .secret_id(&world.key_secret)
        .send()
        .await
        .unwrap();
    let versions = described.version_ids_to_stages().unwrap();
    for stages in versions.values() {
        if stages.iter().any(|s| s == "AWSPENDING") {
            assert!(stages.iter().any(|s| s == "AWSCURRENT"), "{stages:?}");
        }
    }
    let current = versions
        .values()
        .filter(|stages| stages.iter().any(|s| s == "AWSCURRENT"))
        .count();
    assert_eq!(current, 1, "{versions:?}");
}

#[tokio::test]
async fn a_scheduled_event_regenerates_stores_the_key_and_keeps_the_old_one_as_previous() {
    let world = world(Setup::default()).await;
    let old_key = world.sim.current_key();

    let summary = invoke_event(&world.app, &events_json("schedule.json")).await.unwrap();

    assert_eq!(summary["outcome"], "rotated");
    assert_eq!(summary["regenerated"], true);
    assert_eq!(summary["trigger"], "schedule");
    assert_eq!(summary["secretId"], world.key_secret_arn.as_str());
    assert_eq!(summary["versionId"], "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa");
    assert!(
        !summary.to_string().contains(&world.sim.current_key()),
        "the reply never holds the key"
    );
    assert_ne!(world.sim.current_key(), old_key);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
    let (_, previous_text) = at_stage(&world.moto, &world.key_secret, "AWSPREVIOUS").await;
    assert!(previous_text.contains(&old_key));
    world.assert_no_leaks();
}

#[tokio::test]
async fn the_same_event_delivered_twice_creates_one_version_and_one_key() {
    let world = world(Setup::default()).await;
    let event = scheduler_event("2026-12-01T00:00:00Z");

    let first = invoke_event(&world.app, &event).await.unwrap();
    let versions = version_count(&world.moto, &world.key_secret).await;
    let second = invoke_event(&world.app, &event).await.unwrap();

    assert_eq!(first["outcome"], "rotated");
    assert_eq!(second["outcome"], "already-done");
    assert_eq!(second["versionId"], first["versionId"]);
    assert_eq!(version_count(&world.moto, &world.key_secret).await, versions);
    assert_eq!(world.sim.keys_generated(), 1);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
}

#[tokio::test]
async fn a_redelivery_after_a_regenerate_elsewhere_stores_graphs_key_instead_of_answering_already_done() {
    let world = world(Setup::default()).await;
    let event = scheduler_event("2026-12-01T00:00:00Z");
    invoke_event(&world.app, &event).await.unwrap();
    let outside = regenerate_elsewhere(&world).await;

    let again = invoke_event(&world.app, &event).await.unwrap();

    assert_eq!(again["outcome"], "repaired");
    assert_eq!(again["driftRepaired"], true);
    assert_eq!(again["regenerated"], false);
    assert_eq!(world.sim.keys_generated(), 1);
    assert_eq!(stored_key(&world.moto, &world.key_secret).await, outside);
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_redelivery_that_cannot_read_graph_fails_rather_than_answer_already_done() {
    let world = world(Setup::default()).await;
    let event = scheduler_event("2026-12-01T00:00:00Z");
    invoke_event(&world.app, &event).await.unwrap();
    graph_unreadable(&world);

    let error = invoke_event(&world.app, &event).await.unwrap_err();

    assert!(matches!(error, EventError::Rotation(_)), "{error}");
    assert_eq!(world.sim.keys_generated(), 1);
}

#[tokio::test]
async fn describe_secret_leaves_out_unlabelled_versions_and_a_redelivery_still_finds_its_own() {
    let world = world(Setup::default()).await;
    let occurrences = ["2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"];
    for time in occurrences {
        invoke_event(&world.app, &scheduler_event(time)).await.unwrap();
    }
    // The first version and the first occurrence's have lost every label: DescribeSecret lists
    // AWSCURRENT's and AWSPREVIOUS's only, as Secrets Manager does.
    assert_eq!(version_count(&world.moto, &world.key_secret).await, 2);

    let again = invoke_event(&world.app, &scheduler_event(occurrences[0]))
        .await
        .unwrap();

    assert_eq!(again["outcome"], "already-done");
    assert_eq!(world.sim.keys_generated(), 3, "no second regenerate for one occurrence");
}

#[tokio::test]
async fn two_concurrent_deliveries_of_one_occurrence_regenerate_once_at_graph() {
    let world = world(Setup::default()).await;
    let second = world.another_instance();
    let event = scheduler_event("2026-12-01T00:00:00Z");
    // The first delivery's regenerate is slow; the second arrives meanwhile, finds the occurrence
    // claimed, waits for the first and settles.
    world
        .sim
        .inject(Endpoint::RegenerateKey, Fault::Delay(Duration::from_millis(1500)));

    let (held, meanwhile) = tokio::join!(invoke_event(&world.app, &event), async {
        wait_for_calls(&world, Endpoint::RegenerateKey, 1).await;
        invoke_event(&second, &event).await
    });

    assert_eq!(held.unwrap()["outcome"], "rotated");
    assert_eq!(meanwhile.unwrap()["outcome"], "already-done");
    assert_eq!(world.sim.calls(Endpoint::RegenerateKey), 1, "one POST at Graph");
    assert_eq!(world.sim.keys_generated(), 1);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
    let again = invoke_event(&world.app, &event).await.unwrap();
    assert_eq!(again["outcome"], "already-done");
}

#[tokio::test]
async fn a_delivery_takes_over_an_occurrence_whose_claim_holder_died_and_regenerates_once() {
    let world = world(Setup::default()).await;
    let second = world.another_instance();
    let event = scheduler_event("2026-12-01T00:00:00Z");
    // The holder claims the occurrence, then dies while it reads Graph, before any regenerate:
    // its Lambda deadline is three seconds away, and its claim lapses with it.
    world
        .sim
        .inject(Endpoint::GetKey, Fault::Delay(Duration::from_millis(6000)));
    let holder = {
        // Its claim's lease ends at its deadline: no grace for a regenerate in flight, as it
        // never sends one.
        let mut app = world.another_instance();
        app.rotator = Rotator::with_claims(
            Claims::new(world.claims_secret.clone()).with_timing(Duration::from_millis(50), Duration::ZERO),
        );
        let request = request_from_json(&event, Duration::from_secs(3));
        tokio::spawn(async move {
            let _ = mdi_sensor_key::handler::handle(&app, request).await;
        })
    };
    // On a loaded machine it may reach its deadline before Graph: dead all the same.
    for _ in 0..200 {
        if world.sim.calls(Endpoint::GetKey) > 0 || holder.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    holder.abort();

    let summary = invoke_event(&second, &event).await.unwrap();

    assert_eq!(summary["outcome"], "rotated");
    assert_eq!(world.sim.calls(Endpoint::RegenerateKey), 1);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
    assert_eq!(
        version_count(&world.moto, &world.key_secret).await,
        2,
        "no version of the key secret but real keys: the claim lives elsewhere"
    );
}

#[tokio::test]
async fn an_unclear_regenerate_that_did_not_land_fails_and_the_retry_rotates() {
    let world = world(Setup::default()).await;
    let event = scheduler_event("2026-12-01T00:00:00Z");
    let old_key = world.sim.current_key();
    world.sim.inject(Endpoint::RegenerateKey, Fault::Status(504));

    let error = invoke_event(&world.app, &event).await.unwrap_err();
    let retry = invoke_event(&world.app, &event).await.unwrap();

    assert!(error.to_string().contains("nothing was rotated"), "{error}");
    assert_eq!(retry["outcome"], "rotated");
    assert_eq!(retry["regenerated"], true);
    assert_ne!(world.sim.current_key(), old_key);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
}

#[tokio::test]
async fn a_rotator_who_is_not_a_reader_gets_the_stored_version_and_verification_but_not_the_key() {
    let world = world(Setup::default()).await;
    let old_key = world.sim.current_key();

    let reply = call(&world.app, event("regenerate.json")).await;

    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let new_key = world.sim.current_key();
    assert_ne!(new_key, old_key);
    assert_eq!(world.sim.keys_generated(), 1);
    let mut members: Vec<&str> = reply.json.as_object().unwrap().keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(members, ["stored", "verified"], "{:?}", reply.json);
    assert!(!reply.json.to_string().contains(&new_key));
    assert_eq!(reply.json["verified"], true);
    assert_eq!(reply.json["stored"]["secretId"], world.key_secret_arn.as_str());
    assert_eq!(
        reply.json["stored"]["versionId"].as_str(),
        Some(current_version(&world).await.as_str())
    );
    assert_eq!(stored_key(&world.moto, &world.key_secret).await, new_key);
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_regenerate_whose_check_cannot_read_graph_answers_200_with_the_new_key_unverified() {
    let world = world(Setup::default()).await;
    let old_key = world.sim.current_key();
    graph_unreadable(&world);

    let reply = call(&world.app, event_as("regenerate.json", CUSTODIAN)).await;

    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["verified"], false);
    assert_eq!(reply.key(), world.sim.current_key());
    assert_ne!(reply.key(), old_key);
    assert_eq!(world.sim.keys_generated(), 1);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
}

#[tokio::test]
async fn the_daily_check_stores_a_key_regenerated_elsewhere_within_a_day() {
    let world = world(Setup::default()).await;
    let check = r#"{"action":"check","scheduleArn":"arn:aws:scheduler:us-east-1:123456789012:schedule/keys/check","scheduledTime":"2026-12-02T00:00:00Z"}"#;
    let quiet = invoke_event(&world.app, check).await.unwrap();
    let outside = regenerate_elsewhere(&world).await;

    let after = invoke_event(&world.app, check).await.unwrap();

    assert_eq!(quiet["outcome"], "verified");
    assert_eq!(after["outcome"], "repaired");
    assert_eq!(after["regenerated"], false);
    assert_eq!(world.sim.keys_generated(), 0);
    assert_eq!(stored_key(&world.moto, &world.key_secret).await, outside);
    let again = invoke_event(&world.app, check).await.unwrap();
    assert_eq!(again["outcome"], "verified");
}

#[tokio::test]
async fn each_scheduler_occurrence_rotates_once() {
    let world = world(Setup::default()).await;

    invoke_event(&world.app, &scheduler_event("2026-12-01T00:00:00Z"))
        .await
        .unwrap();
    invoke_event(&world.app, &scheduler_event("2027-01-01T00:00:00Z"))
        .await
        .unwrap();

    assert_eq!(world.sim.keys_generated(), 2);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
}

#[tokio::test]
async fn a_retry_after_a_failed_store_stores_graphs_key_instead_of_rotating_again() {
    let world = world(Setup::default()).await;
    // Graph already holds a newer key than the secret: a regenerate whose store failed, or one
    // made outside this function.
    let fresh = graph_sim::random_key();
    world.sim.set_key(&fresh);

    let summary = invoke_event(&world.app, &events_json("schedule.json")).await.unwrap();

    assert_eq!(
        summary["outcome"], "repaired",
        "nothing was rotated: the copy was repaired"
    );
    assert_eq!(summary["regenerated"], false);
    assert_eq!(world.sim.keys_generated(), 0, "no second regenerate");
    assert_eq!(stored_key(&world.moto, &world.key_secret).await, fresh);
}

#[tokio::test]
async fn an_ambiguous_regenerate_during_rotation_is_followed_by_a_read_not_a_second_post() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::RegenerateKey, Fault::ProcessThenStatus(504));

    let summary = invoke_event(&world.app, &events_json("schedule.json")).await.unwrap();

    assert_eq!(summary["outcome"], "rotated");
    assert_eq!(world.sim.calls(Endpoint::RegenerateKey), 1);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
}

#[tokio::test]
async fn concurrent_rotations_and_an_api_regenerate_converge_on_graphs_key() {
    let world = world(Setup::default()).await;
    let second = world.another_instance();
    let third = world.another_instance();
    let fourth = world.another_instance();
    let (december, january) = (
        scheduler_event("2026-12-01T00:00:00Z"),
        scheduler_event("2027-01-01T00:00:00Z"),
    );
    let schedule = events_json("schedule.json");

    let (a, b, c, d) = tokio::join!(
        invoke_event(&world.app, &december),
        invoke_event(&second, &january),
        invoke_event(&third, &schedule),
        call(&fourth, event("regenerate.json")),
    );

    // One that finds Graph's key already fresher than the stored copy (another has regenerated
    // and not yet stored) stores it and says so: `repaired`.
    let outcomes: Vec<_> = [a, b, c].into_iter().map(|o| o.unwrap()["outcome"].clone()).collect();
    assert!(
        outcomes.iter().all(|o| o == "rotated" || o == "repaired"),
        "{outcomes:?}"
    );
    // (All three may be `repaired`: when the API's regenerate lands first, Graph's key is already
    // fresher than the copy each of them finds.)
    assert_eq!(d.status, 200);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_failed_rotation_is_a_lambda_error_with_graphs_request_id_and_no_key() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::GetKey, Fault::Status(500));

    let error = invoke_event(&world.app, &events_json("schedule.json"))
        .await
        .unwrap_err();

    let message = error.to_string();
    assert!(matches!(error, EventError::Rotation(_)));
    assert!(message.contains("Graph request-id"), "{message}");
    assert!(!message.contains(&world.sim.current_key()));
    assert_eq!(world.sim.keys_generated(), 0);
}

#[tokio::test]
async fn a_rotation_without_a_key_secret_is_refused() {
    let world = world(Setup {
        key_secret: false,
        ..Setup::default()
    })
    .await;

    let error = invoke_event(&world.app, &events_json("schedule.json"))
        .await
        .unwrap_err();

    assert!(error.to_string().contains("SENSOR_KEY_SECRET_ID"));
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn an_unknown_event_is_an_error_naming_its_kind_and_nothing_is_done() {
    let world = world(Setup::default()).await;

    let error = invoke_event(
        &world.app,
        r#"{"Records":[{"eventSource":"aws:sqs","body":"hunter2"}]}"#,
    )
    .await
    .unwrap_err();

    assert!(matches!(error, EventError::Unrecognised(_)));
    assert!(!error.to_string().contains("hunter2"));
    assert_eq!(calls(&world), (0, 0, 0));
}

// ---- native Secrets Manager rotation ----

fn step(step: &str, secret_id: &str, token: &str) -> String {
    format!(r#"{{"Step":"{step}","SecretId":"{secret_id}","ClientRequestToken":"{token}"}}"#)
}

/// What Secrets Manager does before it calls createSecret: enable rotation and create the
/// token's AWSPENDING version without a value.
async fn start_native_rotation(world: &World) -> String {
    let token = uuid::Uuid::new_v4().to_string();
    world
        .moto
        .rotate_secret()
        .secret_id(&world.key_secret)
        .client_request_token(&token)
        .rotation_lambda_arn(FUNCTION_ARN)
        .rotation_rules(RotationRulesType::builder().automatically_after_days(30).build())
        .send()
        .await
        .unwrap();
    token
}

#[tokio::test]
async fn native_rotation_runs_its_four_steps_and_promotes_graphs_new_key() {
    let world = world(Setup::default()).await;
    let old_key = world.sim.current_key();
    let token = start_native_rotation(&world).await;
    let arn = world.key_secret_arn.clone();

    let create = invoke_event(&world.app, &step("createSecret", &arn, &token))
        .await
        .unwrap();
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key(),
        "createSecret promotes at once: AWSCURRENT is never a dead key between steps"
    );
    let set = invoke_event(&world.app, &step("setSecret", &arn, &token))
        .await
        .unwrap();
    let test = invoke_event(&world.app, &step("testSecret", &arn, &token))
        .await
        .unwrap();
    let finish = invoke_event(&world.app, &step("finishSecret", &arn, &token))
        .await
        .unwrap();

    assert_eq!(
        (create["outcome"].as_str(), create["regenerated"].as_bool()),
        (Some("rotated"), Some(true))
    );
    assert_eq!(set["outcome"], "nothing-to-do");
    assert_eq!(test["outcome"], "verified");
    assert_eq!(finish["outcome"], "already-done");
    let (current_version, _) = at_stage(&world.moto, &world.key_secret, "AWSCURRENT").await;
    assert_eq!(current_version, token);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
    assert_ne!(world.sim.current_key(), old_key);
    let (_, previous_text) = at_stage(&world.moto, &world.key_secret, "AWSPREVIOUS").await;
    assert!(previous_text.contains(&old_key));
    let again = invoke_event(&world.app, &step("finishSecret", &arn, &token))
        .await
        .unwrap();
    assert_eq!(again["outcome"], "already-done");
    world.assert_no_leaks();
}

#[tokio::test]
async fn the_daily_check_takes_off_the_awspending_a_regenerate_left_behind_a_native_rotation() {
    let world = world(Setup::default()).await;
    let token = start_native_rotation(&world).await;
    let arn = world.key_secret_arn.clone();
    for name in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        invoke_event(&world.app, &step(name, &arn, &token)).await.unwrap();
    }
    assert_eq!(call(&world.app, event("regenerate.json")).await.status, 200);
    let described = world
        .moto
        .describe_secret()
        .secret_id(&world.key_secret)
        .send()
        .await
        .unwrap();
    let stages = &described.version_ids_to_stages().unwrap()[&token];
    assert!(
        stages.iter().any(|s| s == "AWSPENDING") && !stages.iter().any(|s| s == "AWSCURRENT"),
        "the regenerate left AWSPENDING behind: {stages:?}"
    );
    let check = r#"{"action":"check","scheduleArn":"arn:aws:scheduler:us-east-1:123456789012:schedule/keys/check","scheduledTime":"2026-12-03T00:00:00Z"}"#;

    let checked = invoke_event(&world.app, check).await.unwrap();

    assert_eq!(checked["outcome"], "verified");
    assert_no_stray_pending(&world).await;
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
}

#[tokio::test]
async fn a_repeated_create_secret_regenerates_only_once() {
    let world = world(Setup::default()).await;
    let token = start_native_rotation(&world).await;
    let arn = world.key_secret_arn.clone();

    invoke_event(&world.app, &step("createSecret", &arn, &token))
        .await
        .unwrap();
    let again = invoke_event(&world.app, &step("createSecret", &arn, &token))
        .await
        .unwrap();

    assert_eq!(again["outcome"], "already-done");
    assert_eq!(world.sim.keys_generated(), 1);
}

#[tokio::test]
async fn a_regenerate_elsewhere_between_test_secret_and_finish_secret_is_stored_by_finish_secret() {
    let world = world(Setup::default()).await;
    let token = start_native_rotation(&world).await;
    let arn = world.key_secret_arn.clone();
    for name in ["createSecret", "setSecret", "testSecret"] {
        invoke_event(&world.app, &step(name, &arn, &token)).await.unwrap();
    }
    let outside = regenerate_elsewhere(&world).await;

    let finish = invoke_event(&world.app, &step("finishSecret", &arn, &token))
        .await
        .unwrap();

    assert_eq!(finish["outcome"], "repaired");
    assert_eq!(stored_key(&world.moto, &world.key_secret).await, outside);
    assert_no_stray_pending(&world).await;
}

#[tokio::test]
async fn finish_secret_never_promotes_a_pending_key_graph_no_longer_accepts() {
    let world = world(Setup::default()).await;
    let token = start_native_rotation(&world).await;
    let arn = world.key_secret_arn.clone();
    // A pending key as an older version of this function left it: written, never promoted.
    let dead = world.sim.current_key();
    world
        .moto
        .put_secret_value()
        .secret_id(&world.key_secret)
        .client_request_token(&token)
        .secret_string(format!(r#"{{"sensorDeploymentAccessKey":"{dead}"}}"#))
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    let outside = regenerate_elsewhere(&world).await;

    let finish = invoke_event(&world.app, &step("finishSecret", &arn, &token))
        .await
        .unwrap();

    assert_eq!(finish["outcome"], "repaired");
    assert_eq!(stored_key(&world.moto, &world.key_secret).await, outside);
    let (current_version, _) = at_stage(&world.moto, &world.key_secret, "AWSCURRENT").await;
    assert_ne!(current_version, token, "the dead pending key was not promoted");
    assert_no_stray_pending(&world).await;
}

#[tokio::test]
async fn a_rotation_step_that_cannot_read_graph_fails_and_promotes_nothing() {
    let world = world(Setup::default()).await;
    let token = start_native_rotation(&world).await;
    let arn = world.key_secret_arn.clone();
    invoke_event(&world.app, &step("createSecret", &arn, &token))
        .await
        .unwrap();
    graph_unreadable(&world);

    let error = invoke_event(&world.app, &step("finishSecret", &arn, &token))
        .await
        .unwrap_err();

    assert!(matches!(error, EventError::Rotation(_)), "{error}");
}

#[tokio::test]
async fn two_concurrent_create_secrets_regenerate_once_and_end_with_graphs_key_current() {
    let world = world(Setup::default()).await;
    let token = start_native_rotation(&world).await;
    let arn = world.key_secret_arn.clone();
    let second = world.another_instance();
    world
        .sim
        .inject(Endpoint::RegenerateKey, Fault::Delay(Duration::from_millis(1500)));
    let event = step("createSecret", &arn, &token);

    let (held, meanwhile) = tokio::join!(invoke_event(&world.app, &event), async {
        wait_for_calls(&world, Endpoint::RegenerateKey, 1).await;
        invoke_event(&second, &event).await
    });

    assert_eq!(held.unwrap()["outcome"], "rotated");
    assert_eq!(meanwhile.unwrap()["outcome"], "already-done");
    assert_eq!(world.sim.calls(Endpoint::RegenerateKey), 1, "one POST at Graph");
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
    assert_no_stray_pending(&world).await;
}

#[tokio::test]
async fn a_rotation_step_for_another_secret_is_refused_and_nothing_is_written() {
    let world = world(Setup::default()).await;
    let other = world
        .moto
        .describe_secret()
        .secret_id(&world.credentials_secret)
        .send()
        .await
        .unwrap();
    let token = uuid::Uuid::new_v4().to_string();

    let error = invoke_event(&world.app, &step("createSecret", other.arn().unwrap(), &token))
        .await
        .unwrap_err();

    assert!(error.to_string().contains("not the configured key secret"), "{error}");
    assert_eq!(world.sim.keys_generated(), 0);
    assert_eq!(version_count(&world.moto, &world.credentials_secret).await, 1);
}

#[tokio::test]
async fn a_rotation_step_with_an_unknown_token_is_refused() {
    let world = world(Setup::default()).await;
    start_native_rotation(&world).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    let error = invoke_event(&world.app, &step("createSecret", &world.key_secret_arn, &unknown))
        .await
        .unwrap_err();

    assert!(error.to_string().contains("has no version"), "{error}");
    assert_eq!(world.sim.keys_generated(), 0);
}

#[tokio::test]
async fn a_rotation_step_on_a_secret_without_rotation_enabled_is_refused() {
    let world = world(Setup::default()).await;
    let token = uuid::Uuid::new_v4().to_string();

    let error = invoke_event(&world.app, &step("createSecret", &world.key_secret_arn, &token))
        .await
        .unwrap_err();

    assert!(error.to_string().contains("rotation is not enabled"), "{error}");
}

// ---- native rotation as Secrets Manager runs it: RotateSecret, then the function invoked ----

/// `RotateSecret` on the key secret, as an operator or the schedule calls it: with the function's
/// ARN, or without parameters. The new version's id, or the refusal's message.
async fn rotate_secret(world: &World, function: Option<&str>, immediately: bool) -> Result<String, String> {
    let mut request = world
        .moto
        .rotate_secret()
        .secret_id(&world.key_secret)
        .rotate_immediately(immediately);
    if let Some(function) = function {
        request = request
            .rotation_lambda_arn(function)
            .rotation_rules(RotationRulesType::builder().automatically_after_days(30).build());
    }
    match request.send().await {
        Ok(answer) => Ok(answer.version_id().unwrap_or_default().to_owned()),
        Err(error) => Err(format!("{:?}", error.into_service_error())),
    }
}

fn logged(name: &str, token: &str) -> (String, String) {
    (name.to_owned(), token.to_owned())
}

async fn current_version(world: &World) -> String {
    at_stage(&world.moto, &world.key_secret, "AWSCURRENT").await.0
}

/// Every invocation of the function succeeded (a failure raises the failed-rotation alarm).
fn all_succeeded(function: &RotationFunction) {
    for invocation in function.invocations() {
        assert!(invocation.result.is_ok(), "{invocation:?}");
    }
}

#[tokio::test]
async fn a_second_native_rotation_after_a_complete_one_starts_and_rotates_under_both_awspending_variants() {
    for variant in ["kept", "cleared"] {
        let world = world(Setup::default()).await;
        world.secrets_manager_variant(variant, "empty").await;
        let function = world.rotation_function().await;

        let first = rotate_secret(&world, Some(&function.arn), true).await.unwrap();
        world.rotation_events().await;
        // Without parameters: "starts a rotation with the values already stored in the secret".
        let second = rotate_secret(&world, None, true).await;
        let events = world.rotation_events().await;

        let second = second.unwrap_or_else(|refused| panic!("{variant}: refused: {refused}"));
        assert!(
            events.contains(&logged("RotationSucceeded", &first)),
            "{variant}: {events:?}"
        );
        assert!(
            events.contains(&logged("RotationSucceeded", &second)),
            "{variant}: {events:?}"
        );
        all_succeeded(&function);
        assert_eq!(world.sim.keys_generated(), 2, "{variant}");
        assert_eq!(current_version(&world).await, second, "{variant}");
        assert_eq!(
            stored_key(&world.moto, &world.key_secret).await,
            world.sim.current_key()
        );
        let described = world
            .moto
            .describe_secret()
            .secret_id(&world.key_secret)
            .send()
            .await
            .unwrap();
        assert_eq!(
            described.rotation_lambda_arn(),
            Some(function.arn.as_str()),
            "{variant}"
        );
        assert_no_stray_pending(&world).await;
        world.assert_no_leaks();
    }
}

#[tokio::test]
async fn test_secret_alone_leaves_awscurrent_where_it_was_and_regenerates_nothing() {
    // RotateImmediately=false (and RotateImmediatelyOnUpdate: false): only testSecret runs, on an
    // AWSPENDING version Secrets Manager then removes; whether it holds a value is not documented.
    for value in ["empty", "current"] {
        let world = world(Setup::default()).await;
        world.secrets_manager_variant("kept", value).await;
        let function = world.rotation_function().await;
        let before = current_version(&world).await;

        let token = rotate_secret(&world, Some(&function.arn), false).await.unwrap();
        let events = world.rotation_events().await;

        assert!(
            events.contains(&logged("TestRotationSucceeded", &token)),
            "{value}: {events:?}"
        );
        assert_eq!(
            function.steps_for(&token),
            [("testSecret".to_owned(), Ok("verified".to_owned()))],
            "{value}"
        );
        assert_eq!(
            current_version(&world).await,
            before,
            "{value}: AWSCURRENT did not move"
        );
        assert_eq!(world.sim.calls(Endpoint::RegenerateKey), 0, "{value}");
        assert_eq!(
            stored_key(&world.moto, &world.key_secret).await,
            world.sim.current_key()
        );
        assert_no_stray_pending(&world).await;
    }
}

/// How the rotation before the reattempt ended.
#[derive(Debug, Clone, Copy)]
enum Earlier {
    /// It never reached the function: AWSPENDING on an empty version.
    NeverRan,
    /// As `NeverRan`, and a regenerate through the HTTP route came after it.
    NeverRanThenRegenerated,
    /// It finished, and a regenerate through the HTTP route overtook it.
    FinishedThenRegenerated,
}

#[tokio::test]
async fn the_reattempt_with_the_old_token_ends_with_graphs_key_current_and_every_step_succeeds() {
    for variant in ["kept", "cleared"] {
        for earlier in [
            Earlier::NeverRan,
            Earlier::NeverRanThenRegenerated,
            Earlier::FinishedThenRegenerated,
        ] {
            let world = world(Setup::default()).await;
            world.secrets_manager_variant(variant, "empty").await;
            let function = world.unreachable_rotation_function().await;
            if let Earlier::FinishedThenRegenerated = earlier {
                function.register().await;
            }
            let old = rotate_secret(&world, Some(&function.arn), true).await.unwrap();
            world.rotation_events().await;
            if !matches!(earlier, Earlier::NeverRan) {
                assert_eq!(call(&world.app, event("regenerate.json")).await.status, 200);
            }
            function.register().await;

            // The schedule's (or an operator's) next RotateSecret.
            let next = rotate_secret(&world, None, true).await;
            let events = world.rotation_events().await;

            let context = format!(
                "{variant}, {earlier:?}: {next:?}, {events:?}, {:?}",
                function.invocations()
            );
            let stray = matches!((variant, earlier), (_, Earlier::NeverRan) | ("kept", _));
            if stray {
                let refused = next.expect_err(&context);
                assert!(refused.contains("A previous rotation isn't complete"), "{context}");
                assert_eq!(events.last(), Some(&logged("RotationSucceeded", &old)), "{context}");
                assert_eq!(
                    function
                        .steps_for(&old)
                        .iter()
                        .rev()
                        .take(4)
                        .map(|(step, _)| step.as_str())
                        .collect::<Vec<_>>(),
                    ["finishSecret", "testSecret", "setSecret", "createSecret"],
                    "{context}: the old token's rotation ran again"
                );
            } else {
                let next = next.expect(&context);
                assert_eq!(events.last(), Some(&logged("RotationSucceeded", &next)), "{context}");
            }
            all_succeeded(&function);
            assert_eq!(
                stored_key(&world.moto, &world.key_secret).await,
                world.sim.current_key(),
                "{context}"
            );
            assert_no_stray_pending(&world).await;
        }
    }
}

#[tokio::test]
async fn the_daily_check_leaves_the_awspending_of_a_rotation_that_has_not_reached_the_function() {
    let world = world(Setup::default()).await;
    let function = world.unreachable_rotation_function().await;
    let token = rotate_secret(&world, Some(&function.arn), true).await.unwrap();
    world.rotation_events().await;
    let check = r#"{"action":"check","scheduleArn":"arn:aws:scheduler:us-east-1:123456789012:schedule/keys/check","scheduledTime":"2026-12-03T00:00:00Z"}"#;

    let checked = invoke_event(&world.app, check).await.unwrap();
    function.register().await;
    let next = rotate_secret(&world, None, true).await;
    let events = world.rotation_events().await;

    assert_eq!(checked["outcome"], "verified");
    assert!(
        next.is_err(),
        "the unfinished rotation still holds AWSPENDING: {next:?}"
    );
    assert_eq!(events.last(), Some(&logged("RotationSucceeded", &token)));
    all_succeeded(&function);
    assert_eq!(world.sim.keys_generated(), 1);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
}

#[tokio::test]
async fn an_http_regenerate_postpones_the_next_native_rotation() {
    // "If you also manually update your secret value while automatic rotation is set up, then
    // Secrets Manager considers that a valid rotation when it calculates the next rotation date."
    let world = world(Setup::default()).await;
    let function = world.rotation_function().await;
    rotate_secret(&world, Some(&function.arn), true).await.unwrap();
    world.rotation_events().await;
    let next_rotation = || async {
        world
            .moto
            .describe_secret()
            .secret_id(&world.key_secret)
            .send()
            .await
            .unwrap()
            .next_rotation_date()
            .map(|date| date.secs())
            .expect("a next rotation date")
    };
    let before = next_rotation().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    assert_eq!(call(&world.app, event("regenerate.json")).await.status, 200);

    assert!(next_rotation().await > before);
}
