//! Rotation that never loses a key: scheduled (EventBridge rule and Scheduler) and native Secrets
//! Manager rotation, through the real handler, against the Graph simulator and moto.

mod common;

use aws_sdk_secretsmanager::types::RotationRulesType;
use common::*;
use graph_sim::{Endpoint, Fault};
use mdi_sensor_key::handler::EventError;

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:mdi-sensor-key";

fn scheduler_event(time: &str) -> String {
    format!(
        r#"{{"action":"rotate","scheduleArn":"arn:aws:scheduler:us-east-1:123456789012:schedule/default/rotation","scheduledTime":"{time}"}}"#
    )
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

    assert_eq!(summary["outcome"], "rotated");
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

    for outcome in [a, b, c] {
        assert_eq!(outcome.unwrap()["outcome"], "rotated");
    }
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
    assert_eq!(finish["outcome"], "rotated");
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
async fn test_secret_refuses_a_pending_key_that_graph_no_longer_accepts() {
    let world = world(Setup::default()).await;
    let token = start_native_rotation(&world).await;
    let arn = world.key_secret_arn.clone();
    invoke_event(&world.app, &step("createSecret", &arn, &token))
        .await
        .unwrap();
    world.sim.set_key(&graph_sim::random_key());

    let error = invoke_event(&world.app, &step("testSecret", &arn, &token))
        .await
        .unwrap_err();

    assert!(error.to_string().contains("not promoting"), "{error}");
    let (current_version, _) = at_stage(&world.moto, &world.key_secret, "AWSCURRENT").await;
    assert_ne!(current_version, token, "nothing was promoted");
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
