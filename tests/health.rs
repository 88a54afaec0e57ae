//! Health issues end to end: real events through the real handler, against the simulator's
//! `GET /security/identities/healthIssues` (paged, held to its own permission): the
//! `/sensors/{host}/health-issues` route, and the explanation an `unhealthy` verdict carries.

mod common;

use std::time::Duration;

use common::*;
use graph_sim::{
    Endpoint, Fault, HEALTH_READ_ROLE, HEALTH_READ_WRITE_ROLE, READ_ROLE, SimCloud, SimConfig, SimHealthIssue,
    SimSensor, SimSensorType,
};
use lambda_http::Request;
use serde_json::Value;

fn get(path: &str) -> Request {
    let mut event: Value = serde_json::from_str(&events_json("get-key.json")).expect("event is JSON");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["path"] = path.into();
    request_from_json(&event.to_string(), Duration::from_secs(30))
}

fn unhealthy_dc1() -> SimSensor {
    SimSensor::healthy("DC1", "contoso.com").with_status("disconnected", "stopped", "notHealthyHigh")
}

#[tokio::test]
async fn the_health_issues_route_lists_every_page_of_the_issues_that_name_the_host() {
    let world = world(Setup::default()).await;
    world.sim.set_health_issue_page_size(2);
    world.sim.set_health_issues(vec![
        SimHealthIssue::open_on("dc1.contoso.com"),
        SimHealthIssue::open_on("dc2.contoso.com"),
        SimHealthIssue::open_on("dc1.contoso.com").with("closed", "low"),
        SimHealthIssue::open_on("dc3.contoso.com"),
        SimHealthIssue::open_on("DC1.contoso.com").with("suppressed", "medium"),
    ]);

    let reply = call(&world.app, event("get-sensor-health-issues.json")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["displayName"], "DC1.contoso.com");
    let statuses: Vec<&str> = reply.json["healthIssues"]
        .as_array()
        .expect("an array")
        .iter()
        .map(|issue| issue["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["open", "closed", "suppressed"],
        "Graph's order, every status, three pages read"
    );
    assert_eq!(world.sim.calls(Endpoint::ListHealthIssues), 3);
    let first = &reply.json["healthIssues"][0];
    assert_eq!(first["severity"], "high");
    assert_eq!(first["sensorDNSNames"], serde_json::json!(["dc1.contoso.com"]));
    assert!(first["recommendations"][0].is_string() && first["recommendedActionCommands"][0].is_string());
    world.assert_no_leaks();
}

#[tokio::test]
async fn an_unhealthy_verdict_carries_the_open_issues_titles_severities_and_recommendations() {
    let world = world(Setup::default()).await;
    world
        .sim
        .set_sensors(vec![unhealthy_dc1(), SimSensor::healthy("DC2", "contoso.com")]);
    world.sim.set_health_issues(vec![
        SimHealthIssue::open_on("dc1.contoso.com"),
        SimHealthIssue::open_on("dc1.contoso.com").with("closed", "low"),
        SimHealthIssue::open_on("dc2.contoso.com"),
    ]);

    let reply = call(&world.app, event("get-sensor-verdict.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["verdict"], "unhealthy");
    assert_eq!(
        reply.json["healthIssues"],
        serde_json::json!([{
            "displayName": "Sensor stopped communicating",
            "severity": "high",
            "recommendations": ["Check that the sensor service is running and can reach the cloud service."],
        }])
    );
    let healthy = call(&world.app, get("/sensors/DC2/verdict")).await;
    assert_eq!(healthy.json["verdict"], "healthy");
    assert!(healthy.json.get("healthIssues").is_none(), "{}", healthy.json);
    assert_eq!(
        world.sim.calls(Endpoint::ListHealthIssues),
        1,
        "only the unhealthy verdict read them"
    );
}

#[tokio::test]
async fn without_the_health_permission_the_verdict_answers_and_names_it_and_the_route_is_502() {
    let world = world(Setup::default()).await;
    world.sim.set_roles(vec![READ_ROLE.to_owned()]);
    world.sim.set_sensors(vec![unhealthy_dc1()]);
    world
        .sim
        .set_health_issues(vec![SimHealthIssue::open_on("dc1.contoso.com")]);

    let verdict = call(&world.app, event("get-sensor-verdict.json")).await;

    assert_eq!(verdict.status, 200);
    assert_eq!(verdict.json["verdict"], "unhealthy");
    let said = verdict.json["healthIssuesUnavailable"]
        .as_str()
        .expect("an explanation of the gap");
    assert!(said.contains(HEALTH_READ_ROLE), "{said}");
    let route = call(&world.app, event("get-sensor-health-issues.json")).await;
    assert_eq!(route.status, 502);
    assert!(route.json["type"].as_str().unwrap().ends_with("graph-forbidden"));
    assert!(
        route.json["detail"].as_str().unwrap().contains(HEALTH_READ_ROLE),
        "{}",
        route.json
    );
}

#[tokio::test]
async fn a_failing_health_read_leaves_the_verdict_standing_and_the_route_says_the_upstream_failed() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![unhealthy_dc1()]);
    for _ in 0..8 {
        world.sim.inject(Endpoint::ListHealthIssues, Fault::Status(503));
    }

    let verdict = call(&world.app, event("get-sensor-verdict.json")).await;
    assert_eq!(verdict.status, 200);
    assert_eq!(verdict.json["verdict"], "unhealthy");
    assert!(
        verdict.json["healthIssuesUnavailable"]
            .as_str()
            .unwrap()
            .starts_with("the health issues could not be read"),
        "{}",
        verdict.json
    );
    world.sim.reset();
    for fault in [Fault::MalformedBody, Fault::UnexpectedShape, Fault::TruncatedBody] {
        world.sim.inject(Endpoint::ListHealthIssues, fault.clone());
        let route = call(&world.app, event("get-sensor-health-issues.json")).await;
        assert_eq!(route.status, 502, "{fault:?}");
        assert!(
            route.json["type"].as_str().unwrap().ends_with("upstream-bad-response"),
            "{fault:?}: {}",
            route.json
        );
    }
}

#[tokio::test]
async fn the_route_is_for_readers_takes_only_get_and_refuses_bad_host_names_before_graph() {
    let world = world(Setup::default()).await;
    let mut refused: Value = serde_json::from_str(&events_json("get-key-refused.json")).unwrap();
    refused["rawPath"] = "/sensors/DC1/health-issues".into();
    refused["requestContext"]["http"]["path"] = "/sensors/DC1/health-issues".into();
    let reply = call(
        &world.app,
        request_from_json(&refused.to_string(), Duration::from_secs(30)),
    )
    .await;
    assert_eq!(reply.status, 403);
    for path in [
        "/sensors/dc%201/health-issues",
        "/sensors/dc_1/health-issues",
        "/sensors/%zz/health-issues",
    ] {
        assert_eq!(call(&world.app, get(path)).await.status, 400, "{path}");
    }
    let mut post: Value = serde_json::from_str(&events_json("get-sensor-health-issues.json")).unwrap();
    post["requestContext"]["http"]["method"] = "POST".into();
    let reply = call(
        &world.app,
        request_from_json(&post.to_string(), Duration::from_secs(30)),
    )
    .await;
    assert_eq!(reply.status, 405);
    assert_eq!(world.sim.calls(Endpoint::ListHealthIssues), 0);
}

#[tokio::test]
async fn the_us_government_clouds_serve_health_issues_and_explain_unhealthy_sensors() {
    // healthIssues is in the v1.0 Fairfax schema (tests/contract), unlike the sensor candidates.
    let world = world(Setup {
        sim: SimConfig::in_cloud(SimCloud::UsGov),
        extra_env: vec![("GRAPH_CLOUD", "usgov".to_owned())],
        ..Setup::default()
    })
    .await;
    world.sim.set_sensors(vec![unhealthy_dc1()]);
    world
        .sim
        .set_health_issues(vec![SimHealthIssue::open_on("dc1.contoso.com")]);

    let verdict = call(&world.app, event("get-sensor-verdict.json")).await;

    assert_eq!(verdict.status, 200, "{}", verdict.json);
    assert_eq!(verdict.json["healthIssues"][0]["severity"], "high");
}

#[tokio::test]
async fn the_verdict_asks_graph_for_the_open_issues_only_with_the_filter_the_api_page_documents() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![unhealthy_dc1()]);
    world.sim.set_health_issue_page_size(1);
    let mut issues: Vec<SimHealthIssue> = (0..20)
        .map(|_| SimHealthIssue::open_on("dc1.contoso.com").with("closed", "low"))
        .collect();
    issues.push(SimHealthIssue::open_on("dc1.contoso.com"));
    world.sim.set_health_issues(issues);

    let verdict = call(&world.app, event("get-sensor-verdict.json")).await;

    assert_eq!(verdict.json["verdict"], "unhealthy");
    assert_eq!(verdict.json["healthIssues"].as_array().unwrap().len(), 1);
    assert_eq!(
        world.sim.calls(Endpoint::ListHealthIssues),
        1,
        "one page of open issues, not 21 pages of every issue"
    );
    let asked = world
        .sim
        .requests()
        .into_iter()
        .find(|request| request.endpoint == Some(Endpoint::ListHealthIssues))
        .unwrap();
    let query: Vec<(String, String)> = url::form_urlencoded::parse(asked.query.as_deref().unwrap().as_bytes())
        .into_owned()
        .collect();
    assert_eq!(query, [("$filter".to_owned(), "status eq 'open'".to_owned())]);
    let route = call(&world.app, event("get-sensor-health-issues.json")).await;
    assert_eq!(
        route.json["healthIssues"].as_array().unwrap().len(),
        21,
        "the route lists every status, unfiltered"
    );
}

