//! `mdi-sensor-key`, the operator CLI over the same library as the Lambda: the same operations
//! ([`mdi_sensor_key::operations`]), Graph session (retries, token and credentials handling), key
//! service and rotator. A command becomes an operation; its answer becomes the same JSON as the
//! HTTP route's, or a table. Run `mdi-sensor-key --help`. Built with the `cli` feature, so the
//! Lambda's `bootstrap` never links clap or aws-config.
//!
//! stdout carries only the command's output (the key, for `get`, `regenerate` and `bundle`);
//! logs and errors go to stderr, and the Lambda's EMF metric lines are switched off.
#![forbid(unsafe_code)]

mod args;
mod exit;
mod federation;
mod output;
mod settings;
mod wait;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::config::ProvideCredentials as _;
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use mdi_sensor_key::candidates::SensorCandidate;
use mdi_sensor_key::credentials::{CredentialsCache, StaticCredentials};
use mdi_sensor_key::deadline::Deadline;
use mdi_sensor_key::graph::{GraphClient, GraphSession, RetryPolicy};
use mdi_sensor_key::keys::{KeyService, Trigger};
use mdi_sensor_key::metrics;
use mdi_sensor_key::operations::{self, Outcome, Ports};
use mdi_sensor_key::rotation::{RotationRequest, Rotator};
use mdi_sensor_key::secrets::AwsSecretStore;
use mdi_sensor_key::secrets::http::{ReqwestHttpClient, reqwest_client};
use mdi_sensor_key::sensors::SensorList;
use mdi_sensor_key::sensors::health::{Explanation, HealthIssue, IssueSummary};
use secrecy::ExposeSecret;
use serde_json::json;
use tracing_subscriber::EnvFilter;

use args::{Cli, Command, Request};
use exit::Failure;
use output::{Report, columns, or_dash, pairs};
use settings::{CliCredentials, CredentialsSource, Settings};

