//! The operator CLI over the same library as the Lambda: the same Graph session (retries, token
//! and credentials handling), the same key service and rotator, the same sensor domain.
//!
//! stdout carries only the command's output (the key, for `get`, `regenerate` and `bundle`);
//! logs and errors go to stderr, and the Lambda's EMF metric lines are switched off.

mod args;
mod exit;
mod output;
mod settings;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use mdi_sensor_key::credentials::{CredentialsCache, StaticCredentials};
use mdi_sensor_key::deadline::Deadline;
use mdi_sensor_key::graph::{GraphClient, GraphSession, RetryPolicy};
use mdi_sensor_key::keys::{KeyService, KeySource, Trigger};
use mdi_sensor_key::metrics;
use mdi_sensor_key::rotation::{RotationRequest, Rotator};
use mdi_sensor_key::secrets::http::{ReqwestHttpClient, reqwest_client};
use mdi_sensor_key::secrets::{AwsSecretStore, StoredVersion};
use mdi_sensor_key::sensors::{self, InstallOptions, SensorFilter, SensorList, SensorSource};
use secrecy::ExposeSecret;
use serde_json::json;
use tracing_subscriber::EnvFilter;

use args::{Cli, Command};
use exit::Failure;
use output::{Report, columns, or_dash, pairs};
use settings::{CliCredentials, CredentialsSource, Settings};

type Session = GraphSession<AwsSecretStore, CliCredentials>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    check_usage(&cli);
    init_logging(cli.global.verbose);
    metrics::disable();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mdi-sensor-key: cannot start: {error}");
            return ExitCode::from(1);
        }
    };
    let json = cli.global.json;
    match runtime.block_on(run(cli)) {
        Ok(report) => {
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{}", report.render(json)).and_then(|()| stdout.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                // A closed pipe: the output went nowhere, so this was not a success.
                Err(_) => ExitCode::from(1),
            }
        }
        Err(failure) => {
            eprintln!("mdi-sensor-key: {}", failure.message());
            ExitCode::from(failure.code())
        }
    }
}

/// Combinations clap's declarations cannot express; a usage error (exit 2) like clap's own.
fn check_usage(cli: &Cli) {
    let needs_key_secret = match cli.command {
        Command::Regenerate { store: true } => Some("regenerate --store"),
        Command::Rotate => Some("rotate"),
        _ => None,
    };
    if let (Some(command), None) = (needs_key_secret, &cli.global.key_secret) {
        Cli::command()
            .error(
                ErrorKind::MissingRequiredArgument,
                format!("{command} needs --key-secret ID: the Secrets Manager secret the key is stored in"),
            )
            .exit();
    }
}

/// Logs go to stderr, as text: stdout belongs to the output.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "warn,mdi_sensor_key=info,audit=info",
        _ => "info,mdi_sensor_key=debug,audit=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(true)
        .init();
}

async fn run(cli: Cli) -> Result<Report, Failure> {
    let settings = Settings::new(&cli.global, |name| std::env::var(name).ok())?;
    let deadline = Deadline::after(Duration::from_secs(cli.global.timeout));
    let needs_store = matches!(settings.credentials, CredentialsSource::Secret(_))
        || matches!(cli.command, Command::Regenerate { store: true } | Command::Rotate);
    let store = match needs_store {
        true => Some(aws_store().await?),
        false => None,
    };
    let session = session(&settings, store.clone())?;
    let operation = cli.command.name();
    let outcome = execute(cli.command, session, store, settings.key_secret, deadline).await;
    let user = std::env::var("USER").unwrap_or_default();
    match &outcome {
        Ok((_, graph_request_id)) => tracing::info!(
            target: "audit",
            user,
            operation,
            outcome = "ok",
            graph_request_id = graph_request_id.as_deref().unwrap_or(""),
            "operator command"
        ),
        Err(failure) => tracing::warn!(
            target: "audit",
            user,
            operation,
            outcome = "failed",
            exit_code = failure.code(),
            "operator command failed"
        ),
    }
    outcome.map(|(report, _)| report)
}

