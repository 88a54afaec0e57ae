//! The sensor routes end to end: real events through the real handler, against the Graph
//! simulator's sensor list and package endpoints (and moto's Secrets Manager for the
//! credentials): the package, the install bundle, the paged sensor list and the verdicts.

mod common;

use std::time::Duration;

use common::*;
use graph_sim::{Endpoint, Fault, READ_ROLE, RetryAfter, Sim, SimConfig, SimPackage, SimSensor, SimSensorType};
use lambda_http::Request;
use serde_json::Value;

/// `events/NAME` with another path, query string and method.
fn variant(name: &str, path: &str, query: &str, method: &str) -> Request {
    let mut event: Value = serde_json::from_str(&events_json(name)).expect("event is JSON");
    event["rawPath"] = path.into();
    event["rawQueryString"] = query.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    if let Some(fields) = event.as_object_mut() {
        fields.remove("queryStringParameters");
    }
    request_from_json(&event.to_string(), Duration::from_secs(30))
}

fn get(path: &str, query: &str) -> Request {
    variant("get-key.json", path, query, "GET")
}

fn sensor_calls(world: &World) -> (usize, usize, usize) {
    (
        world.sim.calls(Endpoint::Token),
        world.sim.calls(Endpoint::GetPackage),
        world.sim.calls(Endpoint::ListSensors),
    )
}

