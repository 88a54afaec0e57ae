//! The domain: reading the sensor deployment access key, regenerating it, and keeping the stored
//! copy in the key secret equal to the key Graph accepts.
//!
//! Knows nothing of Lambda or HTTP; speaks to Graph through [`KeySource`] and to Secrets Manager
//! through [`SecretStore`].

use std::future::Future;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::deadline::Deadline;
use crate::problem::Problem;
use crate::secrets::{NewVersion, NewVersionStage, SecretStore, StoreError, StoredVersion, VersionSelector};
use crate::upstream::GraphError;

/// How often a drift is repaired in one verification before the next rotation is left to do it.
const MAX_DRIFT_REPAIRS: usize = 3;

/// The sensor deployment access key. `Debug` redacts it; only [`AccessKey::expose`] reveals it.
#[derive(Clone)]
pub struct AccessKey(SecretString);

impl AccessKey {
    pub fn new(key: SecretString) -> Self {
        AccessKey(key)
    }

    pub fn expose(&self) -> &SecretString {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }

    pub fn same_as(&self, other: &AccessKey) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessKey([REDACTED])")
    }
}

/// A key as Graph gave it, with Graph's request id for the audit log.
#[derive(Debug, Clone)]
pub struct KeyAnswer {
    pub key: AccessKey,
    pub graph_request_id: Option<String>,
}

/// Graph, as the domain sees it.
pub trait KeySource: Send + Sync {
    fn current_key(&self, deadline: Deadline) -> impl Future<Output = Result<KeyAnswer, GraphError>> + Send;
    /// Asks Graph for a new key. Never posts twice: after an unclear outcome it reads instead.
    fn regenerate_key(&self, deadline: Deadline) -> impl Future<Output = Result<KeyAnswer, GraphError>> + Send;
}

/// A shared source is a source: the Lambda's session serves the key service and the sensor
/// reads at once.
impl<T: KeySource + ?Sized> KeySource for std::sync::Arc<T> {
    fn current_key(&self, deadline: Deadline) -> impl Future<Output = Result<KeyAnswer, GraphError>> + Send {
        (**self).current_key(deadline)
    }

    fn regenerate_key(&self, deadline: Deadline) -> impl Future<Output = Result<KeyAnswer, GraphError>> + Send {
        (**self).regenerate_key(deadline)
    }
}

/// What started a write to the key secret; recorded in the stored JSON and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    Api,
    Schedule,
    Scheduler,
    SecretsManagerRotation,
    /// The stored copy was found to differ from Graph's key and was corrected.
    DriftRepair,
    /// An operator, through the `mdi-sensor-key` CLI.
    Cli,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Api => "api",
            Trigger::Schedule => "schedule",
            Trigger::Scheduler => "scheduler",
            Trigger::SecretsManagerRotation => "secrets-manager-rotation",
            Trigger::DriftRepair => "drift-repair",
            Trigger::Cli => "cli",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("the key secret {secret_id} could not be {action}: {source}")]
    Store {
        secret_id: String,
        action: &'static str,
        source: StoreError,
    },
    #[error(
        "the key was regenerated at Microsoft Graph but storing it in {secret_id} failed ({source}); it is not lost: Graph holds it, GET /sensor-key returns it and the next rotation stores it"
    )]
    NotStored {
        secret_id: String,
        source: StoreError,
        graph_request_id: Option<String>,
    },
}

impl KeyError {
    /// The key Graph made (answered with `graph_request_id`) could not be stored in `secret_id`.
    pub fn not_stored(secret_id: &str, graph_request_id: &Option<String>) -> impl FnOnce(StoreError) -> KeyError {
        let secret_id = secret_id.to_owned();
        let graph_request_id = graph_request_id.clone();
        move |source| KeyError::NotStored {
            secret_id,
            source,
            graph_request_id,
        }
    }

    fn store(secret_id: &str, action: &'static str) -> impl FnOnce(StoreError) -> KeyError {
        let secret_id = secret_id.to_owned();
        move |source| KeyError::Store {
            secret_id,
            action,
            source,
        }
    }
}

