//! Property-based fuzzing of the event-to-route path: arbitrary JSON events and arbitrary HTTP
//! requests go through the real handler (against the simulator and moto). Nothing panics, and
//! input that is the caller's fault never gets a 5xx.
//!
//! `FUZZ_CASES` sets the number of cases per property (default 300); the totals are written to
//! `target/fuzz-report.json` for CI to print.

mod common;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};

static RAN: AtomicUsize = AtomicUsize::new(0);

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn shared_world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| runtime().block_on(world(Setup::default())))
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

fn report() {
    let ran = RAN.load(Ordering::Relaxed);
    let path = format!("{}/target/fuzz-report.json", env!("CARGO_MANIFEST_DIR"));
    let _ = std::fs::write(path, json!({ "inputs": ran }).to_string());
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        prop_oneof![
            Just("Step"),
            Just("SecretId"),
            Just("ClientRequestToken"),
            Just("createSecret"),
            Just("rotate"),
            Just("aws.events"),
            Just("Scheduled Event"),
            Just("requestContext"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("Step".to_owned()),
                    Just("SecretId".to_owned()),
                    Just("ClientRequestToken".to_owned()),
                    Just("action".to_owned()),
                    Just("scheduleArn".to_owned()),
                    Just("scheduledTime".to_owned()),
                    Just("source".to_owned()),
                    Just("detail-type".to_owned()),
                    Just("id".to_owned()),
                    Just("httpMethod".to_owned()),
                    "[a-zA-Z]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
struct HttpCase {
    method: String,
    path: String,
    query: String,
    caller: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<String>,
    base64: bool,
}

fn arbitrary_http() -> impl Strategy<Value = HttpCase> {
    let method = prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("PUT"),
        Just("DELETE"),
        Just("PATCH"),
        Just("HEAD"),
        Just("OPTIONS"),
        Just("TRACE")
    ]
    .prop_map(str::to_owned);
    let path = prop_oneof![
        Just("/sensor-key".to_owned()),
        Just("/sensor-key/regenerate".to_owned()),
        "/[a-zA-Z0-9%./_-]{0,30}",
        prop::collection::vec(
            prop_oneof![
                Just("sensor-key"),
                Just("regenerate"),
                Just(".."),
                Just("%2e"),
                Just("")
            ],
            0..4
        )
        .prop_map(|segments| format!("/{}", segments.join("/"))),
    ];
    let caller = prop_oneof![
        Just(None),
        Just(Some(READER.to_owned())),
        Just(Some(ROTATOR.to_owned())),
        ".{0,60}".prop_map(Some),
        "arn:aws:(iam|sts)::[0-9]{12}:[a-z/*-]{0,30}".prop_map(Some),
    ];
    let headers = prop::collection::vec(("[a-z-]{1,20}", "[ -~]{0,40}"), 0..5);
    let body = prop_oneof![Just(None), Just(Some("{}".to_owned())), ".{0,80}".prop_map(Some)];
    (method, path, "[ -~]{0,40}", caller, headers, body, any::<bool>()).prop_map(
        |(method, path, query, caller, headers, body, base64)| HttpCase {
            method,
            path,
            query,
            caller,
            headers,
            body,
            base64,
        },
    )
}

fn http_event(case: &HttpCase) -> Value {
    let mut event: Value = serde_json::from_str(&events_json("get-key.json")).unwrap();
    event["rawPath"] = json!(case.path);
    event["rawQueryString"] = json!(case.query);
    event["requestContext"]["http"]["method"] = json!(case.method);
    match &case.caller {
        Some(arn) => event["requestContext"]["authorizer"]["iam"]["userArn"] = json!(arn),
        None => {
            event["requestContext"].as_object_mut().unwrap().remove("authorizer");
        }
    }
    for (name, value) in &case.headers {
        event["headers"][name] = json!(value);
    }
    if let Some(body) = &case.body {
        event["body"] = json!(body);
    }
    event["isBase64Encoded"] = json!(case.base64);
    event
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_events_never_panic_and_never_reach_graph_unless_well_formed(event in arbitrary_json()) {
        let world = shared_world();
        let text = event.to_string();
        RAN.fetch_add(1, Ordering::Relaxed);
        let Ok(mut event) = serde_json::from_str::<lambda_http::request::LambdaRequest>(&text) else { return Ok(()) };
        mdi_sensor_key::handler::make_convertible(&mut event);
        let request = lambda_http::RequestExt::with_lambda_context(lambda_http::Request::from(event), lambda_http::Context::default());
        let before = world.sim.keys_generated();
        let outcome = runtime().block_on(mdi_sensor_key::handler::handle(&world.app, request));
        if let Ok(response) = outcome {
            prop_assert!(response.status().as_u16() < 500, "{text} -> {}", response.status());
        }
        prop_assert_eq!(world.sim.keys_generated(), before, "{}", text);
        report();
    }

    #[test]
    fn arbitrary_http_requests_never_panic_and_never_get_a_5xx(case in arbitrary_http()) {
        let world = shared_world();
        RAN.fetch_add(1, Ordering::Relaxed);
        let text = http_event(&case).to_string();
        let request = request_from_json(&text, Duration::from_secs(30));
        let reply = runtime().block_on(call(&world.app, request));
        prop_assert!([200, 400, 401, 403, 404, 405, 413].contains(&reply.status), "{case:?} -> {}", reply.status);
        let admitted = (case.method == "GET" && case.path == "/sensor-key" && case.caller.as_deref() == Some(READER))
            || (case.method == "POST" && case.path == "/sensor-key/regenerate" && case.caller.as_deref() == Some(ROTATOR));
        if reply.status == 200 {
            prop_assert!(admitted, "{case:?} was served");
        }
        report();
    }
}
