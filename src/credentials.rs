//! The Graph app's credentials, as stored in the credentials secret, and their warm-start cache.
//!
//! The app proves itself with a client secret or with a certificate (see [`crate::certificate`]);
//! the secret holds exactly one of them. Its text is parsed field by field rather than through a
//! derived deserializer so that no parse error can quote a value: errors name the field, never
//! its content.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::certificate::ClientCertificate;
use crate::deadline::Deadline;
use crate::federation::WebIdentitySource;
use crate::secrets::{SecretStore, VersionSelector};
pub use crate::upstream::CredentialsError;
use crate::upstream::Part;

/// The app registration that calls Graph. `Debug` redacts the secret and the key.
#[derive(Debug, Clone)]
pub struct GraphCredentials {
    pub tenant_id: String,
    pub client_id: String,
    pub credential: ClientCredential,
}

/// How the app proves itself to Entra ID.
#[derive(Debug, Clone)]
pub enum ClientCredential {
    /// `client_secret` in the token request.
    Secret(SecretString),
    /// A signed `client_assertion` in the token request; the key never leaves the function.
    Certificate(Arc<ClientCertificate>),
    /// A `client_assertion` from the function's own cloud identity (`GRAPH_AUTH=aws-federation`):
    /// a fresh JWT from the source for each token request; nothing secret is held.
    Federated(Arc<dyn WebIdentitySource>),
}

/// The secret's field names for the two PEM inputs.
const CERTIFICATE_FIELD: &str = "certificatePem";
const PRIVATE_KEY_FIELD: &str = "privateKeyPem";

