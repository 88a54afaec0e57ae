//! The composition root: builds, once per cold start, everything an invocation uses.

use crate::access::AccessPolicy;
use crate::config::Config;
use crate::credentials::CredentialsCache;
use crate::graph::{GraphClient, GraphEndpoints, GraphSession, RetryPolicy};
use crate::keys::{KeyService, KeySource};
use crate::rotation::Rotator;
use crate::secrets::SecretStore;

/// Everything an invocation needs.
pub struct App<K, S> {
    pub keys: KeyService<K, S>,
    pub access: AccessPolicy,
    pub rotator: Rotator,
}

impl<K: KeySource, S: SecretStore> App<K, S> {
    pub fn new(keys: KeyService<K, S>, access: AccessPolicy) -> Self {
        App {
            keys,
            access,
            rotator: Rotator::default(),
        }
    }
}

impl<S: SecretStore + Clone> App<GraphSession<S>, S> {
    /// Wires Graph, the credentials cache and the key service over one secret store.
    pub fn from_config(config: &Config, store: S, retry: RetryPolicy) -> Result<Self, reqwest::Error> {
        let client = GraphClient::new(GraphEndpoints::from_config(config), retry)?;
        let credentials = CredentialsCache::new(
            store.clone(),
            config.credentials_secret_id.clone(),
            config.credentials_ttl,
        );
        let keys = KeyService::new(
            GraphSession::new(client, credentials),
            store,
            config.key_secret_id.clone(),
        );
        let access = AccessPolicy {
            readers: config.readers.clone(),
            rotators: config.rotators.clone(),
        };
        Ok(App::new(keys, access))
    }
}
