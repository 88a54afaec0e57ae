//! Cloud safety end to end: `GRAPH_CLOUD=auto` takes the tenant's cloud from its OpenID
//! configuration document (served by the simulator for a global, GCC, GCC High or DoD tenant), an
//! explicit cloud is checked against that document without adding latency and refused when the
//! document contradicts it, a document that cannot be fetched fails `auto` closed but never blocks
//! an explicit cloud, and a government cloud without the MDI API says so.

mod common;

use std::time::{Duration, Instant};

use common::*;
use graph_sim::{Endpoint, Fault, SimCloud, SimConfig};

fn in_cloud(cloud: SimCloud, graph_cloud: &str) -> Setup {
    Setup {
        sim: SimConfig::in_cloud(cloud),
        extra_env: vec![("GRAPH_CLOUD", graph_cloud.to_owned())],
        ..Setup::default()
    }
}

/// The scope of the token requests the simulator received.
fn token_scopes(world: &World) -> Vec<String> {
    world
        .sim
        .requests()
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::Token))
        .filter_map(|r| r.form_field("scope").map(str::to_owned))
        .collect()
}

fn discoveries(world: &World) -> usize {
    world.sim.calls(Endpoint::OpenIdConfiguration)
}

#[tokio::test]
async fn auto_discovers_a_gcc_high_tenant_once_and_asks_for_a_usgov_token() {
    let world = world(in_cloud(SimCloud::UsGov, "auto")).await;

    let first = call(&world.app, event("get-key.json")).await;
    let second = call(&world.app, event("get-key.json")).await;

    assert_eq!((first.status, second.status), (200, 200), "{}", first.json);
    assert_eq!(token_scopes(&world), ["https://graph.microsoft.us/.default"]);
    assert_eq!(discoveries(&world), 1, "the cloud is cached like the token");
    let order: Vec<_> = world.sim.requests().iter().map(|r| r.endpoint).collect();
    assert_eq!(
        order[..2],
        [Some(Endpoint::OpenIdConfiguration), Some(Endpoint::Token)],
        "nothing is sent before the cloud is known"
    );
    assert!(captured_logs().contains("the tenant's cloud was discovered"));
    world.assert_no_leaks();
}

#[tokio::test]
async fn auto_finds_each_clouds_scope_and_a_gcc_tenant_stays_global() {
    for (cloud, scope) in [
        (SimCloud::Dod, "https://dod-graph.microsoft.us/.default"),
        (SimCloud::Gcc, "https://graph.microsoft.com/.default"),
        (SimCloud::Global, "https://graph.microsoft.com/.default"),
    ] {
        let world = world(in_cloud(cloud, "auto")).await;
        let reply = call(&world.app, event("get-key.json")).await;
        assert_eq!(reply.status, 200, "{cloud:?}: {}", reply.json);
        assert_eq!(token_scopes(&world), [scope], "{cloud:?}");
    }
}

#[tokio::test]
async fn auto_fails_closed_with_a_503_when_the_document_cannot_be_read_and_tries_again_next_time() {
    let world = world(in_cloud(SimCloud::UsGov, "auto")).await;
    for _ in 0..4 {
        world.sim.inject(Endpoint::OpenIdConfiguration, Fault::Status(503));
    }

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 503, "{}", reply.json);
    assert_eq!(
        reply.json["type"],
        "tag:mdi-sensor-key,2026:problem/cloud-discovery-failed"
    );
    assert!(reply.header("retry-after").is_some());
    assert!(
        reply.json["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was sent to Graph")
    );
    assert_eq!(calls(&world), (0, 0, 0), "no token was asked for, no key read");

    let reply = call(&world.app, event("get-key.json")).await;
    assert_eq!(reply.status, 200, "a failed discovery is not cached: {}", reply.json);
}

