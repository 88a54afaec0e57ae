//! The simulated sensor list and deployment package: Graph's shapes, server-side paging with
//! absolute next links, the read role, faults and counters.

mod common;

use common::*;
use graph_sim::{
    DEFAULT_PAGE_SIZE, Endpoint, Fault, READ_ROLE, REQUIRED_ROLE, RetryAfter, SimPackage, SimSensor, SimSensorType,
};
use serde_json::Value;

const PACKAGE_PATH: &str = "security/identities/sensors/getDeploymentPackageUri";
const SENSORS_PATH: &str = "security/identities/sensors";

async fn get(url: &str, token: &str) -> reqwest::Response {
    client()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("Graph answers")
}

async fn json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON body")
}

fn tenant(count: usize) -> Vec<SimSensor> {
    (1..=count)
        .map(|n| SimSensor::healthy(&format!("DC{n}"), "contoso.com"))
        .collect()
}

#[tokio::test]
async fn the_package_is_answered_wrapped_in_value_with_graphs_headers() {
    let sim = start().await;
    let token = token(&sim).await;

    let response = get(&graph_url(&sim, "v1.0", PACKAGE_PATH), &token).await;

    assert!(uuid::Uuid::parse_str(response.headers()["request-id"].to_str().unwrap()).is_ok());
    assert!(response.headers().contains_key("client-request-id"));
    let body = json(response).await;
    assert_eq!(
        body["value"]["@odata.type"],
        "#microsoft.graph.security.sensorDeploymentPackage"
    );
    assert_eq!(
        body["value"]["downloadUrl"],
        SimPackage::default().download_url.as_str()
    );
    assert_eq!(body["value"]["version"], SimPackage::default().version.as_str());
    assert_eq!(sim.calls(Endpoint::GetPackage), 1);
}

#[tokio::test]
async fn the_package_can_be_replaced_and_every_function_spelling_is_accepted() {
    let sim = start().await;
    let package = SimPackage {
        download_url: "https://download.sim.invalid/new.zip".into(),
        version: "9.9.9.9".into(),
    };
    sim.set_sensor_package(package.clone());
    let token = token(&sim).await;
    for path in [
        PACKAGE_PATH,
        "security/identities/sensors/getDeploymentPackageUri()",
        "Security/Identities/Sensors/microsoft.graph.security.getDeploymentPackageUri",
    ] {
        let body = json(get(&graph_url(&sim, "beta", path), &token).await).await;
        assert_eq!(body["value"]["downloadUrl"], package.download_url.as_str(), "{path}");
    }
    assert_eq!(sim.sensor_package(), package);
}

#[tokio::test]
async fn the_sensor_list_pages_with_absolute_next_links_carrying_a_skiptoken() {
    let sim = start().await;
    sim.set_sensors(tenant(5));
    sim.set_sensor_page_size(2);
    let token = token(&sim).await;

    let mut url = graph_url(&sim, "beta", SENSORS_PATH);
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let body = json(get(&url, &token).await).await;
        pages += 1;
        for sensor in body["value"].as_array().unwrap() {
            names.push(sensor["displayName"].as_str().unwrap().to_owned());
        }
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with(&format!("{}/beta/{SENSORS_PATH}?$skiptoken=", sim.graph_url())),
                    "{next}"
                );
                url = next.to_owned();
            }
            None => break,
        }
    }

    assert_eq!(pages, 3);
    assert_eq!(names, ["DC1", "DC2", "DC3", "DC4", "DC5"]);
    assert_eq!(sim.calls(Endpoint::ListSensors), 3);
}

#[tokio::test]
async fn the_default_page_holds_default_page_size_sensors() {
    let sim = start().await;
    let token = token(&sim).await;
    let url = graph_url(&sim, "beta", SENSORS_PATH);
    sim.set_sensors(tenant(DEFAULT_PAGE_SIZE));
    let body = json(get(&url, &token).await).await;
    assert_eq!(body["value"].as_array().unwrap().len(), DEFAULT_PAGE_SIZE);
    assert!(body.get("@odata.nextLink").is_none());

    sim.set_sensors(tenant(DEFAULT_PAGE_SIZE + 1));
    let body = json(get(&url, &token).await).await;
    assert!(body["@odata.nextLink"].is_string());
    assert_eq!(sim.sensors().len(), DEFAULT_PAGE_SIZE + 1);
}

