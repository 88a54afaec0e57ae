//! The operator CLI as a person or a script runs it: the built `mdi-sensor-key` binary, with a
//! cleared environment, against the Graph simulator (and moto's Secrets Manager for
//! `--credentials-secret`, `--store` and `rotate`). Checks the output, the exit codes, and that
//! the key reaches stdout only and no secret reaches stderr.

mod common;

use std::process::Stdio;

use common::*;
use graph_sim::{Endpoint, Fault, RetryAfter, SimCandidate, SimConfig, SimHealthIssue, SimSensor};
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|_| panic!("stdout is one JSON document: {}", self.stdout))
    }
}

/// Static test credentials and the moto endpoint: nothing can reach AWS or instance metadata.
fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/nonexistent".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint()),
    ]
}

/// The AZURE_* variables for the simulator's app, plus the AWS test settings.
fn azure_env(world: &World) -> Vec<(&'static str, String)> {
    let config = SimConfig::default();
    let mut env = aws_env();
    env.extend([
        ("AZURE_TENANT_ID", config.tenant_id),
        ("AZURE_CLIENT_ID", config.client_id),
        ("AZURE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("AZURE_AUTHORITY_HOST", world.sim.authority_url()),
    ]);
    env
}

/// The CLI's development-only switch for an http:// Graph endpoint and authority (docs/cli.md).
const INSECURE_HTTP: &str = "MDI_SENSOR_KEY_INSECURE_HTTP";

/// Runs the binary with `args` (pointed at the world's Graph unless they or `GRAPH_ENDPOINT` say
/// otherwise) and exactly `env`, plus the switch that lets it talk to the simulator over http
/// unless `env` names it.
async fn run_with(world: &World, args: &[&str], mut env: Vec<(&'static str, String)>) -> Run {
    if !env.iter().any(|(name, _)| *name == INSECURE_HTTP) {
        env.push((INSECURE_HTTP, "1".into()));
    }
    let mut args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    if !args.iter().any(|arg| arg == "--graph-endpoint") && !env.iter().any(|(name, _)| *name == "GRAPH_ENDPOINT") {
        args.extend(["--graph-endpoint".into(), world.sim.graph_url()]);
    }
    args.extend(["--timeout".into(), "20".into()]);
    let run = tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_mdi-sensor-key"))
            .args(&args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .expect("the CLI runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .expect("the CLI finishes");
    if let Some(key) = serde_json::from_str::<Value>(&run.stdout)
        .ok()
        .and_then(|json| json["sensorDeploymentAccessKey"].as_str().map(str::to_owned))
    {
        remember_secret(&key);
    }
    run
}

async fn run(world: &World, args: &[&str]) -> Run {
    run_with(world, args, azure_env(world)).await
}

/// No secret of this world (client secret, any key, any bearer token) is in `text`.
fn assert_no_secrets(world: &World, text: &str) {
    for secret in world.secrets() {
        assert!(!text.contains(&secret), "a secret leaked: {text}");
    }
}

fn tenant() -> Vec<SimSensor> {
    vec![
        SimSensor::healthy("DC1", "contoso.com"),
        SimSensor::healthy("DC2", "contoso.com").with_status("updating", "running", "healthy"),
        SimSensor::healthy("DC3", "fabrikam.com").with_status("upToDate", "stopped", "notHealthyHigh"),
        SimSensor::healthy("DC4", "fabrikam.com").with_status("quantumFlux", "unknownFutureValue", "healthy"),
        SimSensor::healthy("DC5", "contoso.com"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_the_key_on_stdout_as_a_table_or_json_and_nothing_else() {
    let world = world(Setup::default()).await;
    let key = world.sim.current_key();

    let table = run(&world, &["get"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("Sensor deployment access key"));
    assert!(table.stdout.contains(&key));
    assert!(!table.stderr.contains(&key));

    let json = run(&world, &["get", "--json", "-v"]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(
        json.json(),
        serde_json::json!({"sensorDeploymentAccessKey": key}),
        "stdout is the output alone: no log or metric lines"
    );
    assert!(
        json.stderr.contains("operator command"),
        "-v logs the audit line to stderr"
    );
    assert_no_secrets(&world, &json.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_can_come_from_a_secrets_manager_secret_instead_of_the_environment() {
    let world = world(Setup::default()).await;
    let mut env = aws_env();
    env.push(("AZURE_AUTHORITY_HOST", world.sim.authority_url()));

    let run = run_with(
        &world,
        &["get", "--json", "--credentials-secret", &world.credentials_secret],
        env,
    )
    .await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()["sensorDeploymentAccessKey"],
        world.sim.current_key().as_str()
    );
}

/// A directory of its own under the temporary directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("mdi-sensor-key-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&path).expect("temporary directory");
        TempDir(path)
    }

    /// Writes `contents` to `name` in the directory, executable when `executable`.
    fn file(&self, name: &str, contents: &str, executable: bool) -> String {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("temporary file");
        if executable {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        path.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An AWS config file whose only profile is `profile_body`, and the environment that selects it:
/// no AWS_* credentials or region variables, so the profile is the only source (moto takes any
/// credentials; the endpoint override sends the SDK there).
fn profile_env(dir: &TempDir, world: &World, profile_body: &str) -> Vec<(&'static str, String)> {
    let config = dir.file("config", &format!("[profile operator]\n{profile_body}"), false);
    vec![
        ("HOME", dir.0.display().to_string()),
        ("AWS_CONFIG_FILE", config),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ("AWS_PROFILE", "operator".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint()),
        ("AZURE_AUTHORITY_HOST", world.sim.authority_url()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_process_profile_gives_the_cli_its_aws_credentials() {
    let world = world(Setup::default()).await;
    let dir = TempDir::new();
    let ran = dir.0.join("ran");
    // The process protocol: a JSON document with Version 1 on stdout (AWS CLI's
    // "Sourcing credentials with an external process").
    let process = dir.file(
        "credentials.sh",
        &format!(
            "#!/bin/sh\ntouch '{}'\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCESS\", \"SecretAccessKey\": \"process-secret\"}}'\n",
            ran.display()
        ),
        true,
    );
    let env = profile_env(
        &dir,
        &world,
        &format!("region = us-east-1\ncredential_process = {process}\n"),
    );

    let run = run_with(
        &world,
        &["get", "--json", "--credentials-secret", &world.credentials_secret],
        env,
    )
    .await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(ran.exists(), "the profile's credential_process ran");
    assert_eq!(
        run.json()["sensorDeploymentAccessKey"],
        world.sim.current_key().as_str(),
        "the credentials secret was read from moto with the process's credentials"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_credentials_that_cannot_be_loaded_are_said_to_be_a_credentials_problem() {
    let world = world(Setup::default()).await;
    let dir = TempDir::new();
    let failing = dir.file(
        "credentials.sh",
        "#!/bin/sh\necho 'the SSO session has expired; run aws sso login' >&2\nexit 1\n",
        true,
    );
    let process = profile_env(
        &dir,
        &world,
        &format!("region = us-east-1\ncredential_process = {failing}\n"),
    );
    // An IAM Identity Center profile without a cached login: the `sso` feature reads the
    // token cache under HOME (empty here) and says so, instead of "feature not enabled".
    let sso_dir = TempDir::new();
    let sso = profile_env(
        &sso_dir,
        &world,
        "region = us-east-1\nsso_start_url = https://d-0000000000.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Operator\n",
    );

    for (env, says) in [(process, "the SSO session has expired"), (sso, "sso/cache")] {
        let run = run_with(&world, &["get", "--credentials-secret", &world.credentials_secret], env).await;

        assert_eq!(run.code, 3, "configuration: {}", run.stderr);
        assert!(
            run.stderr.contains("AWS credentials could not be loaded"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains(says), "the cause is given: {}", run.stderr);
        assert!(!run.stderr.contains("not enabled"), "{}", run.stderr);
        assert!(!run.stderr.contains("Secrets Manager is unavailable"), "{}", run.stderr);
    }
    assert_eq!(calls(&world), (0, 0, 0));
}

/// A PEM file in the temporary directory, removed when dropped (the key is generated at test
/// time; no key file is ever committed).
struct TempPem(std::path::PathBuf);

impl TempPem {
    fn new(contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("mdi-sensor-key-cli-{}.pem", uuid::Uuid::new_v4()));
        std::fs::write(&path, contents).expect("temporary file");
        TempPem(path)
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempPem {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_file_authenticates_the_cli_as_azures_sdks_do() {
    let world = world(Setup {
        sim: SimConfig {
            client_certificate_der: Some(app_certificate().der().to_vec()),
            ..SimConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let file = TempPem::new(&app_certificate().combined_pem());
    let config = SimConfig::default();
    let mut env = aws_env();
    env.extend([
        ("AZURE_TENANT_ID", config.tenant_id),
        ("AZURE_CLIENT_ID", config.client_id),
        ("AZURE_CLIENT_CERTIFICATE_PATH", file.path()),
        ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "true".to_owned()),
        ("AZURE_AUTHORITY_HOST", world.sim.authority_url()),
    ]);

    let run = run_with(&world, &["get", "--json", "-vv"], env).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()["sensorDeploymentAccessKey"],
        world.sim.current_key().as_str()
    );
    let requests = world.sim.requests();
    let token = requests.iter().find(|r| r.endpoint == Some(Endpoint::Token)).unwrap();
    assert_eq!(token.form_field("client_secret"), None);
    let assertion = token.form_field("client_assertion").expect("a client assertion");
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            assertion.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["x5c"].as_array().map(Vec::len), Some(1), "the chain is sent");
    assert_no_secrets(&world, &run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federated_token_file_authenticates_the_cli_as_workload_identity_does() {
    let world = world(Setup::default()).await;
    let subject = "system:serviceaccount:ops:mdi-sensor-key-cli";
    world.sim.register_federated_credential(graph_sim::FederatedCredential {
        issuer: world.sim.aws_issuer(),
        subject: subject.to_owned(),
        audiences: vec!["api://AzureADTokenExchange".to_owned()],
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = world.sim.sign_web_identity_token(&serde_json::json!({
        "iss": world.sim.aws_issuer(), "sub": subject, "aud": "api://AzureADTokenExchange",
        "iat": now, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(),
    }));
    remember_secret(&token);
    let file = TempPem::new(&format!("{token}\n"));
    let config = SimConfig::default();
    let mut env = aws_env();
    env.extend([
        ("AZURE_TENANT_ID", config.tenant_id),
        ("AZURE_CLIENT_ID", config.client_id),
        ("AZURE_FEDERATED_TOKEN_FILE", file.path()),
        ("AZURE_AUTHORITY_HOST", world.sim.authority_url()),
    ]);

    let run = run_with(&world, &["get", "--json", "-vv"], env).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()["sensorDeploymentAccessKey"],
        world.sim.current_key().as_str()
    );
    let requests = world.sim.requests();
    let sent = requests.iter().find(|r| r.endpoint == Some(Endpoint::Token)).unwrap();
    assert_eq!(sent.form_field("client_assertion"), Some(token.as_str()));
    assert_eq!(sent.form_field("client_secret"), None);
    assert_no_secrets(&world, &run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federation_trust_prints_the_az_command_with_the_accounts_issuer_from_iam() {
    let world = world(Setup::default()).await;
    let role = "arn:aws:iam::123456789012:role/mdi-sensor-key-FunctionRole-1A2B3C";
    let app = SimConfig::default().client_id;
    let mut env = aws_env();
    env.push(("AWS_ENDPOINT_URL_IAM", world.sim.iam_url()));
    let args = [
        "federation-trust",
        "--role-arn",
        role,
        "--app-id",
        &app,
        "--cloud",
        "usgov",
        "--json",
    ];

    let run = run_with(&world, &args, env.clone()).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["issuer"], world.sim.aws_issuer().as_str());
    assert_eq!(json["subject"], role);
    assert_eq!(json["audience"], "api://AzureADTokenExchangeUSGov");
    let command = json["command"].as_str().unwrap();
    assert!(
        command.starts_with(&format!(
            "az ad app federated-credential create --id {app} --parameters '"
        )),
        "{command}"
    );
    assert_eq!(world.sim.calls(Endpoint::FederationInfo), 1);

    world.sim.set_outbound_federation(false);
    let disabled = run_with(&world, &args, env).await;
    assert_eq!(disabled.code, 3, "{}", disabled.stderr);
    assert!(
        disabled
            .stderr
            .contains("aws iam enable-outbound-web-identity-federation"),
        "{}",
        disabled.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_entra_does_not_hold_exits_4_and_says_to_register_it() {
    let world = world(Setup::default()).await;
    let file = TempPem::new(&app_certificate().combined_pem());
    let config = SimConfig::default();
    let mut env = aws_env();
    env.extend([
        ("AZURE_TENANT_ID", config.tenant_id),
        ("AZURE_CLIENT_ID", config.client_id),
        ("AZURE_CLIENT_CERTIFICATE_PATH", file.path()),
        ("AZURE_AUTHORITY_HOST", world.sim.authority_url()),
    ]);

    let run = run_with(&world, &["get"], env).await;

    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr.contains("AADSTS700027") && run.stderr.contains("not registered"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    assert_no_secrets(&world, &run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_discovers_the_tenants_cloud_by_default() {
    let world = world(Setup {
        sim: SimConfig::in_cloud(graph_sim::SimCloud::Dod),
        ..Setup::default()
    })
    .await;

    // No --cloud: the CLI's default is auto.
    let run = run(&world, &["get", "--json"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = world.sim.requests();
    let token = requests.iter().find(|r| r.endpoint == Some(Endpoint::Token)).unwrap();
    assert_eq!(
        token.form_field("scope"),
        Some("https://dod-graph.microsoft.us/.default")
    );
    // GRAPH_CLOUD, the function's variable, is the fallback of --cloud.
    let mut global = azure_env(&world);
    global.push(("GRAPH_CLOUD", "global".into()));
    let mismatch = run_with(&world, &["get"], global).await;
    assert_eq!(
        mismatch.code, 3,
        "a cloud mismatch is configuration: {}",
        mismatch.stderr
    );
    assert!(
        mismatch.stderr.contains("configured cloud is global"),
        "{}",
        mismatch.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_sensors_and_verdict_answer_and_never_print_the_key() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(tenant());
    let key = world.sim.current_key();
    let package = world.sim.sensor_package();

    let table = run(&world, &["package"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains(&package.download_url) && table.stdout.contains(&package.version));
    let json = run(&world, &["package", "--json"]).await;
    assert_eq!(
        json.json(),
        serde_json::json!({"downloadUrl": package.download_url, "version": package.version})
    );

    let sensors = run(&world, &["sensors"]).await;
    assert_eq!(sensors.code, 0, "{}", sensors.stderr);
    let lines: Vec<&str> = sensors.stdout.lines().collect();
    assert!(
        lines[0].starts_with("SENSOR") && lines[0].ends_with("VERDICT"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 6);
    assert!(
        lines[2].starts_with("DC2") && lines[2].ends_with("installing"),
        "{}",
        lines[2]
    );
    assert!(
        lines[4].contains("quantumFlux") && lines[4].ends_with("unhealthy"),
        "{}",
        lines[4]
    );

    let healthy = run(&world, &["verdict", "dc1", "--json"]).await;
    assert_eq!(healthy.json()["verdict"], "healthy");
    assert_eq!(healthy.json()["sensor"]["displayName"], "DC1");
    let missing = run(&world, &["verdict", "DC9"]).await;
    assert_eq!(missing.code, 0);
    assert!(
        missing
            .stdout
            .lines()
            .any(|line| line.starts_with("Verdict") && line.ends_with("missing"))
    );

    for output in [&table, &json, &sensors, &healthy, &missing] {
        assert!(!output.stdout.contains(&key) && !output.stderr.contains(&key));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sensor_list_is_followed_across_pages_and_filtered_by_domain() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(tenant());
    world.sim.set_sensor_page_size(2);

    let run = run(&world, &["sensors", "--domain", "FABRIKAM.com", "--json"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let names: Vec<&str> = json["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sensor| sensor["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["DC3", "DC4"]);
    assert_eq!(json["sensors"][1]["deploymentStatus"], "quantumFlux");
    assert_eq!(world.sim.calls(Endpoint::ListSensors), 3, "three pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_prints_the_key_the_package_and_the_install_command_with_its_switches() {
    let world = world(Setup::default()).await;
    let key = world.sim.current_key();

    let run = run(
        &world,
        &[
            "bundle",
            "--delayed-update",
            "--proxy-url",
            "http://proxy.contoso.com:8080",
            "--json",
        ],
    )
    .await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["sensorDeploymentAccessKey"], key.as_str());
    assert_eq!(json["version"], world.sim.sensor_package().version.as_str());
    assert_eq!(
        json["installCommand"],
        format!(
            "\"Azure ATP sensor Setup.exe\" /quiet NetFrameworkCommandLineArguments=\"/q\" AccessKey=\"{key}\" DelayedUpdate=true ProxyUrl=\"http://proxy.contoso.com:8080\""
        )
    );
    assert_no_secrets(&world, &run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regenerate_prints_the_new_key_and_with_store_keeps_the_key_secret_in_step() {
    let world = world(Setup::default()).await;
    let old_key = world.sim.current_key();

    let plain = run(&world, &["regenerate", "--json"]).await;
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let first = world.sim.current_key();
    assert_ne!(first, old_key);
    // The same answer as POST /sensor-key/regenerate's (one contract, src/operations.rs).
    assert_eq!(
        plain.json(),
        serde_json::json!({"sensorDeploymentAccessKey": first, "stored": null, "verified": null})
    );
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        old_key,
        "nothing stored"
    );

    let stored = run(
        &world,
        &["regenerate", "--store", "--key-secret", &world.key_secret, "--json"],
    )
    .await;
    assert_eq!(stored.code, 0, "{}", stored.stderr);
    let second = world.sim.current_key();
    assert_eq!(stored.json()["sensorDeploymentAccessKey"], second.as_str());
    assert_eq!(stored.json()["stored"]["secretId"], world.key_secret_arn.as_str());
    assert_eq!(stored.json()["verified"], true, "checked against Graph after the store");
    assert_eq!(stored_key(&world.moto, &world.key_secret).await, second);
    let document = world
        .moto
        .get_secret_value()
        .secret_id(&world.key_secret)
        .send()
        .await
        .unwrap();
    let document: Value = serde_json::from_str(document.secret_string().unwrap()).unwrap();
    assert_eq!(document["trigger"], "cli");
    assert_no_secrets(&world, &format!("{}{}", plain.stderr, stored.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_regenerate_stores_nothing_even_with_a_credentials_secret_and_a_key_secret_at_hand() {
    // Secrets Manager is reached anyway (for the credentials), and SENSOR_KEY_SECRET_ID names the
    // key secret: only --store may write it.
    let world = world(Setup::default()).await;
    let old_key = world.sim.current_key();
    let mut env = aws_env();
    env.push(("AZURE_AUTHORITY_HOST", world.sim.authority_url()));
    env.push(("SENSOR_KEY_SECRET_ID", world.key_secret.clone()));

    let run = run_with(
        &world,
        &[
            "regenerate",
            "--json",
            "--credentials-secret",
            &world.credentials_secret,
        ],
        env,
    )
    .await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_ne!(world.sim.current_key(), old_key, "regenerated at Graph");
    assert_eq!(run.json()["stored"], Value::Null);
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        old_key,
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_rotates_the_stored_key_and_prints_a_summary_without_the_key() {
    let world = world(Setup::default()).await;
    let old_key = world.sim.current_key();

    let run = run(&world, &["rotate", "--key-secret", &world.key_secret, "--json"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let new_key = world.sim.current_key();
    assert_ne!(new_key, old_key);
    assert_eq!(stored_key(&world.moto, &world.key_secret).await, new_key);
    let summary = run.json();
    assert_eq!(summary["outcome"], "rotated");
    assert_eq!(summary["trigger"], "cli");
    assert_eq!(summary["regenerated"], true);
    assert_eq!(summary["secretId"], world.key_secret_arn.as_str());
    assert!(!run.stdout.contains(&new_key) && !run.stdout.contains(&old_key));

    let table = self::run(&world, &["rotate", "--key-secret", &world.key_secret]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.starts_with("Outcome"), "{}", table.stdout);
    assert!(!table.stdout.contains(&world.sim.current_key()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_environment_variables_stand_in_for_the_flags() {
    let world = world(Setup::default()).await;
    let mut env = aws_env();
    env.extend([
        ("GRAPH_CREDENTIALS_SECRET_ID", world.credentials_secret.clone()),
        ("SENSOR_KEY_SECRET_ID", world.key_secret.clone()),
        ("GRAPH_ENDPOINT", world.sim.graph_url()),
        ("GRAPH_API_VERSION", "beta".into()),
        ("GRAPH_CLOUD", "global".into()),
        ("AUTHORITY_HOST", world.sim.authority_url()),
    ]);

    let run = run_with(&world, &["rotate", "-o", "json"], env.clone()).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["secretId"], world.key_secret_arn.as_str());
    assert_eq!(
        stored_key(&world.moto, &world.key_secret).await,
        world.sim.current_key()
    );
    let token = world.sim.requests();
    let token = token.iter().find(|r| r.endpoint == Some(Endpoint::Token)).unwrap();
    assert_eq!(token.form_field("scope"), Some("https://graph.microsoft.com/.default"));

    // A flag wins over its variable.
    let flag = run_with(&world, &["rotate", "--key-secret", "no-such-key-secret-77"], env).await;
    assert_eq!(flag.code, 3, "{}", flag.stderr);
    assert!(flag.stderr.contains("no-such-key-secret-77"), "{}", flag.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_shows_the_output_option_and_each_options_environment_fallback() {
    let world = world(Setup::default()).await;

    let help = run_with(&world, &["get", "--help"], Vec::new()).await;

    assert_eq!(help.code, 0, "{}", help.stderr);
    for shown in [
        "-o, --output <OUTPUT>",
        "--json",
        "[env: GRAPH_CREDENTIALS_SECRET_ID=]",
        "[env: SENSOR_KEY_SECRET_ID=]",
        "[env: GRAPH_CLOUD=]",
        "[default: auto]",
        "[env: GRAPH_ENDPOINT=]",
        "[env: AUTHORITY_HOST=]",
        "[env: GRAPH_API_VERSION=]",
    ] {
        assert!(help.stdout.contains(shown), "--help shows {shown}: {}", help.stdout);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_are_generated_for_each_shell_without_any_set_up() {
    let world = world(Setup::default()).await;
    for (shell, says) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef mdi-sensor-key"),
        ("fish", "complete -c mdi-sensor-key"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = run_with(&world, &["completions", shell], Vec::new()).await;

        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(says), "{shell}: {}", run.stdout);
        assert!(run.stdout.contains("credentials-secret"), "{shell}");
        assert!(run.stdout.contains("verdict"), "{shell}");
    }
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_at_every_level_go_to_stderr_and_hold_no_secret() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(tenant());
    let mut env = azure_env(&world);
    env.push(("RUST_LOG", "trace".into()));

    let mut stderr = String::new();
    for args in [
        vec!["get"],
        vec!["bundle"],
        vec!["sensors"],
        vec!["regenerate", "--store", "--key-secret", world.key_secret.as_str()],
        vec!["rotate", "--key-secret", world.key_secret.as_str()],
    ] {
        let run = run_with(&world, &args, env.clone()).await;
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        stderr.push_str(&run.stderr);
    }

    assert!(stderr.contains("Graph call answered"), "the capture is working");
    assert!(stderr.contains("token request answered"));
    assert_no_secrets(&world, &stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_before_anything_is_called() {
    let world = world(Setup::default()).await;
    for args in [
        vec!["frobnicate"],
        vec![],
        vec!["bundle", "--proxy-url", "http://proxy\" & calc"],
        vec!["bundle", "--proxy-url", "ftp://proxy"],
        vec!["verdict", "dc1;shutdown"],
        vec!["verdict"],
        vec!["sensors", "--domain", ""],
        vec!["rotate"],
        vec!["regenerate", "--store"],
        vec!["get", "--cloud", "china"],
        vec!["get", "--timeout", "0"],
    ] {
        let run = run(&world, &args).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_graph_endpoint_or_authority_is_refused_before_a_connection_is_made() {
    let world = world(Setup::default()).await;
    // Where the credentials would go: it must see no connection at all.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let at = listener.local_addr().unwrap();
    let (http, https) = (format!("http://{at}"), format!("https://{at}"));

    let cases = [
        (
            http.clone(),
            https.clone(),
            "--graph-endpoint (GRAPH_ENDPOINT) must be an https:// URL",
        ),
        (
            https.clone(),
            http.clone(),
            "AZURE_AUTHORITY_HOST must be an https:// URL",
        ),
    ];
    for (graph, authority, refusal) in cases {
        let mut env = azure_env(&world);
        env.retain(|(name, _)| *name != "AZURE_AUTHORITY_HOST");
        env.extend([("AZURE_AUTHORITY_HOST", authority), (INSECURE_HTTP, "0".to_owned())]);

        let run = run_with(&world, &["get", "--cloud", "global", "--graph-endpoint", &graph], env).await;

        assert_eq!(run.code, 3, "{}", run.stderr);
        assert!(run.stderr.contains(refusal), "{}", run.stderr);
        assert!(run.stderr.contains(INSECURE_HTTP), "{}", run.stderr);
        assert!(
            matches!(listener.accept(), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
            "nothing connected"
        );
        assert_no_secrets(&world, &run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_or_certificate_that_never_ends_is_refused_at_its_size_limit() {
    let world = world(Setup::default()).await;
    let config = SimConfig::default();
    // A FIFO reports size 0 and, with a writer, never ends; so does /dev/zero.
    let dir = std::env::temp_dir().join(format!("cli-fifo-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&dir).unwrap();
    let fifo = dir.join("token");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let writer = fifo.clone();
    std::thread::spawn(move || {
        use std::io::Write;
        // Blocks until the CLI opens it; ends when the CLI closes it.
        if let Ok(mut pipe) = std::fs::OpenOptions::new().write(true).open(&writer) {
            let chunk = [b'a'; 4096];
            while pipe.write_all(&chunk).is_ok() {}
        }
    });
    let mut token_file = aws_env();
    token_file.extend([
        ("AZURE_TENANT_ID", config.tenant_id.clone()),
        ("AZURE_CLIENT_ID", config.client_id.clone()),
        ("AZURE_FEDERATED_TOKEN_FILE", fifo.to_str().unwrap().to_owned()),
        ("AZURE_AUTHORITY_HOST", world.sim.authority_url()),
    ]);
    let mut certificate = aws_env();
    certificate.extend([
        ("AZURE_TENANT_ID", config.tenant_id.clone()),
        ("AZURE_CLIENT_ID", config.client_id.clone()),
        ("AZURE_CLIENT_CERTIFICATE_PATH", "/dev/zero".to_owned()),
        ("AZURE_AUTHORITY_HOST", world.sim.authority_url()),
    ]);

    let from_fifo = run_with(&world, &["get", "--cloud", "global"], token_file).await;
    let from_zero = run_with(&world, &["get", "--cloud", "global"], certificate).await;
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(from_fifo.code, 3, "{}", from_fifo.stderr);
    assert!(
        from_fifo.stderr.contains("larger than 65536 bytes"),
        "{}",
        from_fifo.stderr
    );
    assert_eq!(from_zero.code, 3, "{}", from_zero.stderr);
    assert!(
        from_zero
            .stderr
            .contains("AZURE_CLIENT_CERTIFICATE_PATH could not be read: it is larger than"),
        "{}",
        from_zero.stderr
    );
    assert_eq!(world.sim.calls(Endpoint::Token), 0, "no token request was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_exit_3_and_say_what_to_fix() {
    let world = world(Setup::default()).await;

    let none = run_with(&world, &["get"], aws_env()).await;
    assert_eq!(none.code, 3, "{}", none.stderr);
    assert!(none.stderr.contains("AZURE_CLIENT_SECRET") && none.stderr.contains("--credentials-secret"));

    let mut certificate = aws_env();
    certificate.extend([
        ("AZURE_TENANT_ID", SimConfig::default().tenant_id),
        ("AZURE_CLIENT_ID", SimConfig::default().client_id),
        ("AZURE_CLIENT_CERTIFICATE_PATH", "/etc/mdi/no-such-app.pem".to_owned()),
    ]);
    let certificate = run_with(&world, &["get"], certificate).await;
    assert_eq!(certificate.code, 3);
    assert!(
        certificate
            .stderr
            .contains("AZURE_CLIENT_CERTIFICATE_PATH could not be read"),
        "{}",
        certificate.stderr
    );
    assert!(
        !certificate.stderr.contains("no-such-app.pem"),
        "the path is not echoed"
    );

    let missing = run(&world, &["get", "--credentials-secret", "no-such-secret-9f1c"]).await;
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(missing.stderr.contains("no-such-secret-9f1c"));

    let endpoint = run(&world, &["get", "--graph-endpoint", "ftp://graph.example"]).await;
    assert_eq!(endpoint.code, 3, "{}", endpoint.stderr);
    assert!(endpoint.stderr.contains("--graph-endpoint"));
    assert_eq!(calls(&world), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_by_entra_or_graph_exit_4_and_explain_without_secrets() {
    let world = world(Setup::default()).await;
    let mut wrong = azure_env(&world);
    wrong.retain(|(name, _)| *name != "AZURE_CLIENT_SECRET");
    wrong.push(("AZURE_CLIENT_SECRET", "wrong-client-secret-1234".into()));
    remember_secret("wrong-client-secret-1234");

    let refused = run_with(&world, &["get"], wrong).await;
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(refused.stderr.contains("invalid_client"), "{}", refused.stderr);

    world.sim.set_roles(vec![]);
    let forbidden = run(&world, &["package"]).await;
    assert_eq!(forbidden.code, 4, "{}", forbidden.stderr);
    assert!(forbidden.stderr.contains("SecurityIdentitiesSensors"));
    assert!(
        forbidden.stderr.contains("request-id"),
        "Graph's request-id for a support case"
    );
    assert_no_secrets(&world, &format!("{}{}", refused.stderr, forbidden.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_unreachable_upstreams_exit_5_and_unreadable_answers_1() {
    let world = world(Setup::default()).await;
    for _ in 0..4 {
        world.sim.inject(
            Endpoint::GetPackage,
            Fault::TooManyRequests {
                retry_after: Some(RetryAfter::Seconds(0)),
            },
        );
    }
    let throttled = run(&world, &["package"]).await;
    assert_eq!(throttled.code, 5, "{}", throttled.stderr);
    assert_eq!(world.sim.calls(Endpoint::GetPackage), 4, "one try and three retries");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = run(&world, &["sensors", "--graph-endpoint", &format!("http://{closed}")]).await;
    assert_eq!(unreachable.code, 5, "{}", unreachable.stderr);

    world.sim.inject(Endpoint::ListSensors, Fault::MalformedBody);
    let unreadable = run(&world, &["sensors"]).await;
    assert_eq!(unreadable.code, 1, "{}", unreadable.stderr);
    assert!(unreadable.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_help_that_documents_the_exit_codes() {
    let world = world(Setup::default()).await;
    for command in [
        vec![],
        vec!["get"],
        vec!["regenerate"],
        vec!["rotate"],
        vec!["package"],
        vec!["bundle"],
        vec!["sensors"],
        vec!["verdict"],
        vec!["health-issues"],
        vec!["candidates"],
        vec!["activate"],
        vec!["activation-mode"],
        vec!["federation-trust"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let run = run_with(&world, &args, Vec::new()).await;
        assert_eq!(run.code, 0, "{command:?}");
        assert!(run.stdout.contains("Usage: mdi-sensor-key"), "{command:?}");
        assert!(
            run.stdout.contains("Exit codes:") && run.stdout.contains("5  upstream unavailable"),
            "{command:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_issues_and_an_unhealthy_verdict_show_the_open_issues_and_their_recommendations() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(tenant());
    world.sim.set_health_issues(vec![
        SimHealthIssue::open_on("dc3.fabrikam.com"),
        SimHealthIssue::open_on("dc3.fabrikam.com").with("closed", "low"),
        SimHealthIssue::open_on("dc1.contoso.com").with("closed", "medium"),
    ]);

    let issues = run(&world, &["health-issues", "DC3"]).await;
    assert_eq!(issues.code, 0, "{}", issues.stderr);
    let lines: Vec<&str> = issues.stdout.lines().collect();
    assert!(
        lines[0].starts_with("STATUS") && lines[0].contains("RECOMMENDATIONS"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 3, "{}", issues.stdout);
    let json = run(&world, &["health-issues", "dc3.fabrikam.com", "--json"]).await;
    assert_eq!(json.json()["healthIssues"].as_array().unwrap().len(), 2);

    let verdict = run(&world, &["verdict", "DC3"]).await;
    assert_eq!(verdict.code, 0, "{}", verdict.stderr);
    assert!(verdict.stdout.contains("Open health issues:"), "{}", verdict.stdout);
    assert!(verdict.stdout.contains("Sensor stopped communicating") && verdict.stdout.contains("high"));

    world.sim.set_roles(vec![graph_sim::READ_ROLE.to_owned()]);
    let unexplained = run(&world, &["verdict", "DC3", "--json"]).await;
    assert_eq!(unexplained.code, 0, "{}", unexplained.stderr);
    assert!(
        unexplained.json()["healthIssuesUnavailable"]
            .as_str()
            .unwrap()
            .contains(graph_sim::HEALTH_READ_ROLE)
    );
    let refused = run(&world, &["health-issues", "DC3"]).await;
    assert_eq!(
        refused.code, 4,
        "a missing permission is an upstream refusal: {}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(graph_sim::HEALTH_READ_ROLE),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_are_listed_activated_and_the_mode_read_and_set_with_bad_ids_a_usage_error() {
    let world = world(Setup::default()).await;
    let dc5 = SimCandidate::new("dc5.contoso.com");
    world
        .sim
        .set_sensor_candidates(vec![dc5.clone(), SimCandidate::new("dc6.contoso.com")]);

    let list = run(&world, &["candidates"]).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.lines().next().unwrap().starts_with("ID"), "{}", list.stdout);
    assert_eq!(list.stdout.lines().count(), 3);

    let activated = run(&world, &["activate", &dc5.id, "--json"]).await;
    assert_eq!(activated.code, 0, "{}", activated.stderr);
    assert_eq!(activated.json()["servers"][0]["serverId"], dc5.id.as_str());
    assert_eq!(world.sim.activations(), [vec![dc5.id.clone()]]);

    let mode = run(&world, &["activation-mode"]).await;
    assert!(mode.stdout.contains("manual"), "{}", mode.stdout);
    let set = run(&world, &["activation-mode", "--set", "automated", "--json"]).await;
    assert_eq!(set.code, 0, "{}", set.stderr);
    assert_eq!(set.json()["activationMode"], "automated");
    assert_eq!(world.sim.activation_mode(), "automated");

    for args in [
        vec!["activate", "a b"],
        vec!["activate", "abc", "ABC"],
        vec!["activation-mode", "--set", "Automated"],
    ] {
        let refused = run(&world, &args).await;
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.stderr);
    }
    assert_eq!(world.sim.activations().len(), 1, "nothing more was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdict_wait_polls_until_the_sensor_turns_healthy_mid_wait_and_exits_0_quietly_when_piped() {
    let world = world(Setup::default()).await;
    world
        .sim
        .set_sensors(vec![SimSensor::healthy("DC1", "contoso.com").with_status(
            "updating",
            "onboarding",
            "healthy",
        )]);

    let (waited, ()) = tokio::join!(run(&world, &["verdict", "DC1", "--wait", "30s", "--json"]), async {
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        world.sim.set_sensors(vec![SimSensor::healthy("DC1", "contoso.com")]);
    });

    assert_eq!(waited.code, 0, "{}", waited.stderr);
    assert_eq!(waited.json()["verdict"], "healthy");
    assert!(world.sim.calls(Endpoint::ListSensors) >= 2, "it asked more than once");
    assert!(
        waited.stderr.is_empty(),
        "no progress when stderr is not a terminal: {:?}",
        waited.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdict_wait_ends_at_the_deadline_with_the_last_verdicts_own_exit_code() {
    let world = world(Setup::default()).await;
    for (sensors, code, verdict) in [
        (
            vec![SimSensor::healthy("DC1", "contoso.com").with_status("updating", "starting", "healthy")],
            7,
            "installing",
        ),
        (
            vec![SimSensor::healthy("DC1", "contoso.com").with_status("disconnected", "stopped", "notHealthyHigh")],
            6,
            "unhealthy",
        ),
        (Vec::new(), 8, "missing"),
    ] {
        world.sim.set_sensors(sensors);
        let started = std::time::Instant::now();

        let waited = run(&world, &["verdict", "DC1", "--wait", "2s", "--json"]).await;

        assert_eq!(waited.code, code, "{verdict}: {}", waited.stderr);
        assert_eq!(waited.json()["verdict"], verdict);
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(2),
            "{verdict}: it waited"
        );
    }
    for bad in ["0s", "1d", "soon"] {
        let refused = run(&world, &["verdict", "DC1", "--wait", bad]).await;
        assert_eq!(refused.code, 2, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdict_wait_rides_out_throttling_but_stops_at_a_refusal() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![SimSensor::healthy("DC1", "contoso.com")]);
    for _ in 0..6 {
        world.sim.inject(Endpoint::ListSensors, Fault::Status(503));
    }
    let waited = run(&world, &["verdict", "DC1", "--wait", "30s"]).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);

    world.sim.set_roles(vec![graph_sim::REQUIRED_ROLE.to_owned()]);
    let started = std::time::Instant::now();
    let refused = run(&world, &["verdict", "DC1", "--wait", "30s"]).await;
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "a refusal does not wait out the deadline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdict_wait_stops_at_once_at_needs_configuration_with_exit_9_and_says_what_to_configure() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![
        SimSensor::of_type(graph_sim::SimSensorType::Adfs, "ADFS1", "contoso.com", &[]).needing_configuration(),
    ]);
    let started = std::time::Instant::now();

    let waited = run(&world, &["verdict", "adfs1", "--wait", "30s", "--json"]).await;

    assert_eq!(waited.code, 9, "{}", waited.stderr);
    assert_eq!(waited.json()["verdict"], "needs-configuration");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "it does not clear by itself: no waiting"
    );
    assert_eq!(world.sim.calls(Endpoint::ListSensors), 1);
    let table = run(&world, &["verdict", "adfs1"]).await;
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("To configure: "), "{}", table.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdict_wait_keeps_waiting_through_initialising_and_exits_10_if_it_is_still_initialising() {
    let world = world(Setup::default()).await;
    world.sim.set_sensors(vec![
        SimSensor::of_type(
            graph_sim::SimSensorType::Adfs,
            "ADFS1",
            "contoso.com",
            &["dc1.contoso.com"],
        )
        .initialising(2),
    ]);
    let waited = run(&world, &["verdict", "adfs1", "--wait", "30s", "--json"]).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    assert_eq!(waited.json()["verdict"], "healthy");
    assert_eq!(
        world.sim.calls(Endpoint::ListSensors),
        3,
        "two initialising reads, then running"
    );

    world.sim.set_sensors(vec![
        SimSensor::of_type(
            graph_sim::SimSensorType::Adfs,
            "ADFS1",
            "contoso.com",
            &["dc1.contoso.com"],
        )
        .initialising(1000),
    ]);
    let started = std::time::Instant::now();
    let still = run(&world, &["verdict", "adfs1", "--wait", "2s", "--json"]).await;
    assert_eq!(still.code, 10, "{}", still.stderr);
    assert_eq!(still.json()["verdict"], "initialising");
    assert!(started.elapsed() >= std::time::Duration::from_secs(2), "it waited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_names_the_proxy_user_says_the_install_may_restart_the_server_and_its_help_says_so_too() {
    let world = world(Setup::default()).await;

    let table = run(
        &world,
        &[
            "bundle",
            "--proxy-url",
            "http://proxy.contoso.com:8080",
            "--proxy-user-name",
            r"CONTOSO\ProxyUser",
        ],
    )
    .await;

    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table
            .stdout
            .contains(r#"ProxyUserName="CONTOSO\ProxyUser" ProxyUserPassword="%MDI_PROXY_USER_PASSWORD%""#),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("Before installing:"), "{}", table.stdout);
    assert!(table.stdout.contains("automatically restart the server"));
    let without_proxy = run(&world, &["bundle", "--proxy-user-name", r"CONTOSO\ProxyUser"]).await;
    assert_eq!(without_proxy.code, 2, "{}", without_proxy.stderr);

    let help = run(&world, &["bundle", "--help"]).await;
    assert_eq!(help.code, 0);
    for said in [
        "restart the server",
        "maintenance window",
        ".NET Framework 4.7",
        "--proxy-user-name",
    ] {
        assert!(help.stdout.contains(said), "{said}: {}", help.stdout);
    }
}