fn names(reply: &Reply) -> Vec<String> {
    reply.json["sensors"]
        .as_array()
        .expect("a sensors array")
        .iter()
        .map(|sensor| sensor["displayName"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_reader_gets_the_sensor_package_url_and_version_from_graph() {
    let world = world(Setup::default()).await;
    world.sim.set_sensor_package(SimPackage {
        download_url: "https://download.sim.invalid/sensor-2.242.zip".into(),
        version: "2.242.18100.0".into(),
    });

    let reply = call(&world.app, event("get-sensor-package.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json,
        serde_json::json!({"downloadUrl": "https://download.sim.invalid/sensor-2.242.zip", "version": "2.242.18100.0"})
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(sensor_calls(&world), (1, 1, 0));
    world.assert_no_leaks();
}

#[tokio::test]
async fn the_sensor_routes_need_only_the_read_permission() {
    let world = world(Setup::default()).await;
    world.sim.set_roles(vec![READ_ROLE.to_owned()]);
    world.sim.set_sensors(vec![SimSensor::healthy("DC1", "contoso.com")]);

    assert_eq!(call(&world.app, event("get-sensor-package.json")).await.status, 200);
    assert_eq!(call(&world.app, event("get-sensors.json")).await.status, 200);
    assert_eq!(call(&world.app, event("get-sensor-verdict.json")).await.status, 200);
    let key = call(&world.app, event("get-key.json")).await;
    assert_eq!(key.status, 502, "the key itself needs ReadWrite.All");
}

#[tokio::test]
async fn with_only_the_read_write_permission_the_sensor_routes_say_read_all_is_missing() {
    // Microsoft's permission map lists only Read.All for the sensor reads, and Graph (the
    // simulator, held to that map) refuses a token that holds only ReadWrite.All.
    let world = world(Setup::default()).await;
    world.sim.set_roles(vec![graph_sim::REQUIRED_ROLE.to_owned()]);
    world.sim.set_sensors(vec![SimSensor::healthy("DC1", "contoso.com")]);

    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    for name in ["get-sensor-package.json", "get-sensors.json", "get-sensor-verdict.json"] {
        let reply = call(&world.app, event(name)).await;
        assert_eq!(reply.status, 502, "{name}");
        assert!(reply.json["type"].as_str().unwrap().ends_with("graph-forbidden"));
        let detail = reply.json["detail"].as_str().unwrap();
        assert!(detail.contains(READ_ROLE), "{name}: {detail}");
        assert!(!detail.contains("although"), "not 'the role is held': {detail}");
    }
}

#[tokio::test]
async fn callers_off_the_readers_list_or_without_an_identity_are_refused_before_graph() {
    let world = world(Setup::default()).await;
    for path in [
        "/sensor-package",
        "/sensor-install-bundle",
        "/sensors",
        "/sensors/DC1/verdict",
    ] {
        let refused = call(&world.app, variant("get-key-refused.json", path, "", "GET")).await;
        assert_eq!(refused.status, 403, "{path}");
        let anonymous = call(&world.app, variant("get-key-no-identity.json", path, "", "GET")).await;
        assert_eq!(anonymous.status, 401, "{path}");
    }
    // A bad query from a refused caller is still a 403: permission is checked before input.
    let refused = call(
        &world.app,
        variant(
            "get-key-refused.json",
            "/sensor-install-bundle",
            "delayedUpdate=maybe",
            "GET",
        ),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(sensor_calls(&world), (0, 0, 0));
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);
}

#[tokio::test]
async fn the_sensor_routes_answer_other_methods_with_405_and_allow_get() {
    let world = world(Setup::default()).await;
    for path in [
        "/sensor-package",
        "/sensor-install-bundle",
        "/sensors",
        "/sensors/DC1/verdict",
    ] {
        let reply = call(&world.app, variant("get-key.json", path, "", "POST")).await;
        assert_eq!(reply.status, 405, "{path}");
        assert_eq!(reply.header("allow"), Some("GET"), "{path}");
    }
}

#[tokio::test]
async fn the_install_bundle_carries_the_key_the_package_and_a_ready_command_line() {
    let world = world(Setup::default()).await;

    let reply = call(&world.app, event("get-install-bundle.json")).await;

    assert_eq!(reply.status, 200);
    let key = world.sim.current_key();
    assert_eq!(reply.key(), key);
    let package = world.sim.sensor_package();
    assert_eq!(reply.json["downloadUrl"], package.download_url.as_str());
    assert_eq!(reply.json["version"], package.version.as_str());
    assert_eq!(
        reply.json["installCommand"],
        format!(
            "\"Azure ATP sensor Setup.exe\" /quiet NetFrameworkCommandLineArguments=\"/q\" AccessKey=\"{key}\" DelayedUpdate=true ProxyUrl=\"http://proxy.contoso.com:8080\""
        )
    );
    assert_eq!(
        reply.json["installCommandPowerShell"],
        format!(".\\{}", reply.json["installCommand"].as_str().unwrap()),
        "PowerShell needs .\\ before the quoted path, as Microsoft's page writes it"
    );
    assert_eq!(
        (
            world.sim.calls(Endpoint::Token),
            world.sim.calls(Endpoint::GetKey),
            world.sim.calls(Endpoint::GetPackage)
        ),
        (1, 1, 1),
        "both reads share one token"
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn with_an_access_key_file_the_commands_name_the_file_instead_of_the_key() {
    let world = world(Setup::default()).await;

    let reply = call(
        &world.app,
        get("/sensor-install-bundle", "accessKeyFile=C%3A%5CDeploy%5Cmdi%20key.txt"),
    )
    .await;

    assert_eq!(reply.status, 200);
    let key = world.sim.current_key();
    assert_eq!(
        reply.key(),
        key,
        "the key is still handed out, to be written to the file"
    );
    for field in ["installCommand", "installCommandPowerShell"] {
        let command = reply.json[field].as_str().unwrap();
        assert!(
            command.ends_with(r#"AccessKeyFile="C:\Deploy\mdi key.txt""#),
            "{command}"
        );
        assert!(!command.contains(&key), "{field} holds the key");
    }
    let refused = call(&world.app, get("/sensor-install-bundle", "accessKeyFile=key.txt")).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("absolute Windows path")
    );
}

#[tokio::test]
async fn the_two_graph_reads_of_a_bundle_run_at_the_same_time() {
    let world = world(Setup::default()).await;
    // Warm the token, so only the two reads remain.
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    world
        .sim
        .inject(Endpoint::GetKey, Fault::Delay(Duration::from_millis(600)));
    world
        .sim
        .inject(Endpoint::GetPackage, Fault::Delay(Duration::from_millis(600)));

    let started = std::time::Instant::now();
    let reply = call(&world.app, get("/sensor-install-bundle", "")).await;

    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(1100),
        "{:?}: the reads ran one after the other",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_bundle_without_options_has_the_plain_command_and_says_the_install_may_restart_the_server() {
    let world = world(Setup::default()).await;

    let reply = call(&world.app, get("/sensor-install-bundle", "delayedUpdate=false")).await;

    assert_eq!(reply.status, 200);
    let command = reply.json["installCommand"].as_str().unwrap();
    assert!(
        command.ends_with(&format!("AccessKey=\"{}\"", world.sim.current_key())),
        "no switches"
    );
    let notes: Vec<&str> = reply.json["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|note| note.as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("automatically restart the server") && notes[0].contains("maintenance window"));
    assert!(notes[0].contains("norestart"));
    assert!(notes[1].contains(".NET Framework 4.7 or later"));
}

#[tokio::test]
async fn an_unknown_query_parameter_is_400_naming_it_and_graph_is_not_called() {
    let world = world(Setup::default()).await;
    for (path, query, named) in [
        // The installer's switch, as Microsoft spells it: the route's name is proxyUserName.
        (
            "/sensor-install-bundle",
            "proxyUrl=http%3A%2F%2Fproxy%3A8080&ProxyUserName=CONTOSO%5Cu",
            "ProxyUserName",
        ),
        (
            "/sensor-install-bundle",
            "utm_source=wiki&delayedUpdate=false",
            "utm_source",
        ),
        ("/sensors", "domainName=contoso.com&displayname=dc1", "displayname"),
        ("/sensor-key", "x=1", "x"),
        ("/sensors/DC1/verdict", "wait=60", "wait"),
    ] {
        let reply = call(&world.app, get(path, query)).await;
        assert_eq!(reply.status, 400, "{path}?{query}");
        assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/bad-request");
        let detail = reply.json["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(&format!("unknown query parameter {named}:")),
            "{detail}"
        );
    }
    let odd = call(&world.app, get("/sensor-install-bundle", "%22%3Bcalc=1")).await;
    assert_eq!(odd.status, 400);
    assert!(!odd.json["detail"].as_str().unwrap().contains("calc"), "{}", odd.json);
    assert_eq!(sensor_calls(&world), (0, 0, 0));
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);
}

#[tokio::test]
async fn a_proxy_user_goes_on_the_command_and_its_password_is_read_from_the_servers_environment() {
    let world = world(Setup::default()).await;

    let reply = call(
        &world.app,
        get(
            "/sensor-install-bundle",
            "proxyUrl=http%3A%2F%2Fproxy.contoso.com%3A8080&proxyUserName=CONTOSO%5CProxyUser",
        ),
    )
    .await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert!(
        reply.json["installCommand"].as_str().unwrap().ends_with(
            r#"ProxyUrl="http://proxy.contoso.com:8080" ProxyUserName="CONTOSO\ProxyUser" ProxyUserPassword="%MDI_PROXY_USER_PASSWORD%""#
        ),
        "{}",
        reply.json["installCommand"]
    );
    assert!(
        reply.json["installCommandPowerShell"]
            .as_str()
            .unwrap()
            .ends_with(r#"ProxyUserName="CONTOSO\ProxyUser" ProxyUserPassword="$env:MDI_PROXY_USER_PASSWORD""#)
    );
    assert!(
        reply.json["notes"][2]
            .as_str()
            .unwrap()
            .contains("MDI_PROXY_USER_PASSWORD")
    );

    // A password is never taken in a URL, whatever else the request says.
    for query in [
        "proxyUrl=http%3A%2F%2Fproxy%3A8080&proxyUserName=CONTOSO%5Cu&proxyUserPassword=hunter2",
        "ProxyUserPassword=hunter2",
    ] {
        let refused = call(&world.app, get("/sensor-install-bundle", query)).await;
        assert_eq!(refused.status, 400, "{query}");
        let detail = refused.json["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("proxyUserPassword is never taken in a URL"),
            "{detail}"
        );
        assert!(!detail.contains("hunter2"));
    }
    for query in [
        "proxyUserName=CONTOSO%5CProxyUser",
        "proxyUrl=http%3A%2F%2Fproxy%3A8080&proxyUserName=ProxyUser",
        "proxyUrl=http%3A%2F%2Fproxy%3A8080&proxyUserName=CONTOSO%5Ca%22%26calc",
    ] {
        let refused = call(&world.app, get("/sensor-install-bundle", query)).await;
        assert_eq!(refused.status, 400, "{query}");
        assert!(!refused.json["detail"].as_str().unwrap().contains("calc"));
    }
    assert_eq!(
        world.sim.calls(Endpoint::GetKey),
        1,
        "only the good request reached Graph"
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn bad_bundle_options_are_400_without_echoing_them_and_graph_is_not_called() {
    let world = world(Setup::default()).await;
    for query in [
        "delayedUpdate=yes",
        "delayedUpdate=TRUE",
        "delayedUpdate=",
        "delayedUpdate=true&delayedUpdate=false",
        "proxyUrl=http%3A%2F%2Fproxy%22%20%2Fevil",
        "proxyUrl=http%3A%2F%2Fproxy%20x",
        "proxyUrl=http%3A%2F%2Fproxy%26calc",
        "proxyUrl=ftp%3A%2F%2Fproxy%3A21",
        "proxyUrl=proxy.contoso.com%3A8080",
        "proxyUrl=http%3A%2F%2Fuser%3Apass%40proxy",
        "proxyUrl=",
    ] {
        let reply = call(&world.app, get("/sensor-install-bundle", query)).await;
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.header("content-type"), Some("application/problem+json"));
        assert_eq!(
            reply.json["type"], "tag:mdi-sensor-key,2026:problem/bad-request",
            "{query}"
        );
        let detail = reply.json["detail"].as_str().unwrap();
        assert!(
            !detail.contains("evil") && !detail.contains("calc") && !detail.contains("pass"),
            "{detail}"
        );
    }
    assert_eq!(sensor_calls(&world), (0, 0, 0));
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);
}

#[tokio::test]
async fn the_sensor_list_follows_graphs_paging_across_three_pages() {
    let world = world(Setup::default()).await;
    let sensors: Vec<SimSensor> = (1..=7)
        .map(|n| SimSensor::healthy(&format!("DC{n}"), "contoso.com"))
        .collect();
    world.sim.set_sensors(sensors);
    world.sim.set_sensor_page_size(3);

    let reply = call(&world.app, get("/sensors", "")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(names(&reply), ["DC1", "DC2", "DC3", "DC4", "DC5", "DC6", "DC7"]);
    assert_eq!(sensor_calls(&world), (1, 0, 3), "one token, three pages");
    let pages: Vec<Option<String>> = world
        .sim
        .requests()
        .into_iter()
        .filter(|request| request.endpoint == Some(Endpoint::ListSensors))
        .map(|request| request.query)
        .collect();
    assert_eq!(
        pages,
        [None, Some("$skiptoken=3".to_owned()), Some("$skiptoken=6".to_owned())]
    );
    let first = &reply.json["sensors"][0];
    for field in [
        "displayName",
        "domainName",
        "sensorType",
        "version",
        "deploymentStatus",
        "healthStatus",
        "serviceStatus",
    ] {
        assert!(first[field].is_string(), "{field}");
    }
    assert_eq!(first["verdict"], "healthy");
    world.assert_no_leaks();
}

#[tokio::test]
async fn the_list_is_filtered_by_domain_and_display_name_exactly_ignoring_case() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![
        SimSensor::healthy("DC1", "contoso.com"),
        SimSensor::healthy("DC2", "contoso.com"),
        SimSensor::healthy("DC1", "fabrikam.com"),
        SimSensor::healthy("DC10", "contoso.com"),
    ]);

    let contoso = call(&world.app, event("get-sensors.json")).await;
    assert_eq!(names(&contoso), ["DC1", "DC2", "DC10"]);

    let dc1 = call(&world.app, get("/sensors", "displayName=dc1&domainName=CONTOSO.COM")).await;
    assert_eq!(dc1.json["sensors"].as_array().unwrap().len(), 1);
    assert_eq!(dc1.json["sensors"][0]["domainName"], "contoso.com");

    let none = call(&world.app, get("/sensors", "domainName=nowhere.example")).await;
    assert_eq!(none.status, 200);
    assert_eq!(none.json, serde_json::json!({"sensors": []}));

    let empty = call(&world.app, get("/sensors", "domainName=")).await;
    assert_eq!(empty.status, 400);
}

#[tokio::test]
async fn unknown_enum_values_are_passed_through_as_strings_and_judged_unhealthy() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![SimSensor {
        sensor_type: "someFutureSensorType".into(),
        ..SimSensor::healthy("DC1", "contoso.com").with_status("unknownFutureValue", "hibernating", "notHealthyExtreme")
    }]);

    let reply = call(&world.app, get("/sensors", "")).await;

    assert_eq!(reply.status, 200);
    let sensor = &reply.json["sensors"][0];
    assert_eq!(sensor["sensorType"], "someFutureSensorType");
    assert_eq!(sensor["deploymentStatus"], "unknownFutureValue");
    assert_eq!(sensor["serviceStatus"], "hibernating");
    assert_eq!(sensor["healthStatus"], "notHealthyExtreme");
    assert_eq!(sensor["verdict"], "unhealthy");
}

#[tokio::test]
async fn the_verdict_follows_each_status_combination() {
    let world = world(Setup::default()).await;
    let cases = [
        ("upToDate", "running", "healthy", "healthy"),
        ("upToDate", "onboarding", "healthy", "installing"),
        ("notConfigured", "starting", "notHealthyHigh", "installing"),
        ("updating", "running", "healthy", "installing"),
        ("syncing", "stopped", "notHealthyLow", "installing"),
        ("outdated", "running", "healthy", "unhealthy"),
        ("updateFailed", "running", "healthy", "unhealthy"),
        ("upToDate", "stopped", "healthy", "unhealthy"),
        ("upToDate", "disabled", "healthy", "unhealthy"),
        ("upToDate", "running", "notHealthyLow", "unhealthy"),
        ("upToDate", "running", "notHealthyMedium", "unhealthy"),
        ("upToDate", "running", "notHealthyHigh", "unhealthy"),
        ("unreachable", "unknown", "healthy", "unhealthy"),
        ("disconnected", "running", "healthy", "unhealthy"),
        ("startFailure", "stopped", "notHealthyHigh", "unhealthy"),
        (
            "unknownFutureValue",
            "unknownFutureValue",
            "unknownFutureValue",
            "unhealthy",
        ),
    ];
    world.sim.set_sensors(
        cases
            .iter()
            .enumerate()
            .map(|(n, (deployment, service, health, _))| {
                SimSensor::healthy(&format!("dc{n}"), "contoso.com").with_status(deployment, service, health)
            })
            .collect(),
    );
    world.sim.set_sensor_page_size(5);

    for (n, (deployment, service, health, expected)) in cases.iter().enumerate() {
        let reply = call(&world.app, get(&format!("/sensors/DC{n}/verdict"), "")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json["verdict"], *expected, "{deployment} {service} {health}");
        assert_eq!(reply.json["displayName"], format!("DC{n}"));
        assert_eq!(reply.json["sensor"]["displayName"], format!("dc{n}"));
        assert_eq!(reply.json["sensor"]["verdict"], *expected);
    }
}

#[tokio::test]
async fn a_sensor_not_registered_yet_is_missing_with_a_null_sensor() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![SimSensor::healthy("DC2", "contoso.com")]);

    let reply = call(&world.app, event("get-sensor-verdict.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json,
        serde_json::json!({"displayName": "DC1.contoso.com", "verdict": "missing", "sensor": null})
    );
    // Graph names a sensor by the server's short name and lists its DNS names in its settings:
    // the fully qualified name asked for is found there.
    world.sim.set_sensors(vec![
        SimSensor::healthy("DC1", "contoso.com").with_status("updating", "starting", "healthy"),
    ]);
    let installing = call(&world.app, event("get-sensor-verdict.json")).await;
    assert_eq!(installing.json["verdict"], "installing");
    assert_eq!(installing.json["sensor"]["displayName"], "DC1");
    assert_eq!(
        installing.json["sensor"]["domainControllerDnsNames"],
        serde_json::json!(["dc1.contoso.com"])
    );
}

#[tokio::test]
async fn a_short_name_that_two_domains_have_is_409_listing_them_never_a_guess() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![
        SimSensor::healthy("DC1", "contoso.com"),
        SimSensor::healthy("DC1", "fabrikam.com").with_status("disconnected", "stopped", "notHealthyHigh"),
    ]);

    let short = call(&world.app, get("/sensors/dc1/verdict", "")).await;

    assert_eq!(short.status, 409);
    assert_eq!(short.header("content-type"), Some("application/problem+json"));
    assert!(short.json["type"].as_str().unwrap().ends_with("ambiguous-host"));
    let detail = short.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("contoso.com") && detail.contains("fabrikam.com"),
        "{detail}"
    );
    assert!(
        short.json["upstreamRequestId"].is_string(),
        "Graph's request-id of the list"
    );
    let full = call(&world.app, get("/sensors/DC1.fabrikam.com/verdict", "")).await;
    assert_eq!((full.status, full.json["verdict"].as_str()), (200, Some("unhealthy")));
    let listed = call(&world.app, get("/sensors", "displayName=dc1")).await;
    assert_eq!(names(&listed), ["DC1", "DC1"], "a list may hold both");
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_us_government_tenant_on_v1_gets_a_healthy_verdict_without_service_status() {
    // The v1.0 Fairfax schema has no serviceStatus (tests/contract): the simulator leaves it out.
    let world = world(Setup {
        sim: SimConfig::in_cloud(graph_sim::SimCloud::UsGov),
        extra_env: vec![
            ("GRAPH_CLOUD", "usgov".to_owned()),
            ("GRAPH_API_VERSION", "v1.0".to_owned()),
        ],
        ..Setup::default()
    })
    .await;
    world.sim.set_sensors(vec![
        SimSensor::healthy("DC1", "contoso.us"),
        SimSensor::healthy("DC2", "contoso.us").with_status("updating", "running", "healthy"),
    ]);

    let dc1 = call(&world.app, get("/sensors/dc1.contoso.us/verdict", "")).await;
    let dc2 = call(&world.app, get("/sensors/DC2/verdict", "")).await;

    assert_eq!((dc1.status, dc1.json["verdict"].as_str()), (200, Some("healthy")));
    assert!(dc1.json["sensor"]["serviceStatus"].is_null(), "{}", dc1.json);
    assert_eq!(dc2.json["verdict"], "installing");
    let paths: Vec<String> = world.sim.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.iter().any(|p| p == "/v1.0/security/identities/sensors"),
        "{paths:?}"
    );
}

#[tokio::test]
async fn every_sensor_route_works_on_v1_by_default_and_on_beta_when_chosen() {
    for (env, version) in [(None, "v1.0"), (Some("beta"), "beta")] {
        let world = world(Setup {
            extra_env: env
                .map(|v| vec![("GRAPH_API_VERSION", v.to_owned())])
                .unwrap_or_default(),
            ..Setup::default()
        })
        .await;
        world.sim.set_sensors(vec![SimSensor::healthy("DC1", "contoso.com")]);
        for name in [
            "get-key.json",
            "get-sensor-package.json",
            "get-install-bundle.json",
            "get-sensors.json",
            "get-sensor-verdict.json",
        ] {
            assert_eq!(call(&world.app, event(name)).await.status, 200, "{version} {name}");
        }
        let graph_paths: Vec<String> = world
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/security/"))
            .map(|r| r.path)
            .collect();
        assert!(graph_paths.len() >= 6, "{graph_paths:?}");
        assert!(
            graph_paths.iter().all(|p| p.starts_with(&format!("/{version}/"))),
            "{version}: {graph_paths:?}"
        );
    }
}

#[tokio::test]
async fn the_verdict_name_is_percent_decoded_then_validated() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![SimSensor::healthy("DC1", "contoso.com")]);

    let decoded = call(&world.app, get("/sensors/DC1%2Econtoso%2ecom/verdict", "")).await;
    assert_eq!(decoded.status, 200);
    assert_eq!(decoded.json["displayName"], "DC1.contoso.com");
    assert_eq!(decoded.json["verdict"], "healthy");

    let too_long = format!("/sensors/{}/verdict", "a".repeat(256));
    for path in [
        "/sensors/dc%201/verdict",
        "/sensors/dc%2/verdict",
        "/sensors/dc_1/verdict",
        "/sensors/dc%22%3Bcalc/verdict",
        "/sensors/%C3%A9/verdict",
        too_long.as_str(),
    ] {
        let reply = call(&world.app, get(path, "")).await;
        assert_eq!(reply.status, 400, "{path}");
        assert!(!reply.json["detail"].as_str().unwrap().contains("calc"));
    }
    for path in [
        "/sensors//verdict",
        "/sensors/dc1/verdict/",
        "/sensors/a/b/verdict",
        // `%2F` separates segments once decoded, through either door (docs/http-api.md).
        "/sensors/dc%2F1/verdict",
        "/Sensors/dc1/verdict",
        "/sensors/",
        "/sensors/dc1",
    ] {
        assert_eq!(call(&world.app, get(path, "")).await.status, 404, "{path}");
    }
    assert_eq!(world.sim.calls(Endpoint::ListSensors), 1);
}

