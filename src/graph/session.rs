//! Graph with its state kept across warm invocations: the credentials cache, the tenant's cloud,
//! the token cache, and the recovery rules (a fresh token on 401/403 and, when a 403 repeats, a
//! triage of it from the token's own `roles` claim; credentials re-read when Entra refuses them;
//! read-instead-of-repost after an unclear regenerate).
//!
//! No token storm (issue 22). A token is replaced a tenth of its life before it expires (at most
//! five minutes before: [`super::entra::refresh_margin`]), so even a five-minute token serves many
//! calls. A 403 fetches a fresh token at most once per token and endpoint within the policy's
//! `refusal_hold` (five minutes): when the fresh token is refused too, the session remembers that
//! this token was refused there, and later 403s with it are answered at once, until the token is
//! replaced for another reason (expiry, a 401) or the hold has passed. So an optional permission
//! the app lacks (the health issues' `SecurityIdentitiesHealth.Read.All`) costs one extra token
//! request per five minutes, not one per call, and an admin consent granted meanwhile is seen
//! within five minutes (a token carries the roles of when it was issued, so only a new one can). And when Entra answers a token request with
//! 429 and `Retry-After` (its answer to "acquiring a token on every request", MSAL's guidance),
//! no token request is sent until that time has passed: calls that need a new token fail at once
//! as throttled, with the time left, as MSAL's client throttling does.
//!
//! The tenant's cloud is settled once per cold start (and per tenant, should the credentials
//! secret change it). With `GRAPH_CLOUD=auto` it is discovered before the first token request and
//! nothing is sent anywhere until it is known: a failed discovery fails the call (503) and is tried
//! again by the next one. With an explicit cloud the tenant's OpenID configuration is fetched
//! alongside the first token request, so the check costs no latency; a document that names
//! another cloud refuses every call (the token obtained meanwhile is dropped unused), and a
//! document that cannot be fetched within [`CLOUD_CHECK_BUDGET`] is logged and the configured
//! cloud trusted, so the check can never hold the key path hostage.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::client::{GraphClient, Regenerated};
use super::entra::AccessToken;
use super::{Endpoint, Forbidden, GET_KEY, GraphError, REGENERATE_KEY, Upstream, UpstreamIds};
use crate::cloud::{Cloud, CloudChoice, CloudEndpoints, TenantCloud};
use crate::credentials::{AppCredentials, CredentialsProvider, GraphCredentials};
use crate::deadline::Deadline;
use crate::keys::{KeyAnswer, KeySource};
use crate::secrets::SecretStore;

/// The longest Entra's `Retry-After` holds token requests back: an hour, the bound MSAL.NET's
/// client throttling puts on it (`RetryAfterProvider.MaxRetryAfter`); a larger value is clamped.
pub const MAX_ENTRA_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The longest the check of an explicit cloud may take (it runs beside the token request).
pub const CLOUD_CHECK_BUDGET: Duration = Duration::from_secs(3);

/// What a Graph call needs: a token and the endpoints of the cloud it was issued for.
#[derive(Debug, Clone)]
pub(super) struct Ready {
    pub token: AccessToken,
    pub at: Arc<CloudEndpoints>,
}

/// What is known of a tenant's cloud.
#[derive(Debug, Clone)]
enum CloudVerdict {
    /// Discovered (auto) or confirmed by the document (explicit).
    Known(Cloud),
    /// An explicit cloud whose document could not be fetched: trusted, and not asked again.
    Unchecked(Cloud),
    /// An explicit cloud that the document contradicts.
    Contradicted { configured: Cloud, found: TenantCloud },
}

#[derive(Default)]
struct State {
    token: Option<Ready>,
    /// The endpoints that refused the cached token although it was fresh from a 403, and when:
    /// no new token is fetched for them until the token is replaced or the policy's
    /// `refusal_hold` has passed. Cleared with the token.
    refused: Vec<(Endpoint, Instant)>,
    /// Entra's `Retry-After` after a 429 to a token request: no token request before this.
    entra_not_before: Option<Instant>,
    /// The tenant the verdict is about, and the verdict.
    cloud: Option<(String, CloudVerdict)>,
}