#[tokio::test]
async fn an_app_holding_health_read_write_all_refused_for_another_reason_is_not_told_to_grant_read_all() {
    // The permission map accepts SecurityIdentitiesHealth.ReadWrite.All for the health issues.
    let world = world(Setup::default()).await;
    world
        .sim
        .set_roles(vec![READ_ROLE.to_owned(), HEALTH_READ_WRITE_ROLE.to_owned()]);
    world.sim.set_sensors(vec![unhealthy_dc1()]);
    world
        .sim
        .set_health_issues(vec![SimHealthIssue::open_on("dc1.contoso.com")]);
    let explained = call(&world.app, event("get-sensor-verdict.json")).await;
    assert_eq!(
        explained.json["healthIssues"].as_array().unwrap().len(),
        1,
        "{}",
        explained.json
    );

    for _ in 0..2 {
        world.sim.inject(
            Endpoint::ListHealthIssues,
            Fault::Forbidden {
                message: "Missing application roles".into(),
            },
        );
    }
    let verdict = call(&world.app, event("get-sensor-verdict.json")).await;

    let said = verdict.json["healthIssuesUnavailable"].as_str().unwrap();
    assert!(!said.contains(HEALTH_READ_ROLE), "{said}");
    assert!(!said.contains("lacks the application permission"), "{said}");
}