#[tokio::test]
async fn a_next_link_that_leaves_the_graph_root_is_refused_and_no_token_is_sent_there() {
    let world = world(Setup::default()).await;
    let elsewhere = Sim::start(SimConfig::default()).await.expect("a second server starts");
    world.sim.set_sensors(vec![
        SimSensor::healthy("DC1", "contoso.com"),
        SimSensor::healthy("DC2", "contoso.com"),
    ]);
    world.sim.set_sensor_page_size(1);
    world.sim.set_sensor_next_link_root(Some(&elsewhere.base_url()));

    let reply = call(&world.app, get("/sensors", "")).await;

    assert_eq!(reply.status, 502);
    assert_eq!(
        reply.json["type"],
        "tag:mdi-sensor-key,2026:problem/upstream-bad-response"
    );
    assert!(reply.json["detail"].as_str().unwrap().contains("nextLink"));
    assert!(
        elsewhere.requests().is_empty(),
        "nothing, and so no token, went elsewhere"
    );
    assert_eq!(world.sim.calls(Endpoint::ListSensors), 1);
}

#[tokio::test]
async fn a_token_revoked_between_pages_is_replaced_and_the_list_completes() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(
        (1..=4)
            .map(|n| SimSensor::healthy(&format!("DC{n}"), "c.com"))
            .collect(),
    );
    world.sim.set_sensor_page_size(2);
    // A fault with no meaning for the list is consumed by the first page, which is answered.
    world.sim.inject(Endpoint::ListSensors, Fault::InvalidClient);
    world.sim.inject(Endpoint::ListSensors, Fault::TokenRevoked);

    let reply = call(&world.app, get("/sensors", "")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(names(&reply).len(), 4);
    assert_eq!(
        sensor_calls(&world),
        (2, 0, 3),
        "page 2 was asked again with a fresh token"
    );
    world.assert_no_leaks();
}

