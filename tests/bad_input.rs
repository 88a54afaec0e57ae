//! Hostile input over HTTP: every method on every path, path tricks, bodies, forged identity
//! headers. Each gets a clear 4xx problem and nothing happens upstream.

mod common;

use std::time::Duration;

use common::*;
use graph_sim::Endpoint;
use mdi_sensor_key::access::Permission;
use mdi_sensor_key::operations::{Body, DECLARATIONS};
use serde_json::{Value, json};

fn request(method: &str, path: &str, caller: Option<&str>, body: Option<&str>, base64: bool) -> lambda_http::Request {
    let mut event: Value = serde_json::from_str(&events_json("get-key.json")).unwrap();
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    match caller {
        Some(arn) => event["requestContext"]["authorizer"]["iam"]["userArn"] = json!(arn),
        None => {
            event["requestContext"].as_object_mut().unwrap().remove("authorizer");
        }
    }
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event["isBase64Encoded"] = json!(base64);
    request_from_json(&event.to_string(), Duration::from_secs(30))
}

#[tokio::test]
async fn every_method_on_every_path_gets_200_405_or_404_and_routes_match_exactly() {
    let world = world(Setup::default()).await;
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    let paths = [
        "/sensor-key",
        "/sensor-key/regenerate",
        "/",
        "",
        "/sensor-key/",
        "//sensor-key",
        "/Sensor-Key",
        "/SENSOR-KEY/REGENERATE",
        "/sensor-key/../sensor-key",
        "/%2e%2e/sensor-key",
        "/sensor-key/%2e",
        "/sensor-key%2Fregenerate",
        "/sensor-key/regenerate/",
        "/sensor-key;jsessionid=1",
    ];
    for path in paths {
        for method in methods {
            let caller = if method == "POST" { ROTATOR } else { READER };
            let reply = call(&world.app, request(method, path, Some(caller), None, false)).await;
            // Routed after one percent-decoding, as an HTTP API delivers every path (tests/event_shapes.rs):
            // `%2F` is a separator through both doors.
            let expected = match (path, method) {
                ("/sensor-key", "GET") | ("/sensor-key/regenerate" | "/sensor-key%2Fregenerate", "POST") => 200,
                ("/sensor-key", _) | ("/sensor-key/regenerate" | "/sensor-key%2Fregenerate", _) => 405,
                _ => 404,
            };
            assert_eq!(reply.status, expected, "{method} {path:?}");
            if expected != 200 {
                assert_eq!(
                    reply.header("content-type"),
                    Some("application/problem+json"),
                    "{method} {path:?}"
                );
            }
        }
    }
    assert_eq!(
        world.sim.keys_generated(),
        2,
        "only the exact POST and its %2F spelling (the same path once decoded) regenerated"
    );
}

/// Every declared operation, through its own route, refuses a caller who is not on its list with
/// `403 forbidden` naming the list's permission, before anything upstream is asked. The routes
/// come from the declarations, so a new operation is covered the day it is declared.
#[tokio::test]
async fn every_declared_operation_refuses_a_caller_off_its_list_before_anything_upstream() {
    let stranger = "arn:aws:iam::123456789012:user/stranger";
    let activators = "arn:aws:iam::123456789012:role/sensor-activator";
    let world = world(Setup {
        extra_env: vec![("SENSOR_ACTIVATORS", activators.to_owned())],
        ..Setup::default()
    })
    .await;
    for declaration in DECLARATIONS {
        let path = declaration.path.replace("{host}", "DC1.contoso.com");
        let body = (declaration.body == Body::Json).then_some(r#"{"serverIds":["a1"],"activationMode":"manual"}"#);
        // Readers are on no write's list; rotators and activators are on no read's.
        let mut off_list = vec![stranger];
        match declaration.permission {
            Permission::ReadKey => off_list.extend([ROTATOR, activators]),
            Permission::RegenerateKey => off_list.extend([READER, activators]),
            Permission::ActivateSensors => off_list.extend([READER, ROTATOR]),
        }
        for caller in off_list {
            let reply = call(
                &world.app,
                request(declaration.method.as_str(), &path, Some(caller), body, false),
            )
            .await;
            assert_eq!(reply.status, 403, "{} by {caller}: {}", declaration.name, reply.json);
            let problem = &reply.json;
            assert_eq!(problem["type"], "tag:mdi-sensor-key,2026:problem/forbidden");
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains(declaration.permission.name()),
                "{}: {problem}",
                declaration.name
            );
        }
    }
    assert!(world.sim.requests().is_empty(), "nothing reached Graph");
    assert_eq!(world.sim.calls(Endpoint::Token), 0, "nor Entra");
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_by_name_and_never_stand_for_the_caller() {
    // Every route reads only the query parameters its declaration lists (issue 23: a parameter
    // answered as if it were absent hands back something the caller did not ask for).
    let world = world(Setup::default()).await;
    let mut event: Value = serde_json::from_str(&events_json("get-key.json")).unwrap();
    event["rawQueryString"] = json!("debug=true&caller=arn:aws:iam::123456789012:user/security-engineer");

    let reply = call(
        &world.app,
        request_from_json(&event.to_string(), Duration::from_secs(30)),
    )
    .await;

    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json["detail"],
        "unknown query parameter caller: this route takes none"
    );
    assert!(world.sim.requests().is_empty(), "nothing reached Graph");
}

