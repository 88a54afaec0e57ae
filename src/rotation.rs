//! Rotation that never loses a key: scheduled rotations (EventBridge rule or Scheduler) and the
//! four steps of Secrets Manager's native rotation.
//!
//! Every write carries the occurrence's idempotency token, so a redelivered event finds its
//! version and stops; and Graph's current key is compared with the stored one before any
//! regenerate, so a retry after "regenerated, then the store failed" stores instead of rotating
//! twice.

use serde::Serialize;
use tokio::sync::OnceCell;

use crate::deadline::Deadline;
use crate::keys::{KeyError, KeyService, KeySource, Trigger};
use crate::secrets::{AWSCURRENT, AWSPENDING, NewVersionStage, SecretStore};

/// A rotation to perform, already parsed from whatever event asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationRequest {
    /// A scheduled rotation; `token` is the occurrence's idempotency key.
    Scheduled { trigger: Trigger, token: String },
    /// One step of Secrets Manager's native rotation.
    Native {
        step: Step,
        secret_id: String,
        token: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Step {
    #[serde(rename = "createSecret")]
    Create,
    #[serde(rename = "setSecret")]
    Set,
    #[serde(rename = "testSecret")]
    Test,
    #[serde(rename = "finishSecret")]
    Finish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Rotated,
    AlreadyDone,
    /// testSecret: the pending key is the one Graph accepts.
    Verified,
    /// setSecret: Graph generates keys itself, so there is nothing to set.
    NothingToDo,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Rotated => "rotated",
            Outcome::AlreadyDone => "already-done",
            Outcome::Verified => "verified",
            Outcome::NothingToDo => "nothing-to-do",
        }
    }
}

/// The reply to a rotation event: never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationSummary {
    pub outcome: Outcome,
    pub secret_id: String,
    pub version_id: Option<String>,
    pub trigger: Trigger,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// Whether Graph was asked for a new key (false when the stored copy was only brought up to date).
    pub regenerated: bool,
    pub drift_repaired: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("SENSOR_KEY_SECRET_ID is not set, so there is no stored key to rotate")]
    NoKeySecret,
    #[error("refused: the rotation event names secret {received}, which is not the configured key secret")]
    ForeignSecret { received: String },
    #[error("rotation is not enabled on the key secret {0}")]
    RotationNotEnabled(String),
    #[error("the key secret {secret_id} has no version {token}")]
    UnknownToken { secret_id: String, token: String },
    #[error("version {token} of the key secret {secret_id} is not AWSPENDING")]
    NotPending { secret_id: String, token: String },
    #[error("version {token} of the key secret {secret_id} has no value to test (createSecret has not completed)")]
    NothingToTest { secret_id: String, token: String },
    #[error(
        "testSecret failed: the AWSPENDING key of {secret_id} is no longer the key Graph accepts (a concurrent regenerate?); not promoting it"
    )]
    PendingKeyRejected {
        secret_id: String,
        graph_request_id: Option<String>,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl RotationError {
    /// Graph's request id, where Graph answered, for the Lambda error.
    pub fn graph_request_id(&self) -> Option<&str> {
        match self {
            RotationError::PendingKeyRejected { graph_request_id, .. } => graph_request_id.as_deref(),
            RotationError::Key(KeyError::Graph(error)) => error.ids().and_then(|ids| ids.request_id.as_deref()),
            RotationError::Key(KeyError::NotStored { graph_request_id, .. }) => graph_request_id.as_deref(),
            _ => None,
        }
    }
}

/// Runs rotations; remembers the key secret's ARN once resolved.
#[derive(Debug, Default)]
pub struct Rotator {
    key_secret_arn: OnceCell<String>,
}

impl Rotator {
    pub async fn run<K: KeySource, S: SecretStore>(
        &self,
        keys: &KeyService<K, S>,
        request: RotationRequest,
        deadline: Deadline,
    ) -> Result<RotationSummary, RotationError> {
        let secret_id = keys.key_secret_id().ok_or(RotationError::NoKeySecret)?;
        let idempotency_key = match &request {
            RotationRequest::Scheduled { token, .. } | RotationRequest::Native { token, .. } => token.clone(),
        };
        let summary = match request {
            RotationRequest::Scheduled { trigger, token } => {
                scheduled(keys, secret_id, trigger, &token, deadline).await?
            }
            RotationRequest::Native {
                step,
                secret_id: received,
                token,
            } => {
                let arn = self.key_secret_arn(keys, secret_id, deadline).await?;
                if received != arn {
                    return Err(RotationError::ForeignSecret { received });
                }
                native(keys, &arn, step, &token, deadline).await?
            }
        };
        tracing::info!(
            target: "audit",
            trigger = summary.trigger.name(),
            idempotency_key,
            version_id = summary.version_id.as_deref().unwrap_or(""),
            outcome = summary.outcome.name(),
            regenerated = summary.regenerated,
            drift_repaired = summary.drift_repaired,
            "rotation"
        );
        Ok(summary)
    }

    /// Secrets Manager names the secret by ARN while the configuration may hold a name.
    async fn key_secret_arn<K: KeySource, S: SecretStore>(
        &self,
        keys: &KeyService<K, S>,
        secret_id: &str,
        deadline: Deadline,
    ) -> Result<String, RotationError> {
        let arn = self
            .key_secret_arn
            .get_or_try_init(|| async {
                let description =
                    keys.store()
                        .describe(secret_id, deadline)
                        .await
                        .map_err(|source| KeyError::Store {
                            secret_id: secret_id.to_owned(),
                            action: "described",
                            source,
                        })?;
                Ok::<_, RotationError>(description.arn)
            })
            .await?;
        Ok(arn.clone())
    }
}

async fn describe<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    secret_id: &str,
    deadline: Deadline,
) -> Result<crate::secrets::SecretDescription, RotationError> {
    keys.store().describe(secret_id, deadline).await.map_err(|source| {
        RotationError::Key(KeyError::Store {
            secret_id: secret_id.to_owned(),
            action: "described",
            source,
        })
    })
}