/// The JSON document the key secret holds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoredKeyDocument<'a> {
    sensor_deployment_access_key: &'a str,
    updated_at: String,
    trigger: Trigger,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredKeyField {
    sensor_deployment_access_key: SecretString,
    #[serde(default)]
    updated_at: Option<String>,
}

/// The outcome of a regenerate.
#[derive(Debug)]
pub struct Regeneration {
    /// The key Graph accepts now (after a lost race, the winner's key).
    pub key: AccessKey,
    pub stored: Option<StoredVersion>,
    pub graph_request_id: Option<String>,
    /// A concurrent regenerate was detected and the stored copy corrected.
    pub drift_repaired: bool,
    /// Whether the stored copy was read back and found equal to Graph's key; `None` when
    /// nothing is stored. `Some(false)`: the key was regenerated and stored, but the check
    /// after it could not be completed, so the answer still carries the new key.
    pub verified: Option<bool>,
}

/// The result of [`KeyService::settle`].
#[derive(Debug)]
pub struct Settled {
    /// Graph's key, as read last.
    pub key: AccessKey,
    pub graph_request_id: Option<String>,
    /// The AWSCURRENT version, as read last (the repair's version when one was written).
    pub current_version: Option<String>,
    /// A repair was written: AWSCURRENT did not hold Graph's key.
    pub repaired: bool,
    /// AWSCURRENT held Graph's key at the last look. False only when other writers kept
    /// changing one or the other through every repair.
    pub settled: bool,
    /// When the AWSCURRENT document read last was written (its `updatedAt`), for the key's age.
    pub stored_at: Option<time::OffsetDateTime>,
}

/// The result of [`KeyService::verify`]: AWSCURRENT compared with Graph's key, nothing written.
#[derive(Debug)]
pub struct Verified {
    /// AWSCURRENT held the key Graph accepts at the last look.
    pub holds_graphs_key: bool,
    pub current_version: Option<String>,
    /// When the AWSCURRENT document was written (its `updatedAt`).
    pub stored_at: Option<time::OffsetDateTime>,
    pub graph_request_id: Option<String>,
}

/// The key operations, over the two ports.
pub struct KeyService<K, S> {
    source: K,
    store: S,
    key_secret_id: Option<String>,
}

impl<K: KeySource, S: SecretStore> KeyService<K, S> {
    pub fn new(source: K, store: S, key_secret_id: Option<String>) -> Self {
        KeyService {
            source,
            store,
            key_secret_id,
        }
    }

