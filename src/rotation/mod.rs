//! Rotation that never leaves a dead key: scheduled rotations (EventBridge rule or Scheduler)
//! and the four steps of Secrets Manager's native rotation.
//!
//! The invariant (docs/rotation.md): every rotation invocation that succeeds returns with
//! AWSCURRENT holding the key Graph accepts at its last look. Every path ends in
//! [`KeyService::settle`], which reads AWSCURRENT and then Graph and repairs a difference; when
//! either cannot be read the invocation fails and is retried, never answers on an unverified copy.
//! Every write carries the occurrence's idempotency token, so a redelivered event finds its
//! version; and Graph's current key is compared with the stored one before any regenerate, so a
//! retry after "regenerated, then the store failed" stores instead of rotating twice.

use serde::Serialize;
use tokio::sync::OnceCell;

mod claim;
mod native;

pub use claim::{ClaimError, Claims, Lease};

use crate::deadline::Deadline;
use crate::keys::{AccessKey, KeyError, KeyService, KeySource, Settled, Trigger};
use crate::secrets::{AWSCURRENT, AWSPENDING, NewVersionStage, SecretDescription, SecretStore, StoreError};

/// A rotation to perform, already parsed from whatever event asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationRequest {
    /// A scheduled rotation; `token` is the occurrence's idempotency key.
    Scheduled { trigger: Trigger, token: String },
    /// A scheduled check (daily): AWSCURRENT is settled against Graph, nothing is regenerated.
    /// Repairs a regenerate made elsewhere within a day and reports the key's age.
    Check { trigger: Trigger, token: String },
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
    /// Graph's key was regenerated and the new key is AWSCURRENT.
    Rotated,
    /// Nothing was regenerated: AWSCURRENT did not hold Graph's key and now does.
    Repaired,
    /// The occurrence (or step) was handled before, and AWSCURRENT holds Graph's key.
    AlreadyDone,
    /// testSecret or a check: AWSCURRENT holds the key Graph accepts.
    Verified,
    /// setSecret: Graph generates keys itself, so there is nothing to set.
    NothingToDo,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Rotated => "rotated",
            Outcome::Repaired => "repaired",
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
    /// Whether this invocation changed Graph's key (false when the stored copy was only brought
    /// up to date, or when the key read after an unclear regenerate is the old one).
    pub regenerated: bool,
    pub drift_repaired: bool,
    /// When the key AWSCURRENT holds was stored, for the key-age metric (not part of the reply).
    #[serde(skip)]
    pub key_stored_at: Option<time::OffsetDateTime>,
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
    #[error(
        "version {token} of the key secret {secret_id} has no value yet (createSecret has not completed); failing so that Secrets Manager retries the rotation from createSecret"
    )]
    NotCreated { secret_id: String, token: String },
    #[error(
        "{step:?}: AWSCURRENT of {secret_id} does not hold the key Graph accepts (a regenerate elsewhere?); setSecret and testSecret write nothing, so the step fails: the rotation's retry (createSecret settles) or the daily check stores Graph's key"
    )]
    CurrentNotGraphs {
        secret_id: String,
        step: Step,
        graph_request_id: Option<String>,
    },
    #[error(
        "AWSCURRENT of {secret_id} still differs from the key Graph accepts after repeated repairs (another writer keeps regenerating); failing so the invocation is retried"
    )]
    Unsettled { secret_id: String },
    #[error(
        "the regenerate's outcome was unclear and Graph still holds the old key, so nothing was rotated; failing so the occurrence is retried"
    )]
    KeyUnchanged { graph_request_id: Option<String> },
    #[error(transparent)]
    Claim(#[from] ClaimError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl RotationError {
    /// Graph's request id, where Graph answered, for the Lambda error.
    pub fn graph_request_id(&self) -> Option<&str> {
        match self {
            RotationError::KeyUnchanged { graph_request_id }
            | RotationError::CurrentNotGraphs { graph_request_id, .. } => graph_request_id.as_deref(),
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
    /// Where occurrences are claimed before a regenerate; without it (the CLI, whose every run is
    /// an occurrence of its own) concurrent deliveries of one occurrence may each regenerate.
    claims: Option<Claims>,
}

impl Rotator {
    /// Rotations that claim each occurrence in `claims` before they ask Graph for a new key.
    pub fn with_claims(claims: Claims) -> Self {
        Rotator {
            key_secret_arn: OnceCell::new(),
            claims: Some(claims),
        }
    }

    pub async fn run<K: KeySource, S: SecretStore>(
        &self,
        keys: &KeyService<K, S>,
        request: RotationRequest,
        deadline: Deadline,
    ) -> Result<RotationSummary, RotationError> {
        let secret_id = keys.key_secret_id().ok_or(RotationError::NoKeySecret)?;
        let idempotency_key = match &request {
            RotationRequest::Scheduled { token, .. }
            | RotationRequest::Check { token, .. }
            | RotationRequest::Native { token, .. } => token.clone(),
        };
        let summary = match request {
            RotationRequest::Scheduled { trigger, token } => {
                scheduled(keys, self.claims.as_ref(), secret_id, trigger, &token, deadline).await?
            }
            RotationRequest::Check { trigger, .. } => check(keys, secret_id, trigger, deadline).await?,
            RotationRequest::Native {
                step,
                secret_id: received,
                token,
            } => {
                let arn = self.key_secret_arn(keys, secret_id, deadline).await?;
                if received != arn {
                    return Err(RotationError::ForeignSecret { received });
                }
                native::run(keys, self.claims.as_ref(), &arn, step, &token, deadline).await?
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
) -> Result<SecretDescription, RotationError> {
    keys.store()
        .describe(secret_id, deadline)
        .await
        .map_err(|source| store_error(secret_id, "described", source))
}

fn store_error(secret_id: &str, action: &'static str, source: StoreError) -> RotationError {
    RotationError::Key(KeyError::Store {
        secret_id: secret_id.to_owned(),
        action,
        source,
    })
}

/// [`KeyService::settle`], held to the invariant: an invocation that cannot make AWSCURRENT
/// equal Graph's key fails.
async fn settle<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    secret_id: &str,
    deadline: Deadline,
) -> Result<Settled, RotationError> {
    let settled = keys.settle(secret_id, deadline).await?;
    if !settled.settled {
        return Err(RotationError::Unsettled {
            secret_id: secret_id.to_owned(),
        });
    }
    Ok(settled)
}

/// Writes `key` under the occurrence's `token`. A conflict means another delivery of the same
/// occurrence wrote the token first (each document carries its own `updatedAt`, so two deliveries
/// never write identical ones). That is not a failure: the settle that follows every write makes
/// AWSCURRENT hold Graph's key, whichever delivery won.
async fn write_once<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    secret_id: &str,
    key: &AccessKey,
    trigger: Trigger,
    token: &str,
    stage: NewVersionStage,
    deadline: Deadline,
) -> Result<(), StoreError> {
    match keys.store_key(secret_id, key, trigger, token, stage, deadline).await {
        Ok(_) | Err(StoreError::TokenConflict) => Ok(()),
        Err(error) => Err(error),
    }
}

async fn scheduled<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    claims: Option<&Claims>,
    secret_id: &str,
    trigger: Trigger,
    token: &str,
    deadline: Deadline,
) -> Result<RotationSummary, RotationError> {
    let arn = describe(keys, secret_id, deadline).await?.arn;
    let summary = |outcome, settled: &Settled, regenerated| RotationSummary {
        outcome,
        secret_id: arn.clone(),
        version_id: match (settled.repaired, &settled.current_version) {
            (true, Some(repair)) => Some(repair.clone()),
            _ => Some(token.to_owned()),
        },
        trigger,
        step: None,
        regenerated,
        drift_repaired: settled.repaired,
        key_stored_at: settled.stored_at,
    };
    // A redelivery: answered only after Graph's key and AWSCURRENT are compared, since an
    // outside regenerate may have happened since the first delivery.
    let redelivered = || async {
        let settled = settle(keys, secret_id, deadline).await?;
        let outcome = if settled.repaired {
            Outcome::Repaired
        } else {
            Outcome::AlreadyDone
        };
        Ok::<_, RotationError>(summary(outcome, &settled, false))
    };
    if written(keys, secret_id, token, deadline).await? {
        return redelivered().await;
    }
    let lease = claim(keys, claims, token, deadline).await?;
    let rotated = async {
        // The delivery that held the claim before this one may have completed the occurrence.
        if lease.is_some() && written(keys, secret_id, token, deadline).await? {
            return redelivered().await;
        }
        let stored = keys.stored_current_key(secret_id, deadline).await?;
        let graph = keys.read(deadline).await?;
        if !stored.as_ref().is_some_and(|(key, _)| key.same_as(&graph.key)) {
            // The stored copy is stale: Graph's key is already fresh, so store it, not a new one.
            tracing::warn!(
                secret_id,
                "the stored key differs from Graph's; storing Graph's key instead of regenerating"
            );
            write_once(
                keys,
                secret_id,
                &graph.key,
                trigger,
                token,
                NewVersionStage::Current,
                deadline,
            )
            .await
            .map_err(|source| store_error(secret_id, "written", source))?;
            let mut settled = settle(keys, secret_id, deadline).await?;
            settled.repaired = true;
            return Ok(summary(Outcome::Repaired, &settled, false));
        }
        let fresh = keys.regenerate_at_graph(deadline).await?;
        if fresh.key.same_as(&graph.key) {
            return Err(RotationError::KeyUnchanged {
                graph_request_id: fresh.graph_request_id,
            });
        }
        write_once(
            keys,
            secret_id,
            &fresh.key,
            trigger,
            token,
            NewVersionStage::Current,
            deadline,
        )
        .await
        .map_err(KeyError::not_stored(secret_id, &fresh.graph_request_id))?;
        let settled = settle(keys, secret_id, deadline).await?;
        Ok(summary(Outcome::Rotated, &settled, true))
    }
    .await;
    release(keys, lease, deadline).await;
    rotated
}

/// Whether the occurrence's version of the key secret was written. DescribeSecret lists only
/// labelled versions, and two rotations later the occurrence's version has none, so this asks
/// for the version itself (GetSecretValue finds only versions that hold a value).
async fn written<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    secret_id: &str,
    token: &str,
    deadline: Deadline,
) -> Result<bool, RotationError> {
    keys.store()
        .version_exists(secret_id, token, deadline)
        .await
        .map_err(|source| store_error(secret_id, "read", source))
}

/// Claims the occurrence `token` before a regenerate, waiting while another delivery holds it
/// (`claim.rs`); nothing without a claim store.
async fn claim<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    claims: Option<&Claims>,
    token: &str,
    deadline: Deadline,
) -> Result<Option<Lease>, RotationError> {
    match claims {
        Some(claims) => Ok(Some(claims.claim(keys.store(), token, deadline).await?)),
        None => Ok(None),
    }
}

