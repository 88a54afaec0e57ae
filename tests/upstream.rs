//! Entra and Graph as untrusted input, end to end through the handler against the simulator:
//! no redirect is followed (the client secret, the assertion and the bearer token stay home), every
//! body is read with a cap (over it: `502 upstream-bad-response`, the process unharmed), and an
//! absurd token lifetime is clamped.

mod common;

use common::*;
use graph_sim::{Endpoint, Fault, Sim, SimConfig, SimHandle, SimSensor};

const BAD_RESPONSE: &str = "tag:mdi-sensor-key,2026:problem/upstream-bad-response";

/// Where a hostile redirect points: another simulator that records whatever reaches it.
async fn elsewhere() -> SimHandle {
    Sim::start(SimConfig::default()).await.expect("simulator starts")
}

fn key_url(sim: &SimHandle) -> String {
    format!(
        "{}/beta/security/identities/sensors/getDeploymentAccessKey",
        sim.graph_url()
    )
}

#[tokio::test]
async fn a_redirect_from_the_token_endpoint_is_not_followed_and_the_secret_goes_nowhere_else() {
    let world = world(Setup::default()).await;
    let target = elsewhere().await;
    world.sim.inject(
        Endpoint::Token,
        Fault::Redirect {
            status: 307,
            location: target.token_url(),
        },
    );

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502, "{:?}", reply.json);
    assert_eq!(reply.json["type"], BAD_RESPONSE);
    assert!(reply.json["detail"].as_str().unwrap().contains("redirect"));
    assert!(target.requests().is_empty(), "nothing was sent to the Location");
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_redirect_from_graph_is_not_followed_and_the_token_goes_nowhere_else() {
    let world = world(Setup::default()).await;
    let target = elsewhere().await;
    for (endpoint, status, request) in [
        (Endpoint::GetKey, 308, "get-key.json"),
        (Endpoint::RegenerateKey, 307, "regenerate.json"),
    ] {
        world.sim.inject(
            endpoint,
            Fault::Redirect {
                status,
                location: key_url(&target),
            },
        );

        let reply = call(&world.app, event(request)).await;

        assert_eq!(reply.status, 502, "{request}: {:?}", reply.json);
        assert_eq!(reply.json["type"], BAD_RESPONSE);
    }
    assert!(target.requests().is_empty(), "no bearer token left home");
    assert_eq!(world.sim.keys_generated(), 0);
}

#[tokio::test]
async fn a_redirect_from_the_openid_configuration_is_not_followed() {
    let world = world(Setup {
        extra_env: vec![("GRAPH_CLOUD", "auto".to_owned())],
        ..Setup::default()
    })
    .await;
    let target = elsewhere().await;
    world.sim.inject(
        Endpoint::OpenIdConfiguration,
        Fault::Redirect {
            status: 307,
            location: target.openid_configuration_url(),
        },
    );

    let reply = call(&world.app, event("get-key.json")).await;

    assert_ne!(reply.status, 200);
    assert!(target.requests().is_empty());
    assert_eq!(
        world.sim.calls(Endpoint::Token),
        0,
        "nothing sent before the cloud is known"
    );
}

#[tokio::test]
async fn an_oversized_key_answer_is_502_with_or_without_content_length_and_the_next_read_works() {
    let world = world(Setup::default()).await;
    for chunked in [false, true] {
        world.sim.inject(
            Endpoint::GetKey,
            Fault::OversizedBody {
                bytes: 8 * 1024 * 1024,
                chunked,
            },
        );

        let reply = call(&world.app, event("get-key.json")).await;

        assert_eq!(reply.status, 502, "chunked {chunked}: {:?}", reply.json);
        assert_eq!(reply.json["type"], BAD_RESPONSE);
        assert!(
            reply.json["detail"].as_str().unwrap().contains("64 KiB"),
            "{:?}",
            reply.json
        );
    }
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
}

#[tokio::test]
async fn an_oversized_token_answer_is_502() {
    let world = world(Setup::default()).await;
    world.sim.inject(
        Endpoint::Token,
        Fault::OversizedBody {
            bytes: 1024 * 1024,
            chunked: true,
        },
    );

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502, "{:?}", reply.json);
    assert_eq!(reply.json["type"], BAD_RESPONSE);
    assert!(
        reply.json["detail"].as_str().unwrap().contains("64 KiB"),
        "{:?}",
        reply.json
    );
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);
}

