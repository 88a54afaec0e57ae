//! Shared test harness: a Graph simulator per test, moto's Secrets Manager over HTTP, the real
//! handler driven with the JSON events in `events/`, and a log capture that every test checks
//! for leaked secrets.
#![allow(dead_code)]

pub mod rotation_function;
pub mod secrets_proxy;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use graph_sim::{Endpoint, FederatedCredential, Sim, SimConfig, SimHandle, TestCertificate};
use lambda_http::{Body, Context, Request, RequestExt};
use mdi_sensor_key::app::App;
use mdi_sensor_key::config::Config;
use mdi_sensor_key::federation::{StsWebIdentity, WebIdentitySource};
use mdi_sensor_key::graph::{GraphSession, RetryPolicy};
use mdi_sensor_key::handler::{self, EventError};
use mdi_sensor_key::secrets::AwsSecretStore;
use mdi_sensor_key::secrets::http::{ReqwestHttpClient, reqwest_client};

pub const READER: &str = "arn:aws:sts::123456789012:assumed-role/sensor-installer/i-0123456789abcdef0";
pub const READER_ROLE: &str = "arn:aws:iam::123456789012:role/sensor-installer";
pub const ROTATOR: &str = "arn:aws:iam::123456789012:user/security-engineer";
/// On both `KEY_READERS` and `KEY_ROTATORS`: a regenerate answers it the new key.
pub const CUSTODIAN: &str = "arn:aws:iam::123456789012:user/key-custodian";
pub const CLIENT_SECRET: &str = "sim-client-secret-7f3a9c1e-do-not-log";

pub type TestApp = App<GraphSession<AwsSecretStore>, AwsSecretStore>;

/// What a test changes from the default set-up.
pub struct Setup {
    pub key_secret: bool,
    pub credentials_json: Option<String>,
    pub credentials_ttl_seconds: u64,
    pub retry: RetryPolicy,
    pub extra_env: Vec<(&'static str, String)>,
    /// Route the function's Secrets Manager traffic through a fault-injecting proxy.
    pub secrets_proxy: bool,
    /// Capture every log line for the leak checks (off only where the buffer would distort a
    /// memory measurement).
    pub capture_logs: bool,
    /// The simulator's starting state (its client secret is always [`CLIENT_SECRET`]).
    pub sim: SimConfig,
    /// `GRAPH_AUTH=aws-federation`: no credentials secret is created or configured; the function
    /// gets its assertion from the simulator's STS, and the simulated app trusts the simulated
    /// role (unless the test says otherwise through the simulator).
    pub federation: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            key_secret: true,
            credentials_json: None,
            credentials_ttl_seconds: 300,
            retry: fast_retries(),
            extra_env: Vec::new(),
            secrets_proxy: false,
            capture_logs: true,
            sim: SimConfig::default(),
            federation: false,
        }
    }
}

/// Retries as in production, but with short waits so fault tests stay quick.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        call_timeout: Duration::from_secs(2),
        refusal_hold: RetryPolicy::default().refusal_hold,
    }
}