async fn release<K: KeySource, S: SecretStore>(keys: &KeyService<K, S>, lease: Option<Lease>, deadline: Deadline) {
    if let Some(lease) = lease {
        lease.release(keys.store(), deadline).await;
    }
}

/// A scheduled check: settles AWSCURRENT against Graph (a repair if a regenerate elsewhere left it
/// behind), regenerates nothing, and takes AWSPENDING off a version that is not AWSCURRENT's
/// when that version holds a key Graph no longer accepts: a finished native rotation that kept
/// AWSPENDING beside AWSCURRENT, overtaken by a regenerate through the HTTP route or a repair.
/// Secrets Manager would refuse every later `RotateSecret` while it stays. The AWSPENDING of a
/// rotation in progress is never removed: an empty version (`RotateSecret` made it, createSecret
/// has not written it yet, or the function was never reached) or one holding the key Graph accepts
/// (createSecret wrote it and has not promoted it yet). If that rotation stopped there, Secrets
/// Manager's reattempt finishes it with the old token.
async fn check<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    secret_id: &str,
    trigger: Trigger,
    deadline: Deadline,
) -> Result<RotationSummary, RotationError> {
    let arn = describe(keys, secret_id, deadline).await?.arn;
    let settled = settle(keys, secret_id, deadline).await?;
    let description = describe(keys, secret_id, deadline).await?;
    let candidates = description
        .versions
        .iter()
        .filter(|(_, stages)| stages.iter().any(|s| s == AWSPENDING) && !stages.iter().any(|s| s == AWSCURRENT))
        .map(|(version_id, _)| version_id);
    for version_id in candidates {
        match keys.stored_pending_key(secret_id, version_id, deadline).await? {
            Some(key) if !key.same_as(&settled.key) => {
                tracing::warn!(
                    secret_id,
                    version_id,
                    "AWSPENDING left on a version whose key Graph no longer accepts; removing it so rotation can start"
                );
                keys.store()
                    .remove_pending(secret_id, version_id, deadline)
                    .await
                    .map_err(|source| store_error(secret_id, "relabelled", source))?;
            }
            _ => tracing::info!(
                secret_id,
                version_id,
                "a native rotation is in progress (or stopped before it promoted its key): leaving its AWSPENDING for it or for Secrets Manager's reattempt"
            ),
        }
    }
    Ok(RotationSummary {
        outcome: if settled.repaired {
            Outcome::Repaired
        } else {
            Outcome::Verified
        },
        secret_id: arn,
        version_id: settled.current_version.clone(),
        trigger,
        step: None,
        regenerated: false,
        drift_repaired: settled.repaired,
        key_stored_at: settled.stored_at,
    })
}