#[tokio::test]
async fn an_oversized_openid_configuration_fails_closed_and_nothing_is_sent() {
    let world = world(Setup {
        extra_env: vec![("GRAPH_CLOUD", "auto".to_owned())],
        ..Setup::default()
    })
    .await;
    world.sim.inject(
        Endpoint::OpenIdConfiguration,
        Fault::OversizedBody {
            bytes: 1024 * 1024,
            chunked: false,
        },
    );

    let reply = call(&world.app, event("get-key.json")).await;

    assert_ne!(reply.status, 200, "{:?}", reply.json);
    assert!(reply.json.to_string().contains("64 KiB"), "{:?}", reply.json);
    assert_eq!(world.sim.calls(Endpoint::Token), 0);
}

#[tokio::test]
async fn an_oversized_sensor_page_is_502() {
    let world = world(Setup::default()).await;
    world.sim.inject(
        Endpoint::ListSensors,
        Fault::OversizedBody {
            bytes: 5 * 1024 * 1024,
            chunked: true,
        },
    );

    let reply = call(&world.app, event("get-sensors.json")).await;

    assert_eq!(reply.status, 502, "{:?}", reply.json);
    assert_eq!(reply.json["type"], BAD_RESPONSE);
    assert!(
        reply.json["detail"].as_str().unwrap().contains("4 MiB"),
        "{:?}",
        reply.json
    );
}

#[tokio::test]
async fn a_sensor_list_whose_pages_together_pass_the_bound_is_502() {
    let world = world(Setup::default()).await;
    // Pages of about 3 MiB (under the page cap), 36 MiB in all (over the list's): each sensor
    // carries the padded domain twice, as its domainName and in its DNS name.
    let padding = "a".repeat(512 * 1024);
    let sensors = (0..36)
        .map(|n| SimSensor::healthy(&format!("DC{n}"), &format!("{padding}.contoso.com")))
        .collect();
    world.sim.set_sensors(sensors);
    world.sim.set_sensor_page_size(3);

    let reply = call(&world.app, event("get-sensors.json")).await;

    assert_eq!(reply.status, 502, "{:?}", reply.json["detail"]);
    assert!(
        reply.json["detail"].as_str().unwrap().contains("32 MiB"),
        "{:?}",
        reply.json
    );
    assert!(world.sim.calls(Endpoint::ListSensors) < 12, "it stopped reading");
}

#[tokio::test]
async fn a_token_lifetime_of_two_to_the_sixty_four_is_clamped_not_a_panic() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::Token, Fault::ExpiresIn(u64::MAX));

    let first = call(&world.app, event("get-key.json")).await;
    let second = call(&world.app, event("get-key.json")).await;

    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(world.sim.calls(Endpoint::Token), 1, "the clamped token is still cached");
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_page_of_more_members_than_graph_documents_is_502() {
    let world = world(Setup::default()).await;
    // Twice the largest page Microsoft documents in Graph (1,000) passes; one more does not.
    let sensors = |count: usize| {
        (0..count)
            .map(|n| SimSensor::healthy(&format!("DC{n}"), "contoso.com"))
            .collect::<Vec<_>>()
    };
    world.sim.set_sensor_page_size(2_001);
    world.sim.set_sensors(sensors(2_000));
    assert_eq!(call(&world.app, event("get-sensors.json")).await.status, 200);
    world.sim.set_sensors(sensors(2_001));

    let reply = call(&world.app, event("get-sensors.json")).await;

    assert_eq!(reply.status, 502, "{:?}", reply.json["detail"]);
    assert_eq!(reply.json["type"], BAD_RESPONSE);
    assert!(
        reply.json["detail"]
            .as_str()
            .unwrap()
            .contains("more than 2,000 members"),
        "{:?}",
        reply.json
    );
}

#[tokio::test]
async fn a_list_of_more_members_than_its_bound_is_502_and_reading_stops_there() {
    let world = world(Setup::default()).await;
    // 20,001 sensors in pages of 2,000: ten full pages are read, the eleventh passes the bound.
    let sensors = (0..20_001)
        .map(|n| SimSensor::healthy(&format!("DC{n}"), "contoso.com"))
        .collect();
    world.sim.set_sensors(sensors);
    world.sim.set_sensor_page_size(2_000);

    let reply = call(&world.app, event("get-sensors.json")).await;

    assert_eq!(reply.status, 502, "{:?}", reply.json["detail"]);
    assert!(
        reply.json["detail"].as_str().unwrap().contains("20,000 members"),
        "{:?}",
        reply.json
    );
    assert_eq!(world.sim.calls(Endpoint::ListSensors), 11);
}