/// Secrets Manager through the SDK's usual credential and region sources. Built only for the
/// commands that need it, so `get` with the AZURE_* variables needs no AWS set-up at all.
async fn aws_store() -> Result<AwsSecretStore, Failure> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build();
    let http =
        reqwest_client().map_err(|error| Failure::Other(format!("the HTTP client could not be built: {error}")))?;
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .http_client(ReqwestHttpClient::new(http))
        .timeout_config(timeouts)
        .load()
        .await;
    if aws.region().is_none() {
        return Err(Failure::Config(
            "no AWS region for Secrets Manager: set AWS_REGION or a profile's region".into(),
        ));
    }
    Ok(AwsSecretStore::new(aws_sdk_secretsmanager::Client::new(&aws)))
}

fn session(settings: &Settings, store: Option<AwsSecretStore>) -> Result<Session, Failure> {
    let client = GraphClient::new(settings.endpoints.clone(), RetryPolicy::default())
        .map_err(|error| Failure::Other(format!("the HTTP client could not be built: {error}")))?;
    let credentials = match (&settings.credentials, store) {
        (CredentialsSource::Secret(secret_id), Some(store)) => CliCredentials::Secret(CredentialsCache::new(
            store,
            secret_id.clone(),
            settings.credentials_ttl,
        )),
        (CredentialsSource::Environment(credentials), _) => {
            CliCredentials::Environment(StaticCredentials::new(credentials.clone()))
        }
        (CredentialsSource::Secret(_), None) => {
            return Err(Failure::Other("internal: a credentials secret without a store".into()));
        }
    };
    Ok(GraphSession::with_credentials(client, credentials))
}