#[tokio::test]
async fn sensors_carry_graphs_documented_properties_and_any_status_a_test_sets() {
    let sim = start().await;
    sim.set_sensors(vec![SimSensor::healthy("DC1", "contoso.com").with_status(
        "unknownFutureValue",
        "onboarding",
        "notHealthyHigh",
    )]);
    for version in ["v1.0", "beta"] {
        let body = json(get(&graph_url(&sim, version, SENSORS_PATH), &token(&sim).await).await).await;
        let sensor = &body["value"][0];
        for field in [
            "id",
            "displayName",
            "domainName",
            "sensorType",
            "deploymentStatus",
            "healthStatus",
            "serviceStatus",
            "version",
            "createdDateTime",
        ] {
            assert!(sensor[field].is_string(), "{version} {field}");
        }
        assert_eq!(sensor["openHealthIssuesCount"], 0);
        assert_eq!(
            sensor["settings"]["domainControllerDnsNames"],
            serde_json::json!(["dc1.contoso.com"])
        );
        assert_eq!(sensor["deploymentStatus"], "unknownFutureValue");
        assert_eq!(sensor["serviceStatus"], "onboarding");
        assert_eq!(sensor["healthStatus"], "notHealthyHigh");
    }
}

#[tokio::test]
async fn each_sensor_type_is_served_as_its_published_member_listing_other_domain_controllers() {
    // ATADocs configure-sensor-settings.md: "Domain Controllers (FQDN)" is "Required for the
    // Defender for Identity standalone sensors and sensors installed on AD FS / AD CS servers";
    // active-directory-federation-services.md: Entra Connect sensors pick "the closest domain
    // controller" too. The list names other servers, never the sensor's own.
    let sim = start().await;
    let kinds = [
        (SimSensorType::Adfs, "ADFS1", "adfsIntegrated"),
        (SimSensorType::Adcs, "CA1", "adcsIntegrated"),
        (SimSensorType::EntraConnect, "SYNC1", "adConnectIntegrated"),
        (SimSensorType::Standalone, "MDI1", "domainControllerStandalone"),
    ];
    let mut tenant = vec![SimSensor::healthy("DC1", "contoso.com")];
    for (kind, name, _) in kinds {
        tenant.push(SimSensor::of_type(
            kind,
            name,
            "contoso.com",
            &["dc1.contoso.com", "dc2.contoso.com"],
        ));
    }
    sim.set_sensors(tenant);

    let body = json(get(&graph_url(&sim, "v1.0", SENSORS_PATH), &token(&sim).await).await).await;

    assert_eq!(body["value"][0]["sensorType"], "domainControllerIntegrated");
    assert_eq!(
        body["value"][0]["settings"]["domainControllerDnsNames"],
        serde_json::json!(["dc1.contoso.com"]),
        "a domain controller sensor lists its own name"
    );
    for (n, (_, name, member)) in kinds.iter().enumerate() {
        let sensor = &body["value"][n + 1];
        assert_eq!(sensor["displayName"], *name);
        assert_eq!(sensor["sensorType"], *member);
        assert_eq!(
            sensor["settings"]["domainControllerDnsNames"],
            serde_json::json!(["dc1.contoso.com", "dc2.contoso.com"]),
            "{member}"
        );
    }
}

#[tokio::test]
async fn a_sensor_needing_configuration_is_not_configured_and_stopped() {
    // ATADocs sensor-settings.md: "Not Configured: Sensor requires more configuration before it's
    // fully operational. This applies to sensors installed on AD FS / AD CS servers or standalone
    // sensors."
    let sim = start().await;
    sim.set_sensors(vec![
        SimSensor::of_type(SimSensorType::Standalone, "MDI1", "contoso.com", &[]).needing_configuration(),
    ]);

    let body = json(get(&graph_url(&sim, "beta", SENSORS_PATH), &token(&sim).await).await).await;

    let sensor = &body["value"][0];
    assert_eq!(sensor["deploymentStatus"], "notConfigured");
    assert_eq!(sensor["serviceStatus"], "stopped");
    assert_eq!(sensor["healthStatus"], "healthy");
    assert_eq!(sensor["settings"]["domainControllerDnsNames"], serde_json::json!([]));
}