type Session = GraphSession<AwsSecretStore, CliCredentials>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        // Into a buffer first: clap_complete panics when its writer fails (a closed pipe).
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "mdi-sensor-key", &mut script);
        let mut stdout = std::io::stdout().lock();
        return match stdout.write_all(&script).and_then(|()| stdout.flush()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(1),
        };
    }
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
    let json = cli.global.json();
    match runtime.block_on(run(cli)) {
        Ok(report) => {
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{}", report.render(json)).and_then(|()| stdout.flush()) {
                Ok(()) => ExitCode::from(report.code),
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
    if let (Some(command), None) = (cli.command.needs_key_secret(), &cli.global.key_secret) {
        Cli::command()
            .error(
                ErrorKind::MissingRequiredArgument,
                format!(
                    "{command} needs --key-secret ID (or SENSOR_KEY_SECRET_ID): the Secrets Manager secret the key is stored in"
                ),
            )
            .exit();
    }
}

/// Logs go to stderr, as text: stdout belongs to the output.
fn init_logging(verbose: u8) {
    let default = match verbose {
        // aws-config warns of each provider it tried; the failure's one line says what matters.
        0 => "warn,aws_config=error,aws_runtime=error",
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
    // Needs AWS credentials only: no Graph app, no secret.
    if let Command::FederationTrust { role_arn, app_id } = &cli.command {
        return federation::trust(role_arn, app_id, cli.global.cloud).await;
    }
    let settings = Settings::new(&cli.global, |name| std::env::var(name).ok())?;
    let deadline = Deadline::after(Duration::from_secs(cli.global.timeout));
    let needs_store =
        matches!(settings.credentials, CredentialsSource::Secret(_)) || cli.command.needs_key_secret().is_some();
    let store = match needs_store {
        true => Some(aws_store(deadline).await?),
        false => None,
    };
    let graph = Arc::new(session(&settings, store.clone())?);
    let (operation, outcome) = match cli.command {
        Command::Rotate => ("rotate", rotate(graph, store, settings.key_secret, deadline).await),
        command => {
            let request = command.request().map_err(Failure::Usage)?;
            let name = request.operation.name();
            (
                name,
                execute(request, graph, store, settings.key_secret, deadline).await,
            )
        }
    };
    let user = audit_user(|name| std::env::var(name).ok());
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

/// The AWS SDK's configuration from its usual sources, over our HTTP client, for `service` (named
/// in the error when no region is configured).
async fn aws_sdk_config(service: &str) -> Result<aws_config::SdkConfig, Failure> {
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
    match aws.region() {
        Some(_) => Ok(aws),
        None => Err(Failure::Config(format!(
            "no AWS region for {service}: set AWS_REGION or a profile's region"
        ))),
    }
}

/// Who ran the command, for the audit line: `USER` (Unix) or `USERNAME` (Windows).
fn audit_user(lookup: impl Fn(&str) -> Option<String>) -> String {
    ["USER", "USERNAME"]
        .into_iter()
        .find_map(|name| lookup(name).filter(|value| !value.trim().is_empty()))
        .unwrap_or_default()
}

/// Secrets Manager through the SDK's usual credential and region sources: the environment, the
/// shared config and credentials files (profiles, `credential_process`, IAM Identity Center,
/// `aws login`), web identity, ECS and instance metadata. Built only for the commands that need
/// it, so `get` with the AZURE_* variables needs no AWS set-up at all.
///
/// The credentials are resolved here, once: a profile that cannot produce them is a credentials
/// problem, said as one, before any call (the SDK would report it as a failed connection to
/// Secrets Manager), and a `credential_process` or SSO login runs once per command.
async fn aws_store(deadline: Deadline) -> Result<AwsSecretStore, Failure> {
    let aws = aws_sdk_config("Secrets Manager").await?;
    let provider = aws.credentials_provider().ok_or_else(|| {
        Failure::Config("AWS credentials: no credentials provider is configured for Secrets Manager".into())
    })?;
    let credentials = tokio::time::timeout_at(deadline.instant(), provider.provide_credentials())
        .await
        .map_err(|_| Failure::Unavailable("AWS credentials: loading them took longer than --timeout".into()))?
        .map_err(|error| {
            Failure::Config(format!(
                "AWS credentials could not be loaded for Secrets Manager: {}. Check AWS_PROFILE and that profile (IAM Identity Center: aws sso login; aws login), or the AWS_* variables",
                causes(&error)
            ))
        })?;
    let config = aws_sdk_secretsmanager::config::Builder::from(&aws)
        .credentials_provider(credentials)
        .build();
    Ok(AwsSecretStore::new(aws_sdk_secretsmanager::Client::from_conf(config)))
}

/// An error and its causes in one line, each said once: the provider chain's errors repeat their
/// sources' text. They name the profile, a process's exit status and stderr, the SSO token cache's
/// file; never a credential.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !said.iter().any(|earlier| earlier.contains(&text)) {
            said.push(text);
        }
        next = error.source();
    }
    // The innermost cause that is not already part of an outer one's text reads best last.
    said.retain(|text| !text.is_empty());
    said.join(": ")
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

/// Runs the operation; `Ok` carries the report and Graph's request id for the audit line.
async fn execute(
    request: Request,
    graph: Arc<Session>,
    store: Option<AwsSecretStore>,
    key_secret: Option<String>,
    deadline: Deadline,
) -> Result<(Report, Option<String>), Failure> {
    // Only `regenerate --store` writes: check_usage made sure it has a key secret, and the other
    // commands are given none, whatever SENSOR_KEY_SECRET_ID says.
    let stores = request.store && store.is_some();
    let keys = KeyService::new(Arc::clone(&graph), store, key_secret.filter(|_| stores));
    let ports = Ports {
        graph: graph.as_ref(),
        keys: &keys,
    };
    if let Some(wait) = request.wait {
        let per_poll = deadline.remaining();
        let (answer, verdict) = wait::wait_for(ports, request.operation, &wait, per_poll).await?;
        let mut report = report(&answer.outcome);
        report.code = wait::exit_code(verdict);
        return Ok((report, answer.graph_request_id));
    }
    let answer = operations::run(ports, request.operation, deadline)
        .await
        .map_err(|error| Failure::from(&error))?;
    if let Outcome::Regenerated(regenerated) = &answer.outcome {
        if regenerated.concurrent_regenerate_won {
            tracing::warn!("a concurrent regenerate won; its key is the one stored and printed");
        }
        if regenerated.verified == Some(false) {
            tracing::warn!("the key was regenerated and stored, but not verified against Graph afterwards");
        }
    }
    Ok((report(&answer.outcome), answer.graph_request_id))
}

/// A rotation as the schedule runs one, with a fresh idempotency key: each run of the command is
/// its own occurrence.
async fn rotate(
    graph: Arc<Session>,
    store: Option<AwsSecretStore>,
    key_secret: Option<String>,
    deadline: Deadline,
) -> Result<(Report, Option<String>), Failure> {
    let (Some(store), Some(key_secret)) = (store, key_secret) else {
        return Err(Failure::Config("this command needs --key-secret ID".into()));
    };
    let keys = KeyService::new(graph, store, Some(key_secret));
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
            code: 0,
        },
        None,
    ))
}

