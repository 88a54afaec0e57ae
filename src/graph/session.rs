//! Graph with its state kept across warm invocations: the credentials cache, the token cache,
//! and the recovery rules (fresh token on 401/403, credentials re-read on `invalid_client`,
//! read-instead-of-repost after an unclear regenerate).

use std::marker::PhantomData;
use std::time::Duration;

use tokio::sync::Mutex;

use super::client::{GraphClient, Regenerated};
use super::entra::AccessToken;
use super::{EntraRefusal, GraphError};
use crate::credentials::{CredentialsCache, CredentialsProvider};
use crate::deadline::Deadline;
use crate::keys::{KeyAnswer, KeySource};
use crate::secrets::SecretStore;

/// A token with this much life or less left is replaced before use.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// `C` is where the credentials come from. It defaults to the credentials secret read from the
/// store `S`, so `GraphSession<S>` keeps meaning the Lambda's session; other providers (the CLI's
/// environment credentials) leave `S` unused.
pub struct GraphSession<S, C = CredentialsCache<S>> {
    client: GraphClient,
    credentials: C,
    token: Mutex<Option<AccessToken>>,
    store: PhantomData<fn() -> S>,
}

impl<S: SecretStore> GraphSession<S> {
    pub fn new(client: GraphClient, credentials: CredentialsCache<S>) -> Self {
        GraphSession::with_credentials(client, credentials)
    }
}

impl<S, C: CredentialsProvider> GraphSession<S, C> {
    pub fn with_credentials(client: GraphClient, credentials: C) -> Self {
        GraphSession {
            client,
            credentials,
            token: Mutex::new(None),
            store: PhantomData,
        }
    }

    /// Graph root plus API version: the only place the session sends its token.
    pub(super) fn graph_base(&self) -> &str {
        &self.client.endpoints().graph_base
    }

    /// Runs `call` with a usable token and, after a 401 or 403, once more with a fresh one.
    pub(super) async fn authorized<'a, T, F, Fut>(&'a self, deadline: Deadline, call: F) -> Result<T, GraphError>
    where
        F: Fn(&'a GraphClient, AccessToken) -> Fut,
        Fut: Future<Output = Result<T, GraphError>>,
    {
        let token = self.token(None, deadline).await?;
        match call(&self.client, token.clone()).await {
            Err(error) if worth_a_fresh_token(&error) => {
                let fresh = self.token(Some(&token), deadline).await?;
                call(&self.client, fresh).await
            }
            other => other,
        }
    }

    /// A usable token: the cached one, unless it is near expiry or is `rejected` (Graph refused
    /// it), in which case a new one. The lock makes concurrent callers share one refresh.
    async fn token(&self, rejected: Option<&AccessToken>, deadline: Deadline) -> Result<AccessToken, GraphError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            let was_rejected = rejected.is_some_and(|bad| bad.same_as(token));
            if !was_rejected && !token.expires_within(REFRESH_MARGIN) {
                return Ok(token.clone());
            }
        }
        let credentials = self.credentials.credentials(false, deadline).await?;
        let fresh = match self.client.token(&credentials, deadline).await {
            Err(GraphError::Entra {
                refusal: EntraRefusal::InvalidClient,
                ..
            }) => {
                tracing::warn!(
                    "Entra said invalid_client; re-reading the credentials secret once in case it was rotated"
                );
                let credentials = self.credentials.credentials(true, deadline).await?;
                self.client.token(&credentials, deadline).await?
            }
            other => other?,
        };
        *cached = Some(fresh.clone());
        Ok(fresh)
    }
}

/// A 401 means the token was revoked or expired early; a 403 may mean consent was granted after
/// the token was issued. Either way one fresh token is worth a try.
fn worth_a_fresh_token(error: &GraphError) -> bool {
    matches!(error, GraphError::Unauthorized { .. } | GraphError::Forbidden { .. })
}

impl<S, C: CredentialsProvider> KeySource for GraphSession<S, C> {
    async fn current_key(&self, deadline: Deadline) -> Result<KeyAnswer, GraphError> {
        let token = self.token(None, deadline).await?;
        match self.client.get_key(&token, deadline).await {
            Err(error) if worth_a_fresh_token(&error) => {
                let fresh = self.token(Some(&token), deadline).await?;
                self.client.get_key(&fresh, deadline).await
            }
            other => other,
        }
    }

    async fn regenerate_key(&self, deadline: Deadline) -> Result<KeyAnswer, GraphError> {
        let token = self.token(None, deadline).await?;
        let outcome = match self.client.regenerate_key(&token, deadline).await {
            Err(error) if worth_a_fresh_token(&error) => {
                let fresh = self.token(Some(&token), deadline).await?;
                self.client.regenerate_key(&fresh, deadline).await?
            }
            other => other?,
        };
        match outcome {
            Regenerated::Done(answer) => Ok(answer),
            Regenerated::Unknown(error) => {
                tracing::warn!(error = %error, "regenerate outcome unknown; reading the current key instead of posting again");
                self.current_key(deadline)
                    .await
                    .map_err(|read_error| GraphError::Ambiguous(Box::new(read_error)))
            }
        }
    }
}