#[tokio::test]
async fn an_initialising_adfs_sensor_reads_stopped_then_running() {
    // ATADocs active-directory-federation-services.md: "When it finishes, the service status of
    // the AD FS, AD CS, or Microsoft Entra Connect sensor changes from stopped to running."
    let sim = start().await;
    sim.set_sensor_page_size(1);
    sim.set_sensors(vec![
        SimSensor::healthy("DC1", "contoso.com"),
        SimSensor::of_type(SimSensorType::Adfs, "ADFS1", "contoso.com", &["dc1.contoso.com"]).initialising(2),
    ]);
    let token = token(&sim).await;
    let second_page = format!("{}?$skiptoken=1", graph_url(&sim, "v1.0", SENSORS_PATH));

    let mut seen = Vec::new();
    for _ in 0..3 {
        // The first page does not hold the AD FS sensor: it does not count as a read of it.
        json(get(&graph_url(&sim, "v1.0", SENSORS_PATH), &token).await).await;
        let body = json(get(&second_page, &token).await).await;
        seen.push(body["value"][0]["serviceStatus"].as_str().unwrap().to_owned());
    }

    assert_eq!(seen, ["stopped", "stopped", "running"]);
    assert_eq!(sim.sensors()[1].stopped_for_reads, 0);
}

#[tokio::test]
async fn only_the_read_role_reads_sensors_and_only_the_read_write_role_reads_the_key() {
    // As Microsoft's permission map lists them (tests/contract/graph-permissions.json): neither
    // role stands in for the other.
    let sim = start().await;
    sim.set_roles(vec![READ_ROLE.to_owned()]);
    let read_only = token(&sim).await;
    assert_eq!(
        get(&graph_url(&sim, "v1.0", PACKAGE_PATH), &read_only).await.status(),
        200
    );
    assert_eq!(
        get(&graph_url(&sim, "v1.0", SENSORS_PATH), &read_only).await.status(),
        200
    );
    assert_eq!(
        get_key(&sim, &read_only).await.status(),
        403,
        "the key needs ReadWrite.All"
    );

    sim.set_roles(vec![REQUIRED_ROLE.to_owned()]);
    let read_write_only = token(&sim).await;
    assert_eq!(get_key(&sim, &read_write_only).await.status(), 200);
    for path in [PACKAGE_PATH, SENSORS_PATH] {
        let (status, code, message) = graph_error(get(&graph_url(&sim, "v1.0", path), &read_write_only).await).await;
        assert_eq!((status, code.as_str()), (403, "Forbidden"), "{path}");
        assert!(message.contains(READ_ROLE), "{message}");
    }

    sim.set_roles(vec![]);
    let (status, code, message) =
        graph_error(get(&graph_url(&sim, "beta", SENSORS_PATH), &token(&sim).await).await).await;
    assert_eq!((status, code.as_str()), (403, "Forbidden"));
    assert!(message.contains(READ_ROLE), "{message}");
}

#[tokio::test]
async fn a_us_government_sensor_has_no_service_status_in_either_version() {
    let sim = start_with(graph_sim::SimConfig::in_cloud(graph_sim::SimCloud::UsGov)).await;
    sim.set_sensors(tenant(1));
    for version in ["v1.0", "beta"] {
        let body = json(get(&graph_url(&sim, version, SENSORS_PATH), &token(&sim).await).await).await;
        let sensor = &body["value"][0];
        assert!(sensor.get("serviceStatus").is_none(), "{version}: {sensor}");
        assert_eq!(sensor["deploymentStatus"], "upToDate");
        assert_eq!(sensor["openHealthIssuesCount"], 0);
    }
}

#[tokio::test]
async fn requests_without_a_token_this_simulator_issued_are_401() {
    let sim = start().await;
    let url = graph_url(&sim, "beta", SENSORS_PATH);
    let anonymous = client().get(&url).send().await.unwrap();
    assert_eq!(graph_error(anonymous).await.0, 401);
    assert_eq!(get(&url, "not-a-jwt").await.status(), 401);
    assert_eq!(get(&url, "a.b.c").await.status(), 401);
    assert_eq!(sim.calls(Endpoint::ListSensors), 3, "refused requests are counted too");
}