/// The operation's answer as JSON (the HTTP route's body, byte for byte) and as a table.
fn report(outcome: &Outcome) -> Report {
    let json = serde_json::to_value(outcome).unwrap_or_default();
    let table = match outcome {
        Outcome::Key(read) => pairs(&[("Sensor deployment access key", read.key.expose().expose_secret())]),
        Outcome::Regenerated(regenerated) => {
            let mut rows = Vec::new();
            if let Some(key) = &regenerated.key {
                rows.push(("Sensor deployment access key", key.expose().expose_secret()));
            }
            if let Some(stored) = &regenerated.stored {
                rows.extend([
                    ("Stored in", stored.secret_id.as_str()),
                    ("Version", stored.version_id.as_str()),
                ]);
            }
            pairs(&rows)
        }
        Outcome::Package(package) => pairs(&[("Download URL", &package.download_url), ("Version", &package.version)]),
        Outcome::Bundle(bundle) => {
            let mut table = pairs(&[
                ("Sensor deployment access key", bundle.key.expose().expose_secret()),
                ("Download URL", &bundle.download_url),
                ("Version", &bundle.version),
                ("Install command (cmd.exe)", bundle.install_command.expose_secret()),
                (
                    "Install command (PowerShell)",
                    bundle.install_command_powershell.expose_secret(),
                ),
            ]);
            table.push_str("\n\nBefore installing:");
            for note in &bundle.notes {
                table.push_str(&format!("\n- {note}"));
            }
            table
        }
        Outcome::Sensors(list) => sensor_table(list),
        Outcome::Verdict(verdict) => {
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
            let mut table = pairs(&rows);
            match &verdict.explanation {
                Some(Explanation::Issues(issues)) if !issues.is_empty() => {
                    table.push_str("\n\nOpen health issues:\n");
                    table.push_str(&issue_table(issues));
                }
                Some(Explanation::Issues(_)) => table.push_str("\n\nNo open health issue names this sensor."),
                Some(explanation @ (Explanation::PermissionMissing { .. } | Explanation::Unavailable { .. })) => {
                    let json = serde_json::to_value(explanation).unwrap_or_default();
                    let said = json["healthIssuesUnavailable"].as_str().unwrap_or_default();
                    table.push_str(&format!("\n\nHealth issues: {said}"));
                }
                None => {}
            }
            if let Some(to_configure) = verdict.to_configure {
                table.push_str(&format!("\n\nTo configure: {to_configure}"));
            }
            table
        }
        Outcome::HealthIssues(found) => health_issue_table(&found.health_issues),
        Outcome::Candidates(list) => candidate_table(&list.sensor_candidates),
        Outcome::ActivationMode(mode) => pairs(&[("Activation mode", or_dash(mode.activation_mode.as_deref()))]),
        Outcome::Activated(activation) => {
            let rows: Vec<Vec<String>> = activation
                .servers
                .iter()
                .map(|server| vec![server.server_id.clone(), server.outcome.to_owned()])
                .collect();
            columns(&["SERVER", "GRAPH"], &rows)
        }
    };
    Report { json, table, code: 0 }
}

/// An unhealthy verdict's open issues: title, severity and the recommendations, one per line.
fn issue_table(issues: &[IssueSummary]) -> String {
    let rows: Vec<Vec<String>> = issues
        .iter()
        .map(|issue| {
            vec![
                or_dash(issue.severity.as_deref()).to_owned(),
                or_dash(issue.display_name.as_deref()).to_owned(),
                issue.recommendations.join(" / "),
            ]
        })
        .collect();
    columns(&["SEVERITY", "ISSUE", "RECOMMENDATIONS"], &rows)
}

fn health_issue_table(issues: &[HealthIssue]) -> String {
    if issues.is_empty() {
        return "No health issue names this server.".to_owned();
    }
    let rows: Vec<Vec<String>> = issues
        .iter()
        .map(|issue| {
            vec![
                or_dash(issue.status.as_deref()).to_owned(),
                or_dash(issue.severity.as_deref()).to_owned(),
                or_dash(issue.display_name.as_deref()).to_owned(),
                or_dash(issue.last_modified_date_time.as_deref()).to_owned(),
                issue.recommendations.join(" / "),
            ]
        })
        .collect();
    columns(&["STATUS", "SEVERITY", "ISSUE", "MODIFIED", "RECOMMENDATIONS"], &rows)
}

fn candidate_table(candidates: &[SensorCandidate]) -> String {
    if candidates.is_empty() {
        return "No sensor candidates.".to_owned();
    }
    let rows: Vec<Vec<String>> = candidates
        .iter()
        .map(|candidate| {
            [
                candidate.id.as_deref(),
                candidate.computer_dns_name.as_deref(),
                candidate.domain_name.as_deref(),
                candidate.sense_client_version.as_deref(),
                candidate.last_seen_date_time.as_deref(),
            ]
            .into_iter()
            .map(|cell| or_dash(cell).to_owned())
            .collect()
        })
        .collect();
    columns(&["ID", "DNS NAME", "DOMAIN", "MDE CLIENT", "LAST SEEN"], &rows)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_user_is_user_or_on_windows_username() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(audit_user(env(&[("USER", "alice"), ("USERNAME", "bob")])), "alice");
        assert_eq!(audit_user(env(&[("USERNAME", "bob")])), "bob");
        assert_eq!(audit_user(env(&[("USER", " "), ("USERNAME", "bob")])), "bob");
        assert_eq!(audit_user(env(&[])), "");
    }
}