#[tokio::test]
async fn an_ad_fs_sensors_explanation_carries_its_own_issues_never_those_of_the_domain_controllers_it_lists() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![
        SimSensor::of_type(SimSensorType::Adfs, "ADFS1", "contoso.com", &["dc1.contoso.com"]).with_status(
            "disconnected",
            "stopped",
            "notHealthyHigh",
        ),
        unhealthy_dc1(),
    ]);
    world.sim.set_health_issues(vec![
        SimHealthIssue::open_on("dc1.contoso.com").with("open", "high"),
        SimHealthIssue::open_on("adfs1.contoso.com").with("open", "medium"),
    ]);

    let adfs1 = call(&world.app, get("/sensors/adfs1.contoso.com/verdict")).await;
    let dc1 = call(&world.app, get("/sensors/dc1.contoso.com/verdict")).await;

    assert_eq!(adfs1.json["verdict"], "unhealthy", "{}", adfs1.json);
    let severities = |reply: &Reply| -> Vec<String> {
        reply.json["healthIssues"]
            .as_array()
            .expect("issues")
            .iter()
            .map(|issue| issue["severity"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(severities(&adfs1), ["medium"], "{}", adfs1.json);
    assert_eq!(dc1.json["sensor"]["displayName"], "DC1");
    assert_eq!(severities(&dc1), ["high"], "{}", dc1.json);
    let route = call(&world.app, get("/sensors/adfs1/health-issues")).await;
    assert_eq!(
        route.json["healthIssues"].as_array().unwrap().len(),
        1,
        "{}",
        route.json
    );
}
