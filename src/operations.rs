//! What the product does: every operation a caller can ask for, with its input, its name (in the
//! audit line, the metrics and the CLI), the allow-list that guards it, and its typed answer, the
//! one JSON contract of the HTTP routes and the CLI; and one [`run`] over the ports.
//!
//! Knows nothing of Lambda or terminals: the Lambda adapter turns a request into an [`Operation`]
//! and an [`Answer`] into a response, the CLI a command into an operation and an answer into JSON
//! or a table. Adding an operation touches this module and one line per front end.

use secrecy::{ExposeSecret, SecretString};
use serde::{Serialize, Serializer};

use crate::access::Permission;
use crate::candidates::{Activation, ActivationMode, ActivationModeAnswer, CandidateList, ServerIds, ServerOutcome};
use crate::deadline::Deadline;
use crate::health::HostHealthIssues;
use crate::keys::{AccessKey, KeyError, KeyService, KeySource, Trigger};
use crate::secrets::{SecretStore, StoredVersion};
use crate::sensors::{
    self, DeploymentPackage, HostName, HostVerdict, InstallOptions, SensorError, SensorFilter, SensorList, SensorSource,
};
use crate::upstream::GraphError;

/// One thing a caller asks for, with its input already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// The key, live from Graph.
    ReadKey,
    /// A new key at Graph, stored in the key secret when one is configured.
    RegenerateKey { trigger: Trigger },
    /// The sensor installer's download URL and version.
    ReadSensorPackage,
    /// The key, the package and the install commands that use both.
    ReadInstallBundle(InstallOptions),
    /// The tenant's sensors, each with its verdict.
    ListSensors(SensorFilter),
    /// The verdict on one host's sensor.
    SensorVerdict(HostName),
    /// The health issues that name one host.
    SensorHealthIssues(HostName),
    /// The servers that can run the v3 sensor without an installer.
    ListSensorCandidates,
    /// The tenant's activation mode for candidates.
    ReadActivationMode,
    /// Activate the sensor on these candidates.
    ActivateSensors(ServerIds),
    /// Set the tenant's activation mode.
    SetActivationMode(ActivationMode),
}

/// Which counter an operation's outcome goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    KeyRead,
    Regeneration,
    SensorQuery,
    SensorActivation,
}

impl Operation {
    /// The operation's name in the audit line and the metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::ReadKey => "read-key",
            Operation::RegenerateKey { .. } => "regenerate-key",
            Operation::ReadSensorPackage => "read-sensor-package",
            Operation::ReadInstallBundle(_) => "read-install-bundle",
            Operation::ListSensors(_) => "list-sensors",
            Operation::SensorVerdict(_) => "sensor-verdict",
            Operation::SensorHealthIssues(_) => "sensor-health-issues",
            Operation::ListSensorCandidates => "list-sensor-candidates",
            Operation::ReadActivationMode => "read-activation-mode",
            Operation::ActivateSensors(_) => "activate-sensors",
            Operation::SetActivationMode(_) => "set-activation-mode",
        }
    }

    /// The allow-list that guards it: every read, the sensor routes included, is for readers; the
    /// two writes that deploy sensors (an activation, the activation mode) are for activators.
    pub fn permission(&self) -> Permission {
        match self {
            Operation::RegenerateKey { .. } => Permission::RegenerateKey,
            Operation::ActivateSensors(_) | Operation::SetActivationMode(_) => Permission::ActivateSensors,
            _ => Permission::ReadKey,
        }
    }

    /// The bundle hands out the key, so it counts as a key read; the other sensor reads do not.
    pub fn tally(&self) -> Tally {
        match self {
            Operation::ReadKey | Operation::ReadInstallBundle(_) => Tally::KeyRead,
            Operation::RegenerateKey { .. } => Tally::Regeneration,
            Operation::ReadSensorPackage
            | Operation::ListSensors(_)
            | Operation::SensorVerdict(_)
            | Operation::SensorHealthIssues(_)
            | Operation::ListSensorCandidates
            | Operation::ReadActivationMode => Tally::SensorQuery,
            Operation::ActivateSensors(_) | Operation::SetActivationMode(_) => Tally::SensorActivation,
        }
    }
}