#[tokio::test]
async fn throttling_is_retried_and_past_the_budget_is_503_with_retry_after() {
    let world = world(Setup::default()).await;
    world.sim.inject(
        Endpoint::ListSensors,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(0)),
        },
    );
    assert_eq!(call(&world.app, get("/sensors", "")).await.status, 200);
    assert_eq!(world.sim.calls(Endpoint::ListSensors), 2);

    for _ in 0..4 {
        world.sim.inject(
            Endpoint::GetPackage,
            Fault::TooManyRequests {
                retry_after: Some(RetryAfter::Seconds(0)),
            },
        );
    }
    let reply = call(&world.app, event("get-sensor-package.json")).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(world.sim.calls(Endpoint::GetPackage), 4);
}

#[tokio::test]
async fn upstream_failures_on_the_sensor_routes_map_as_on_the_key_routes() {
    let world = world(Setup::default()).await;
    for (endpoint, fault, request, status, kind) in [
        (
            Endpoint::GetPackage,
            Fault::MalformedBody,
            "get-sensor-package.json",
            502,
            "upstream-bad-response",
        ),
        (
            Endpoint::GetPackage,
            Fault::UnexpectedShape,
            "get-sensor-package.json",
            502,
            "upstream-bad-response",
        ),
        (
            Endpoint::ListSensors,
            Fault::TruncatedBody,
            "get-sensors.json",
            502,
            "upstream-bad-response",
        ),
        (
            Endpoint::ListSensors,
            Fault::UnexpectedShape,
            "get-sensors.json",
            502,
            "upstream-bad-response",
        ),
        (
            Endpoint::ListSensors,
            Fault::HtmlErrorPage(502),
            "get-sensor-verdict.json",
            502,
            "upstream-failed",
        ),
    ] {
        world.sim.inject(endpoint, fault.clone());
        let reply = call(&world.app, event(request)).await;
        assert_eq!(reply.status, status, "{fault:?}");
        assert_eq!(
            reply.json["type"],
            format!("tag:mdi-sensor-key,2026:problem/{kind}"),
            "{fault:?}"
        );
    }
    for _ in 0..2 {
        world.sim.inject(
            Endpoint::GetPackage,
            Fault::Forbidden {
                message: "The tenant is not onboarded to Microsoft Defender for Identity.".into(),
            },
        );
    }
    let forbidden = call(&world.app, event("get-install-bundle.json")).await;
    assert_eq!(forbidden.status, 502);
    assert!(forbidden.json["detail"].as_str().unwrap().contains("not onboarded"));
    assert!(!forbidden.json.to_string().contains(&world.sim.current_key()));
    world.assert_no_leaks();
}