/// One test's world: its own simulator and its own uniquely named secrets in moto.
pub struct World {
    pub config: Config,
    pub retry: RetryPolicy,
    pub sim: SimHandle,
    pub moto: Client,
    pub credentials_secret: String,
    pub key_secret: String,
    pub key_secret_arn: String,
    /// The claim store: the secret whose versions claim a rotation occurrence.
    pub claims_secret: String,
    pub app: TestApp,
    pub proxy: Option<secrets_proxy::SecretsProxy>,
    /// The function's STS client, in federation worlds.
    pub web_identity: Option<Arc<dyn WebIdentitySource>>,
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub async fn world(setup: Setup) -> World {
    if setup.capture_logs {
        capture_logs();
    }
    let sim = Sim::start(SimConfig {
        client_secret: CLIENT_SECRET.to_owned(),
        ..setup.sim.clone()
    })
    .await
    .expect("simulator starts");
    let moto = moto_client();
    let credentials_secret = unique("graph-credentials");
    let credentials = setup
        .credentials_json
        .clone()
        .unwrap_or_else(|| credentials_json(&sim, CLIENT_SECRET));
    if !setup.federation {
        moto.create_secret()
            .name(&credentials_secret)
            .secret_string(credentials)
            .send()
            .await
            .expect("moto is up");
    }
    let key_secret = unique("mdi-sensor-key");
    let created = moto
        .create_secret()
        .name(&key_secret)
        .secret_string(format!(r#"{{"sensorDeploymentAccessKey":"{}"}}"#, sim.current_key()))
        .send()
        .await
        .expect("key secret created");
    let key_secret_arn = created.arn().expect("arn").to_owned();
    let claims_secret = unique("mdi-sensor-key-claims");
    moto.create_secret()
        .name(&claims_secret)
        .secret_string("{}")
        .send()
        .await
        .expect("claims secret created");

    let mut env: HashMap<&str, String> = HashMap::from([
        ("GRAPH_CREDENTIALS_SECRET_ID", credentials_secret.clone()),
        ("GRAPH_ENDPOINT", sim.graph_url()),
        ("AUTHORITY_HOST", sim.authority_url()),
        ("KEY_READERS", format!("{READER_ROLE},{CUSTODIAN}")),
        ("KEY_ROTATORS", format!("{ROTATOR},{CUSTODIAN}")),
        ("ROTATION_CLAIMS_SECRET_ID", claims_secret.clone()),
        // One process for both kinds of invocation, as local tools run it; a test of the doors
        // sets its own (docs/security.md, "Two doors").
        ("FUNCTION_DOOR", "local".to_owned()),
        (
            "CREDENTIALS_CACHE_TTL_SECONDS",
            setup.credentials_ttl_seconds.to_string(),
        ),
    ]);
    if setup.key_secret {
        env.insert("SENSOR_KEY_SECRET_ID", key_secret.clone());
    }
    let web_identity: Option<Arc<dyn WebIdentitySource>> = if setup.federation {
        let app = SimConfig::default();
        env.remove("GRAPH_CREDENTIALS_SECRET_ID");
        env.insert("GRAPH_AUTH", "aws-federation".to_owned());
        env.insert("GRAPH_TENANT_ID", app.tenant_id);
        env.insert("GRAPH_CLIENT_ID", app.client_id);
        sim.register_federated_credential(FederatedCredential {
            issuer: sim.aws_issuer(),
            subject: sim.aws_role_arn(),
            audiences: vec!["api://AzureADTokenExchange".to_owned()],
        });
        Some(Arc::new(sts_for(&sim)))
    } else {
        None
    };
    env.extend(setup.extra_env.iter().cloned());
    let config = Config::from_lookup(|name| env.get(name).cloned()).expect("valid test configuration");
    let proxy = match setup.secrets_proxy {
        true => Some(secrets_proxy::SecretsProxy::start(moto_endpoint()).await),
        false => None,
    };
    let function_client = match &proxy {
        Some(proxy) => secrets_client(&proxy.url),
        None => moto.clone(),
    };
    let app = App::from_config(
        &config,
        AwsSecretStore::new(function_client),
        web_identity.clone(),
        setup.retry.clone(),
    )
    .expect("app builds");
    World {
        config,
        retry: setup.retry,
        sim,
        moto,
        credentials_secret,
        key_secret,
        key_secret_arn,
        claims_secret,
        app,
        proxy,
        web_identity,
    }
}

/// The function's STS client as `StsWebIdentity::from_lambda_env` builds it, aimed at the
/// simulator through `AWS_ENDPOINT_URL_STS`.
pub fn sts_for(sim: &SimHandle) -> StsWebIdentity {
    let env: HashMap<&str, String> = HashMap::from([
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_SESSION_TOKEN", "testing-session".to_owned()),
        ("AWS_ENDPOINT_URL_STS", sim.sts_url()),
    ]);
    StsWebIdentity::from_lambda_env(|name| env.get(name).cloned()).expect("STS client builds")
}

pub fn credentials_json(sim: &SimHandle, secret: &str) -> String {
    let config = SimConfig::default();
    let _ = sim;
    format!(
        r#"{{"tenantId":"{}","clientId":"{}","clientSecret":"{secret}"}}"#,
        config.tenant_id, config.client_id
    )
}

/// The app's certificate, made once per test binary (RSA key generation takes a moment); its
/// key's PEM is remembered as a secret for the leak checks.
pub fn app_certificate() -> &'static TestCertificate {
    static CERTIFICATE: OnceLock<TestCertificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| {
        let certificate = TestCertificate::generate("mdi-sensor-key-tests");
        remember_private_key(&certificate);
        certificate
    })
}

/// Remembers every base64 line of `certificate`'s private key (both forms) as a secret.
pub fn remember_private_key(certificate: &TestCertificate) {
    for pem in [certificate.private_key_pem(), certificate.private_key_pkcs1_pem()] {
        for line in pem
            .lines()
            .filter(|line| !line.starts_with("-----") && line.len() >= 16)
        {
            remember_secret(line);
        }
    }
}

/// The credentials secret's JSON for a certificate credential.
pub fn certificate_credentials_json(certificate: &TestCertificate, send_chain: bool) -> String {
    let config = SimConfig::default();
    serde_json::json!({
        "tenantId": config.tenant_id,
        "clientId": config.client_id,
        "certificatePem": certificate.certificate_pem(),
        "privateKeyPem": certificate.private_key_pem(),
        "sendCertificateChain": send_chain,
    })
    .to_string()
}

/// A Secrets Manager client for moto: static test credentials, a fixed region, loopback only.
pub fn moto_client() -> Client {
    secrets_client(&moto_endpoint())
}

/// A Secrets Manager client for `endpoint`, with the SDK's standard retries (3 attempts) and
/// timeouts as in production, but short backoffs and attempt timeouts so fault tests stay quick.
pub fn secrets_client(endpoint: &str) -> Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .http_client(ReqwestHttpClient::new(reqwest_client().expect("HTTP client")))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(500))
                .operation_timeout(Duration::from_secs(3))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// `MOTO_ENDPOINT` as set by `scripts/test`; otherwise a moto server started for this test