#[tokio::test]
async fn auto_with_a_tenant_entra_does_not_know_is_entras_unknown_tenant() {
    let config = SimConfig::default();
    let json = format!(
        r#"{{"tenantId":"99999999-9999-9999-9999-999999999999","clientId":"{}","clientSecret":"{CLIENT_SECRET}"}}"#,
        config.client_id
    );
    let world = world(Setup {
        credentials_json: Some(json),
        ..in_cloud(SimCloud::Global, "auto")
    })
    .await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502, "{}", reply.json);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/entra-refused");
    assert_eq!(reply.json["code"], "invalid_request AADSTS90002");
    assert!(reply.json["detail"].as_str().unwrap().contains("tenant"));
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn a_gcc_high_tenant_configured_as_global_is_refused_before_graph_is_called() {
    let world = world(in_cloud(SimCloud::UsGov, "global")).await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500, "{}", reply.json);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/cloud-mismatch");
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("configured cloud is global")
            && detail.contains("usgov")
            && detail.contains("microsoftonline.us")
            && detail.contains("DODCON"),
        "{detail}"
    );
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);

    let again = call(&world.app, event("get-key.json")).await;
    assert_eq!(again.status, 500);
    assert_eq!(discoveries(&world), 1, "the verdict holds for the cold start");
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);
    assert!(captured_logs().contains("contradicts GRAPH_CLOUD"));
}

#[tokio::test]
async fn a_global_tenant_configured_as_dod_is_refused_too() {
    let world = world(in_cloud(SimCloud::Global, "dod")).await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500);
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("configured cloud is dod") && detail.contains("global"),
        "{detail}"
    );
    assert_eq!(world.sim.calls(Endpoint::GetKey), 0);
}

#[tokio::test]
async fn an_explicit_cloud_is_checked_once_alongside_the_token_request_adding_no_latency() {
    let world = world(in_cloud(SimCloud::UsGov, "usgov")).await;
    let delay = Duration::from_millis(1000);
    world.sim.inject(Endpoint::Token, Fault::Delay(delay));
    world.sim.inject(Endpoint::OpenIdConfiguration, Fault::Delay(delay));

    let started = Instant::now();
    let reply = call(&world.app, event("get-key.json")).await;
    let elapsed = started.elapsed();

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert!(
        elapsed < delay * 2 - Duration::from_millis(200),
        "the check ran beside the token request, not after it: {elapsed:?}"
    );
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    world.sim.revoke_tokens();
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    assert_eq!(discoveries(&world), 1, "once per cold start, not per token");
    assert_eq!(token_scopes(&world)[0], "https://graph.microsoft.us/.default");
}

#[tokio::test]
async fn a_document_that_hangs_does_not_hold_an_explicit_cloud_back_and_is_not_asked_again() {
    let world = world(in_cloud(SimCloud::Global, "global")).await;
    world.sim.set_fault_rate(
        Endpoint::OpenIdConfiguration,
        100,
        Fault::Delay(Duration::from_secs(30)),
    );

    let started = Instant::now();
    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
    assert!(captured_logs().contains("could not be checked against its OpenID configuration"));
    let checks = discoveries(&world);
    world.sim.revoke_tokens();
    assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    assert_eq!(
        discoveries(&world),
        checks,
        "one failed check per cold start, then trust"
    );
}

#[tokio::test]
async fn a_government_cloud_without_the_key_api_says_it_is_not_available_there() {
    // Graph's own word that it knows no such path ("Resource not found for the segment ..."), not
    // the status alone: the snapshot publishes the key in the US Government schema.
    let world = world(in_cloud(SimCloud::Dod, "dod")).await;
    world.sim.inject(Endpoint::GetKey, Fault::UnknownSegment);

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502, "{}", reply.json);
    assert_eq!(
        reply.json["type"],
        "tag:mdi-sensor-key,2026:problem/not-available-in-cloud"
    );
    assert_eq!(reply.json["code"], "BadRequest");
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(detail.contains("not available in the dod cloud"), "{detail}");
    assert!(reply.json["upstreamRequestId"].as_str().is_some());
}

#[tokio::test]
async fn a_plain_400_or_404_in_a_government_cloud_is_an_upstream_rejection() {
    for status in [404, 400] {
        let world = world(in_cloud(SimCloud::Dod, "dod")).await;
        world.sim.inject(Endpoint::GetKey, Fault::Status(status));

        let reply = call(&world.app, event("get-key.json")).await;

        assert_eq!(reply.status, 502, "{}", reply.json);
        assert_eq!(
            reply.json["type"], "tag:mdi-sensor-key,2026:problem/upstream-rejected",
            "{status}"
        );
    }
}

#[tokio::test]
async fn a_404_in_the_global_cloud_stays_an_upstream_rejection() {
    let world = world(Setup::default()).await;
    world.sim.inject(Endpoint::GetKey, Fault::Status(404));

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 502);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/upstream-rejected");
}