#[tokio::test]
async fn each_sensor_route_writes_an_audit_line_naming_its_operation() {
    let world = world(Setup::default()).await;
    world
        .sim
        .set_sensors(vec![SimSensor::healthy("DC1.contoso.com", "contoso.com")]);
    for name in [
        "get-sensor-package.json",
        "get-install-bundle.json",
        "get-sensors.json",
        "get-sensor-verdict.json",
    ] {
        assert_eq!(call(&world.app, event(name)).await.status, 200, "{name}");
    }
    let logs = captured_logs();
    for operation in [
        "read-sensor-package",
        "read-install-bundle",
        "list-sensors",
        "sensor-verdict",
    ] {
        assert!(
            logs.lines().any(|line| line.contains("\"target\":\"audit\"")
                && line.contains(&format!("\"operation\":\"{operation}\""))
                && line.contains(READER)),
            "no audit line for {operation}"
        );
    }
    world.assert_no_leaks();
}

/// The sensor types whose `settings.domainControllerDnsNames` lists OTHER domain controllers.
const BESIDE_OR_WATCHING_A_DC: [(SimSensorType, &str); 4] = [
    (SimSensorType::Adfs, "ADFS1"),
    (SimSensorType::Adcs, "ADCS1"),
    (SimSensorType::EntraConnect, "ENTRA1"),
    (SimSensorType::Standalone, "STANDALONE1"),
];

