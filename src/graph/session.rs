//! Graph with its state kept across warm invocations: the credentials cache, the token cache,
//! and the recovery rules (fresh token on 401/403, credentials re-read on `invalid_client`,
//! read-instead-of-repost after an unclear regenerate).

use std::time::Duration;

use tokio::sync::Mutex;

use super::client::{GraphClient, Regenerated};
use super::entra::AccessToken;
use super::{EntraRefusal, GraphError};
use crate::credentials::CredentialsCache;
use crate::deadline::Deadline;
use crate::keys::{KeyAnswer, KeySource};
use crate::secrets::SecretStore;

/// A token with this much life or less left is replaced before use.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

pub struct GraphSession<S> {
    client: GraphClient,
    credentials: CredentialsCache<S>,
    token: Mutex<Option<AccessToken>>,
}

impl<S: SecretStore> GraphSession<S> {
    pub fn new(client: GraphClient, credentials: CredentialsCache<S>) -> Self {
        GraphSession {
            client,
            credentials,
            token: Mutex::new(None),
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
        let credentials = self.credentials.get(false, deadline).await?;
        let fresh = match self.client.token(&credentials, deadline).await {
            Err(GraphError::Entra {
                refusal: EntraRefusal::InvalidClient,
                ..
            }) => {
                tracing::warn!(
                    "Entra said invalid_client; re-reading the credentials secret once in case it was rotated"
                );
                let credentials = self.credentials.get(true, deadline).await?;
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

impl<S: SecretStore> KeySource for GraphSession<S> {
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