/// `GET /sensor-key`, `mdi-sensor-key get`.
#[derive(Debug, Serialize)]
pub struct KeyRead {
    #[serde(rename = "sensorDeploymentAccessKey", serialize_with = "key")]
    pub key: AccessKey,
}

/// `POST /sensor-key/regenerate`, `mdi-sensor-key regenerate`.
#[derive(Debug, Serialize)]
pub struct KeyRegenerated {
    #[serde(rename = "sensorDeploymentAccessKey", serialize_with = "key")]
    pub key: AccessKey,
    /// Where the key was stored; `null` without a key secret.
    pub stored: Option<StoredVersion>,
    /// Whether the stored copy was checked against Graph afterwards; `false`: regenerated and
    /// stored, but the check failed (the key is still the new one; an error would only invite a
    /// second regenerate); `null` when nothing is stored.
    pub verified: Option<bool>,
    /// A concurrent regenerate won and its key is the one answered.
    #[serde(skip)]
    pub concurrent_regenerate_won: bool,
}

/// `GET /sensor-install-bundle`, `mdi-sensor-key bundle`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallBundle {
    #[serde(rename = "sensorDeploymentAccessKey", serialize_with = "key")]
    pub key: AccessKey,
    pub download_url: String,
    pub version: String,
    /// For cmd.exe; holds the key unless a key file is named.
    #[serde(serialize_with = "secret")]
    pub install_command: SecretString,
    #[serde(rename = "installCommandPowerShell", serialize_with = "secret")]
    pub install_command_powershell: SecretString,
}

/// An operation's typed result. Serialized, it is the body of the HTTP route and the CLI's JSON.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Key(KeyRead),
    Regenerated(KeyRegenerated),
    Package(DeploymentPackage),
    Bundle(InstallBundle),
    Sensors(SensorList),
    /// Boxed: with its sensor and explanation it is the largest answer by far.
    Verdict(Box<HostVerdict>),
    HealthIssues(HostHealthIssues),
    Candidates(CandidateList),
    ActivationMode(ActivationModeAnswer),
    Activated(Activation),
}

/// An outcome and Graph's request-id, for the audit line.
#[derive(Debug)]
pub struct Answer {
    pub outcome: Outcome,
    pub graph_request_id: Option<String>,
}

/// Why an operation failed; problem.rs maps each to a status and a problem document.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Sensor(#[from] SensorError),
}

impl From<GraphError> for OperationError {
    fn from(error: GraphError) -> Self {
        OperationError::Key(KeyError::Graph(error))
    }
}

/// The key, for the caller who asked for it: the one place it becomes JSON.
fn key<S: Serializer>(key: &AccessKey, serializer: S) -> Result<S::Ok, S::Error> {
    secret(key.expose(), serializer)
}

fn secret<S: Serializer>(value: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.expose_secret())
}

