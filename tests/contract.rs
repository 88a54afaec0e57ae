//! Both sides held to Microsoft's published contract, the snapshot in `tests/contract/` (the
//! sensor's schema per cloud and API version from msgraph-metadata's CSDL, and the permission
//! map's entries from microsoft-graph-devx-content; its README names each source and commit):
//!
//! - every sensor property the client reads is published, and is read as optional wherever a
//!   cloud or version lacks it;
//! - the simulator serves, per cloud and version, exactly the published properties, and every
//!   enum value it emits on its own is a published member;
//! - the permissions each endpoint accepts, in the client's table, in the simulator's enforcement
//!   and in the 403 triage, are the ones the map names, least privileged first;
//! - each endpoint is published (in the client's table) exactly where the snapshot publishes its
//!   path, which decides when a 400 or 404 means the API is not in the cloud.
//!
//! A value the snapshot does not list (a member Microsoft adds later) is tolerated: see
//! `tests/sensors.rs` (`a sensor with statuses the function does not know...`).

mod common;

use std::collections::BTreeSet;

use common::*;
use graph_sim::{SimCloud, SimConfig, SimHandle, SimSensor, SimSensorType};
use mdi_sensor_key::graph::{
    ACTIVATION_UPDATE_OTHER_VERB, CANDIDATE_PROPERTIES_READ, ENDPOINTS, HEALTH_ISSUE_PROPERTIES_READ, HEALTH_READ_ROLE,
    HEALTH_READ_WRITE_ROLE, READ_ROLE, READ_WRITE_ROLE, SENSOR_PROPERTIES_READ, SET_ACTIVATION_CONFIGURATION, Schema,
};
use serde_json::Value;

const NAMESPACE: &str = "microsoft.graph.security.";

fn snapshot(name: &str) -> Value {
    let path = format!("{}/tests/contract/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Each cloud and version in the snapshot, with a simulated cloud that stands for it.
fn schemas() -> Vec<(String, SimCloud, &'static str, Value)> {
    let schema = snapshot("graph-schema.json");
    let mut found = Vec::new();
    for (key, body) in schema["schemas"].as_object().expect("schemas") {
        let (version, cloud) = key.split_once('-').expect("<version>-<cloud>");
        let (sim_cloud, version) = match (cloud, version) {
            ("global", "v1.0") => (SimCloud::Global, "v1.0"),
            ("global", "beta") => (SimCloud::Global, "beta"),
            ("usgov", "v1.0") => (SimCloud::UsGov, "v1.0"),
            ("usgov", "beta") => (SimCloud::UsGov, "beta"),
            other => panic!("a schema this test does not know: {other:?}"),
        };
        found.push((key.clone(), sim_cloud, version, body.clone()));
    }
    assert!(found.len() >= 3, "v1.0 global and US Government, and beta, at least");
    found
}

/// A property's names, with `id` from `microsoft.graph.entity`, the base of every entity.
fn properties(entity: &Value) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = entity["properties"]
        .as_object()
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default();
    if entity["baseType"] == "microsoft.graph.entity" {
        names.insert("id".to_owned());
    }
    names
}

/// The enum a property of `type_name` takes its values from, when it is one.
fn enum_members<'a>(schema: &'a Value, type_name: &str) -> Option<Vec<&'a str>> {
    let name = type_name.strip_prefix(NAMESPACE)?;
    let members = schema["enumTypes"][name].as_array()?;
    Some(members.iter().filter_map(Value::as_str).collect())
}

/// A plain HTTP client for talking to the simulator directly, with the crate's TLS setup.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(mdi_sensor_key::tls::client_config())
        .build()
        .expect("a client")
}

async fn token(sim: &SimHandle) -> String {
    let config = SimConfig::default();
    let scope = format!("{}/.default", sim.cloud().graph_root());
    let response = http()
        .post(sim.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
            ("scope", scope.as_str()),
        ])
        .send()
        .await
        .expect("Entra answers");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("a token body");
    body["access_token"].as_str().expect("access_token").to_owned()
}