#[tokio::test]
async fn other_methods_are_405_with_allow_get_and_bad_skiptokens_400() {
    let sim = start().await;
    let token = token(&sim).await;
    let response = client()
        .post(graph_url(&sim, "beta", SENSORS_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    let bad = get(
        &format!("{}?$skiptoken=not-ours", graph_url(&sim, "beta", SENSORS_PATH)),
        &token,
    )
    .await;
    assert_eq!(graph_error(bad).await.0, 400);
}

#[tokio::test]
async fn paths_that_are_not_the_sensor_operations_are_left_to_graphs_own_answers() {
    let sim = start().await;
    let token = token(&sim).await;
    let unknown = get(&graph_url(&sim, "beta", "security/identities/sensors/bogus"), &token).await;
    let (status, _, message) = graph_error(unknown).await;
    assert_eq!(status, 400);
    assert!(message.contains("bogus"), "{message}");
    let version = get(&graph_url(&sim, "v2", SENSORS_PATH), &token).await;
    assert_eq!(graph_error(version).await.0, 400);
    assert_eq!(sim.calls(Endpoint::ListSensors), 0);
}

#[tokio::test]
async fn next_links_can_be_pointed_elsewhere_and_back() {
    let sim = start().await;
    sim.set_sensors(tenant(2));
    sim.set_sensor_page_size(1);
    sim.set_sensor_next_link_root(Some("https://evil.sim.invalid"));
    let token = token(&sim).await;
    let url = graph_url(&sim, "v1.0", SENSORS_PATH);
    let body = json(get(&url, &token).await).await;
    assert_eq!(
        body["@odata.nextLink"],
        "https://evil.sim.invalid/v1.0/security/identities/sensors?$skiptoken=1"
    );
    sim.set_sensor_next_link_root(None);
    let body = json(get(&url, &token).await).await;
    assert!(body["@odata.nextLink"].as_str().unwrap().starts_with(&sim.graph_url()));
}

#[tokio::test]
async fn faults_hit_one_request_of_their_endpoint_only() {
    let sim = start().await;
    let token = token(&sim).await;
    let list = graph_url(&sim, "beta", SENSORS_PATH);
    let package = graph_url(&sim, "beta", PACKAGE_PATH);
    sim.inject(Endpoint::ListSensors, Fault::Status(503));
    sim.inject(
        Endpoint::GetPackage,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(2)),
        },
    );

    assert_eq!(
        get(&key_url(&sim), &token).await.status(),
        200,
        "the key endpoints are untouched"
    );
    assert_eq!(get(&list, &token).await.status(), 503);
    assert_eq!(get(&list, &token).await.status(), 200);
    let throttled = get(&package, &token).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "2");
    assert_eq!(get(&package, &token).await.status(), 200);

    sim.inject(Endpoint::ListSensors, Fault::MalformedBody);
    let malformed = get(&list, &token).await;
    assert_eq!(malformed.status(), 200);
    assert!(malformed.json::<Value>().await.is_err());

    sim.inject(Endpoint::GetPackage, Fault::TokenRevoked);
    assert_eq!(get(&package, &token).await.status(), 401);
    assert_eq!(get(&package, &token).await.status(), 401, "the token stays revoked");
}

#[tokio::test]
async fn calls_are_counted_per_endpoint_and_reset_keeps_the_sensors() {
    let sim = start().await;
    sim.set_sensors(tenant(1));
    let token = token(&sim).await;
    get(&graph_url(&sim, "beta", SENSORS_PATH), &token).await;
    get(&graph_url(&sim, "beta", PACKAGE_PATH), &token).await;
    get(&graph_url(&sim, "beta", PACKAGE_PATH), &token).await;
    assert_eq!(
        (
            sim.calls(Endpoint::ListSensors),
            sim.calls(Endpoint::GetPackage),
            sim.calls(Endpoint::GetKey)
        ),
        (1, 2, 0)
    );
    sim.reset();
    assert_eq!(sim.calls(Endpoint::ListSensors), 0);
    assert_eq!(sim.sensors().len(), 1);
}

fn key_url(sim: &graph_sim::SimHandle) -> String {
    graph_url(sim, "beta", GET_KEY_PATH)
}