#[tokio::test]
async fn a_sensor_that_lists_a_domain_controller_never_answers_for_it_and_is_found_by_its_own_name() {
    for (kind, name) in BESIDE_OR_WATCHING_A_DC {
        let world = world(Setup::default()).await;
        // The other sensor is healthy and lists DC1; DC1's own sensor is still installing.
        world.sim.set_sensors(vec![
            SimSensor::of_type(kind, name, "contoso.com", &["dc1.contoso.com", "dc2.contoso.com"]),
            SimSensor::healthy("DC1", "contoso.com").with_status("updating", "starting", "healthy"),
        ]);

        for host in ["dc1.contoso.com", "DC1"] {
            let dc1 = call(&world.app, get(&format!("/sensors/{host}/verdict"), "")).await;
            assert_eq!(dc1.status, 200, "{kind:?}: {}", dc1.json);
            assert_eq!(dc1.json["verdict"], "installing", "{kind:?} {host}: DC1 not masked");
            assert_eq!(dc1.json["sensor"]["displayName"], "DC1");
        }
        let dc2 = call(&world.app, get("/sensors/dc2.contoso.com/verdict", "")).await;
        assert_eq!(dc2.json["verdict"], "missing", "{kind:?}: DC2 has no sensor of its own");

        for host in [
            name.to_ascii_lowercase(),
            format!("{}.contoso.com", name.to_ascii_lowercase()),
        ] {
            let own = call(&world.app, get(&format!("/sensors/{host}/verdict"), "")).await;
            assert_eq!(own.json["verdict"], "healthy", "{kind:?} {host}: {}", own.json);
            assert_eq!(own.json["sensor"]["displayName"], name);
            assert_eq!(own.json["sensor"]["sensorType"], kind.member());
        }

        let listed = call(&world.app, get("/sensors", "displayName=dc1.contoso.com")).await;
        assert_eq!(
            names(&listed),
            ["DC1"],
            "{kind:?}: the list's filter matches the same way"
        );
    }
}

