//! Events as AWS sends them (issue 25): the fixtures in `events/` have the members of AWS's own
//! published samples, and the shapes that differ per door reach the same operation: a function
//! URL's base64-encoded `{}` on a route that takes no body, and a host name that a function URL
//! delivers percent-encoded and an HTTP API decoded.
//!
//! The reference samples: aws/aws-lambda-go `events/testdata/lambda-urls-request.json` and
//! `lambdaurl/testdata/function-url-domain-only-request-with-base64-encoded-body.json` (a live
//! capture: IAM auth, `requestContext.accountId` the function owner's account, a body the URL did
//! not take for text base64-encoded), `events/testdata/secretsmanager-secret-rotation-event.json`
//! (`RotationToken` beside `ClientRequestToken`); aws/aws-lambda-rust-runtime
//! `lambda-events/src/fixtures/example-apigw-v2-request-iam.json` for the HTTP API.

mod common;

use std::time::Duration;

use base64::Engine;
use common::*;
use graph_sim::{Endpoint, SimCandidate, SimSensor};
use lambda_http::Request;
use serde_json::Value;

/// The members every payload 2.0 request of AWS's samples carries, top level and request context.
const REQUEST_MEMBERS: &[&str] = &[
    "version",
    "rawPath",
    "rawQueryString",
    "headers",
    "requestContext",
    "isBase64Encoded",
];
const CONTEXT_MEMBERS: &[&str] = &[
    "accountId",
    "apiId",
    "domainName",
    "domainPrefix",
    "http",
    "requestId",
    "time",
    "timeEpoch",
];
const ROTATION_MEMBERS: &[&str] = &["Step", "SecretId", "ClientRequestToken", "RotationToken"];

fn fixtures() -> Vec<(String, Value)> {
    let directory = format!("{}/events", env!("CARGO_MANIFEST_DIR"));
    let mut fixtures: Vec<(String, Value)> = std::fs::read_dir(directory)
        .expect("events/")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && name != "env.json")
        .map(|name| {
            let event = serde_json::from_str(&events_json(&name)).expect("a fixture is JSON");
            (name, event)
        })
        .collect();
    fixtures.sort_by(|a, b| a.0.cmp(&b.0));
    fixtures
}

#[test]
fn every_http_fixture_has_the_members_aws_sends_and_an_iam_request_names_the_owners_account() {
    let http: Vec<(String, Value)> = fixtures()
        .into_iter()
        .filter(|(_, event)| event["version"] == "2.0")
        .collect();
    assert!(http.len() >= 12, "{} HTTP fixtures", http.len());
    for (name, event) in &http {
        for member in REQUEST_MEMBERS {
            assert!(event.get(member).is_some(), "{name} lacks {member}");
        }
        for member in CONTEXT_MEMBERS {
            assert!(
                event["requestContext"].get(member).is_some(),
                "{name} lacks requestContext.{member}"
            );
        }
        let account = event["requestContext"]["accountId"].as_str().unwrap_or_default();
        let signed = event["requestContext"]["authorizer"]["iam"].is_object();
        if signed {
            // "anonymous" is what a URL with AuthType NONE puts there; an IAM request names the
            // function owner's account.
            assert!(
                account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
                "{name}: accountId {account:?} on an IAM request"
            );
        } else {
            assert_eq!(account, "anonymous", "{name}: an unsigned request");
        }
    }
}

#[test]
fn every_rotation_step_fixture_carries_the_tokens_secrets_manager_sends() {
    let steps: Vec<(String, Value)> = fixtures()
        .into_iter()
        .filter(|(_, event)| event.get("Step").is_some())
        .collect();
    assert_eq!(steps.len(), 4, "one fixture per step");
    for (name, event) in &steps {
        for member in ROTATION_MEMBERS {
            assert!(event[member].is_string(), "{name} lacks {member}");
        }
    }
}

/// `events/NAME` delivered by a function URL with a body it did not take for text.
fn with_base64_body(name: &str, content_type: &str, body: &str) -> Request {
    let mut event: Value = serde_json::from_str(&events_json(name)).expect("event is JSON");
    event["headers"]["content-type"] = content_type.into();
    event["body"] = body.into();
    event["isBase64Encoded"] = true.into();
    request_from_json(&event.to_string(), Duration::from_secs(30))
}

