//! The two doors (issue 21 §1, docs/security.md "Two doors"): each function serves only the kind
//! of invocation its `FUNCTION_DOOR` names. An event of the other kind is refused before anything
//! upstream is touched (no request at the Graph simulator, none at moto through the counting
//! proxy), with an audit line and one `DoorRefusals` metric.

mod common;

use std::time::Duration;

use common::*;
use lambda_http::RequestExt;
use mdi_sensor_key::handler::{self, EventError};
use serde_json::Value;

async fn world_at(door: &str) -> World {
    world(Setup {
        secrets_proxy: true,
        extra_env: vec![("FUNCTION_DOOR", door.to_owned())],
        ..Setup::default()
    })
    .await
}

fn door_refusals() -> usize {
    captured_metrics()
        .iter()
        .filter(|line| line.get("DoorRefusals").is_some())
        .inspect(|line| {
            let directive = &line["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], "MdiSensorKey");
            assert_eq!(
                directive["Dimensions"],
                serde_json::json!([["service"]]),
                "DoorRefusalsAlarm watches the service dimension alone"
            );
        })
        .count()
}

/// The audit lines that carry `request_id`.
fn audit_lines(request_id: &str) -> Vec<Value> {
    captured_logs()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "audit" && line["fields"]["request_id"] == request_id)
        .collect()
}

/// Invokes the handler with `json` as Lambda would deliver it; the refusal and the invocation's
/// request id.
async fn invoke_refused(world: &World, json: &str) -> (EventError, String) {
    let request = request_from_json(json, Duration::from_secs(30));
    let request_id = request.lambda_context().request_id.clone();
    let outcome = handler::handle(&world.app, request).await;
    let Err(error) = outcome else {
        panic!("served through the wrong door");
    };
    (error, request_id)
}

fn assert_nothing_upstream_was_touched(world: &World) {
    assert!(
        world.sim.requests().is_empty(),
        "Graph or Entra was called: {:?}",
        world.sim.requests().len()
    );
    assert_eq!(calls(world), (0, 0, 0));
    let proxy = world.proxy.as_ref().expect("the counting proxy");
    assert_eq!(proxy.total_calls(), 0, "Secrets Manager was called");
}

fn assert_refused_at(error: &EventError, door: &str, arrival: &str) {
    assert!(
        matches!(error, EventError::WrongDoor { door: d, arrival: a } if *d == door && *a == arrival),
        "{error:?}"
    );
}

fn assert_one_refusal_audited(request_id: &str, door: &str, kind: &str, forged_caller: Option<&str>) {
    let lines = audit_lines(request_id);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let fields = &lines[0]["fields"];
    assert_eq!(fields["outcome"], "refused");
    assert_eq!(fields["door"], door);
    assert_eq!(fields["event_kind"], kind);
    assert_eq!(lines[0]["level"], "WARN");
    if let Some(caller) = forged_caller {
        assert!(
            !lines[0].to_string().contains(caller),
            "the event's body, its caller included, is never logged"
        );
    }
}

#[tokio::test]
async fn a_forged_scheduled_regenerate_through_the_event_door_is_refused_before_graph_or_secrets_manager() {
    let world = world_at("events").await;
    let before = door_refusals();

    // What a schedule with events/regenerate.json as its input delivers: the JSON as it is.
    let (error, request_id) = invoke_refused(&world, &events_json("regenerate.json")).await;

    assert_refused_at(&error, "events", "http-request");
    assert_nothing_upstream_was_touched(&world);
    assert_one_refusal_audited(&request_id, "events", "http-request", Some("security-engineer"));
    assert!(door_refusals() > before, "one DoorRefusals metric");
    assert_eq!(
        lambda_http::lambda_runtime::Diagnostic::from(error).error_type,
        "WrongDoor"
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn every_http_request_of_events_is_refused_at_the_event_door() {
    let world = world_at("events").await;
    for name in ["get-key.json", "activate-sensors.json", "set-activation-mode.json"] {
        let (error, request_id) = invoke_refused(&world, &events_json(name)).await;
        assert_refused_at(&error, "events", "http-request");
        assert_one_refusal_audited(&request_id, "events", "http-request", None);
    }
    // No door serves REST API events (lambda_http is built without them, issue 22): one reads as an
    // HTTP request whose context nothing could parse, refused at every door.
    let (error, request_id) = invoke_refused(&world, &events_json("get-key-rest.json")).await;
    assert_refused_at(&error, "events", "http-request-without-context");
    assert_one_refusal_audited(&request_id, "events", "http-request-without-context", None);
    assert_nothing_upstream_was_touched(&world);
}

#[tokio::test]
async fn a_rotation_step_or_a_schedule_through_the_http_door_is_refused_before_graph_or_secrets_manager() {
    let world = world_at("http").await;
    let before = door_refusals();

    for name in [
        "rotation-create-secret.json",
        "rotation-finish-secret.json",
        "scheduler-rotate.json",
        "schedule.json",
    ] {
        let (error, request_id) = invoke_refused(&world, &events_json(name)).await;
        assert_refused_at(&error, "http", "event");
        assert_one_refusal_audited(&request_id, "http", "event", None);
    }

    assert_nothing_upstream_was_touched(&world);
    assert!(door_refusals() >= before + 4, "one DoorRefusals metric each");
}

#[tokio::test]
async fn an_http_looking_event_without_a_request_context_is_refused_at_either_door() {
    // Only a direct invoke sends one: AWS always writes the request context.
    let mut event: Value = serde_json::from_str(&events_json("regenerate.json")).unwrap();
    event.as_object_mut().unwrap().remove("requestContext");
    for door in ["events", "http"] {
        let world = world_at(door).await;
        let before = door_refusals();

        let (error, request_id) = invoke_refused(&world, &event.to_string()).await;

        assert_refused_at(&error, door, "http-request-without-context");
        assert_one_refusal_audited(
            &request_id,
            door,
            "http-request-without-context",
            Some("security-engineer"),
        );
        assert_nothing_upstream_was_touched(&world);
        assert!(door_refusals() > before);
    }
}

#[tokio::test]
async fn an_unset_or_unknown_door_refuses_every_invocation() {
    for door in ["", "both", "HTTP"] {
        let world = world_at(door).await;
        let (error, _) = invoke_refused(&world, &events_json("get-key.json")).await;
        assert_refused_at(&error, "none", "http-request");
        let (error, _) = invoke_refused(&world, &events_json("scheduler-rotate.json")).await;
        assert_refused_at(&error, "none", "event");
        assert_nothing_upstream_was_touched(&world);
    }
}

#[tokio::test]
async fn each_door_serves_its_own_kind() {
    let http = world_at("http").await;
    let reply = call(&http.app, event("get-key.json")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);

    let events = world_at("events").await;
    let summary = invoke_event(&events.app, &events_json("scheduler-rotate.json"))
        .await
        .expect("the event door serves a rotation");
    assert!(summary.get("outcome").is_some(), "{summary}");
    http.assert_no_leaks();
}

#[tokio::test]
async fn local_tools_get_both_kinds_through_one_process() {
    let world = world_at("local").await;
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    invoke_event(&world.app, &events_json("scheduler-rotate.json"))
        .await
        .expect("local serves events too");
}