#[cfg(test)]
mod tests {
    //! Each window of the invariant, interleaved deterministically: the fakes hold a call at a
    //! gate while the test acts as the other writer.
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::keys::fake::FakeGraph;
    use crate::keys::parse_stored_key;
    use crate::secrets::NewVersion;
    use crate::secrets::memory::{GatedStore, PendingVariant};

    const SECRET: &str = "key";
    const TOKEN: &str = "11111111-2222-4333-8444-555555555555";

    fn soon() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    const CLAIMS: &str = "claims";

    fn world() -> KeyService<FakeGraph, GatedStore> {
        let store = GatedStore::default();
        store.store.set_text(SECRET, r#"{"sensorDeploymentAccessKey":"key-0"}"#);
        store.store.set_text(CLAIMS, "{}");
        KeyService::new(FakeGraph::with_key("key-0"), store, Some(SECRET.to_owned()))
    }

    /// A delivery as the Lambda function runs it: claiming each occurrence before a regenerate.
    /// The lease's grace is nil here: a holder the test declares dead lapses at its deadline.
    fn claiming() -> Rotator {
        Rotator::with_claims(Claims::new(CLAIMS.to_owned()).with_timing(Duration::from_millis(10), Duration::ZERO))
    }

    /// A claim of `occurrence` by a delivery that is gone, its lease ended; or, with `lapsed`
    /// false, by one that is still working, its lease an hour from its end.
    async fn claimed_by_another(keys: &KeyService<FakeGraph, GatedStore>, occurrence: &str, lapsed: bool) {
        let now = time::OffsetDateTime::now_utc();
        let expires_at = if lapsed {
            now - time::Duration::seconds(1)
        } else {
            now + time::Duration::hours(1)
        };
        keys.store()
            .store
            .put(
                CLAIMS,
                NewVersion {
                    text: &claim::document(occurrence, 0, expires_at),
                    token: &claim::claim_token(occurrence, 0),
                    stage: NewVersionStage::Current,
                },
                soon(),
            )
            .await
            .unwrap();
    }

    fn scheduled(token: &str) -> RotationRequest {
        RotationRequest::Scheduled {
            trigger: Trigger::Schedule,
            token: token.to_owned(),
        }
    }

    fn native(step: Step) -> RotationRequest {
        RotationRequest::Native {
            step,
            secret_id: SECRET.to_owned(),
            token: TOKEN.to_owned(),
        }
    }

    fn stored(keys: &KeyService<FakeGraph, GatedStore>) -> String {
        let text = keys.store().store.current_text(SECRET).expect("a current version");
        parse_stored_key(&secrecy::SecretString::from(text))
            .expect("a key document")
            .expose()
            .expose_secret()
            .to_owned()
    }

    /// The invariant, checked after every successful invocation.
    fn assert_current_is_graphs(keys: &KeyService<FakeGraph, GatedStore>) {
        assert_eq!(stored(keys), keys.source().current(), "AWSCURRENT holds Graph's key");
    }

    /// The end state the RotateSecret reference requires: AWSPENDING on no version, or on
    /// AWSCURRENT's.
    fn assert_no_stray_pending(keys: &KeyService<FakeGraph, GatedStore>) {
        let store = &keys.store().store;
        if let Some(pending) = store.version_with(SECRET, AWSPENDING) {
            assert_eq!(Some(pending), store.version_with(SECRET, AWSCURRENT));
        }
    }

    async fn posts(keys: &KeyService<FakeGraph, GatedStore>) -> usize {
        *keys.source().posts.lock().unwrap()
    }

    // ---- scheduled ----

    #[tokio::test]
    async fn a_redelivery_after_a_regenerate_elsewhere_stores_graphs_key_instead_of_answering_already_done() {
        let keys = world();
        let rotator = Rotator::default();
        rotator.run(&keys, scheduled(TOKEN), soon()).await.unwrap();
        keys.source().regenerate_elsewhere("outside");

        let again = rotator.run(&keys, scheduled(TOKEN), soon()).await.unwrap();

        assert_eq!(again.outcome, Outcome::Repaired);
        assert!(again.drift_repaired);
        assert!(!again.regenerated);
        assert_eq!(posts(&keys).await, 1);
        assert_current_is_graphs(&keys);
    }

    #[tokio::test]
    async fn a_redelivery_that_finds_graph_unreadable_fails_rather_than_answer_already_done() {
        let keys = world();
        let rotator = Rotator::default();
        rotator.run(&keys, scheduled(TOKEN), soon()).await.unwrap();
        *keys.source().failing_reads.lock().unwrap() = 1;

        let error = rotator.run(&keys, scheduled(TOKEN), soon()).await.unwrap_err();

        assert!(matches!(error, RotationError::Key(KeyError::Graph(_))), "{error:?}");
    }

    #[tokio::test]
    async fn a_redelivery_is_recognised_after_its_version_lost_every_label() {
        let keys = world();
        let rotator = Rotator::default();
        let later = [
            "22222222-2222-4333-8444-555555555555",
            "33333333-2222-4333-8444-555555555555",
        ];
        rotator.run(&keys, scheduled(TOKEN), soon()).await.unwrap();
        for token in later {
            rotator.run(&keys, scheduled(token), soon()).await.unwrap();
        }
        let described = keys.store().describe(SECRET, soon()).await.unwrap();
        assert!(
            !described.versions.contains_key(TOKEN),
            "DescribeSecret no longer lists it"
        );

        let again = rotator.run(&keys, scheduled(TOKEN), soon()).await.unwrap();

        assert_eq!(again.outcome, Outcome::AlreadyDone);
        assert_eq!(posts(&keys).await, 3, "no second regenerate for one occurrence");
        assert_current_is_graphs(&keys);
    }

    #[tokio::test]
    async fn two_concurrent_deliveries_of_one_occurrence_regenerate_once_and_the_second_settles() {
        let keys = world();
        let (first, second) = (claiming(), claiming());
        // The first delivery holds the occurrence's claim and is stopped just before it asks
        // Graph for a new key; the second arrives meanwhile and must wait for it.
        let mut gate = keys.source().gates.arm("graph.regenerate", 1);

        let (held, meanwhile) = tokio::join!(first.run(&keys, scheduled(TOKEN), soon()), async {
            gate.arrived().await;
            let open = async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                gate.open();
            };
            tokio::join!(second.run(&keys, scheduled(TOKEN), soon()), open).0
        });

        let (held, meanwhile) = (held.unwrap(), meanwhile.unwrap());
        assert_eq!((held.outcome, held.regenerated), (Outcome::Rotated, true));
        assert_eq!(
            (meanwhile.outcome, meanwhile.regenerated),
            (Outcome::AlreadyDone, false)
        );
        assert_eq!(posts(&keys).await, 1, "one regenerate at Graph");
        assert_current_is_graphs(&keys);
        assert_eq!(
            keys.store().store.version_count(SECRET),
            2,
            "the claim added no key version"
        );
        // The first's claim and release; the second's claim of the next generation, which finds
        // the occurrence done, and its release.
        assert_eq!(keys.store().store.version_count(CLAIMS), 1 + 4);
    }

