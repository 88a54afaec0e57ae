//! The Graph app's credentials, as stored in the credentials secret, and their warm-start cache.
//!
//! The secret's text is parsed field by field rather than through a derived deserializer so that
//! no parse error can quote a value: errors name the field, never its content.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::deadline::Deadline;
use crate::secrets::{SecretStore, StoreError, VersionSelector};

/// The app registration that calls Graph. `Debug` redacts the secret (it is a [`SecretString`]).
#[derive(Debug, Clone)]
pub struct GraphCredentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the credentials secret {secret_id} could not be read: {source}")]
    Unreadable { secret_id: String, source: StoreError },
    #[error("the credentials secret {secret_id} holds binary data; it must hold a JSON SecretString")]
    NotText { secret_id: String },
    #[error("the credentials secret {secret_id} is not a JSON object")]
    NotJson { secret_id: String },
    #[error("the credentials secret {secret_id} has no field {field}, or it is empty")]
    MissingField { secret_id: String, field: &'static str },
    #[error("the credentials secret {secret_id} has a field {field} that is not a string")]
    NotAString { secret_id: String, field: &'static str },
    #[error("the credentials secret {secret_id} has a field {field} that is not a valid {expected}")]
    Malformed {
        secret_id: String,
        field: &'static str,
        expected: &'static str,
    },
}

impl GraphCredentials {
    /// Parses `{"tenantId", "clientId", "clientSecret"}`; extra fields are accepted and ignored.
    pub fn parse(secret_id: &str, text: &SecretString) -> Result<Self, CredentialsError> {
        let mut object: Map<String, Value> =
            serde_json::from_str(text.expose_secret()).map_err(|_| CredentialsError::NotJson {
                secret_id: secret_id.to_owned(),
            })?;
        let mut take = |field: &'static str| match object.remove(field) {
            Some(Value::String(value)) if !value.trim().is_empty() => Ok(value),
            None | Some(Value::Null) | Some(Value::String(_)) => Err(CredentialsError::MissingField {
                secret_id: secret_id.to_owned(),
                field,
            }),
            Some(_) => Err(CredentialsError::NotAString {
                secret_id: secret_id.to_owned(),
                field,
            }),
        };
        let tenant_id = take("tenantId")?;
        let client_id = take("clientId")?;
        let client_secret = SecretString::from(take("clientSecret")?);
        // The tenant goes into the token URL's path, so it must be a path-safe identifier.
        let path_safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        if !tenant_id.chars().all(path_safe) {
            return Err(CredentialsError::Malformed {
                secret_id: secret_id.to_owned(),
                field: "tenantId",
                expected: "tenant GUID or domain name",
            });
        }
        Ok(GraphCredentials {
            tenant_id,
            client_id,
            client_secret,
        })
    }
}

/// Where a [`GraphSession`](crate::graph::GraphSession) gets the app's credentials: the cached
/// credentials secret (the Lambda) or values fixed at start (the CLI's environment variables).
pub trait CredentialsProvider: Send + Sync {
    /// The credentials; `refresh` asks for a fresh read because Entra said `invalid_client`.
    fn credentials(
        &self,
        refresh: bool,
        deadline: Deadline,
    ) -> impl Future<Output = Result<Arc<GraphCredentials>, CredentialsError>> + Send;
}

/// Credentials fixed for the life of the process: there is nothing to re-read on `refresh`.
#[derive(Debug, Clone)]
pub struct StaticCredentials(Arc<GraphCredentials>);

impl StaticCredentials {
    pub fn new(credentials: GraphCredentials) -> Self {
        StaticCredentials(Arc::new(credentials))
    }
}

impl CredentialsProvider for StaticCredentials {
    async fn credentials(
        &self,
        _refresh: bool,
        _deadline: Deadline,
    ) -> Result<Arc<GraphCredentials>, CredentialsError> {
        Ok(self.0.clone())
    }
}

impl<S: SecretStore> CredentialsProvider for CredentialsCache<S> {
    fn credentials(
        &self,
        refresh: bool,
        deadline: Deadline,
    ) -> impl Future<Output = Result<Arc<GraphCredentials>, CredentialsError>> + Send {
        self.get(refresh, deadline)
    }
}

/// Reads the credentials secret and keeps it for a TTL across warm invocations.
pub struct CredentialsCache<S> {
    store: S,
    secret_id: String,
    ttl: Duration,
    cached: Mutex<Option<(Arc<GraphCredentials>, Instant)>>,
}