#[tokio::test]
async fn a_sensor_waiting_for_its_configuration_needs_configuration_and_says_what_to_configure() {
    let world = world(Setup::default()).await;
    let mut sensors: Vec<SimSensor> = BESIDE_OR_WATCHING_A_DC
        .iter()
        .map(|(kind, name)| SimSensor::of_type(*kind, name, "contoso.com", &[]).needing_configuration())
        .collect();
    sensors.push(SimSensor::healthy("DC1", "contoso.com").needing_configuration());
    world.sim.set_sensors(sensors);

    for (kind, name) in BESIDE_OR_WATCHING_A_DC {
        let reply = call(&world.app, get(&format!("/sensors/{name}/verdict"), "")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json["verdict"], "needs-configuration", "{kind:?}: {}", reply.json);
        assert_eq!(reply.json["sensor"]["deploymentStatus"], "notConfigured");
        let to_configure = reply.json["toConfigure"].as_str().unwrap();
        assert!(to_configure.contains("Domain Controllers (FQDN)"), "{to_configure}");
        assert!(reply.json.get("healthIssues").is_none(), "{}", reply.json);
    }
    // Microsoft documents notConfigured for those types only: on a domain controller sensor it
    // is not something to configure away.
    let dc1 = call(&world.app, get("/sensors/DC1/verdict", "")).await;
    assert_eq!(dc1.json["verdict"], "unhealthy", "{}", dc1.json);
    assert!(dc1.json.get("toConfigure").is_none());
}

#[tokio::test]
async fn an_ad_fs_sensor_initialising_reads_initialising_until_its_service_runs() {
    for kind in [SimSensorType::Adfs, SimSensorType::Adcs, SimSensorType::EntraConnect] {
        let world = world(Setup::default()).await;
        world.sim.set_sensors(vec![
            SimSensor::of_type(kind, "ADFS1", "contoso.com", &["dc1.contoso.com"]).initialising(2),
        ]);

        let mut seen = Vec::new();
        for _ in 0..3 {
            let reply = call(&world.app, get("/sensors/adfs1.contoso.com/verdict", "")).await;
            seen.push(reply.json["verdict"].as_str().unwrap().to_owned());
        }

        assert_eq!(seen, ["initialising", "initialising", "healthy"], "{kind:?}");
    }
    // A domain controller sensor whose service is stopped is not initialising: unhealthy.
    let world = world(Setup::default()).await;
    world
        .sim
        .set_sensors(vec![SimSensor::healthy("DC1", "contoso.com").initialising(5)]);
    let dc1 = call(&world.app, get("/sensors/DC1/verdict", "")).await;
    assert_eq!(dc1.json["verdict"], "unhealthy");
}