    #[tokio::test]
    async fn without_a_claim_store_two_concurrent_deliveries_still_leave_graphs_key_current() {
        let keys = world();
        let (first, second) = (Rotator::default(), Rotator::default());
        let mut gate = keys.source().gates.arm("graph.regenerate", 1);

        let (held, meanwhile) = tokio::join!(first.run(&keys, scheduled(TOKEN), soon()), async {
            gate.arrived().await;
            let done = second.run(&keys, scheduled(TOKEN), soon()).await;
            gate.open();
            done
        });

        assert_eq!(meanwhile.unwrap().outcome, Outcome::Rotated);
        assert!(
            held.unwrap().drift_repaired,
            "its own key replaced the other delivery's"
        );
        assert_eq!(posts(&keys).await, 2);
        assert_current_is_graphs(&keys);
    }

    #[tokio::test]
    async fn a_delivery_takes_over_an_occurrence_whose_claim_holder_died_before_its_regenerate() {
        let keys = world();
        claimed_by_another(&keys, TOKEN, true).await;

        let summary = claiming().run(&keys, scheduled(TOKEN), soon()).await.unwrap();

        assert_eq!((summary.outcome, summary.regenerated), (Outcome::Rotated, true));
        assert_eq!(posts(&keys).await, 1);
        assert_current_is_graphs(&keys);
    }