#[tokio::test]
async fn curls_empty_object_which_a_function_url_base64_encodes_is_accepted_where_no_body_is_taken() {
    let world = world(Setup::default()).await;
    // `curl -d '{}'`: application/x-www-form-urlencoded, so the URL sends `e30=`.
    let form = "application/x-www-form-urlencoded";
    for name in ["get-key.json", "regenerate.json", "get-sensor-package.json"] {
        let reply = call(&world.app, with_base64_body(name, form, "e30=")).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.json);
    }
    // Anything else base64-encoded is still a body where none is taken.
    let reply = call(&world.app, with_base64_body("get-key.json", form, "eyJhIjoxfQ==")).await;
    assert_eq!(reply.status, 400, "{}", reply.json);
    world.assert_no_leaks();
}

/// `events/get-sensor-verdict.json` for `path`, as a function URL or an HTTP API delivers it.
fn verdict_through(path: &str, door: Door) -> Request {
    let mut event: Value = serde_json::from_str(&events_json("get-sensor-verdict.json")).expect("event is JSON");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["path"] = path.into();
    let domain = match door {
        Door::FunctionUrl => "abcdefghijklmnopqrstuvwxyz0.lambda-url.us-east-1.on.aws",
        Door::HttpApi => "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
    };
    event["requestContext"]["domainName"] = domain.into();
    event["headers"]["host"] = domain.into();
    request_from_json(&event.to_string(), Duration::from_secs(30))
}

#[derive(Clone, Copy, Debug)]
enum Door {
    FunctionUrl,
    HttpApi,
}

#[tokio::test]
async fn a_host_name_means_the_same_host_through_a_function_url_and_an_http_api() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![SimSensor::healthy("DC1", "contoso.com")]);
    // The caller sends `/sensors/%44C1/verdict` (`%44` is `D`): the URL passes it on as sent, the
    // HTTP API decoded.
    let through_url = call(&world.app, verdict_through("/sensors/%44C1/verdict", Door::FunctionUrl)).await;
    let through_api = call(&world.app, verdict_through("/sensors/DC1/verdict", Door::HttpApi)).await;
    assert_eq!(through_url.status, 200, "{}", through_url.json);
    assert_eq!(through_api.status, 200, "{}", through_api.json);
    assert_eq!(through_url.json["host"], through_api.json["host"]);
    assert_eq!(through_url.json["verdict"], through_api.json["verdict"]);
    assert_eq!(through_url.json["verdict"], "healthy");
    // Double-encoded by the caller: decoded once by either door, and a `%` is no host name.
    let through_url = call(
        &world.app,
        verdict_through("/sensors/%2544C1/verdict", Door::FunctionUrl),
    )
    .await;
    let through_api = call(&world.app, verdict_through("/sensors/%44C1/verdict", Door::HttpApi)).await;
    assert_eq!((through_url.status, through_api.status), (400, 400));
    assert_eq!(through_url.json["type"], through_api.json["type"]);
    world.assert_no_leaks();
}

#[tokio::test]
async fn an_activation_body_a_function_url_base64_encodes_activates_what_the_same_text_would() {
    // `curl -d '{"serverIds":[...]}'` without a JSON content type: the URL base64-encodes it.
    let activator = "arn:aws:iam::123456789012:user/security-engineer";
    let world = world(Setup {
        extra_env: vec![("SENSOR_ACTIVATORS", activator.to_owned())],
        ..Setup::default()
    })
    .await;
    let candidate = SimCandidate::new("dc5.contoso.com");
    world.sim.set_sensor_candidates(vec![candidate.clone()]);
    let body = serde_json::json!({ "serverIds": [candidate.id] }).to_string();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&body);

    let reply = call(
        &world.app,
        with_base64_body("activate-sensors.json", "application/x-www-form-urlencoded", &encoded),
    )
    .await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(
        world.sim.calls(Endpoint::ActivateSensors),
        1,
        "one activation reached Graph"
    );
    world.assert_no_leaks();
}