/// binary from the project's venv, which exits when this process does.
// The server is never waited on: it watches this process and exits when it does.
#[allow(clippy::zombie_processes)]
pub fn moto_endpoint() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            if let Ok(endpoint) = std::env::var("MOTO_ENDPOINT") {
                return endpoint;
            }
            let root = env!("CARGO_MANIFEST_DIR");
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            std::process::Command::new(format!("{root}/.venv/bin/python"))
                .args([
                    &format!("{root}/tools/moto_server.py"),
                    &port.to_string(),
                    &std::process::id().to_string(),
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("moto needs the venv: run scripts/test, or set MOTO_ENDPOINT");
            for _ in 0..200 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return format!("http://127.0.0.1:{port}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("moto did not start on port {port}");
        })
        .clone()
}

/// Loads `events/NAME` as lambda_http does, with a Lambda context whose deadline is `budget` away.
pub fn event_with_budget(name: &str, budget: Duration) -> Request {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{path} exists"));
    request_from_json(&text, budget)
}

pub fn event(name: &str) -> Request {
    event_with_budget(name, Duration::from_secs(30))
}

/// `events/NAME` as `caller` sends it (the ARN the request context names).
pub fn event_as(name: &str, caller: &str) -> Request {
    let mut event: serde_json::Value = serde_json::from_str(&events_json(name)).expect("event parses");
    event["requestContext"]["authorizer"]["iam"]["userArn"] = caller.into();
    request_from_json(&event.to_string(), Duration::from_secs(30))
}

pub fn request_from_json(text: &str, budget: Duration) -> Request {
    let mut event: lambda_http::request::LambdaRequest = serde_json::from_str(text).expect("event parses");
    handler::make_convertible(&mut event);
    let request: Request = event.into();
    let mut context = Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    let deadline = SystemTime::now() + budget;
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    request.with_lambda_context(context)
}

/// An HTTP answer, decoded.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub json: serde_json::Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn key(&self) -> &str {
        self.json["sensorDeploymentAccessKey"]
            .as_str()
            .expect("the reply carries a key")
    }
}

pub async fn call(app: &TestApp, request: Request) -> Reply {
    let response = handler::handle(app, request)
        .await
        .expect("HTTP requests always get a response");
    let (parts, body) = response.into_parts();
    let text = match body {
        Body::Text(text) => text,
        Body::Empty => String::new(),
        Body::Binary(bytes) => String::from_utf8(bytes).expect("utf-8"),
        _ => String::new(),
    };
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    if let Some(key) = json["sensorDeploymentAccessKey"].as_str() {
        remember_secret(key);
    }
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        json,
    }
}

