//! Secrets never leak: every flow, the failing ones included, runs with a recognisable key and
//! client secret; neither they nor any token appear in a log line, an error body, an event
//! summary or error, or a panic message.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use graph_sim::{Endpoint, Fault, RetryAfter};

fn install_panic_recorder() -> Arc<Mutex<Vec<String>>> {
    let panics = Arc::new(Mutex::new(Vec::new()));
    let recorded = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        recorded.lock().unwrap().push(info.to_string());
        previous(info);
    }));
    panics
}

#[tokio::test]
async fn no_flow_leaks_the_key_the_client_secret_or_a_token() {
    let panics = install_panic_recorder();
    let world = world(Setup::default()).await;
    world.sim.set_key("LEAK-CANARY-KEY-0b7e6c2a9f4d4e1d8a3c5b7e9f1a2c4d");
    let mut exposed = Vec::new();

    // Successful flows: the key may appear only as the value of sensorDeploymentAccessKey.
    for name in ["get-key.json", "regenerate.json"] {
        let mut reply = call(&world.app, event(name)).await;
        assert_eq!(reply.status, 200, "{name}");
        reply.json.as_object_mut().unwrap().remove("sensorDeploymentAccessKey");
        exposed.push(reply.json.to_string());
    }
    // Refusals and every upstream fault class.
    for name in [
        "get-key-no-identity.json",
        "get-key-refused.json",
        "regenerate-by-reader.json",
    ] {
        exposed.push(call(&world.app, event(name)).await.json.to_string());
    }
    // 401 and 403 are tried once more with a fresh token, so they are injected twice.
    let faults = [
        (Fault::TokenRevoked, 2),
        (Fault::MalformedBody, 1),
        (Fault::TruncatedBody, 1),
        (Fault::UnexpectedShape, 1),
        (Fault::HtmlErrorPage(502), 1),
        (Fault::Status(500), 1),
        (
            Fault::Forbidden {
                message: "Missing application roles".into(),
            },
            2,
        ),
    ];
    for (fault, times) in faults {
        for _ in 0..times {
            world.sim.inject(Endpoint::GetKey, fault.clone());
        }
        exposed.push(call(&world.app, event("get-key.json")).await.json.to_string());
    }
    assert_eq!(
        world.sim.calls(Endpoint::GetKey),
        2 + 9,
        "two good reads and every injected fault consumed"
    );
    for _ in 0..4 {
        world.sim.inject(
            Endpoint::GetKey,
            Fault::TooManyRequests {
                retry_after: Some(RetryAfter::Seconds(0)),
            },
        );
    }
    exposed.push(call(&world.app, event("get-key.json")).await.json.to_string());
    world.sim.revoke_tokens();
    world.sim.inject(Endpoint::Token, Fault::InvalidClient);
    world.sim.inject(Endpoint::Token, Fault::InvalidClient);
    exposed.push(call(&world.app, event("get-key.json")).await.json.to_string());
    world.sim.inject(Endpoint::RegenerateKey, Fault::ProcessThenStatus(504));
    let mut reply = call(&world.app, event("regenerate.json")).await;
    reply.json.as_object_mut().unwrap().remove("sensorDeploymentAccessKey");
    exposed.push(reply.json.to_string());

    // Events: summaries and errors.
    exposed.push(
        invoke_event(&world.app, &events_json("schedule.json"))
            .await
            .unwrap()
            .to_string(),
    );
    exposed.push(
        invoke_event(&world.app, &events_json("scheduler-rotate.json"))
            .await
            .unwrap()
            .to_string(),
    );
    world.sim.inject(Endpoint::GetKey, Fault::Status(500));
    exposed.push(
        invoke_event(&world.app, &events_json("schedule.json").replace("53dc", "63dc"))
            .await
            .unwrap_err()
            .to_string(),
    );
    exposed.push(
        invoke_event(&world.app, &events_json("rotation-create-secret.json"))
            .await
            .unwrap_err()
            .to_string(),
    );

    let secrets = world.secrets();
    assert!(secrets.len() > 4, "keys, the client secret and tokens are all checked");
    for text in &exposed {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into a response or event reply: {text}"
            );
        }
    }
    for message in panics.lock().unwrap().iter() {
        for secret in &secrets {
            assert!(
                !message.contains(secret.as_str()),
                "a secret leaked into a panic message"
            );
        }
    }
    world.assert_no_leaks();
}

#[tokio::test]
async fn no_certificate_flow_leaks_the_private_key_an_assertion_or_a_token() {
    let world = world(Setup {
        credentials_json: Some(certificate_credentials_json(app_certificate(), true)),
        sim: graph_sim::SimConfig {
            client_certificate_der: Some(app_certificate().der().to_vec()),
            ..graph_sim::SimConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let mut exposed = Vec::new();
    for name in ["get-key.json", "regenerate.json"] {
        let mut reply = call(&world.app, event(name)).await;
        assert_eq!(reply.status, 200, "{name}");
        reply.json.as_object_mut().unwrap().remove("sensorDeploymentAccessKey");
        exposed.push(reply.json.to_string());
    }
    world.sim.revoke_tokens();
    world.sim.inject(Endpoint::Token, Fault::ProcessThenStatus(503));
    let mut reply = call(&world.app, event("get-key.json")).await;
    assert_eq!(reply.status, 200);
    reply.json.as_object_mut().unwrap().remove("sensorDeploymentAccessKey");
    exposed.push(reply.json.to_string());
    world.sim.revoke_tokens();
    world.sim.remove_certificates();
    exposed.push(call(&world.app, event("get-key.json")).await.json.to_string());
    let parsed = mdi_sensor_key::credentials::GraphCredentials::parse(
        "creds",
        &secrecy::SecretString::from(certificate_credentials_json(app_certificate(), true)),
    )
    .unwrap();
    exposed.push(format!("{parsed:?}"));

    let secrets = world.secrets();
    assert!(
        world
            .sim
            .requests()
            .iter()
            .filter(|r| r.form_field("client_assertion").is_some())
            .count()
            >= 4,
        "assertions are among the secrets checked"
    );
    for text in &exposed {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
        }
    }
    world.assert_no_leaks();
}