    #[tokio::test]
    async fn a_takeover_after_the_dead_holders_regenerate_landed_stores_that_key_and_posts_nothing() {
        let keys = world();
        claimed_by_another(&keys, TOKEN, true).await;
        keys.source().regenerate_elsewhere("the-dead-holders-key");

        let summary = claiming().run(&keys, scheduled(TOKEN), soon()).await.unwrap();

        assert_eq!((summary.outcome, summary.regenerated), (Outcome::Repaired, false));
        assert_eq!(posts(&keys).await, 0);
        assert_eq!(stored(&keys), "the-dead-holders-key");
    }

    #[tokio::test]
    async fn a_claim_held_beyond_this_deliverys_deadline_fails_it_without_a_regenerate() {
        let keys = world();
        claimed_by_another(&keys, TOKEN, false).await;

        let error = claiming()
            .run(&keys, scheduled(TOKEN), Deadline::after(Duration::from_millis(2300)))
            .await
            .unwrap_err();

        assert!(
            matches!(error, RotationError::Claim(ClaimError::Held { .. })),
            "{error:?}"
        );
        assert_eq!(posts(&keys).await, 0);
    }

    #[tokio::test]
    async fn a_claim_this_function_did_not_write_refuses_the_regenerate() {
        let keys = world();
        keys.store()
            .store
            .put(
                CLAIMS,
                NewVersion {
                    text: &secrecy::SecretString::from("not a claim"),
                    token: &claim::claim_token(TOKEN, 0),
                    stage: NewVersionStage::Current,
                },
                soon(),
            )
            .await
            .unwrap();

        let error = claiming().run(&keys, scheduled(TOKEN), soon()).await.unwrap_err();

        assert!(
            matches!(error, RotationError::Claim(ClaimError::Unreadable { .. })),
            "{error:?}"
        );
        assert_eq!(posts(&keys).await, 0);
    }

    #[tokio::test]
    async fn a_regenerate_elsewhere_just_before_the_last_check_is_repaired_before_success() {
        let keys = world();
        // Reads of Graph: the comparison before the regenerate, then the settle's.
        let mut gate = keys.source().gates.arm("graph.read", 2);
        let rotator = Rotator::default();

        let (summary, ()) = tokio::join!(rotator.run(&keys, scheduled(TOKEN), soon()), async {
            gate.arrived().await;
            keys.source().regenerate_elsewhere("outside");
            gate.open();
        });

        let summary = summary.unwrap();
        assert_eq!(summary.outcome, Outcome::Rotated);
        assert!(summary.drift_repaired);
        assert_eq!(stored(&keys), "outside");
        assert_current_is_graphs(&keys);
    }

    #[tokio::test]
    async fn a_run_that_only_stored_graphs_newer_key_reports_repaired_not_rotated() {
        let keys = world();
        keys.source().regenerate_elsewhere("outside");

        let summary = Rotator::default().run(&keys, scheduled(TOKEN), soon()).await.unwrap();

        assert_eq!(summary.outcome, Outcome::Repaired);
        assert!(!summary.regenerated);
        assert_eq!(posts(&keys).await, 0);
        assert_current_is_graphs(&keys);
    }

    #[tokio::test]
    async fn an_unclear_regenerate_that_left_graphs_key_unchanged_fails_and_the_retry_rotates() {
        let keys = world();
        let rotator = Rotator::default();
        *keys.source().unclear_regenerates.lock().unwrap() = 1;

        let error = rotator.run(&keys, scheduled(TOKEN), soon()).await.unwrap_err();
        let retry = rotator.run(&keys, scheduled(TOKEN), soon()).await.unwrap();

        assert!(matches!(error, RotationError::KeyUnchanged { .. }), "{error:?}");
        assert_eq!((retry.outcome, retry.regenerated), (Outcome::Rotated, true));
        assert_current_is_graphs(&keys);
    }