async fn scheduled<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    secret_id: &str,
    trigger: Trigger,
    token: &str,
    deadline: Deadline,
) -> Result<RotationSummary, RotationError> {
    let description = describe(keys, secret_id, deadline).await?;
    let summary = |outcome, version_id: Option<String>, regenerated, drift_repaired| RotationSummary {
        outcome,
        secret_id: description.arn.clone(),
        version_id,
        trigger,
        step: None,
        regenerated,
        drift_repaired,
    };
    if description.versions.contains_key(token) {
        return Ok(summary(Outcome::AlreadyDone, Some(token.to_owned()), false, false));
    }
    let graph = keys.read(deadline).await?;
    let stored = keys.stored_current_key(secret_id, deadline).await?;
    if !stored.as_ref().is_some_and(|(key, _)| key.same_as(&graph.key)) {
        // The stored copy is stale: Graph's key is already fresh, so store it, not a new one.
        tracing::warn!(
            secret_id,
            "the stored key differs from Graph's; storing Graph's key instead of regenerating"
        );
        let version = keys
            .store_key(
                secret_id,
                &graph.key,
                trigger,
                token,
                NewVersionStage::Current,
                deadline,
            )
            .await
            .map_err(|source| KeyError::Store {
                secret_id: secret_id.to_owned(),
                action: "written",
                source,
            })?;
        let verified = keys.verify_stored(secret_id, version, deadline).await?;
        return Ok(summary(Outcome::Rotated, Some(verified.stored.version_id), false, true));
    }
    let regeneration = keys.regenerate(trigger, token, deadline).await?;
    let version_id = regeneration.stored.map(|stored| stored.version_id);
    Ok(summary(Outcome::Rotated, version_id, true, regeneration.drift_repaired))
}

async fn native<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    secret_id: &str,
    step: Step,
    token: &str,
    deadline: Deadline,
) -> Result<RotationSummary, RotationError> {
    let summary = |outcome, regenerated| RotationSummary {
        outcome,
        secret_id: secret_id.to_owned(),
        version_id: Some(token.to_owned()),
        trigger: Trigger::SecretsManagerRotation,
        step: Some(step),
        regenerated,
        drift_repaired: false,
    };
    // The guards of AWS's rotation function template.
    let description = describe(keys, secret_id, deadline).await?;
    if !description.rotation_enabled {
        return Err(RotationError::RotationNotEnabled(secret_id.to_owned()));
    }
    if !description.versions.contains_key(token) {
        return Err(RotationError::UnknownToken {
            secret_id: secret_id.to_owned(),
            token: token.to_owned(),
        });
    }
    if description.has_stage(token, AWSCURRENT) {
        return Ok(summary(Outcome::AlreadyDone, false));
    }
    if !description.has_stage(token, AWSPENDING) {
        return Err(RotationError::NotPending {
            secret_id: secret_id.to_owned(),
            token: token.to_owned(),
        });
    }
    match step {
        Step::Create => {
            if keys.stored_pending_key(secret_id, token, deadline).await?.is_some() {
                return Ok(summary(Outcome::AlreadyDone, false));
            }
            // As for scheduled rotations: a key Graph already replaced is stored, not replaced again.
            let graph = keys.read(deadline).await?;
            let stored = keys.stored_current_key(secret_id, deadline).await?;
            let (key, regenerated) = if stored.as_ref().is_some_and(|(key, _)| key.same_as(&graph.key)) {
                (
                    keys.source()
                        .regenerate_key(deadline)
                        .await
                        .map_err(KeyError::from)?
                        .key,
                    true,
                )
            } else {
                (graph.key, false)
            };
            keys.store_key(
                secret_id,
                &key,
                Trigger::SecretsManagerRotation,
                token,
                NewVersionStage::Pending,
                deadline,
            )
            .await
            .map_err(|source| KeyError::NotStored {
                secret_id: secret_id.to_owned(),
                source,
                graph_request_id: None,
            })?;
            Ok(summary(Outcome::Rotated, regenerated))
        }
        Step::Set => Ok(summary(Outcome::NothingToDo, false)),
        Step::Test => {
            let pending = keys
                .stored_pending_key(secret_id, token, deadline)
                .await?
                .ok_or_else(|| RotationError::NothingToTest {
                    secret_id: secret_id.to_owned(),
                    token: token.to_owned(),
                })?;
            let graph = keys.read(deadline).await?;
            if !pending.same_as(&graph.key) {
                return Err(RotationError::PendingKeyRejected {
                    secret_id: secret_id.to_owned(),
                    graph_request_id: graph.graph_request_id,
                });
            }
            Ok(summary(Outcome::Verified, false))
        }
        Step::Finish => {
            let current = description.version_with_stage(AWSCURRENT);
            keys.store()
                .promote(secret_id, token, current, deadline)
                .await
                .map_err(|source| KeyError::Store {
                    secret_id: secret_id.to_owned(),
                    action: "promoted",
                    source,
                })?;
            Ok(summary(Outcome::Rotated, false))
        }
    }
}