/// `C` is where the credentials come from. It defaults to the Lambda's (the credentials secret
/// read from the store `S`, or the federated identity), so `GraphSession<S>` keeps meaning the
/// Lambda's session; other providers (the CLI's environment credentials) leave `S` unused.
pub struct GraphSession<S, C = AppCredentials<S>> {
    client: GraphClient,
    credentials: C,
    state: Mutex<State>,
    store: PhantomData<fn() -> S>,
}

impl<S: SecretStore> GraphSession<S> {
    pub fn new(client: GraphClient, credentials: AppCredentials<S>) -> Self {
        GraphSession::with_credentials(client, credentials)
    }
}

impl<S, C: CredentialsProvider> GraphSession<S, C> {
    pub fn with_credentials(client: GraphClient, credentials: C) -> Self {
        GraphSession {
            client,
            credentials,
            state: Mutex::new(State::default()),
            store: PhantomData,
        }
    }

    /// Graph root plus API version of the tenant's cloud: the only place the session sends its
    /// token. Settles the cloud (and fetches a token) if that has not happened yet.
    pub(super) async fn graph_base(&self, deadline: Deadline) -> Result<String, GraphError> {
        Ok(self.ready(None, deadline).await?.at.graph_base.clone())
    }

    /// Runs `call` with a usable token and, after a 401 or 403, once more with a fresh one. A 403
    /// that repeats is explained from the fresh token's roles and Graph's message, and remembered:
    /// a 403 with a token that was already refused fresh at `endpoint` is explained at once.
    pub(super) async fn authorized<'a, T, F, Fut>(
        &'a self,
        endpoint: Endpoint,
        deadline: Deadline,
        call: F,
    ) -> Result<T, GraphError>
    where
        F: Fn(&'a GraphClient, Ready) -> Fut,
        Fut: Future<Output = Result<T, GraphError>>,
    {
        let ready = self.ready(None, deadline).await?;
        let answer = call(&self.client, ready.clone()).await;
        let refused_before =
            matches!(answer, Err(GraphError::Forbidden { .. })) && self.refused_before(&ready.token, endpoint).await;
        match answer {
            // The token was fetched fresh and refused here already: another would be refused too.
            Err(GraphError::Forbidden { reason, code, ids }) if refused_before => Err(GraphError::Forbidden {
                reason: triage(reason, &ready.token, endpoint),
                code,
                ids,
            }),
            Err(error) if worth_a_fresh_token(&error) => {
                let fresh = self.ready(Some(&ready.token), deadline).await?;
                match call(&self.client, fresh.clone()).await {
                    Err(GraphError::Forbidden { reason, code, ids }) => {
                        self.remember_refusal(&fresh.token, endpoint).await;
                        Err(GraphError::Forbidden {
                            reason: triage(reason, &fresh.token, endpoint),
                            code,
                            ids,
                        })
                    }
                    other => other,
                }
            }
            other => other,
        }
    }

    /// Whether `token` is the cached one and was refused fresh at `endpoint` within the hold.
    async fn refused_before(&self, token: &AccessToken, endpoint: Endpoint) -> bool {
        let hold = self.client.policy().refusal_hold;
        let state = self.state.lock().await;
        let cached = state.token.as_ref().is_some_and(|ready| ready.token.same_as(token));
        cached
            && state
                .refused
                .iter()
                .any(|(refused, at)| *refused == endpoint && at.elapsed() < hold)
    }

    /// Remembers that `token`, fetched because of a refusal, was refused at `endpoint` too (from
    /// now); unless it is no longer the cached token.
    async fn remember_refusal(&self, token: &AccessToken, endpoint: Endpoint) {
        let mut state = self.state.lock().await;
        let cached = state.token.as_ref().is_some_and(|ready| ready.token.same_as(token));
        if cached {
            state.refused.retain(|(refused, _)| *refused != endpoint);
            state.refused.push((endpoint, Instant::now()));
        }
    }

    /// A usable token: the cached one, unless its refresh margin has begun or it is `rejected`
    /// (Graph refused it), in which case a new one. The lock makes concurrent callers share one
    /// refresh. While Entra's `Retry-After` lasts, no token is requested: the call fails as
    /// throttled.
    async fn ready(&self, rejected: Option<&AccessToken>, deadline: Deadline) -> Result<Ready, GraphError> {
        let mut state = self.state.lock().await;
        if let Some(ready) = state.token.as_ref() {
            let was_rejected = rejected.is_some_and(|bad| bad.same_as(&ready.token));
            if !was_rejected && !ready.token.needs_refresh() {
                return Ok(ready.clone());
            }
        }
        if let Some(left) = state
            .entra_not_before
            .and_then(|not_before| not_before.checked_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
        {
            return Err(GraphError::Throttled {
                upstream: Upstream::Entra,
                retry_after: Some(left),
                ids: UpstreamIds::default(),
            });
        }
        // Boxed: fetching a token (credentials from Secrets Manager or STS, discovery, Entra) is
        // a large future, and unboxed it would be part of every call's future, which is moved
        // by value up the stack on every warm GET (issue 22).
        let fetched = Box::pin(self.fetch(&mut state, deadline)).await;
        if let Err(GraphError::Throttled {
            upstream: Upstream::Entra,
            retry_after: Some(wait),
            ..
        }) = &fetched
        {
            let wait = (*wait).min(MAX_ENTRA_RETRY_AFTER);
            tracing::warn!(
                retry_after_s = wait.as_secs(),
                "Entra throttled the token request; no token request is sent until its Retry-After has passed"
            );
            state.entra_not_before = Some(Instant::now() + wait);
        }
        let fresh = fetched?;
        state.token = Some(fresh.clone());
        state.refused.clear();
        Ok(fresh)
    }

    /// Reads the credentials and gets a token; after a refusal that fresh credentials may cure,
    /// once more with the credentials secret read again.
    async fn fetch(&self, state: &mut State, deadline: Deadline) -> Result<Ready, GraphError> {
        let credentials = self.credentials.credentials(false, deadline).await?;
        match self.authorize(state, &credentials, deadline).await {
            Err(GraphError::Entra { refusal, .. }) if refusal.may_be_stale_credentials() => {
                tracing::warn!(
                    refusal = ?refusal,
                    "Entra refused the app's credentials; re-reading the credentials secret once in case they were rotated"
                );
                let credentials = self.credentials.credentials(true, deadline).await?;
                self.authorize(state, &credentials, deadline).await
            }
            other => other,
        }
    }

    /// Settles the tenant's cloud (see the module documentation) and gets a token for it.
    async fn authorize(
        &self,
        state: &mut State,
        credentials: &GraphCredentials,
        deadline: Deadline,
    ) -> Result<Ready, GraphError> {
        let tenant = credentials.tenant_id.as_str();
        let plan = self.client.endpoints();
        let verdict = state
            .cloud
            .as_ref()
            .filter(|(about, _)| about == tenant)
            .map(|(_, verdict)| verdict.clone());
        let cloud = match (verdict, plan.cloud) {
            (Some(CloudVerdict::Contradicted { configured, found }), _) => {
                return Err(GraphError::CloudMismatch {
                    configured: configured.name(),
                    found: Box::new(found),
                });
            }
            (Some(CloudVerdict::Known(cloud) | CloudVerdict::Unchecked(cloud)), _) => cloud,
            (None, CloudChoice::Auto) => {
                let found = self
                    .client
                    .discover(tenant, deadline)
                    .await
                    .map_err(|error| match error {
                        // Entra's word on the tenant (unknown, say) is an answer, not an outage.
                        GraphError::Entra { .. } => error,
                        other => GraphError::CloudUnknown(Box::new(other)),
                    })?;
                let Some(cloud) = found.cloud() else {
                    return Err(GraphError::CloudUnsupported { found: Box::new(found) });
                };
                tracing::info!(cloud = cloud.name(), document = %found, "the tenant's cloud was discovered");
                state.cloud = Some((tenant.to_owned(), CloudVerdict::Known(cloud)));
                cloud
            }
            (None, CloudChoice::Fixed(cloud)) => {
                let at = plan.for_cloud(cloud);
                let check_deadline = Deadline::after(deadline.remaining().min(CLOUD_CHECK_BUDGET));
                let (token, found) = tokio::join!(
                    self.client.token(&at, credentials, deadline),
                    self.client.discover(tenant, check_deadline)
                );
                let verdict = match found {
                    Ok(found) if found.cloud() == Some(cloud) => CloudVerdict::Known(cloud),
                    Ok(found) => {
                        tracing::error!(
                            configured = cloud.name(),
                            document = %found,
                            "the tenant's OpenID configuration contradicts GRAPH_CLOUD; refusing to call Graph"
                        );
                        CloudVerdict::Contradicted {
                            configured: cloud,
                            found,
                        }
                    }
                    Err(error) => {
                        tracing::warn!(
                            configured = cloud.name(),
                            error = %error,
                            "the tenant's cloud could not be checked against its OpenID configuration; trusting GRAPH_CLOUD"
                        );
                        CloudVerdict::Unchecked(cloud)
                    }
                };
                state.cloud = Some((tenant.to_owned(), verdict.clone()));
                if let CloudVerdict::Contradicted { configured, found } = verdict {
                    return Err(GraphError::CloudMismatch {
                        configured: configured.name(),
                        found: Box::new(found),
                    });
                }
                return Ok(Ready {
                    token: token?,
                    at: Arc::new(at),
                });
            }
        };
        let at = plan.for_cloud(cloud);
        let token = self.client.token(&at, credentials, deadline).await?;
        Ok(Ready {
            token,
            at: Arc::new(at),
        })
    }
}

/// A 401 means the token was revoked or expired early; a 403 may mean consent was granted after
/// the token was issued. Either way one fresh token is worth a try.
fn worth_a_fresh_token(error: &GraphError) -> bool {
    matches!(error, GraphError::Unauthorized { .. } | GraphError::Forbidden { .. })
}

/// Why a fresh token was refused: the token's roles say whether the app holds a permission the
/// endpoint accepts (the usual cause of a 403: none granted, or no admin consent); only when it
/// holds one is Graph's message consulted (tenant not onboarded to MDI).
fn triage(from_message: Forbidden, token: &AccessToken, endpoint: Endpoint) -> Forbidden {
    let roles = token.roles();
    let missing = Forbidden::MissingPermission {
        accepted: endpoint.roles,
    };
    let reason = match &roles {
        // Every permission the permission map accepts for the endpoint counts, and only those:
        // the map does not list ReadWrite.All for the sensor reads, so a token holding only that
        // one is refused there, while for the sensor candidates it is as good as Read.All.
        Some(roles) if !roles.iter().any(|role| endpoint.roles.contains(&role.as_str())) => missing,
        Some(_) => match from_message {
            Forbidden::TenantNotOnboarded => Forbidden::TenantNotOnboarded,
            _ => Forbidden::RoleHeldButRefused,
        },
        None => match from_message {
            Forbidden::MissingPermission { .. } => missing,
            other => other,
        },
    };
    tracing::warn!(reason = ?reason, token_roles = ?roles, "Graph refused a fresh token (403)");
    reason
}

impl<S, C: CredentialsProvider> KeySource for GraphSession<S, C> {
    async fn current_key(&self, deadline: Deadline) -> Result<KeyAnswer, GraphError> {
        self.authorized(GET_KEY, deadline, move |client, ready| async move {
            client.get_key(&ready.at, &ready.token, deadline).await
        })
        .await
    }

    async fn regenerate_key(&self, deadline: Deadline) -> Result<KeyAnswer, GraphError> {
        let outcome = self
            .authorized(REGENERATE_KEY, deadline, move |client, ready| async move {
                client.regenerate_key(&ready.at, &ready.token, deadline).await
            })
            .await?;
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use secrecy::SecretString;

    use super::*;
    use crate::graph::{
        GET_ACTIVATION_CONFIGURATION, HEALTH_READ_ROLE, HEALTH_READ_WRITE_ROLE, LIST_HEALTH_ISSUES,
        LIST_SENSOR_CANDIDATES, LIST_SENSORS, READ_ROLE, READ_WRITE_ROLE,
    };

    fn token_with(roles: &[&str]) -> AccessToken {
        let payload = serde_json::json!({ "aud": "https://graph.microsoft.com", "roles": roles });
        let token = format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(payload.to_string()));
        AccessToken::new(SecretString::from(token), Duration::from_secs(60))
    }

    fn missing(endpoint: Endpoint) -> Forbidden {
        Forbidden::MissingPermission {
            accepted: endpoint.roles,
        }
    }

    #[test]
    fn a_token_without_the_role_is_a_missing_permission_whatever_graph_says() {
        for message_says in [Forbidden::TenantNotOnboarded, Forbidden::Unknown] {
            assert_eq!(triage(message_says, &token_with(&[]), GET_KEY), missing(GET_KEY));
        }
        assert_eq!(
            triage(Forbidden::Unknown, &token_with(&[READ_ROLE]), GET_KEY),
            Forbidden::MissingPermission {
                accepted: &[READ_WRITE_ROLE]
            },
            "Read.All does not do for the key"
        );
        assert_eq!(
            triage(Forbidden::Unknown, &token_with(&[READ_WRITE_ROLE]), LIST_SENSORS),
            Forbidden::MissingPermission { accepted: &[READ_ROLE] },
            "the permission map lists only Read.All for the sensor reads"
        );
        assert_eq!(
            triage(Forbidden::Unknown, &token_with(&[READ_ROLE]), LIST_HEALTH_ISSUES),
            Forbidden::MissingPermission {
                accepted: &[HEALTH_READ_ROLE, HEALTH_READ_WRITE_ROLE]
            },
            "the least privileged is named, and every accepted one carried"
        );
    }

    #[test]
    fn a_token_with_any_permission_the_map_accepts_is_not_told_to_grant_the_least_privileged() {
        for (held, endpoint) in [
            (READ_WRITE_ROLE, LIST_SENSOR_CANDIDATES),
            (READ_WRITE_ROLE, GET_ACTIVATION_CONFIGURATION),
            (HEALTH_READ_WRITE_ROLE, LIST_HEALTH_ISSUES),
            (READ_ROLE, LIST_SENSOR_CANDIDATES),
        ] {
            assert_eq!(
                triage(missing(endpoint), &token_with(&[held]), endpoint),
                Forbidden::RoleHeldButRefused,
                "{held} for {}",
                endpoint.path
            );
        }
    }

    #[test]
    fn a_token_with_the_role_is_not_onboarded_or_unexplained() {
        let holder = token_with(&[READ_WRITE_ROLE]);
        assert_eq!(
            triage(Forbidden::TenantNotOnboarded, &holder, GET_KEY),
            Forbidden::TenantNotOnboarded
        );
        assert_eq!(
            triage(missing(GET_KEY), &holder, GET_KEY),
            Forbidden::RoleHeldButRefused
        );
        assert_eq!(
            triage(Forbidden::Unknown, &token_with(&[READ_ROLE]), LIST_SENSORS),
            Forbidden::RoleHeldButRefused
        );
    }

    #[test]
    fn an_unreadable_token_leaves_the_message_to_decide() {
        let opaque = AccessToken::new(SecretString::from("opaque"), Duration::from_secs(60));
        assert_eq!(triage(missing(GET_KEY), &opaque, LIST_SENSORS), missing(LIST_SENSORS));
        assert_eq!(
            triage(Forbidden::TenantNotOnboarded, &opaque, GET_KEY),
            Forbidden::TenantNotOnboarded
        );
    }
}
