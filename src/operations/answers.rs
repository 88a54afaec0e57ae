//! The operations' typed answers, the one JSON contract of the HTTP routes and the CLI, and why
//! an operation failed. The key becomes JSON here and nowhere else.

use secrecy::{ExposeSecret, SecretString};
use serde::{Serialize, Serializer};

use crate::candidates::{Activation, ActivationModeAnswer, CandidateList};
use crate::keys::{AccessKey, KeyError};
use crate::problem::Problem;
use crate::secrets::StoredVersion;
use crate::sensors::health::HostHealthIssues;
use crate::sensors::{DeploymentPackage, HostVerdict, SensorError, SensorList};
use crate::upstream::GraphError;

/// `GET /sensor-key`, `mdi-sensor-key get`.
#[derive(Debug, Serialize)]
pub struct KeyRead {
    #[serde(rename = "sensorDeploymentAccessKey", serialize_with = "key")]
    pub key: AccessKey,
}

/// `POST /sensor-key/regenerate`, `mdi-sensor-key regenerate`.
#[derive(Debug, Serialize)]
pub struct KeyRegenerated {
    /// `None` once [`Outcome::withhold_key`] took it: the caller may regenerate but not read.
    #[serde(
        rename = "sensorDeploymentAccessKey",
        serialize_with = "optional_key",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<AccessKey>,
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
    /// What to know before running them: the install may restart the server, .NET first, where
    /// the proxy password comes from.
    pub notes: Vec<&'static str>,
}

/// An operation's typed result, one variant per kind of answer. Serialized, it is the body of the
/// HTTP route and the CLI's JSON.
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

impl Outcome {
    /// The outcome for a caller who may not read the key (a rotator who is not a reader): a
    /// regenerate's answer keeps what happened (stored version, verified) and loses the key.
    /// Every other answer that holds a key is for readers only, so its route never reaches here
    /// for such a caller; it is listed so that a new answer with a key must choose.
    pub fn withhold_key(&mut self) {
        match self {
            Outcome::Regenerated(regenerated) => regenerated.key = None,
            Outcome::Key(_) | Outcome::Bundle(_) => {}
            Outcome::Package(_)
            | Outcome::Sensors(_)
            | Outcome::Verdict(_)
            | Outcome::HealthIssues(_)
            | Outcome::Candidates(_)
            | Outcome::ActivationMode(_)
            | Outcome::Activated(_) => {}
        }
    }
}

/// An outcome and Graph's request-id, for the audit line.
#[derive(Debug)]
pub struct Answer {
    pub outcome: Outcome,
    pub graph_request_id: Option<String>,
}

impl Answer {
    pub fn new(outcome: Outcome, graph_request_id: Option<String>) -> Self {
        Answer {
            outcome,
            graph_request_id,
        }
    }
}

/// Why an operation failed.
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

impl From<&OperationError> for Problem {
    fn from(error: &OperationError) -> Self {
        match error {
            OperationError::Key(error) => Problem::from(error),
            OperationError::Sensor(error) => Problem::from(error),
        }
    }
}

/// The key, for the caller who asked for it: the one place it becomes JSON.
fn key<S: Serializer>(key: &AccessKey, serializer: S) -> Result<S::Ok, S::Error> {
    secret(key.expose(), serializer)
}

fn optional_key<S: Serializer>(key: &Option<AccessKey>, serializer: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(key) => secret(key.expose(), serializer),
        None => serializer.serialize_none(),
    }
}

fn secret<S: Serializer>(value: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.expose_secret())
}
