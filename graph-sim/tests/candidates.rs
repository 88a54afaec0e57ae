//! The simulated activation configuration's update in each reading of Microsoft's sources (PATCH
//! only, POST only on the singular path, both), and an activation's answer to a server id that
//! names no candidate.

mod common;

use common::*;
use graph_sim::{ActivationUpdate, SimCandidate, SimHandle, UnknownServerIds};
use serde_json::json;

const CONFIGURATION_PATH: &str = "security/identities/sensorCandidateActivationConfiguration";
const ACTIVATE_PATH: &str = "security/identities/sensorCandidates/activate";

async fn send(sim: &SimHandle, method: reqwest::Method, path: &str, body: serde_json::Value) -> reqwest::Response {
    client()
        .request(method, graph_url(sim, "v1.0", path))
        .bearer_auth(token(sim).await)
        .json(&body)
        .send()
        .await
        .expect("Graph answers")
}

#[tokio::test]
async fn each_reading_takes_its_verbs_and_answers_another_with_405_and_allow() {
    let sim = start().await;
    let body = json!({"activationMode": "automated"});
    for (reading, patch, post, allow) in [
        (ActivationUpdate::PatchOnly, 204, 405, "GET, PATCH"),
        (ActivationUpdate::PostOnly, 405, 200, "GET, POST"),
        (ActivationUpdate::Both, 204, 200, "GET, PATCH, POST"),
    ] {
        sim.set_activation_update(reading);

        let patched = send(&sim, reqwest::Method::PATCH, CONFIGURATION_PATH, body.clone()).await;
        let posted = send(&sim, reqwest::Method::POST, CONFIGURATION_PATH, body.clone()).await;

        assert_eq!(patched.status(), patch, "{reading:?} PATCH");
        assert_eq!(posted.status(), post, "{reading:?} POST");
        let refused = if patch == 405 { patched } else { posted };
        if refused.status() == 405 {
            assert_eq!(refused.headers()["allow"], allow, "{reading:?}");
        }
    }
    assert_eq!(sim.activation_mode(), "automated");
}

#[tokio::test]
async fn the_api_pages_plural_path_is_an_unknown_segment_in_every_reading() {
    let sim = start().await;
    for reading in [
        ActivationUpdate::PatchOnly,
        ActivationUpdate::PostOnly,
        ActivationUpdate::Both,
    ] {
        sim.set_activation_update(reading);

        let posted = send(
            &sim,
            reqwest::Method::POST,
            "security/identities/sensorCandidateActivationConfigurations",
            json!({"activationMode": "automated"}),
        )
        .await;

        let (status, code, message) = graph_error(posted).await;
        assert_eq!((status, code.as_str()), (400, "BadRequest"), "{reading:?}");
        assert_eq!(
            message,
            "Resource not found for the segment 'sensorCandidateActivationConfigurations'."
        );
    }
    assert_eq!(sim.activation_mode(), "manual");
}

#[tokio::test]
async fn an_unknown_server_id_is_ignored_or_refused_as_the_test_says_and_a_refusal_activates_nothing() {
    let sim = start().await;
    let dc5 = SimCandidate::new("dc5.contoso.com");
    sim.set_sensor_candidates(vec![dc5.clone()]);
    let stale = "0000000000000000000000000000000000000000";
    let body = json!({"serverIds": [dc5.id, stale]});

    for (answer, status, code) in [
        (UnknownServerIds::BadRequest, 400, "BadRequest"),
        (UnknownServerIds::NotFound, 404, "NotFound"),
    ] {
        sim.set_unknown_server_ids(answer);

        let (got, got_code, message) =
            graph_error(send(&sim, reqwest::Method::POST, ACTIVATE_PATH, body.clone()).await).await;

        assert_eq!((got, got_code.as_str()), (status, code), "{answer:?}");
        assert!(message.contains(stale), "{message}");
        assert_eq!(
            sim.sensor_candidates(),
            std::slice::from_ref(&dc5),
            "nothing was activated"
        );
    }

    sim.set_unknown_server_ids(UnknownServerIds::Ignored);
    let accepted = send(&sim, reqwest::Method::POST, ACTIVATE_PATH, body).await;
    assert_eq!(accepted.status(), 200);
    assert!(sim.sensor_candidates().is_empty(), "the known one was activated");
}