/// Whether `tenant_id` can go into the token URL's path without changing it.
pub fn tenant_id_is_path_safe(tenant_id: &str) -> bool {
    tenant_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

impl GraphCredentials {
    /// Parses `{"tenantId", "clientId"}` with either `"clientSecret"` or `"certificatePem"` and
    /// `"privateKeyPem"` (and optionally `"sendCertificateChain": true`); extra fields are accepted
    /// and ignored.
    pub fn parse(secret_id: &str, text: &SecretString) -> Result<Self, CredentialsError> {
        let mut object: Map<String, Value> =
            serde_json::from_str(text.expose_secret()).map_err(|_| CredentialsError::NotJson {
                secret_id: secret_id.to_owned(),
            })?;
        let owned_id = || secret_id.to_owned();
        let present = |object: &Map<String, Value>, field: &str| !matches!(object.get(field), None | Some(Value::Null));
        let take = |object: &mut Map<String, Value>, field: &'static str| match object.remove(field) {
            // Moved, not copied, into a zeroizing string: the value may be a secret.
            Some(Value::String(value)) => {
                let value = SecretString::from(value);
                match value.expose_secret().trim().is_empty() {
                    true => Err(CredentialsError::MissingField {
                        secret_id: owned_id(),
                        field,
                    }),
                    false => Ok(value),
                }
            }
            None | Some(Value::Null) => Err(CredentialsError::MissingField {
                secret_id: owned_id(),
                field,
            }),
            Some(_) => Err(CredentialsError::NotAString {
                secret_id: owned_id(),
                field,
            }),
        };
        let tenant_id = take(&mut object, "tenantId")?.expose_secret().to_owned();
        let client_id = take(&mut object, "clientId")?.expose_secret().to_owned();
        // The tenant goes into the token URL's path, so it must be a path-safe identifier.
        if !tenant_id_is_path_safe(&tenant_id) {
            return Err(CredentialsError::Malformed {
                secret_id: owned_id(),
                field: "tenantId",
                expected: "tenant GUID or domain name",
            });
        }
        let has_secret = present(&object, "clientSecret");
        let has_certificate = present(&object, CERTIFICATE_FIELD) || present(&object, PRIVATE_KEY_FIELD);
        let credential = match (has_secret, has_certificate) {
            (true, true) => return Err(CredentialsError::BothCredentials { secret_id: owned_id() }),
            (false, false) => return Err(CredentialsError::NoCredential { secret_id: owned_id() }),
            (true, false) => ClientCredential::Secret(take(&mut object, "clientSecret")?),
            (false, true) => {
                let certificate = take(&mut object, CERTIFICATE_FIELD)?;
                let private_key = take(&mut object, PRIVATE_KEY_FIELD)?;
                let send_chain = match object.remove("sendCertificateChain") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(send)) => send,
                    Some(_) => {
                        return Err(CredentialsError::Malformed {
                            secret_id: owned_id(),
                            field: "sendCertificateChain",
                            expected: "boolean (true or false)",
                        });
                    }
                };
                let loaded = ClientCertificate::from_pem(&certificate, &private_key, send_chain).map_err(|source| {
                    CredentialsError::Certificate {
                        secret_id: owned_id(),
                        field: match source.part() {
                            Part::Certificate => CERTIFICATE_FIELD,
                            Part::PrivateKey => PRIVATE_KEY_FIELD,
                        },
                        source,
                    }
                })?;
                ClientCredential::Certificate(Arc::new(loaded))
            }
        };
        Ok(GraphCredentials {
            tenant_id,
            client_id,
            credential,
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

/// The Lambda's credentials: the credentials secret (`GRAPH_AUTH=secret`), or identifiers fixed
/// at start with a federated assertion (`GRAPH_AUTH=aws-federation`), where Secrets Manager is
/// never asked for credentials.
pub enum AppCredentials<S> {
    Secret(CredentialsCache<S>),
    Fixed(StaticCredentials),
}

impl<S: SecretStore> CredentialsProvider for AppCredentials<S> {
    async fn credentials(&self, refresh: bool, deadline: Deadline) -> Result<Arc<GraphCredentials>, CredentialsError> {
        match self {
            AppCredentials::Secret(cache) => cache.get(refresh, deadline).await,
            AppCredentials::Fixed(fixed) => fixed.credentials(refresh, deadline).await,
        }
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
        if let Some((credentials, read_at)) = cached.as_ref()
            && !refresh
            && read_at.elapsed() < self.ttl
        {
            return Ok(credentials.clone());
        }
        let fresh = Arc::new(self.read(deadline).await?);
        *cached = Some((fresh.clone(), Instant::now()));
        Ok(fresh)
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
        let credentials = GraphCredentials::parse(secret_id, &text)?;
        // Read at most once per cache lifetime: the certificate's expiry, for its alarm.
        if let ClientCredential::Certificate(certificate) = &credentials.credential {
            crate::metrics::certificate_days_to_expiry(certificate.days_to_expiry(std::time::SystemTime::now()));
        }
        Ok(credentials)
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

    fn secret_of(credentials: &GraphCredentials) -> &str {
        match &credentials.credential {
            ClientCredential::Secret(secret) => secret.expose_secret(),
            ClientCredential::Certificate(_) | ClientCredential::Federated(_) => panic!("a client secret was expected"),
        }
    }

    #[test]
    fn a_complete_secret_parses_and_extra_fields_are_accepted() {
        let credentials = parse(GOOD).unwrap();
        assert_eq!(credentials.tenant_id, "contoso.onmicrosoft.com");
        assert_eq!(credentials.client_id, "app");
        assert_eq!(secret_of(&credentials), "hunter2-client-secret");
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
            (r#"{"tenantId":"t","clientId":"a","clientSecret":"  "}"#, "clientSecret"),
            (
                r#"{"tenantId":"t","clientId":"a","certificatePem":"c"}"#,
                "privateKeyPem",
            ),
            (
                r#"{"tenantId":"t","clientId":"a","privateKeyPem":"k"}"#,
                "certificatePem",
            ),
        ] {
            match parse(text) {
                Err(CredentialsError::MissingField { field: named, .. }) => assert_eq!(named, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn no_credential_or_both_credentials_are_refused_naming_the_fields() {
        for text in [
            r#"{"tenantId":"t","clientId":"a"}"#,
            r#"{"tenantId":"t","clientId":"a","clientSecret":null}"#,
        ] {
            let err = parse(text).unwrap_err();
            assert!(matches!(err, CredentialsError::NoCredential { .. }), "{text}: {err:?}");
            let message = err.to_string();
            assert!(
                message.contains("clientSecret")
                    && message.contains("certificatePem")
                    && message.contains("privateKeyPem")
            );
        }
        let err = parse(r#"{"tenantId":"t","clientId":"a","clientSecret":"hunter2","certificatePem":"-----BEGIN"}"#)
            .unwrap_err();
        assert!(matches!(err, CredentialsError::BothCredentials { .. }), "{err:?}");
        assert!(err.to_string().contains("exactly one") && !err.to_string().contains("hunter2"));
    }

    #[test]
    fn a_certificate_and_its_key_parse_in_pkcs8_and_pkcs1_form() {
        let certificate = graph_sim::TestCertificate::generate("credentials-test");
        for key in [certificate.private_key_pem(), certificate.private_key_pkcs1_pem()] {
            let text = serde_json::json!({
                "tenantId": "t", "clientId": "a",
                "certificatePem": certificate.certificate_pem(), "privateKeyPem": key,
            });
            let credentials = parse(&text.to_string()).unwrap();
            let ClientCredential::Certificate(loaded) = &credentials.credential else {
                panic!("a certificate was expected");
            };
            assert_eq!(loaded.thumbprint_sha256(), certificate.thumbprint_sha256());
            // The test certificate is valid for a year from its making.
            let days = loaded.days_to_expiry(std::time::SystemTime::now());
            assert!((364.0..=365.0).contains(&days), "{days}");
            let later = std::time::SystemTime::now() + std::time::Duration::from_secs(400 * 86_400);
            assert!(loaded.days_to_expiry(later) < -34.0, "negative once expired");
            let printed = format!("{credentials:?}");
            assert!(
                !printed.contains("PRIVATE KEY") && printed.contains(&certificate.thumbprint_sha256()),
                "{printed}"
            );
        }
    }

    #[test]
    fn a_broken_certificate_credential_names_the_field_never_the_pem() {
        let certificate = graph_sim::TestCertificate::generate("credentials-test");
        let other = graph_sim::TestCertificate::generate("someone-else");
        let cases = [
            (
                certificate.certificate_pem(),
                other.private_key_pem(),
                "privateKeyPem",
                "does not match",
            ),
            (
                certificate.certificate_pem(),
                "not a key",
                "privateKeyPem",
                "no PEM block",
            ),
            (
                "not a certificate",
                certificate.private_key_pem(),
                "certificatePem",
                "no PEM block",
            ),
            (
                certificate.private_key_pem(),
                certificate.private_key_pem(),
                "certificatePem",
                "no CERTIFICATE",
            ),
        ];
        for (certificate_pem, key_pem, field, says) in cases {
            let text = serde_json::json!({
                "tenantId": "t", "clientId": "a", "certificatePem": certificate_pem, "privateKeyPem": key_pem,
            });
            let err = parse(&text.to_string()).unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, CredentialsError::Certificate { field: f, .. } if f == field),
                "{message}"
            );
            assert!(message.contains(says), "{message}");
            assert!(!message.contains("MII"), "no base64 of the PEM: {message}");
        }
        let text = serde_json::json!({
            "tenantId": "t", "clientId": "a", "certificatePem": certificate.certificate_pem(),
            "privateKeyPem": certificate.private_key_pem(), "sendCertificateChain": "yes",
        });
        let err = parse(&text.to_string()).unwrap_err();
        assert!(
            matches!(
                err,
                CredentialsError::Malformed {
                    field: "sendCertificateChain",
                    ..
                }
            ),
            "{err:?}"
        );
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
        assert!(!tenant_id_is_path_safe("a/b") && tenant_id_is_path_safe("contoso.onmicrosoft.com"));
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
