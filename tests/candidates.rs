//! Sensor candidates and their activation end to end: real events through the real handler,
//! against the simulator's `sensorCandidates`, `sensorCandidates/activate` and
//! `sensorCandidateActivationConfiguration`, in the clouds and versions whose schema publishes
//! them and in the one that does not (v1.0 in the US Government clouds).

mod common;

use std::time::Duration;

use common::*;
use graph_sim::{
    ActivationUpdate, Endpoint, Fault, READ_ROLE, REQUIRED_ROLE, SimCandidate, SimCloud, SimConfig, UnknownServerIds,
};
use lambda_http::Request;
use serde_json::{Value, json};

/// A request from `caller` (the readers' role session unless said otherwise).
fn request(method: &str, path: &str, body: Option<&str>, caller: Option<&str>) -> Request {
    let mut event: Value = serde_json::from_str(&events_json("get-key.json")).expect("event is JSON");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    if let Some(body) = body {
        event["body"] = body.into();
    }
    if let Some(caller) = caller {
        event["requestContext"]["authorizer"]["iam"]["userArn"] = caller.into();
    }
    request_from_json(&event.to_string(), Duration::from_secs(30))
}

/// A world whose activators are the readers' role too (its events' caller), unless `activators`.
async fn activation_world(cloud: SimCloud, version: &str, activators: bool) -> World {
    let mut extra_env = vec![
        ("GRAPH_API_VERSION", version.to_owned()),
        (
            "GRAPH_CLOUD",
            match cloud {
                SimCloud::UsGov => "usgov",
                _ => "global",
            }
            .to_owned(),
        ),
    ];
    if activators {
        extra_env.push(("SENSOR_ACTIVATORS", READER_ROLE.to_owned()));
    }
    world(Setup {
        sim: SimConfig::in_cloud(cloud),
        extra_env,
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn a_reader_lists_every_page_of_candidates_and_reads_the_activation_mode() {
    let world = activation_world(SimCloud::Global, "v1.0", false).await;
    world.sim.set_sensor_candidate_page_size(2);
    world.sim.set_sensor_candidates(vec![
        SimCandidate::new("dc5.contoso.com"),
        SimCandidate::new("dc6.contoso.com"),
        SimCandidate::new("dc7.fabrikam.com"),
    ]);

    let list = call(&world.app, request("GET", "/sensor-candidates", None, None)).await;
    let mode = call(
        &world.app,
        request("GET", "/sensor-candidates/activation-mode", None, None),
    )
    .await;

    assert_eq!(list.status, 200, "{}", list.json);
    let names: Vec<&str> = list.json["sensorCandidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|candidate| candidate["computerDnsName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dc5.contoso.com", "dc6.contoso.com", "dc7.fabrikam.com"]);
    assert_eq!(list.json["sensorCandidates"][2]["domainName"], "fabrikam.com");
    assert_eq!(world.sim.calls(Endpoint::ListSensorCandidates), 2);
    assert_eq!(mode.status, 200);
    assert_eq!(mode.json, json!({"activationMode": "manual"}));
    world.assert_no_leaks();
}

#[tokio::test]
async fn an_activator_activates_candidates_and_each_server_is_accepted_as_graph_accepted_the_request() {
    let world = activation_world(SimCloud::Global, "v1.0", true).await;
    let dc5 = SimCandidate::new("dc5.contoso.com");
    let dc6 = SimCandidate::new("dc6.contoso.com");
    world.sim.set_sensor_candidates(vec![dc5.clone(), dc6.clone()]);
    let body = json!({"serverIds": [dc5.id]}).to_string();

    let reply = call(
        &world.app,
        request("POST", "/sensor-candidates/activate", Some(&body), None),
    )
    .await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(
        reply.json,
        json!({"servers": [{"serverId": dc5.id, "outcome": "accepted"}]})
    );
    assert_eq!(world.sim.activations(), [vec![dc5.id.clone()]]);
    assert_eq!(world.sim.sensor_candidates(), [dc6], "the activated one left the list");
    let verdict = call(
        &world.app,
        request("GET", "/sensors/dc5.contoso.com/verdict", None, None),
    )
    .await;
    assert_eq!(
        verdict.json["verdict"], "installing",
        "the simulator's model: a sensor appears, onboarding"
    );
    let logs = captured_logs();
    let line = logs
        .lines()
        .filter(|line| line.contains("\"target\":\"audit\"") && line.contains("\"operation\":\"activate-sensors\""))
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|line| line["fields"]["caller"] == READER && line["fields"]["outcome"] == "ok")
        .expect("an audit line for the activation");
    assert!(
        !line["fields"]["graph_request_id"].as_str().unwrap().is_empty(),
        "{line}"
    );
}

#[tokio::test]
async fn an_activations_audit_line_names_the_server_ids_it_activates_and_a_mode_change_the_mode_it_sets() {
    // A caller of this test's own, so that its audit lines are told from other tests'.
    const ACTIVATOR: &str = "arn:aws:iam::123456789012:user/audited-activator";
    let world = world(Setup {
        extra_env: vec![("SENSOR_ACTIVATORS", ACTIVATOR.to_owned())],
        ..Setup::default()
    })
    .await;
    let (dc5, dc6) = (
        SimCandidate::new("dc5.contoso.com"),
        SimCandidate::new("dc6.contoso.com"),
    );
    world.sim.set_sensor_candidates(vec![dc5.clone(), dc6.clone()]);
    let body = json!({"serverIds": [dc5.id, dc6.id]}).to_string();

    let activated = call(
        &world.app,
        request("POST", "/sensor-candidates/activate", Some(&body), Some(ACTIVATOR)),
    )
    .await;
    let mode = call(
        &world.app,
        request(
            "PUT",
            "/sensor-candidates/activation-mode",
            Some(r#"{"activationMode":"automated"}"#),
            Some(ACTIVATOR),
        ),
    )
    .await;

    assert_eq!(activated.status, 200, "{}", activated.json);
    assert_eq!(mode.status, 200, "{}", mode.json);
    let logs = captured_logs();
    let line_of = |operation: &str| -> Value {
        logs.lines()
            .filter(|line| line.contains("\"target\":\"audit\"") && line.contains(ACTIVATOR))
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .find(|line| line["fields"]["operation"] == operation)
            .unwrap_or_else(|| panic!("an audit line for {operation}"))
    };
    let activation = line_of("activate-sensors");
    assert_eq!(activation["fields"]["outcome"], "ok", "{activation}");
    assert_eq!(
        activation["fields"]["server_ids"],
        format!("{},{}", dc5.id, dc6.id),
        "{activation}"
    );
    let change = line_of("set-activation-mode");
    assert_eq!(change["fields"]["outcome"], "ok", "{change}");
    assert_eq!(change["fields"]["activation_mode"], "automated", "{change}");
}

#[tokio::test]
async fn an_activator_sets_the_activation_mode_with_post_on_the_singular_path_as_the_permission_map_lists() {
    let world = activation_world(SimCloud::Global, "v1.0", true).await;

    let reply = call(
        &world.app,
        request(
            "PUT",
            "/sensor-candidates/activation-mode",
            Some(r#"{"activationMode":"automated"}"#),
            None,
        ),
    )
    .await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json, json!({"activationMode": "automated"}));
    assert_eq!(world.sim.activation_mode(), "automated");
    let sent = world
        .sim
        .requests()
        .into_iter()
        .find(|request| request.endpoint == Some(Endpoint::ActivationConfiguration))
        .expect("the update reached Graph");
    assert_eq!(sent.method, "POST");
    assert!(
        sent.path
            .ends_with("/security/identities/sensorCandidateActivationConfiguration")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&sent.body).unwrap()["activationMode"],
        "automated"
    );
}

#[tokio::test]
async fn the_writes_are_for_activators_only_readers_and_rotators_are_refused_before_graph() {
    let world = activation_world(SimCloud::Global, "v1.0", false).await;
    world
        .sim
        .set_sensor_candidates(vec![SimCandidate::new("dc5.contoso.com")]);
    let body = r#"{"serverIds":["abc"]}"#;
    for caller in [None, Some(ROTATOR)] {
        let activate = call(
            &world.app,
            request("POST", "/sensor-candidates/activate", Some(body), caller),
        )
        .await;
        assert_eq!(activate.status, 403, "{caller:?}");
        assert!(activate.json["detail"].as_str().unwrap().contains("activate-sensors"));
        let mode = call(
            &world.app,
            request(
                "PUT",
                "/sensor-candidates/activation-mode",
                Some(r#"{"activationMode":"manual"}"#),
                caller,
            ),
        )
        .await;
        assert_eq!(mode.status, 403, "{caller:?}");
    }
    assert_eq!(world.sim.calls(Endpoint::ActivateSensors), 0);
    assert_eq!(world.sim.calls(Endpoint::ActivationConfiguration), 0);
}

#[tokio::test]
async fn bad_bodies_are_refused_before_graph_and_the_reads_still_refuse_any_body() {
    let world = activation_world(SimCloud::Global, "v1.0", true).await;
    let many: Vec<String> = (0..101).map(|n| format!("id{n}")).collect();
    for body in [
        String::new(),
        "{}".to_owned(),
        r#"{"serverIds":[]}"#.to_owned(),
        r#"{"serverIds":["a b"]}"#.to_owned(),
        r#"{"serverIds":["abc","ABC"]}"#.to_owned(),
        r#"{"serverIds":["abc"],"force":true}"#.to_owned(),
        json!({ "serverIds": many }).to_string(),
        "[".to_owned(),
    ] {
        let reply = call(
            &world.app,
            request("POST", "/sensor-candidates/activate", Some(&body), None),
        )
        .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.json);
        assert!(
            !reply.json["detail"].as_str().unwrap().contains("a b"),
            "the input is never quoted"
        );
    }
    for body in [
        r#"{"activationMode":"Automated"}"#,
        r#"{"activationMode":"unknownFutureValue"}"#,
        r#"{"mode":"manual"}"#,
    ] {
        let reply = call(
            &world.app,
            request("PUT", "/sensor-candidates/activation-mode", Some(body), None),
        )
        .await;
        assert_eq!(reply.status, 400, "{body}");
    }
    let read_with_body = call(
        &world.app,
        request("GET", "/sensor-candidates", Some(r#"{"serverIds":["abc"]}"#), None),
    )
    .await;
    assert_eq!(read_with_body.status, 400);
    for (method, path) in [
        ("GET", "/sensor-candidates/activate"),
        ("DELETE", "/sensor-candidates/activation-mode"),
        ("POST", "/sensor-candidates"),
    ] {
        assert_eq!(
            call(&world.app, request(method, path, None, None)).await.status,
            405,
            "{method} {path}"
        );
    }
    assert_eq!(world.sim.calls(Endpoint::ActivateSensors), 0);
    assert_eq!(world.sim.calls(Endpoint::ActivationConfiguration), 0);
}

#[tokio::test]
async fn in_the_us_government_clouds_v1_0_has_no_candidates_and_each_route_says_not_available_in_cloud() {
    let world = activation_world(SimCloud::UsGov, "v1.0", true).await;
    world
        .sim
        .set_sensor_candidates(vec![SimCandidate::new("dc5.contoso.com")]);
    for (method, path, body) in [
        ("GET", "/sensor-candidates", None),
        ("GET", "/sensor-candidates/activation-mode", None),
        ("POST", "/sensor-candidates/activate", Some(r#"{"serverIds":["abc"]}"#)),
        (
            "PUT",
            "/sensor-candidates/activation-mode",
            Some(r#"{"activationMode":"manual"}"#),
        ),
    ] {
        let reply = call(&world.app, request(method, path, body, None)).await;
        assert_eq!(reply.status, 502, "{method} {path}: {}", reply.json);
        assert!(
            reply.json["type"].as_str().unwrap().ends_with("not-available-in-cloud"),
            "{method} {path}: {}",
            reply.json
        );
    }
}

#[tokio::test]
async fn in_the_us_government_clouds_beta_serves_candidates_without_a_domain_name() {
    let world = activation_world(SimCloud::UsGov, "beta", true).await;
    world
        .sim
        .set_sensor_candidates(vec![SimCandidate::new("dc5.contoso.com")]);

    let list = call(&world.app, request("GET", "/sensor-candidates", None, None)).await;

    assert_eq!(list.status, 200, "{}", list.json);
    assert_eq!(list.json["sensorCandidates"][0]["computerDnsName"], "dc5.contoso.com");
    assert_eq!(
        list.json["sensorCandidates"][0]["domainName"],
        Value::Null,
        "beta Fairfax publishes none"
    );
}

#[tokio::test]
async fn the_writes_need_read_write_all_and_say_so_and_faults_are_clear_problems() {
    let world = activation_world(SimCloud::Global, "v1.0", true).await;
    world.sim.set_roles(vec![READ_ROLE.to_owned()]);
    let list = call(&world.app, request("GET", "/sensor-candidates", None, None)).await;
    assert_eq!(list.status, 200, "Read.All is enough to read");
    let activate = call(
        &world.app,
        request(
            "POST",
            "/sensor-candidates/activate",
            Some(r#"{"serverIds":["abc"]}"#),
            None,
        ),
    )
    .await;
    assert_eq!(activate.status, 502);
    assert!(
        activate.json["detail"].as_str().unwrap().contains(REQUIRED_ROLE),
        "{}",
        activate.json
    );

    world.sim.set_roles(vec![REQUIRED_ROLE.to_owned()]);
    world.sim.inject(Endpoint::ActivateSensors, Fault::Status(400));
    let rejected = call(
        &world.app,
        request(
            "POST",
            "/sensor-candidates/activate",
            Some(r#"{"serverIds":["abc"]}"#),
            None,
        ),
    )
    .await;
    assert_eq!(rejected.status, 502);
    assert!(
        rejected.json["type"].as_str().unwrap().ends_with("upstream-rejected"),
        "{}",
        rejected.json
    );
    world.sim.inject(Endpoint::ListSensorCandidates, Fault::UnexpectedShape);
    let unreadable = call(&world.app, request("GET", "/sensor-candidates", None, None)).await;
    assert!(
        unreadable.json["type"]
            .as_str()
            .unwrap()
            .ends_with("upstream-bad-response")
    );
    world
        .sim
        .inject(Endpoint::ActivationConfiguration, Fault::MalformedBody);
    let mode = call(
        &world.app,
        request("GET", "/sensor-candidates/activation-mode", None, None),
    )
    .await;
    assert!(
        mode.json["type"].as_str().unwrap().ends_with("upstream-bad-response"),
        "{}",
        mode.json
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn no_new_route_leaks_the_key_the_client_secret_or_a_token_in_success_or_failure() {
    let world = activation_world(SimCloud::Global, "v1.0", true).await;
    world.sim.set_key("LEAK-CANARY-KEY-5f0c9d2e7a1b4c3d8e6f0a9b8c7d6e5f");
    world
        .sim
        .set_sensor_candidates(vec![SimCandidate::new("dc5.contoso.com")]);
    world
        .sim
        .set_health_issues(vec![graph_sim::SimHealthIssue::open_on("dc1.contoso.com")]);
    world
        .sim
        .set_sensors(vec![graph_sim::SimSensor::healthy("DC1", "contoso.com").with_status(
            "disconnected",
            "stopped",
            "notHealthyHigh",
        )]);
    let routes: [(&str, &str, Option<&str>, Endpoint); 6] = [
        ("GET", "/sensor-candidates", None, Endpoint::ListSensorCandidates),
        (
            "GET",
            "/sensor-candidates/activation-mode",
            None,
            Endpoint::ActivationConfiguration,
        ),
        (
            "PUT",
            "/sensor-candidates/activation-mode",
            Some(r#"{"activationMode":"manual"}"#),
            Endpoint::ActivationConfiguration,
        ),
        (
            "POST",
            "/sensor-candidates/activate",
            Some(r#"{"serverIds":["abc"]}"#),
            Endpoint::ActivateSensors,
        ),
        ("GET", "/sensors/DC1/health-issues", None, Endpoint::ListHealthIssues),
        ("GET", "/sensors/DC1/verdict", None, Endpoint::ListHealthIssues),
    ];
    let mut exposed = Vec::new();
    for (method, path, body, endpoint) in routes {
        let ok = call(&world.app, request(method, path, body, None)).await;
        assert_eq!(ok.status, 200, "{method} {path}: {}", ok.json);
        exposed.push(ok.json.to_string());
        // 401 and 403 are tried once more with a fresh token, so they are injected twice.
        for (fault, times) in [
            (Fault::TokenRevoked, 2),
            (
                Fault::Forbidden {
                    message: "Missing application roles".into(),
                },
                2,
            ),
            (Fault::MalformedBody, 1),
            (Fault::HtmlErrorPage(502), 1),
        ] {
            for _ in 0..times {
                world.sim.inject(endpoint, fault.clone());
            }
            exposed.push(
                call(&world.app, request(method, path, body, None))
                    .await
                    .json
                    .to_string(),
            );
        }
    }
    let key = world.sim.current_key();
    for text in &exposed {
        assert!(!text.contains(&key) && !text.contains(CLIENT_SECRET), "{text}");
    }
    world.assert_no_leaks();
}

fn set_mode(mode: &str) -> Request {
    let body = format!(r#"{{"activationMode":"{mode}"}}"#);
    request("PUT", "/sensor-candidates/activation-mode", Some(&body), None)
}

/// The methods of the requests that reached the activation configuration, oldest first.
fn configuration_methods(world: &World) -> Vec<String> {
    world
        .sim
        .requests()
        .into_iter()
        .filter(|request| request.endpoint == Some(Endpoint::ActivationConfiguration))
        .map(|request| request.method)
        .collect()
}

#[tokio::test]
async fn the_activation_mode_is_set_against_a_graph_that_takes_only_post_on_the_singular_path() {
    // The permission map's reading: POST /security/identities/sensorCandidateActivationConfiguration.
    let world = activation_world(SimCloud::Global, "v1.0", true).await;
    world.sim.set_activation_update(ActivationUpdate::PostOnly);

    let reply = call(&world.app, set_mode("automated")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json, json!({"activationMode": "automated"}));
    assert_eq!(world.sim.activation_mode(), "automated");
    assert_eq!(configuration_methods(&world), ["POST"]);
}

#[tokio::test]
async fn the_activation_mode_is_set_against_a_graph_that_takes_only_patch_with_one_retry_after_its_405() {
    // The CSDL's and the SDKs' reading: PATCH on the single-valued navigation property.
    let world = activation_world(SimCloud::Global, "beta", true).await;
    world.sim.set_activation_update(ActivationUpdate::PatchOnly);

    let reply = call(&world.app, set_mode("automated")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(world.sim.activation_mode(), "automated");
    assert_eq!(
        configuration_methods(&world),
        ["POST", "PATCH"],
        "one retry, with the other verb"
    );
    let sent = world
        .sim
        .requests()
        .into_iter()
        .rfind(|request| request.endpoint == Some(Endpoint::ActivationConfiguration))
        .unwrap();
    assert!(
        sent.path
            .ends_with("/security/identities/sensorCandidateActivationConfiguration")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&sent.body).unwrap()["activationMode"],
        "automated"
    );
}

#[tokio::test]
async fn the_activation_mode_is_set_with_one_request_against_a_graph_that_takes_both_verbs() {
    let world = activation_world(SimCloud::UsGov, "beta", true).await;
    world.sim.set_activation_update(ActivationUpdate::Both);

    let reply = call(&world.app, set_mode("manual")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(configuration_methods(&world), ["POST"]);
}

#[tokio::test]
async fn a_201_or_204_answer_to_the_update_is_success_and_a_second_405_is_a_rejection() {
    let world = activation_world(SimCloud::Global, "v1.0", true).await;
    world.sim.set_activation_update(ActivationUpdate::PostOnly);
    for status in [201, 204] {
        world
            .sim
            .inject(Endpoint::ActivationConfiguration, Fault::Status(status));

        let reply = call(&world.app, set_mode("automated")).await;

        assert_eq!(reply.status, 200, "{status}: {}", reply.json);
    }
    for _ in 0..2 {
        world.sim.inject(Endpoint::ActivationConfiguration, Fault::Status(405));
    }
    let refused = call(&world.app, set_mode("automated")).await;
    assert_eq!(refused.status, 502, "{}", refused.json);
    assert!(
        refused.json["type"].as_str().unwrap().ends_with("upstream-rejected"),
        "{}",
        refused.json
    );
}

#[tokio::test]
async fn in_the_us_government_clouds_a_stale_server_id_is_a_rejection_not_an_api_that_is_missing() {
    let world = activation_world(SimCloud::UsGov, "beta", true).await;
    world
        .sim
        .set_sensor_candidates(vec![SimCandidate::new("dc5.contoso.com")]);
    for answer in [UnknownServerIds::BadRequest, UnknownServerIds::NotFound] {
        world.sim.set_unknown_server_ids(answer);

        let reply = call(
            &world.app,
            request(
                "POST",
                "/sensor-candidates/activate",
                Some(r#"{"serverIds":["0000000000000000000000000000000000000000"]}"#),
                None,
            ),
        )
        .await;

        assert_eq!(reply.status, 502, "{answer:?}: {}", reply.json);
        assert!(
            reply.json["type"].as_str().unwrap().ends_with("upstream-rejected"),
            "{answer:?}: {}",
            reply.json
        );
    }
}

#[tokio::test]
async fn graphs_own_word_that_a_segment_does_not_exist_is_not_available_in_any_cloud() {
    for (cloud, name) in [(SimCloud::UsGov, "usgov"), (SimCloud::Global, "global")] {
        let world = activation_world(cloud, "beta", true).await;
        world.sim.inject(Endpoint::ListSensorCandidates, Fault::UnknownSegment);

        let reply = call(&world.app, request("GET", "/sensor-candidates", None, None)).await;

        assert_eq!(reply.status, 502, "{name}: {}", reply.json);
        assert!(
            reply.json["type"].as_str().unwrap().ends_with("not-available-in-cloud"),
            "{name}: {}",
            reply.json
        );
        assert!(
            reply.json["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("not available in the {name} cloud")),
            "{}",
            reply.json
        );
        world.sim.inject(Endpoint::ListSensorCandidates, Fault::Status(400));
        let plain = call(&world.app, request("GET", "/sensor-candidates", None, None)).await;
        assert!(
            plain.json["type"].as_str().unwrap().ends_with("upstream-rejected"),
            "{name}: a 400 alone says nothing of the API: {}",
            plain.json
        );
    }
}

#[tokio::test]
async fn an_app_holding_read_write_all_reads_candidates_and_a_refusal_then_is_not_blamed_on_read_all() {
    // The permission map accepts ReadWrite.All for the candidates and the activation mode.
    let world = activation_world(SimCloud::Global, "v1.0", true).await;
    world.sim.set_roles(vec![REQUIRED_ROLE.to_owned()]);
    let list = call(&world.app, request("GET", "/sensor-candidates", None, None)).await;
    assert_eq!(list.status, 200, "{}", list.json);

    for _ in 0..2 {
        world.sim.inject(
            Endpoint::ActivationConfiguration,
            Fault::Forbidden {
                message: "Missing application roles".into(),
            },
        );
    }
    let refused = call(
        &world.app,
        request("GET", "/sensor-candidates/activation-mode", None, None),
    )
    .await;

    assert_eq!(refused.status, 502);
    let detail = refused.json["detail"].as_str().unwrap();
    assert!(!detail.contains("lacks the application permission"), "{detail}");
    assert!(detail.contains("carries the required permission"), "{detail}");
}