    #[tokio::test]
    async fn a_daily_check_repairs_a_regenerate_elsewhere_and_regenerates_nothing() {
        let keys = world();
        let rotator = Rotator::default();
        rotator.run(&keys, scheduled(TOKEN), soon()).await.unwrap();
        let check = |token: &str| RotationRequest::Check {
            trigger: Trigger::Scheduler,
            token: token.to_owned(),
        };

        let quiet = rotator.run(&keys, check("check-1"), soon()).await.unwrap();
        keys.source().regenerate_elsewhere("outside");
        let after = rotator.run(&keys, check("check-2"), soon()).await.unwrap();

        assert_eq!(quiet.outcome, Outcome::Verified);
        assert!(quiet.key_stored_at.is_some(), "the key's age is known from updatedAt");
        assert_eq!((after.outcome, after.regenerated), (Outcome::Repaired, false));
        assert_eq!(posts(&keys).await, 1);
        assert_current_is_graphs(&keys);
    }

    #[tokio::test]
    async fn the_daily_check_takes_off_the_awspending_a_regenerate_left_behind_a_native_rotation() {
        let keys = world();
        start_native(&keys);
        let rotator = Rotator::default();
        for step in [Step::Create, Step::Set, Step::Test, Step::Finish] {
            rotator.run(&keys, native(step), soon()).await.unwrap();
        }
        keys.regenerate(Trigger::Api, "22222222-2222-4333-8444-555555555555", soon())
            .await
            .unwrap();
        let stray = keys.store().store.labels(SECRET, TOKEN).unwrap();
        assert!(stray.iter().any(|s| s == AWSPENDING) && !stray.iter().any(|s| s == AWSCURRENT));

        let check = RotationRequest::Check {
            trigger: Trigger::Scheduler,
            token: "check".into(),
        };
        rotator.run(&keys, check, soon()).await.unwrap();

        assert_no_stray_pending(&keys);
        assert_current_is_graphs(&keys);
    }

    // ---- native ----

    fn start_native(keys: &KeyService<FakeGraph, GatedStore>) {
        keys.store().store.start_rotation(SECRET, TOKEN).unwrap();
    }

    const STEPS: [Step; 4] = [Step::Create, Step::Set, Step::Test, Step::Finish];

    fn native_with(step: Step, token: &str) -> RotationRequest {
        RotationRequest::Native {
            step,
            secret_id: SECRET.to_owned(),
            token: token.to_owned(),
        }
    }