impl<S: SecretStore> CredentialsCache<S> {
    pub fn new(store: S, secret_id: String, ttl: Duration) -> Self {
        CredentialsCache {
            store,
            secret_id,
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// The cached credentials, or fresh ones when the cache is empty, expired or `refresh` is set
    /// (Entra said `invalid_client`: the secret may have been rotated under us).
    pub async fn get(&self, refresh: bool, deadline: Deadline) -> Result<Arc<GraphCredentials>, CredentialsError> {
        // Holding the lock across the read makes concurrent cold callers share one read.
        let mut cached = self.cached.lock().await;
        if let Some((credentials, read_at)) = cached.as_ref() {
            if !refresh && read_at.elapsed() < self.ttl {
                return Ok(credentials.clone());
            }
        }
        let fresh = Arc::new(self.read(deadline).await?);
        *cached = Some((fresh.clone(), Instant::now()));
        Ok(fresh)
    }

    /// Forgets the cached copy, so the next call reads the secret again.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn read(&self, deadline: Deadline) -> Result<GraphCredentials, CredentialsError> {
        let secret_id = &self.secret_id;
        let value = self
            .store
            .get(secret_id, VersionSelector::Current, deadline)
            .await
            .map_err(|source| CredentialsError::Unreadable {
                secret_id: secret_id.clone(),
                source,
            })?;
        let text = value.text.ok_or_else(|| CredentialsError::NotText {
            secret_id: secret_id.clone(),
        })?;
        GraphCredentials::parse(secret_id, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::memory::InMemorySecretStore;

    const GOOD: &str = r#"{"tenantId":"contoso.onmicrosoft.com","clientId":"app","clientSecret":"hunter2-client-secret","note":"extra"}"#;

    fn soon() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    fn parse(text: &str) -> Result<GraphCredentials, CredentialsError> {
        GraphCredentials::parse("creds", &SecretString::from(text))
    }

    #[test]
    fn a_complete_secret_parses_and_extra_fields_are_accepted() {
        let credentials = parse(GOOD).unwrap();
        assert_eq!(credentials.tenant_id, "contoso.onmicrosoft.com");
        assert_eq!(credentials.client_id, "app");
        assert_eq!(credentials.client_secret.expose_secret(), "hunter2-client-secret");
    }

    #[test]
    fn debug_output_never_shows_the_client_secret() {
        let printed = format!("{:?}", parse(GOOD).unwrap());
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn each_missing_or_empty_field_is_named() {
        for (text, field) in [
            (r#"{"clientId":"a","clientSecret":"s"}"#, "tenantId"),
            (r#"{"tenantId":"t","clientSecret":"s"}"#, "clientId"),
            (r#"{"tenantId":"t","clientId":"a"}"#, "clientSecret"),
            (r#"{"tenantId":"t","clientId":"a","clientSecret":"  "}"#, "clientSecret"),
            (r#"{"tenantId":"t","clientId":"a","clientSecret":null}"#, "clientSecret"),
        ] {
            match parse(text) {
                Err(CredentialsError::MissingField { field: named, .. }) => assert_eq!(named, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn text_that_is_not_a_json_object_is_refused_without_quoting_it() {
        for text in ["hunter2-not-json", "[\"hunter2\"]", "\"hunter2\"", ""] {
            let err = parse(text).unwrap_err();
            assert!(matches!(err, CredentialsError::NotJson { .. }), "{text}: {err:?}");
            assert!(!err.to_string().contains("hunter2"));
        }
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named_without_its_value() {
        let err = parse(r#"{"tenantId":"t","clientId":"a","clientSecret":{"hunter2":1}}"#).unwrap_err();
        assert!(matches!(
            err,
            CredentialsError::NotAString {
                field: "clientSecret",
                ..
            }
        ));
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn a_tenant_that_would_change_the_token_url_path_is_refused() {
        let err = parse(r#"{"tenantId":"../evil?","clientId":"a","clientSecret":"s"}"#).unwrap_err();
        assert!(matches!(err, CredentialsError::Malformed { field: "tenantId", .. }));
    }

    #[tokio::test]
    async fn the_cache_reads_once_within_its_ttl_and_again_when_refreshed() {
        let store = InMemorySecretStore::default();
        store.set_text("creds", GOOD);
        let cache = CredentialsCache::new(store.clone(), "creds".into(), Duration::from_secs(60));
        cache.get(false, soon()).await.unwrap();
        cache.get(false, soon()).await.unwrap();
        assert_eq!(store.reads("creds"), 1);
        cache.get(true, soon()).await.unwrap();
        assert_eq!(store.reads("creds"), 2);
    }

    #[tokio::test]
    async fn an_expired_entry_is_read_again_so_a_fixed_secret_takes_effect() {
        let store = InMemorySecretStore::default();
        store.set_text("creds", "not json");
        let cache = CredentialsCache::new(store.clone(), "creds".into(), Duration::ZERO);
        assert!(cache.get(false, soon()).await.is_err());
        store.set_text("creds", GOOD);
        assert_eq!(cache.get(false, soon()).await.unwrap().client_id, "app");
    }

    #[tokio::test]
    async fn a_binary_secret_is_refused_as_not_text() {
        let store = InMemorySecretStore::default();
        store.set_binary("creds");
        let cache = CredentialsCache::new(store, "creds".into(), Duration::from_secs(60));
        assert!(matches!(
            cache.get(false, soon()).await,
            Err(CredentialsError::NotText { .. })
        ));
    }
}