/// Invokes with a non-HTTP event; `Ok` is the JSON summary.
pub async fn invoke_event(app: &TestApp, json: &str) -> Result<serde_json::Value, EventError> {
    let request = request_from_json(json, Duration::from_secs(30));
    let response = handler::handle(app, request).await?;
    match response.into_body() {
        Body::Text(text) => Ok(serde_json::from_str(&text).expect("summary is JSON")),
        other => panic!("unexpected body {other:?}"),
    }
}

pub fn events_json(name: &str) -> String {
    std::fs::read_to_string(format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"))).expect("event file")
}

/// The version holding `stage` in moto: its id and its text.
pub async fn at_stage(moto: &Client, secret_id: &str, stage: &str) -> (String, String) {
    let value = moto
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage(stage)
        .send()
        .await
        .unwrap();
    (
        value.version_id().unwrap_or_default().to_owned(),
        value.secret_string().unwrap_or_default().to_owned(),
    )
}

/// The key stored as AWSCURRENT in moto.
pub async fn stored_key(moto: &Client, secret_id: &str) -> String {
    let value = moto
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .unwrap();
    let document: serde_json::Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    document["sensorDeploymentAccessKey"].as_str().unwrap().to_owned()
}

pub async fn version_count(moto: &Client, secret_id: &str) -> usize {
    let described = moto.describe_secret().secret_id(secret_id).send().await.unwrap();
    described
        .version_ids_to_stages()
        .map(|versions| versions.len())
        .unwrap_or(0)
}

pub fn calls(world: &World) -> (usize, usize, usize) {
    (
        world.sim.calls(Endpoint::Token),
        world.sim.calls(Endpoint::GetKey),
        world.sim.calls(Endpoint::RegenerateKey),
    )
}

// ---- log capture ----

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static METRICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line of this test binary, at every level, from every crate.
pub fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| CaptureWriter)
            .try_init();
        mdi_sensor_key::metrics::send_to(|line| {
            METRICS.lock().unwrap_or_else(|p| p.into_inner()).push(line.to_owned())
        });
    });
}

/// Every EMF metric line emitted so far in this test binary (once [`capture_logs`] ran).
pub fn captured_metrics() -> Vec<serde_json::Value> {
    METRICS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|line| serde_json::from_str(line).expect("a metric line is JSON"))
        .collect()
}

pub fn remember_secret(secret: &str) {
    SECRETS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(secret.to_owned());
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

impl World {
    /// A second Lambda instance of the same function: same configuration, its own caches.
    pub fn another_instance(&self) -> TestApp {
        let client = self
            .proxy
            .as_ref()
            .map_or_else(|| self.moto.clone(), |proxy| secrets_client(&proxy.url));
        App::from_config(
            &self.config,
            AwsSecretStore::new(client),
            self.web_identity.clone(),
            self.retry.clone(),
        )
        .expect("app builds")
    }

    /// Every secret this world has seen: the client secret, each key the sim held or we were
    /// given, private keys, and each bearer token and client assertion the sim received.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![CLIENT_SECRET.to_owned(), self.sim.current_key()];
        secrets.extend(SECRETS.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned());
        for request in self.sim.requests() {
            if let Some(token) = request.header("authorization").and_then(|h| h.strip_prefix("Bearer ")) {
                secrets.push(token.to_owned());
            }
            if let Some(assertion) = request.form_field("client_assertion") {
                // The signature alone: header and claims are not secret, the whole JWT is.
                secrets.push(assertion.to_owned());
                secrets.extend(assertion.rsplit('.').next().map(str::to_owned));
            }
        }
        secrets
    }

    /// Fails if any secret of this world appears in any log line captured so far.
    pub fn assert_no_leaks(&self) {
        let logs = captured_logs();
        assert!(!logs.is_empty(), "the log capture is working");
        for secret in self.secrets() {
            assert!(secret.len() >= 8, "secret too short to check meaningfully");
            assert!(!logs.contains(&secret), "a secret leaked into the logs");
        }
    }
}