    /// Runs the four steps of `token`'s rotation as Secrets Manager does, then what Secrets
    /// Manager does once they all succeeded; every step must succeed.
    async fn rotate(keys: &KeyService<FakeGraph, GatedStore>, rotator: &Rotator, token: &str) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for step in STEPS {
            let summary = rotator
                .run(keys, native_with(step, token), soon())
                .await
                .unwrap_or_else(|error| panic!("{step:?} failed: {error}"));
            outcomes.push(summary.outcome);
        }
        keys.store().store.finish_rotation(SECRET, token);
        outcomes
    }

    #[tokio::test]
    async fn create_secret_promotes_at_once_so_awscurrent_is_never_dead_between_steps() {
        let keys = world();
        start_native(&keys);

        let create = Rotator::default()
            .run(&keys, native(Step::Create), soon())
            .await
            .unwrap();

        assert_eq!((create.outcome, create.regenerated), (Outcome::Rotated, true));
        assert_current_is_graphs(&keys);
        let mut labels = keys.store().store.labels(SECRET, TOKEN).unwrap();
        labels.sort();
        assert_eq!(labels, [AWSCURRENT, AWSPENDING]);
    }

    #[tokio::test]
    async fn the_four_steps_each_end_with_graphs_key_current() {
        let keys = world();
        start_native(&keys);
        let rotator = Rotator::default();
        let mut outcomes = Vec::new();

        for step in [Step::Create, Step::Set, Step::Test, Step::Finish] {
            outcomes.push(rotator.run(&keys, native(step), soon()).await.unwrap().outcome);
            assert_current_is_graphs(&keys);
            assert_no_stray_pending(&keys);
        }

        assert_eq!(
            outcomes,
            [
                Outcome::Rotated,
                Outcome::NothingToDo,
                Outcome::Verified,
                Outcome::AlreadyDone
            ]
        );
        assert_eq!(posts(&keys).await, 1);
    }

    #[tokio::test]
    async fn a_regenerate_elsewhere_between_test_secret_and_finish_secret_is_stored_not_left_dead() {
        let keys = world();
        start_native(&keys);
        let rotator = Rotator::default();
        for step in [Step::Create, Step::Set, Step::Test] {
            rotator.run(&keys, native(step), soon()).await.unwrap();
        }
        keys.source().regenerate_elsewhere("outside");

        let finish = rotator.run(&keys, native(Step::Finish), soon()).await.unwrap();

        assert_eq!(finish.outcome, Outcome::Repaired);
        assert_eq!(stored(&keys), "outside");
        assert_current_is_graphs(&keys);
        assert_no_stray_pending(&keys);
    }

    #[tokio::test]
    async fn a_pending_key_graph_no_longer_accepts_is_never_promoted() {
        let keys = world();
        start_native(&keys);
        // createSecret reads Graph twice: to compare, then to check the pending key before
        // promoting it. An outside regenerate lands in between.
        let mut gate = keys.source().gates.arm("graph.read", 2);
        let rotator = Rotator::default();

        let (create, ()) = tokio::join!(rotator.run(&keys, native(Step::Create), soon()), async {
            gate.arrived().await;
            keys.source().regenerate_elsewhere("outside");
            gate.open();
        });

        assert_eq!(create.unwrap().outcome, Outcome::Repaired);
        assert_eq!(stored(&keys), "outside");
        assert_eq!(
            keys.store().store.labels(SECRET, TOKEN),
            Some(vec![]),
            "AWSPENDING taken off"
        );
        for (step, expected) in [
            (Step::Set, Outcome::NothingToDo),
            (Step::Test, Outcome::Verified),
            (Step::Finish, Outcome::AlreadyDone),
        ] {
            let later = rotator.run(&keys, native(step), soon()).await.unwrap();
            assert_eq!(later.outcome, expected, "{step:?}");
            assert_current_is_graphs(&keys);
        }
    }

    #[tokio::test]
    async fn a_pending_version_left_unpromoted_is_promoted_by_finish_secret_only_if_graph_accepts_it() {
        for (elsewhere, expected) in [(false, Outcome::Rotated), (true, Outcome::Repaired)] {
            let keys = world();
            start_native(&keys);
            // A pending key as an older version of this function left it: written, not promoted.
            keys.store()
                .store
                .put(
                    SECRET,
                    NewVersion::pending(
                        &secrecy::SecretString::from(r#"{"sensorDeploymentAccessKey":"key-0"}"#),
                        TOKEN,
                    ),
                    soon(),
                )
                .await
                .unwrap();
            if elsewhere {
                keys.source().regenerate_elsewhere("outside");
            }

            let finish = Rotator::default()
                .run(&keys, native(Step::Finish), soon())
                .await
                .unwrap();

            assert_eq!(finish.outcome, expected);
            assert_current_is_graphs(&keys);
            assert_no_stray_pending(&keys);
        }
    }

    #[tokio::test]
    async fn a_step_that_cannot_read_graph_fails() {
        let keys = world();
        start_native(&keys);
        let rotator = Rotator::default();
        rotator.run(&keys, native(Step::Create), soon()).await.unwrap();
        *keys.source().failing_reads.lock().unwrap() = 1;

        let error = rotator.run(&keys, native(Step::Finish), soon()).await.unwrap_err();

        assert!(matches!(error, RotationError::Key(KeyError::Graph(_))), "{error:?}");
    }

    #[tokio::test]
    async fn two_concurrent_create_secrets_regenerate_once_and_end_with_graphs_key_current() {
        let keys = world();
        start_native(&keys);
        let (first, second) = (claiming(), claiming());
        let mut gate = keys.source().gates.arm("graph.regenerate", 1);

        let (held, meanwhile) = tokio::join!(first.run(&keys, native(Step::Create), soon()), async {
            gate.arrived().await;
            let open = async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                gate.open();
            };
            tokio::join!(second.run(&keys, native(Step::Create), soon()), open).0
        });

        assert_eq!(held.unwrap().outcome, Outcome::Rotated);
        assert_eq!(meanwhile.unwrap().outcome, Outcome::AlreadyDone);
        assert_eq!(posts(&keys).await, 1);
        assert_current_is_graphs(&keys);
        assert_no_stray_pending(&keys);
    }

    #[tokio::test]
    async fn test_secret_alone_reads_and_writes_nothing_whatever_the_test_versions_value() {
        for with_value in [false, true] {
            let keys = world();
            let before = keys.store().store.version_with(SECRET, AWSCURRENT);
            // RotateImmediately=false: testSecret alone, on a test version removed afterwards.
            keys.store().store.start_test_rotation(SECRET, TOKEN, with_value);

            let test = Rotator::default().run(&keys, native(Step::Test), soon()).await.unwrap();
            keys.store().store.end_test_rotation(SECRET, TOKEN);

            assert_eq!(
                (test.outcome, test.regenerated),
                (Outcome::Verified, false),
                "{with_value}"
            );
            assert_eq!(
                keys.store().store.version_with(SECRET, AWSCURRENT),
                before,
                "{with_value}"
            );
            assert_eq!(
                keys.store().store.version_count(SECRET),
                1,
                "{with_value}: nothing written"
            );
            assert_eq!(posts(&keys).await, 0);
            assert_current_is_graphs(&keys);
            assert_no_stray_pending(&keys);
        }
    }

    #[tokio::test]
    async fn set_and_test_secret_fail_without_writing_when_awscurrent_is_not_graphs_key() {
        let keys = world();
        start_native(&keys);
        let rotator = Rotator::default();
        rotator.run(&keys, native(Step::Create), soon()).await.unwrap();
        keys.source().regenerate_elsewhere("outside");
        let versions = keys.store().store.version_count(SECRET);

        for step in [Step::Set, Step::Test] {
            let error = rotator.run(&keys, native(step), soon()).await.unwrap_err();
            assert!(matches!(error, RotationError::CurrentNotGraphs { .. }), "{error:?}");
        }
        assert_eq!(keys.store().store.version_count(SECRET), versions, "nothing written");
        // Secrets Manager retries the rotation from createSecret, which settles.
        assert_eq!(rotate(&keys, &rotator, TOKEN).await[0], Outcome::Repaired);
        assert_current_is_graphs(&keys);
    }

    #[tokio::test]
    async fn a_second_rotation_after_a_complete_one_starts_in_either_awspending_variant() {
        for variant in [PendingVariant::Kept, PendingVariant::Cleared] {
            let keys = world();
            keys.store().store.set_pending_variant(variant);
            let rotator = Rotator::default();
            start_native(&keys);
            rotate(&keys, &rotator, TOKEN).await;

            let second = "22222222-2222-4333-8444-555555555555";
            keys.store().store.start_rotation(SECRET, second).unwrap();
            let outcomes = rotate(&keys, &rotator, second).await;

            assert_eq!(outcomes[0], Outcome::Rotated, "{variant:?}");
            assert_eq!(posts(&keys).await, 2);
            assert_current_is_graphs(&keys);
            assert_no_stray_pending(&keys);
        }
    }

    #[tokio::test]
    async fn the_reattempt_of_a_rotation_an_http_regenerate_overtook_succeeds_at_every_step() {
        for variant in [PendingVariant::Kept, PendingVariant::Cleared] {
            let keys = world();
            keys.store().store.set_pending_variant(variant);
            let rotator = Rotator::default();
            start_native(&keys);
            rotate(&keys, &rotator, TOKEN).await;
            keys.regenerate(Trigger::Api, "22222222-2222-4333-8444-555555555555", soon())
                .await
                .unwrap();

            let next = "33333333-2222-4333-8444-555555555555";
            match keys.store().store.start_rotation(SECRET, next) {
                // Kept: AWSPENDING stayed on the old token's version, now AWSPREVIOUS. Secrets
                // Manager refuses and runs the old token's rotation again.
                Err(old) => {
                    assert_eq!((variant, old.as_str()), (PendingVariant::Kept, TOKEN));
                    let outcomes = rotate(&keys, &rotator, TOKEN).await;
                    assert_eq!(
                        outcomes,
                        [
                            Outcome::Repaired,
                            Outcome::NothingToDo,
                            Outcome::Verified,
                            Outcome::AlreadyDone
                        ]
                    );
                    assert_eq!(posts(&keys).await, 2, "the reattempt regenerates nothing");
                }
                Ok(()) => {
                    assert_eq!(variant, PendingVariant::Cleared);
                    assert_eq!(rotate(&keys, &rotator, next).await[0], Outcome::Rotated);
                }
            }
            assert_current_is_graphs(&keys);
            assert_no_stray_pending(&keys);
        }
    }

    #[tokio::test]
    async fn a_rotation_that_never_reached_the_function_is_reattempted_with_its_old_token_and_rotates() {
        let keys = world();
        let rotator = Rotator::default();
        start_native(&keys);

        let refused = keys
            .store()
            .store
            .start_rotation(SECRET, "22222222-2222-4333-8444-555555555555");
        let outcomes = rotate(&keys, &rotator, TOKEN).await;

        assert_eq!(refused, Err(TOKEN.to_owned()));
        assert_eq!(outcomes[0], Outcome::Rotated);
        assert_eq!(posts(&keys).await, 1);
        assert_current_is_graphs(&keys);
        assert_no_stray_pending(&keys);
    }

    #[tokio::test]
    async fn the_daily_check_leaves_the_awspending_of_a_rotation_in_progress() {
        let keys = world();
        let rotator = Rotator::default();
        let check = || RotationRequest::Check {
            trigger: Trigger::Scheduler,
            token: "check".into(),
        };
        start_native(&keys);
        // RotateSecret made the version; createSecret has not run (or never reached us).
        rotator.run(&keys, check(), soon()).await.unwrap();
        assert_eq!(
            keys.store().store.labels(SECRET, TOKEN),
            Some(vec![AWSPENDING.to_owned()])
        );

        // createSecret has written the new key and not yet promoted it.
        let mut gate = keys.store().gates.arm("store.promote", 1);
        let (create, ()) = tokio::join!(rotator.run(&keys, native(Step::Create), soon()), async {
            gate.arrived().await;
            Rotator::default().run(&keys, check(), soon()).await.unwrap();
            assert_eq!(
                keys.store().store.labels(SECRET, TOKEN),
                Some(vec![AWSPENDING.to_owned()])
            );
            gate.open();
        });

        assert_eq!(create.unwrap().outcome, Outcome::Rotated);
        assert_eq!(posts(&keys).await, 1);
        assert_current_is_graphs(&keys);
    }
}