    pub fn source(&self) -> &K {
        &self.source
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn key_secret_id(&self) -> Option<&str> {
        self.key_secret_id.as_deref()
    }

    /// The key, live from Graph.
    pub async fn read(&self, deadline: Deadline) -> Result<KeyAnswer, KeyError> {
        Ok(self.source.current_key(deadline).await?)
    }

    /// Regenerates at Graph and stores nothing: for a rotation step that stores the new key its
    /// own way (as AWSPENDING, under the occurrence's token).
    pub async fn regenerate_at_graph(&self, deadline: Deadline) -> Result<KeyAnswer, KeyError> {
        Ok(self.source.regenerate_key(deadline).await?)
    }

    /// Regenerates at Graph and, when a key secret is configured, stores the new key as
    /// AWSCURRENT under `token`, then settles the stored copy against Graph.
    ///
    /// Once Graph has regenerated, the old key is dead and the caller needs the new one: a
    /// failure of the check after the store is logged and reported as `verified: Some(false)`,
    /// never as an error that would invite a second regenerate.
    pub async fn regenerate(
        &self,
        trigger: Trigger,
        token: &str,
        deadline: Deadline,
    ) -> Result<Regeneration, KeyError> {
        let answer = self.source.regenerate_key(deadline).await?;
        let Some(secret_id) = self.key_secret_id.as_deref() else {
            return Ok(Regeneration {
                key: answer.key,
                stored: None,
                graph_request_id: answer.graph_request_id,
                drift_repaired: false,
                verified: None,
            });
        };
        let stored = self
            .store_key(
                secret_id,
                &answer.key,
                trigger,
                token,
                NewVersionStage::Current,
                deadline,
            )
            .await
            .map_err(KeyError::not_stored(secret_id, &answer.graph_request_id))?;
        match self.settle(secret_id, deadline).await {
            Ok(settled) => Ok(Regeneration {
                key: settled.key,
                stored: Some(match settled.current_version {
                    Some(version_id) if settled.repaired => StoredVersion {
                        secret_id: stored.secret_id,
                        version_id,
                    },
                    _ => stored,
                }),
                graph_request_id: answer.graph_request_id,
                drift_repaired: settled.repaired,
                verified: Some(settled.settled),
            }),
            Err(error) => {
                tracing::warn!(
                    secret_id,
                    error = %error,
                    "the key was regenerated and stored, but the check against Graph failed; answering with the new key, unverified"
                );
                Ok(Regeneration {
                    key: answer.key,
                    stored: Some(stored),
                    graph_request_id: answer.graph_request_id,
                    drift_repaired: false,
                    verified: Some(false),
                })
            }
        }
    }

    /// Makes AWSCURRENT hold the key Graph accepts: reads both and, while they differ, stores
    /// Graph's key (under a fresh token, as a drift repair) and looks again, since that write can
    /// itself race another writer. AWSCURRENT is read first and Graph last: an outside
    /// regenerate is the one writer nothing coordinates with, so it is looked at as late as
    /// possible. A failed read is an error: nothing is ever called settled unseen.
    pub async fn settle(&self, secret_id: &str, deadline: Deadline) -> Result<Settled, KeyError> {
        let mut repaired = false;
        let mut repairs = 0;
        loop {
            let current = self.stored_current_document(secret_id, deadline).await?;
            let graph = self.source.current_key(deadline).await?;
            let settled = current.as_ref().is_some_and(|(key, _, _)| key.same_as(&graph.key));
            if settled || repairs == MAX_DRIFT_REPAIRS {
                if !settled {
                    tracing::warn!(
                        secret_id,
                        "still drifting after {repairs} repairs: another writer keeps changing the key"
                    );
                }
                let (current_version, stored_at) = match current {
                    Some((_, version_id, stored_at)) => (Some(version_id), stored_at),
                    None => (None, None),
                };
                return Ok(Settled {
                    key: graph.key,
                    graph_request_id: graph.graph_request_id,
                    current_version,
                    repaired,
                    settled,
                    stored_at,
                });
            }
            tracing::warn!(
                secret_id,
                graph_request_id = graph.graph_request_id.as_deref().unwrap_or(""),
                "drift: the stored key is not the key Graph accepts (a regenerate elsewhere?); storing Graph's key"
            );
            let token = uuid::Uuid::new_v4().to_string();
            self.store_key(
                secret_id,
                &graph.key,
                Trigger::DriftRepair,
                &token,
                NewVersionStage::Current,
                deadline,
            )
            .await
            .map_err(KeyError::store(secret_id, "written"))?;
            repaired = true;
            repairs += 1;
        }
    }

    /// Reads AWSCURRENT, then Graph's key (last, as [`settle`](Self::settle) does), and compares
    /// them. Writes nothing: for the rotation steps that must only read.
    pub async fn verify(&self, secret_id: &str, deadline: Deadline) -> Result<Verified, KeyError> {
        let current = self.stored_current_document(secret_id, deadline).await?;
        let graph = self.source.current_key(deadline).await?;
        let holds_graphs_key = current.as_ref().is_some_and(|(key, _, _)| key.same_as(&graph.key));
        let (current_version, stored_at) = match current {
            Some((_, version_id, stored_at)) => (Some(version_id), stored_at),
            None => (None, None),
        };
        Ok(Verified {
            holds_graphs_key,
            current_version,
            stored_at,
            graph_request_id: graph.graph_request_id,
        })
    }

    /// Writes the stored-key document under the idempotency `token`.
    pub async fn store_key(
        &self,
        secret_id: &str,
        key: &AccessKey,
        trigger: Trigger,
        token: &str,
        stage: NewVersionStage,
        deadline: Deadline,
    ) -> Result<StoredVersion, StoreError> {
        let document = StoredKeyDocument {
            sensor_deployment_access_key: key.expose().expose_secret(),
            updated_at: now_rfc3339(),
            trigger,
        };
        let text = SecretString::from(serde_json::to_string(&document).unwrap_or_default());
        self.store
            .put(
                secret_id,
                NewVersion {
                    text: &text,
                    token,
                    stage,
                },
                deadline,
            )
            .await
    }

    /// The key held as AWSCURRENT, with its version id; `None` when there is none or it is not a
    /// stored-key document (then it needs replacing anyway).
    pub async fn stored_current_key(
        &self,
        secret_id: &str,
        deadline: Deadline,
    ) -> Result<Option<(AccessKey, String)>, KeyError> {
        Ok(self
            .stored_current_document(secret_id, deadline)
            .await?
            .map(|(key, version_id, _)| (key, version_id)))
    }

    /// As [`stored_current_key`](Self::stored_current_key), with the document's `updatedAt`.
    async fn stored_current_document(
        &self,
        secret_id: &str,
        deadline: Deadline,
    ) -> Result<Option<(AccessKey, String, Option<time::OffsetDateTime>)>, KeyError> {
        match self.store.get(secret_id, VersionSelector::Current, deadline).await {
            Ok(value) => Ok(value
                .text
                .as_ref()
                .and_then(parse_stored_document)
                .map(|(key, updated_at)| (key, value.version_id, updated_at))),
            Err(StoreError::NotFound) => Ok(None),
            Err(error) => Err(KeyError::store(secret_id, "read")(error)),
        }
    }

    /// The key held in the AWSPENDING version `token`, if that version has a value.
    pub async fn stored_pending_key(
        &self,
        secret_id: &str,
        token: &str,
        deadline: Deadline,
    ) -> Result<Option<AccessKey>, KeyError> {
        match self
            .store
            .get(secret_id, VersionSelector::Pending(token), deadline)
            .await
        {
            Ok(value) => Ok(value.text.as_ref().and_then(parse_stored_key)),
            Err(StoreError::NotFound) => Ok(None),
            Err(error) => Err(KeyError::store(secret_id, "read")(error)),
        }
    }
}

pub(crate) fn parse_stored_key(text: &SecretString) -> Option<AccessKey> {
    parse_stored_document(text).map(|(key, _)| key)
}

/// The key and, when the document has a readable one, its `updatedAt`.
fn parse_stored_document(text: &SecretString) -> Option<(AccessKey, Option<time::OffsetDateTime>)> {
    let field: StoredKeyField = serde_json::from_str(text.expose_secret()).ok()?;
    let key = AccessKey::new(field.sensor_deployment_access_key);
    let updated_at = field
        .updated_at
        .and_then(|at| time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).ok());
    (!key.is_empty()).then_some((key, updated_at))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl From<&KeyError> for Problem {
    fn from(error: &KeyError) -> Self {
        match error {
            KeyError::Graph(graph) => Problem::from(graph),
            // The detail tells the error without AWS's message; the log line has it.
            KeyError::Store {
                secret_id,
                action,
                source,
            } => {
                let told = KeyError::Store {
                    secret_id: secret_id.clone(),
                    action,
                    source: source.without_message(),
                };
                source
                    .key_store_problem(told.to_string())
                    .with_full_detail(error.to_string())
            }
            KeyError::NotStored {
                secret_id,
                source,
                graph_request_id,
            } => {
                let told = KeyError::NotStored {
                    secret_id: secret_id.clone(),
                    source: source.without_message(),
                    graph_request_id: None,
                };
                source
                    .key_store_problem(told.to_string())
                    .with_full_detail(error.to_string())
                    .with_graph_request_id(graph_request_id.as_ref())
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A scripted [`KeySource`] for unit tests.
    use std::sync::Mutex;

    use super::*;
    use crate::gate::Gates;
    use crate::upstream::{Unavailable, Upstream, UpstreamIds};

    #[derive(Default)]
    pub struct FakeGraph {
        pub key: Mutex<String>,
        pub posts: Mutex<usize>,
        pub gets: Mutex<usize>,
        /// Run after each regenerate: simulates a concurrent regenerate elsewhere.
        pub then_someone_else_regenerates: Mutex<Option<String>>,
        /// The next this many reads fail as an unreachable Graph would.
        pub failing_reads: Mutex<usize>,
        /// The next this many regenerates have an unclear outcome and did not land: the
        /// session's read afterwards answers the old key.
        pub unclear_regenerates: Mutex<usize>,
        /// Each read passes `graph.read` and each regenerate `graph.regenerate` first.
        pub gates: Gates,
    }

    impl FakeGraph {
        pub fn with_key(key: &str) -> Self {
            let fake = FakeGraph::default();
            *fake.key.lock().unwrap() = key.to_owned();
            fake
        }

        /// A regenerate by someone else (the portal, another tool): Graph's key changes.
        pub fn regenerate_elsewhere(&self, key: &str) {
            *self.key.lock().unwrap() = key.to_owned();
        }

        pub fn current(&self) -> String {
            self.key.lock().unwrap().clone()
        }

        fn answer(&self) -> KeyAnswer {
            KeyAnswer {
                key: AccessKey::new(SecretString::from(self.key.lock().unwrap().clone())),
                graph_request_id: Some("graph-req".into()),
            }
        }
    }

    impl KeySource for FakeGraph {
        async fn current_key(&self, _: Deadline) -> Result<KeyAnswer, GraphError> {
            self.gates.pass("graph.read").await;
            *self.gets.lock().unwrap() += 1;
            {
                let mut failing = self.failing_reads.lock().unwrap();
                if *failing > 0 {
                    *failing -= 1;
                    return Err(GraphError::Unavailable {
                        upstream: Upstream::Graph,
                        cause: Unavailable::Status(503),
                        ids: UpstreamIds::default(),
                    });
                }
            }
            Ok(self.answer())
        }

        async fn regenerate_key(&self, _: Deadline) -> Result<KeyAnswer, GraphError> {
            self.gates.pass("graph.regenerate").await;
            {
                let mut unclear = self.unclear_regenerates.lock().unwrap();
                if *unclear > 0 {
                    *unclear -= 1;
                    return Ok(self.answer());
                }
            }
            let answer = {
                let mut posts = self.posts.lock().unwrap();
                *posts += 1;
                *self.key.lock().unwrap() = format!("key-{}", *posts);
                self.answer()
            };
            if let Some(other) = self.then_someone_else_regenerates.lock().unwrap().take() {
                *self.key.lock().unwrap() = other;
            }
            Ok(answer)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::fake::FakeGraph;
    use super::*;
    use crate::secrets::memory::InMemorySecretStore;

    fn soon() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    fn service(
        graph: FakeGraph,
        store: &InMemorySecretStore,
        secret: Option<&str>,
    ) -> KeyService<FakeGraph, InMemorySecretStore> {
        KeyService::new(graph, store.clone(), secret.map(str::to_owned))
    }

    fn stored_key(store: &InMemorySecretStore) -> String {
        let text = store.current_text("key").unwrap();
        parse_stored_key(&SecretString::from(text))
            .unwrap()
            .expose()
            .expose_secret()
            .to_owned()
    }

    #[tokio::test]
    async fn regenerate_without_a_key_secret_stores_nothing() {
        let store = InMemorySecretStore::default();
        let keys = service(FakeGraph::with_key("key-0"), &store, None);
        let done = keys
            .regenerate(Trigger::Api, "t".repeat(36).as_str(), soon())
            .await
            .unwrap();
        assert_eq!(done.key.expose().expose_secret(), "key-1");
        assert!(done.stored.is_none());
        assert_eq!(*keys.source().gets.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn regenerate_stores_the_new_key_as_current_and_verifies_it_once() {
        let store = InMemorySecretStore::default();
        store.set_text("key", r#"{"sensorDeploymentAccessKey":"key-0"}"#);
        let keys = service(FakeGraph::with_key("key-0"), &store, Some("key"));
        let done = keys.regenerate(Trigger::Api, "token-1", soon()).await.unwrap();
        assert_eq!(stored_key(&store), "key-1");
        assert_eq!(done.stored.unwrap().version_id, "token-1");
        assert!(!done.drift_repaired);
        assert_eq!(*keys.source().gets.lock().unwrap(), 1, "one verification read");
        let document: serde_json::Value = serde_json::from_str(&store.current_text("key").unwrap()).unwrap();
        assert_eq!(document["trigger"], "api");
        assert!(document["updatedAt"].as_str().unwrap().ends_with('Z'));
    }

    #[tokio::test]
    async fn a_concurrent_regenerate_that_wins_is_detected_and_its_key_stored() {
        let store = InMemorySecretStore::default();
        store.set_text("key", r#"{"sensorDeploymentAccessKey":"key-0"}"#);
        let graph = FakeGraph::with_key("key-0");
        *graph.then_someone_else_regenerates.lock().unwrap() = Some("winner".into());
        let keys = service(graph, &store, Some("key"));
        let done = keys.regenerate(Trigger::Api, "token-1", soon()).await.unwrap();
        assert!(done.drift_repaired);
        assert_eq!(done.key.expose().expose_secret(), "winner");
        assert_eq!(stored_key(&store), "winner");
    }

    #[tokio::test]
    async fn a_failed_store_after_regenerate_says_the_key_is_not_lost() {
        let store = InMemorySecretStore::default();
        store.set_text("key", r#"{"sensorDeploymentAccessKey":"key-0"}"#);
        store.fail_next([StoreError::Throttled]);
        let keys = service(FakeGraph::with_key("key-0"), &store, Some("key"));
        let error = keys.regenerate(Trigger::Api, "token-1", soon()).await.unwrap_err();
        assert!(
            matches!(
                error,
                KeyError::NotStored {
                    source: StoreError::Throttled,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("not lost"));
        assert!(!error.to_string().contains("key-1"));
    }

    #[tokio::test]
    async fn a_regenerate_whose_check_against_graph_fails_answers_with_the_new_key_unverified() {
        let store = InMemorySecretStore::default();
        store.set_text("key", r#"{"sensorDeploymentAccessKey":"key-0"}"#);
        let graph = FakeGraph::with_key("key-0");
        *graph.failing_reads.lock().unwrap() = 1;
        let keys = service(graph, &store, Some("key"));

        let done = keys.regenerate(Trigger::Api, "token-1", soon()).await.unwrap();

        assert_eq!(done.key.expose().expose_secret(), "key-1");
        assert_eq!(done.verified, Some(false));
        assert_eq!(done.stored.unwrap().version_id, "token-1");
        assert_eq!(stored_key(&store), "key-1");
        assert_eq!(*keys.source().posts.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_regenerate_whose_check_passes_says_it_is_verified() {
        let store = InMemorySecretStore::default();
        store.set_text("key", r#"{"sensorDeploymentAccessKey":"key-0"}"#);
        let keys = service(FakeGraph::with_key("key-0"), &store, Some("key"));

        let done = keys.regenerate(Trigger::Api, "token-1", soon()).await.unwrap();

        assert_eq!(done.verified, Some(true));
    }

    #[test]
    fn a_stored_value_that_is_not_a_key_document_counts_as_no_key() {
        assert!(parse_stored_key(&SecretString::from("plain")).is_none());
        assert!(parse_stored_key(&SecretString::from(r#"{"sensorDeploymentAccessKey":""}"#)).is_none());
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let key = AccessKey::new(SecretString::from("very-secret-key"));
        assert!(!format!("{key:?}").contains("very-secret-key"));
    }
}