/// Runs `operation` against Graph (`graph`, for the sensor reads) and the key service. A
/// regenerate's idempotency token is fresh for each run: each request is its own occurrence.
pub async fn run<G, K, S>(
    graph: &G,
    keys: &KeyService<K, S>,
    operation: Operation,
    deadline: Deadline,
) -> Result<Answer, OperationError>
where
    G: SensorSource + KeySource,
    K: KeySource,
    S: SecretStore,
{
    match operation {
        Operation::ReadKey => {
            let answer = keys.read(deadline).await?;
            Ok(Answer {
                outcome: Outcome::Key(KeyRead { key: answer.key }),
                graph_request_id: answer.graph_request_id,
            })
        }
        Operation::RegenerateKey { trigger } => {
            let token = uuid::Uuid::new_v4().to_string();
            let done = keys.regenerate(trigger, &token, deadline).await?;
            Ok(Answer {
                outcome: Outcome::Regenerated(KeyRegenerated {
                    key: done.key,
                    stored: done.stored,
                    verified: done.verified,
                    concurrent_regenerate_won: done.drift_repaired,
                }),
                graph_request_id: done.graph_request_id,
            })
        }
        Operation::ReadSensorPackage => {
            let answer = graph.deployment_package(deadline).await?;
            Ok(Answer {
                outcome: Outcome::Package(answer.package),
                graph_request_id: answer.graph_request_id,
            })
        }
        Operation::ReadInstallBundle(options) => {
            let bundle = sensors::install_bundle(graph, &options, deadline).await?;
            Ok(Answer {
                outcome: Outcome::Bundle(InstallBundle {
                    key: bundle.key,
                    download_url: bundle.package.download_url,
                    version: bundle.package.version,
                    install_command: bundle.install_command,
                    install_command_powershell: bundle.install_command_powershell,
                }),
                graph_request_id: bundle.graph_request_id,
            })
        }
        Operation::ListSensors(filter) => {
            let list = sensors::list(graph, &filter, deadline).await?;
            let graph_request_id = list.graph_request_id.clone();
            Ok(Answer {
                outcome: Outcome::Sensors(list),
                graph_request_id,
            })
        }
        Operation::SensorVerdict(host) => {
            let verdict = sensors::verdict(graph, &host, deadline).await?;
            let graph_request_id = verdict.graph_request_id.clone();
            Ok(Answer {
                outcome: Outcome::Verdict(Box::new(verdict)),
                graph_request_id,
            })
        }
        Operation::SensorHealthIssues(host) => {
            let issues = sensors::host_health_issues(graph, &host, deadline).await?;
            let graph_request_id = issues.graph_request_id.clone();
            Ok(Answer {
                outcome: Outcome::HealthIssues(issues),
                graph_request_id,
            })
        }
        Operation::ListSensorCandidates => {
            let list = graph.sensor_candidates(deadline).await?;
            let graph_request_id = list.graph_request_id.clone();
            Ok(Answer {
                outcome: Outcome::Candidates(list),
                graph_request_id,
            })
        }
        Operation::ReadActivationMode => {
            let mode = graph.activation_mode(deadline).await?;
            let graph_request_id = mode.graph_request_id.clone();
            Ok(Answer {
                outcome: Outcome::ActivationMode(mode),
                graph_request_id,
            })
        }
        Operation::ActivateSensors(servers) => {
            let graph_request_id = graph.activate(&servers, deadline).await?;
            let servers = servers
                .as_slice()
                .iter()
                .map(|id| ServerOutcome {
                    server_id: id.clone(),
                    outcome: "accepted",
                })
                .collect();
            Ok(Answer {
                outcome: Outcome::Activated(Activation {
                    servers,
                    graph_request_id: graph_request_id.clone(),
                }),
                graph_request_id,
            })
        }
        Operation::SetActivationMode(mode) => {
            let answer = graph.set_activation_mode(mode, deadline).await?;
            let graph_request_id = answer.graph_request_id.clone();
            Ok(Answer {
                outcome: Outcome::ActivationMode(answer),
                graph_request_id,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::secrets::memory::InMemorySecretStore;
    use crate::sensors::fake::FakeSensors;

    const KEY: &str = "c2Vuc29yLWtleQ+/abc==";

    fn soon() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    fn graph() -> FakeSensors {
        FakeSensors {
            key: KEY.into(),
            ..FakeSensors::default()
        }
    }

    async fn json_of(operation: Operation) -> serde_json::Value {
        let sensors = graph();
        let keys = KeyService::new(graph(), InMemorySecretStore::default(), None);
        let answer = run(&sensors, &keys, operation, soon()).await.unwrap();
        serde_json::to_value(&answer.outcome).unwrap()
    }

    #[tokio::test]
    async fn each_operation_answers_with_its_documented_members() {
        assert_eq!(
            json_of(Operation::ReadKey).await,
            serde_json::json!({ "sensorDeploymentAccessKey": KEY })
        );
        assert_eq!(
            json_of(Operation::RegenerateKey { trigger: Trigger::Api }).await,
            serde_json::json!({ "sensorDeploymentAccessKey": KEY, "stored": null, "verified": null })
        );
        let bundle = json_of(Operation::ReadInstallBundle(InstallOptions::default())).await;
        let mut members: Vec<&str> = bundle.as_object().unwrap().keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(
            members,
            [
                "downloadUrl",
                "installCommand",
                "installCommandPowerShell",
                "sensorDeploymentAccessKey",
                "version"
            ]
        );
        assert_eq!(json_of(Operation::ReadSensorPackage).await["version"], "2.241.18000.0");
        assert_eq!(
            json_of(Operation::ListSensors(SensorFilter::default())).await,
            serde_json::json!({ "sensors": [] })
        );
        assert_eq!(
            json_of(Operation::ListSensorCandidates).await,
            serde_json::json!({ "sensorCandidates": [] })
        );
        assert_eq!(
            json_of(Operation::ReadActivationMode).await,
            serde_json::json!({ "activationMode": "manual" })
        );
        assert_eq!(
            json_of(Operation::SetActivationMode(ActivationMode::Automated)).await,
            serde_json::json!({ "activationMode": "automated" })
        );
        assert_eq!(
            json_of(Operation::ActivateSensors(ServerIds::parse(&["a1", "b2"]).unwrap())).await,
            serde_json::json!({ "servers": [
                { "serverId": "a1", "outcome": "accepted" },
                { "serverId": "b2", "outcome": "accepted" },
            ] })
        );
    }

    #[test]
    fn only_a_regenerate_needs_the_rotators_list_and_the_bundle_counts_as_a_key_read() {
        let every = [
            Operation::ReadKey,
            Operation::RegenerateKey { trigger: Trigger::Api },
            Operation::ReadSensorPackage,
            Operation::ReadInstallBundle(InstallOptions::default()),
            Operation::ListSensors(SensorFilter::default()),
            Operation::SensorVerdict(HostName::parse("DC1").unwrap()),
            Operation::SensorHealthIssues(HostName::parse("DC1").unwrap()),
            Operation::ListSensorCandidates,
            Operation::ReadActivationMode,
            Operation::ActivateSensors(ServerIds::parse(&["abc"]).unwrap()),
            Operation::SetActivationMode(ActivationMode::Automated),
        ];
        for operation in &every {
            let rotators = matches!(operation, Operation::RegenerateKey { .. });
            assert_eq!(
                operation.permission() == Permission::RegenerateKey,
                rotators,
                "{operation:?}"
            );
            let activators = matches!(
                operation,
                Operation::ActivateSensors(_) | Operation::SetActivationMode(_)
            );
            assert_eq!(
                operation.permission() == Permission::ActivateSensors,
                activators,
                "{operation:?}"
            );
        }
        let key_reads: Vec<&str> = every
            .iter()
            .filter(|operation| operation.tally() == Tally::KeyRead)
            .map(Operation::name)
            .collect();
        assert_eq!(key_reads, ["read-key", "read-install-bundle"]);
    }

    #[tokio::test]
    async fn debug_prints_of_answers_never_show_the_key() {
        let sensors = graph();
        let keys = KeyService::new(graph(), InMemorySecretStore::default(), None);
        for operation in [
            Operation::ReadKey,
            Operation::RegenerateKey { trigger: Trigger::Api },
            Operation::ReadInstallBundle(InstallOptions::default()),
        ] {
            let answer = run(&sensors, &keys, operation, soon()).await.unwrap();
            assert!(!format!("{answer:?}").contains(KEY), "{answer:?}");
        }
    }
}