async fn send(token: &str, method: &str, url: &str) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    // An action's parameters: `activate` needs its serverIds, an update its value.
    let body = if url.ends_with("/activate") {
        r#"{"serverIds":["c0633ebb8b4b2ab1c6b4c1a2d3e4f5a6b7c8d9e0"]}"#
    } else if url.ends_with("/sensorCandidateActivationConfiguration") && method != reqwest::Method::GET {
        r#"{"activationMode":"manual"}"#
    } else {
        ""
    };
    let response = http()
        .request(method, url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("Graph answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The sensors a simulator serves by itself: its constructors, with every status it sets.
fn simulated_tenant() -> Vec<SimSensor> {
    vec![
        SimSensor::healthy("DC1", "contoso.com"),
        SimSensor::healthy("DC2", "contoso.com").with_status("updating", "starting", "healthy"),
        SimSensor::healthy("DC3", "contoso.com").with_status("disconnected", "stopped", "notHealthyHigh"),
        // Every type the simulator serves, with the states it models for them.
        SimSensor::of_type(SimSensorType::Adfs, "ADFS1", "contoso.com", &["dc1.contoso.com"]).initialising(1),
        SimSensor::of_type(SimSensorType::Adcs, "ADCS1", "contoso.com", &[]).needing_configuration(),
        SimSensor::of_type(
            SimSensorType::EntraConnect,
            "ENTRA1",
            "contoso.com",
            &["dc2.contoso.com"],
        ),
        SimSensor::of_type(SimSensorType::Standalone, "SA1", "contoso.com", &["dc1.contoso.com"])
            .needing_configuration(),
    ]
}

#[test]
fn the_client_knows_every_published_sensor_type_and_the_simulator_serves_each() {
    use mdi_sensor_key::sensors::Sensor;
    use mdi_sensor_key::sensors::model::SensorKind;
    for (key, _, _, schema) in schemas() {
        let members = enum_members(&schema, "microsoft.graph.security.sensorType").expect("sensorType");
        for member in &members {
            let kind = Sensor {
                sensor_type: Some((*member).to_owned()),
                ..Sensor::default()
            }
            .kind();
            assert_eq!(
                kind == SensorKind::Other,
                *member == "unknownFutureValue",
                "{key}: {member} is {kind:?}"
            );
        }
        for served in SimSensorType::ALL {
            assert!(members.contains(&served.member()), "{key}: {}", served.member());
        }
    }
}

#[test]
fn every_sensor_property_the_client_reads_is_published_and_optional_where_some_schema_lacks_it() {
    let schemas = schemas();
    for read in SENSOR_PROPERTIES_READ {
        let published_in: Vec<&str> = schemas
            .iter()
            .filter(|(_, _, _, schema)| match read.split_once('/') {
                Some(("settings", child)) => schema["complexTypes"]["sensorSettings"]["properties"][child].is_object(),
                Some(_) => false,
                None => properties(&schema["entityTypes"]["sensor"]).contains(read),
            })
            .map(|(key, ..)| key.as_str())
            .collect();
        assert!(!published_in.is_empty(), "{read} is read but published nowhere");
        if published_in.len() < schemas.len() {
            // Only serviceStatus today (absent from the US Government schema); the client's
            // Sensor holds every property as an Option and the verdict decides without it.
            assert_eq!(
                read, "serviceStatus",
                "{read} is missing from some schema: is it optional?"
            );
        }
    }
}

#[tokio::test]
async fn the_simulator_serves_exactly_the_published_sensor_per_cloud_and_version_with_published_enum_members() {
    for (key, cloud, version, schema) in schemas() {
        let sim = graph_sim::Sim::start(SimConfig::in_cloud(cloud))
            .await
            .expect("the simulator starts");
        sim.set_sensors(simulated_tenant());
        let token = token(&sim).await;
        let url = format!("{}/{version}/security/identities/sensors", sim.graph_url());

        let (status, body) = send(&token, "GET", &url).await;

        assert_eq!(status, 200, "{key}");
        let sensor_type = &schema["entityTypes"]["sensor"];
        let published = properties(sensor_type);
        let settings_type = &schema["complexTypes"]["sensorSettings"];
        let published_settings = properties(settings_type);
        for sensor in body["value"].as_array().expect("a collection") {
            let served: BTreeSet<String> = sensor.as_object().unwrap().keys().cloned().collect();
            assert_eq!(served, published, "{key}: the sensor's properties");
            let served_settings: BTreeSet<String> = sensor["settings"].as_object().unwrap().keys().cloned().collect();
            assert_eq!(served_settings, published_settings, "{key}: the settings' properties");
            for (name, value) in sensor.as_object().unwrap() {
                let type_name = sensor_type["properties"][name]["type"].as_str().unwrap_or("Edm.String");
                if let Some(members) = enum_members(&schema, type_name) {
                    let value = value.as_str().expect("an enum value is a string");
                    assert!(
                        members.contains(&value),
                        "{key}: {name} = {value} is not in {members:?}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn each_endpoint_accepts_every_permission_the_map_names_in_the_client_and_the_simulator() {
    let map = snapshot("graph-permissions.json");
    let sim = graph_sim::Sim::start(SimConfig::default())
        .await
        .expect("the simulator starts");
    for endpoint in ENDPOINTS {
        let entry = &map["paths"][format!("/{}", endpoint.path)][endpoint.method];
        let application: Vec<&str> = entry["application"]
            .as_array()
            .unwrap_or_else(|| panic!("{} {} is in the map", endpoint.method, endpoint.path))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            endpoint.roles, application,
            "{} {}: the client's table, least privileged first",
            endpoint.method, endpoint.path
        );
        assert_eq!(entry["leastPrivilegedApplication"], endpoint.least_privileged());

        let url = format!("{}/v1.0/{}", sim.graph_url(), endpoint.path);
        // A permission of these families the map does not list for the endpoint.
        let other = [READ_ROLE, READ_WRITE_ROLE, HEALTH_READ_ROLE, HEALTH_READ_WRITE_ROLE]
            .into_iter()
            .find(|role| !application.contains(role))
            .expect("a permission the map does not list here");
        sim.set_roles(vec![other.to_owned()]);
        let (status, body) = send(&token(&sim).await, endpoint.method, &url).await;
        assert_eq!(status, 403, "{}: the simulator refuses {other}", endpoint.path);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(endpoint.least_privileged()),
            "{body}"
        );
        for role in endpoint.roles {
            sim.set_roles(vec![(*role).to_owned()]);
            let (status, body) = send(&token(&sim).await, endpoint.method, &url).await;
            assert_eq!(status, 200, "{}: the simulator admits {role}: {body}", endpoint.path);
        }
    }
}

#[test]
fn each_endpoint_is_published_exactly_where_the_snapshot_publishes_its_path() {
    let schema = snapshot("graph-schema.json");
    for endpoint in ENDPOINTS {
        let rest = endpoint
            .path
            .strip_prefix("security/identities/")
            .expect("an identities path");
        let (navigation, operation) = match rest.split_once('/') {
            Some((navigation, operation)) => (navigation, Some(operation)),
            None => (rest, None),
        };
        for published in Schema::ALL {
            let body = &schema["schemas"][published.key()];
            assert!(body.is_object(), "the snapshot has {}", published.key());
            let has_navigation = body["entityTypes"]["identityContainer"]["navigation"]
                .as_array()
                .expect("the container's navigation")
                .iter()
                .any(|name| name == navigation);
            let has_operation = operation.is_none_or(|name| body["operations"][name].is_object());
            assert_eq!(
                endpoint.published_in(published),
                has_navigation && has_operation,
                "{} in {}",
                endpoint.path,
                published.key()
            );
        }
    }
}

#[tokio::test]
async fn the_403_triage_names_the_maps_permission_for_the_key_and_for_the_sensor_reads() {
    for (held, event_name, missing) in [
        (READ_ROLE, "get-key.json", READ_WRITE_ROLE),
        (READ_WRITE_ROLE, "get-sensors.json", READ_ROLE),
        (READ_WRITE_ROLE, "get-sensor-package.json", READ_ROLE),
    ] {
        let world = world(Setup::default()).await;
        world.sim.set_roles(vec![held.to_owned()]);

        let reply = call(&world.app, event(event_name)).await;

        assert_eq!(reply.status, 502, "{event_name}");
        let detail = reply.json["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("lacks the application permission {missing}")),
            "{event_name}: {detail}"
        );
    }
}

#[tokio::test]
async fn the_key_is_read_in_the_published_shape_and_in_the_api_pages_example_shape() {
    // The CSDL's deploymentAccessKeyType has one property, deploymentAccessKey; the API page's
    // example answers {"value": {"sensorDeploymentAccessKey": ...}}. Which the live service sends
    // is not known here (docs/graph-contract.md), so the client reads both.
    let schema = snapshot("graph-schema.json");
    let key_type = &schema["schemas"]["v1.0-global"]["complexTypes"]["deploymentAccessKeyType"];
    assert_eq!(properties(key_type), BTreeSet::from(["deploymentAccessKey".to_owned()]));
    for shape in [
        graph_sim::KeyShape::BareDeploymentAccessKey,
        graph_sim::KeyShape::ValueWrapped,
    ] {
        let world = world(Setup::default()).await;
        world.sim.set_key_shape(shape);

        let reply = call(&world.app, event("get-key.json")).await;

        assert_eq!(reply.status, 200, "{shape:?}");
        assert_eq!(reply.key(), world.sim.current_key());
    }
}

#[test]
fn every_health_issue_property_the_client_reads_is_published_in_every_cloud_and_version() {
    for (key, _, _, schema) in schemas() {
        let published = properties(&schema["entityTypes"]["healthIssue"]);
        for read in HEALTH_ISSUE_PROPERTIES_READ {
            assert!(published.contains(read), "{key}: {read} is read but not published");
        }
    }
}

#[tokio::test]
async fn the_simulator_serves_exactly_the_published_health_issue_per_cloud_and_version() {
    for (key, cloud, version, schema) in schemas() {
        let sim = graph_sim::Sim::start(SimConfig::in_cloud(cloud))
            .await
            .expect("the simulator starts");
        sim.set_health_issues(vec![graph_sim::SimHealthIssue::open_on("dc1.contoso.com")]);
        let url = format!("{}/{version}/security/identities/healthIssues", sim.graph_url());

        let (status, body) = send(&token(&sim).await, "GET", &url).await;

        assert_eq!(status, 200, "{key}");
        let issue_type = &schema["entityTypes"]["healthIssue"];
        let issue = &body["value"][0];
        let served: BTreeSet<String> = issue.as_object().expect("an issue").keys().cloned().collect();
        assert_eq!(served, properties(issue_type), "{key}: the issue's properties");
        for (name, value) in issue.as_object().unwrap() {
            let type_name = issue_type["properties"][name]["type"].as_str().unwrap_or("Edm.String");
            if let Some(members) = enum_members(&schema, type_name) {
                let value = value.as_str().expect("an enum value is a string");
                assert!(
                    members.contains(&value),
                    "{key}: {name} = {value} is not in {members:?}"
                );
            }
        }
    }
}

#[test]
fn the_activation_mode_update_is_the_maps_post_and_its_other_reading_the_csdls_patch() {
    // The map lists POST, and only POST, on the singular path: the client's first verb, held to
    // the map like every endpoint above. The CSDL makes the path a single-valued navigation
    // property, which OData updates with PATCH: the verb sent once after a 405.
    let map = snapshot("graph-permissions.json");
    let path = format!("/{}", SET_ACTIVATION_CONFIGURATION.path);
    assert_eq!(SET_ACTIVATION_CONFIGURATION.method, "POST");
    assert!(map["paths"][&path]["POST"].is_object());
    assert!(
        map["paths"][&path]["PATCH"].is_null(),
        "the map would settle the verb: use it"
    );
    assert_eq!(ACTIVATION_UPDATE_OTHER_VERB, "PATCH");
    let schema = snapshot("graph-schema.json");
    for published in [Schema::V1Global, Schema::BetaGlobal, Schema::BetaUsGov] {
        let navigation = &schema["schemas"][published.key()]["entityTypes"]["identityContainer"]["navigationTypes"]["sensorCandidateActivationConfiguration"];
        assert_eq!(
            navigation["type"],
            "microsoft.graph.security.sensorCandidateActivationConfiguration",
            "{}: a single entity, not a collection",
            published.key()
        );
    }
}

#[test]
fn every_candidate_property_the_client_reads_is_published_where_candidates_are() {
    for (key, _, _, schema) in schemas() {
        let candidate = &schema["entityTypes"]["sensorCandidate"];
        if candidate.is_null() {
            assert_eq!(key, "v1.0-usgov", "only v1.0 in the US Government clouds lacks them");
            continue;
        }
        let published = properties(candidate);
        for read in CANDIDATE_PROPERTIES_READ {
            // beta in the US Government clouds has no domainName; the client reads it as optional.
            if read == "domainName" && key == "beta-usgov" {
                assert!(!published.contains(read));
                continue;
            }
            assert!(published.contains(read), "{key}: {read} is read but not published");
        }
    }
}

#[tokio::test]
async fn the_simulator_serves_candidates_exactly_as_published_and_refuses_them_where_they_are_not() {
    for (key, cloud, version, schema) in schemas() {
        let sim = graph_sim::Sim::start(SimConfig::in_cloud(cloud))
            .await
            .expect("the simulator starts");
        sim.set_sensor_candidates(vec![graph_sim::SimCandidate::new("dc5.contoso.com")]);
        let token = token(&sim).await;
        let url = format!("{}/{version}/security/identities/sensorCandidates", sim.graph_url());

        let (status, body) = send(&token, "GET", &url).await;

        let candidate_type = &schema["entityTypes"]["sensorCandidate"];
        if candidate_type.is_null() {
            assert_eq!(status, 400, "{key}: Graph does not know the segment");
            let config = format!(
                "{}/{version}/security/identities/sensorCandidateActivationConfiguration",
                sim.graph_url()
            );
            assert_eq!(send(&token, "GET", &config).await.0, 400, "{key}");
            continue;
        }
        assert_eq!(status, 200, "{key}");
        let served: BTreeSet<String> = body["value"][0]
            .as_object()
            .expect("a candidate")
            .keys()
            .cloned()
            .collect();
        assert_eq!(served, properties(candidate_type), "{key}: the candidate's properties");
    }
}