/// Runs the command; `Ok` carries the report and Graph's request id for the audit line.
async fn execute(
    command: Command,
    session: Session,
    store: Option<AwsSecretStore>,
    key_secret: Option<String>,
    deadline: Deadline,
) -> Result<(Report, Option<String>), Failure> {
    let keys = |store: Option<AwsSecretStore>, session| match (store, &key_secret) {
        (Some(store), Some(secret)) => Ok(KeyService::new(session, store, Some(secret.clone()))),
        _ => Err(Failure::Config("this command needs --key-secret ID".into())),
    };
    match command {
        Command::Get => {
            let answer = session
                .current_key(deadline)
                .await
                .map_err(|error| Failure::from(&error))?;
            let key = answer.key.expose().expose_secret();
            let report = Report {
                json: json!({ "sensorDeploymentAccessKey": key }),
                table: pairs(&[("Sensor deployment access key", key)]),
            };
            Ok((report, answer.graph_request_id))
        }
        Command::Regenerate { store: false } => {
            let answer = session
                .regenerate_key(deadline)
                .await
                .map_err(|error| Failure::from(&error))?;
            let report = regenerated(answer.key.expose().expose_secret(), None);
            Ok((report, answer.graph_request_id))
        }
        Command::Regenerate { store: true } => {
            let keys = keys(store, session)?;
            let token = uuid::Uuid::new_v4().to_string();
            let done = keys
                .regenerate(Trigger::Cli, &token, deadline)
                .await
                .map_err(|error| Failure::from(&error))?;
            if done.drift_repaired {
                tracing::warn!("a concurrent regenerate won; its key is the one stored and printed");
            }
            if done.verified == Some(false) {
                tracing::warn!("the key was regenerated and stored, but not verified against Graph afterwards");
            }
            let report = regenerated(done.key.expose().expose_secret(), done.stored.as_ref());
            Ok((report, done.graph_request_id))
        }
        Command::Rotate => {
            let keys = keys(store, session)?;
            // A fresh idempotency key: each run of the command is its own occurrence.
            let request = RotationRequest::Scheduled {
                trigger: Trigger::Cli,
                token: uuid::Uuid::new_v4().to_string(),
            };
            let summary = Rotator::default()
                .run(&keys, request, deadline)
                .await
                .map_err(|error| Failure::from(&error))?;
            let yes_no = |flag: bool| if flag { "yes" } else { "no" };
            let table = pairs(&[
                ("Outcome", summary.outcome.name()),
                ("Secret", &summary.secret_id),
                ("Version", or_dash(summary.version_id.as_deref())),
                ("Regenerated at Graph", yes_no(summary.regenerated)),
                ("Drift repaired", yes_no(summary.drift_repaired)),
            ]);
            Ok((
                Report {
                    json: json!(summary),
                    table,
                },
                None,
            ))
        }
        Command::Package => {
            let answer = session
                .deployment_package(deadline)
                .await
                .map_err(|error| Failure::from(&error))?;
            let table = pairs(&[
                ("Download URL", &answer.package.download_url),
                ("Version", &answer.package.version),
            ]);
            Ok((
                Report {
                    json: json!(answer.package),
                    table,
                },
                answer.graph_request_id,
            ))
        }
        Command::Bundle {
            delayed_update,
            proxy_url,
        } => {
            let options = InstallOptions {
                delayed_update,
                proxy_url,
            };
            let bundle = sensors::install_bundle(&session, &options, deadline)
                .await
                .map_err(|error| Failure::from(&error))?;
            let key = bundle.key.expose().expose_secret();
            let command = bundle.install_command.expose_secret();
            let report = Report {
                json: json!({
                    "sensorDeploymentAccessKey": key,
                    "downloadUrl": bundle.package.download_url,
                    "version": bundle.package.version,
                    "installCommand": command,
                }),
                table: pairs(&[
                    ("Sensor deployment access key", key),
                    ("Download URL", &bundle.package.download_url),
                    ("Version", &bundle.package.version),
                    ("Install command", command),
                ]),
            };
            Ok((report, bundle.graph_request_id))
        }
        Command::Sensors { domain } => {
            let filter = SensorFilter {
                domain_name: domain,
                display_name: None,
            };
            let list = sensors::list(&session, &filter, deadline)
                .await
                .map_err(|error| Failure::from(&error))?;
            let report = Report {
                json: json!(list),
                table: sensor_table(&list),
            };
            Ok((report, list.graph_request_id))
        }
        Command::Verdict { host } => {
            let verdict = sensors::verdict(&session, &host, deadline)
                .await
                .map_err(|error| Failure::from(&error))?;
            let mut rows = vec![
                ("Sensor", verdict.display_name.as_str()),
                ("Verdict", verdict.verdict.name()),
            ];
            if let Some(report) = &verdict.sensor {
                let sensor = &report.sensor;
                rows.extend([
                    ("Domain", or_dash(sensor.domain_name.as_deref())),
                    ("Deployment status", or_dash(sensor.deployment_status.as_deref())),
                    ("Service status", or_dash(sensor.service_status.as_deref())),
                    ("Health status", or_dash(sensor.health_status.as_deref())),
                    ("Version", or_dash(sensor.version.as_deref())),
                ]);
            }
            let table = pairs(&rows);
            Ok((
                Report {
                    json: json!(verdict),
                    table,
                },
                verdict.graph_request_id,
            ))
        }
    }
}

fn regenerated(key: &str, stored: Option<&StoredVersion>) -> Report {
    let mut rows = vec![("Sensor deployment access key", key)];
    if let Some(stored) = stored {
        rows.extend([
            ("Stored in", stored.secret_id.as_str()),
            ("Version", stored.version_id.as_str()),
        ]);
    }
    Report {
        json: json!({ "sensorDeploymentAccessKey": key, "stored": stored }),
        table: pairs(&rows),
    }
}

fn sensor_table(list: &SensorList) -> String {
    if list.sensors.is_empty() {
        return "No sensors.".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .sensors
        .iter()
        .map(|report| {
            let sensor = &report.sensor;
            [
                sensor.display_name.as_deref(),
                sensor.domain_name.as_deref(),
                sensor.sensor_type.as_deref(),
                sensor.version.as_deref(),
                sensor.deployment_status.as_deref(),
                sensor.service_status.as_deref(),
                sensor.health_status.as_deref(),
                Some(report.verdict.name()),
            ]
            .into_iter()
            .map(|cell| or_dash(cell).to_owned())
            .collect()
        })
        .collect();
    columns(
        &[
            "SENSOR",
            "DOMAIN",
            "TYPE",
            "VERSION",
            "DEPLOYMENT",
            "SERVICE",
            "HEALTH",
            "VERDICT",
        ],
        &rows,
    )
}
