//! The composition root: builds, once per cold start, everything an invocation uses.

use std::sync::Arc;

use crate::access::AccessPolicy;
use crate::config::{Config, GraphAuth};
use crate::credentials::{AppCredentials, ClientCredential, CredentialsCache, GraphCredentials, StaticCredentials};
use crate::door::Door;
use crate::federation::WebIdentitySource;
use crate::graph::{GraphClient, GraphSession, RetryPolicy};
use crate::keys::{KeyService, KeySource};
use crate::rotation::{Claims, Rotator};
use crate::secrets::SecretStore;

/// Everything an invocation needs: Graph (shared by the key service and the sensor reads), the
/// key service over Graph and the store, the allow-lists, the rotator, and the door this function
/// serves.
pub struct App<K, S> {
    pub graph: Arc<K>,
    pub keys: KeyService<Arc<K>, S>,
    pub access: AccessPolicy,
    pub rotator: Rotator,
    pub door: Door,
}

/// Why the app could not be wired.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("GRAPH_AUTH=aws-federation needs an STS client, and none was given")]
    NoWebIdentitySource,
}

impl<K: KeySource, S: SecretStore> App<K, S> {
    /// `key_secret_id`: where the key service stores the key, if anywhere; `door`: which
    /// invocations the handler serves.
    pub fn new(graph: K, store: S, key_secret_id: Option<String>, access: AccessPolicy, door: Door) -> Self {
        let graph = Arc::new(graph);
        App {
            keys: KeyService::new(Arc::clone(&graph), store, key_secret_id),
            graph,
            access,
            rotator: Rotator::default(),
            door,
        }
    }
}

impl<S: SecretStore + Clone> App<GraphSession<S>, S> {
    /// Wires Graph, the credentials (the cached credentials secret, or the federated identity
    /// from `web_identity`, which only `GRAPH_AUTH=aws-federation` uses) and the key service over
    /// one secret store.
    pub fn from_config(
        config: &Config,
        store: S,
        web_identity: Option<Arc<dyn WebIdentitySource>>,
        retry: RetryPolicy,
    ) -> Result<Self, AppError> {
        let client = GraphClient::new(config.graph_endpoints(), retry)?;
        let credentials = match &config.graph_auth {
            GraphAuth::Secret { credentials_secret_id } => AppCredentials::Secret(CredentialsCache::new(
                store.clone(),
                credentials_secret_id.clone(),
                config.credentials_ttl,
            )),
            GraphAuth::AwsFederation { tenant_id, client_id } => {
                let source = web_identity.ok_or(AppError::NoWebIdentitySource)?;
                AppCredentials::Fixed(StaticCredentials::new(GraphCredentials {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    credential: ClientCredential::Federated(source),
                }))
            }
        };
        let access = AccessPolicy {
            readers: config.readers.clone(),
            rotators: config.rotators.clone(),
            activators: config.activators.clone(),
        };
        let mut app = App::new(
            GraphSession::new(client, credentials),
            store,
            config.key_secret_id.clone(),
            access,
            config.door,
        );
        if let Some(claims) = &config.rotation_claims_secret_id {
            app.rotator = Rotator::with_claims(Claims::new(claims.clone()));
        }
        Ok(app)
    }
}