#[tokio::test]
async fn bodies_are_refused_unless_empty_or_an_empty_object_however_delivered() {
    let world = world(Setup::default()).await;
    let cases: [(&str, bool, u16); 8] = [
        ("", false, 200),
        ("{}", false, 200),
        (" { } ", false, 200),
        ("{", false, 400),
        ("{\"force\":true}", false, 400),
        ("[]", false, 400),
        ("AAECAw==", true, 400),
        // `{}` base64-encoded, as a function URL delivers `curl -d '{}'`.
        ("e30=", true, 200),
    ];
    for (body, base64, expected) in cases {
        let reply = call(
            &world.app,
            request("POST", "/sensor-key/regenerate", Some(ROTATOR), Some(body), base64),
        )
        .await;
        assert_eq!(reply.status, expected, "{body:?} base64={base64}");
    }
    assert_eq!(
        world.sim.keys_generated(),
        4,
        "only the four acceptable bodies regenerated"
    );
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_and_nothing_happens_upstream() {
    let world = world(Setup::default()).await;
    let body = " ".repeat(64 * 1024 + 1);

    let reply = call(
        &world.app,
        request("POST", "/sensor-key/regenerate", Some(ROTATOR), Some(&body), false),
    )
    .await;

    assert_eq!(reply.status, 413);
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn identity_headers_never_count_as_the_caller() {
    let world = world(Setup::default()).await;
    let mut event: Value = serde_json::from_str(&events_json("get-key-refused.json")).unwrap();
    for header in [
        "x-forwarded-for",
        "x-amzn-iam-user-arn",
        "x-amz-user-arn",
        "x-amzn-oidc-identity",
        "x-forwarded-user",
    ] {
        event["headers"][header] = json!(READER);
    }

    let reply = call(
        &world.app,
        request_from_json(&event.to_string(), Duration::from_secs(30)),
    )
    .await;

    assert_eq!(reply.status, 403);
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn an_identity_that_is_not_an_arn_is_no_identity() {
    let world = world(Setup::default()).await;

    let reply = call(&world.app, request("GET", "/sensor-key", Some(""), None, false)).await;
    assert_eq!(reply.status, 401);
    let reply = call(&world.app, request("GET", "/sensor-key", Some("*"), None, false)).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn an_http_looking_event_without_a_request_context_is_refused_as_an_event() {
    let world = world(Setup::default()).await;
    let mut event: Value = serde_json::from_str(&events_json("get-key.json")).unwrap();
    event.as_object_mut().unwrap().remove("requestContext");

    let error = invoke_event(&world.app, &event.to_string()).await.unwrap_err();

    assert!(error.to_string().contains("HTTP-looking"), "{error}");
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test]
async fn malformed_rotation_and_scheduler_events_are_refused_and_nothing_is_done() {
    let world = world(Setup::default()).await;
    let cases = [
        r#"{"Step":"createSecret","SecretId":"arn:aws:secretsmanager:us-east-1:1:secret:x"}"#,
        r#"{"Step":"createSecret","SecretId":"arn:x","ClientRequestToken":"short"}"#,
        &format!(
            r#"{{"Step":"createSecret","SecretId":"arn:x","ClientRequestToken":"{}"}}"#,
            "a".repeat(65)
        ),
        r#"{"Step":"dropSecret","SecretId":"arn:x","ClientRequestToken":"0f5e4c43-6f1e-4a5f-8c2a-5b1d2e3f4a5b"}"#,
        r#"{"action":"rotate","scheduleArn":"arn:aws:scheduler:us-east-1:1:schedule/default/r"}"#,
        r#"{"action":"rotate","scheduledTime":"2026-11-26T00:00:00Z"}"#,
        r#"{"action":"delete","scheduleArn":"arn:x","scheduledTime":"t"}"#,
        r#"{"detail-type":"Scheduled Event","source":"aws.events"}"#,
        r#"[]"#,
        r#""rotate""#,
        r#"null"#,
    ];
    for case in cases {
        assert!(invoke_event(&world.app, case).await.is_err(), "{case}");
    }
    assert_eq!(calls(&world), (0, 0, 0));
    assert_eq!(version_count(&world.moto, &world.key_secret).await, 1);
}
