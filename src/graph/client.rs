//! Single Graph and Entra calls against injected base URLs: the building block that
//! [`GraphSession`](super::GraphSession) wraps with caches.

use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::Deserialize;
use tokio::time::Instant;

use super::entra::{self, AccessToken};
use super::retry::{NoAnswer, Replay, RetryPolicy, retry_after};
use super::{Forbidden, GraphError, Unavailable, Upstream, UpstreamIds};
use crate::config::Config;
use crate::credentials::GraphCredentials;
use crate::deadline::Deadline;
use crate::keys::{AccessKey, KeyAnswer};

const USER_AGENT: &str = concat!("mdi-sensor-key/", env!("CARGO_PKG_VERSION"));
const GET_KEY: &str = "security/identities/sensors/getDeploymentAccessKey";
const REGENERATE_KEY: &str = "security/identities/sensors/regenerateDeploymentAccessKey";

/// Where the calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEndpoints {
    /// Graph root plus API version, e.g. `https://graph.microsoft.com/beta`.
    pub graph_base: String,
    /// Entra authority, e.g. `https://login.microsoftonline.com`.
    pub authority: String,
    /// The token scope, e.g. `https://graph.microsoft.com/.default`.
    pub scope: String,
}

impl GraphEndpoints {
    pub fn from_config(config: &Config) -> Self {
        GraphEndpoints {
            graph_base: format!("{}/{}", config.graph_endpoint, config.api_version.path_segment()),
            authority: config.authority_host.clone(),
            scope: config.scope(),
        }
    }
}

/// The outcome of a regenerate request.
#[derive(Debug)]
pub(crate) enum Regenerated {
    Done(KeyAnswer),
    /// The request may or may not have taken effect: read the key, never post again.
    Unknown(GraphError),
}

/// Graph and Entra over one shared connection pool.
#[derive(Debug, Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    endpoints: GraphEndpoints,
    policy: RetryPolicy,
}

impl GraphClient {
    /// Builds the HTTP client once; connections and TLS sessions are then reused across warm
    /// invocations.
    pub fn new(endpoints: GraphEndpoints, policy: RetryPolicy) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(3))
            .pool_idle_timeout(Duration::from_secs(60))
            .https_only(false)
            .build()?;
        Ok(GraphClient {
            http,
            endpoints,
            policy,
        })
    }

    pub fn endpoints(&self) -> &GraphEndpoints {
        &self.endpoints
    }

    pub async fn token(&self, credentials: &GraphCredentials, deadline: Deadline) -> Result<AccessToken, GraphError> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.endpoints.authority, credentials.tenant_id
        );
        entra::request_token(
            &self.http,
            &self.policy,
            &url,
            &self.endpoints.scope,
            credentials,
            deadline,
        )
        .await
    }

    pub async fn get_key(&self, token: &AccessToken, deadline: Deadline) -> Result<KeyAnswer, GraphError> {
        let answer = self.call(Method::GET, GET_KEY, token, Replay::Safe, deadline).await?;
        answer.into_key()
    }

    pub(crate) async fn regenerate_key(
        &self,
        token: &AccessToken,
        deadline: Deadline,
    ) -> Result<Regenerated, GraphError> {
        match self
            .call(
                Method::POST,
                REGENERATE_KEY,
                token,
                Replay::OnlyIfNotProcessed,
                deadline,
            )
            .await
        {
            Ok(answer) => match answer.into_key() {
                Ok(key) => Ok(Regenerated::Done(key)),
                // A 200 with an unreadable body was still processed.
                Err(unreadable) => Ok(Regenerated::Unknown(unreadable)),
            },
            Err(error) if outcome_unknown(&error) => Ok(Regenerated::Unknown(error)),
            Err(error) => Err(error),
        }
    }

    /// A read at `url`, which the caller has checked lies under the Graph base; `operation`
    /// names it in the logs (a page URL's query is not worth logging).
    pub(super) async fn get_at(
        &self,
        url: &str,
        operation: &str,
        token: &AccessToken,
        deadline: Deadline,
    ) -> Result<GraphAnswer, GraphError> {
        self.call_url(Method::GET, url, operation, token, Replay::Safe, deadline)
            .await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &AccessToken,
        replay: Replay,
        deadline: Deadline,
    ) -> Result<GraphAnswer, GraphError> {
        let url = format!("{}/{}", self.endpoints.graph_base, path);
        self.call_url(method, &url, path, token, replay, deadline).await
    }

    async fn call_url(
        &self,
        method: Method,
        url: &str,
        path: &str,
        token: &AccessToken,
        replay: Replay,
        deadline: Deadline,
    ) -> Result<GraphAnswer, GraphError> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let sent = self
            .policy
            .send(Upstream::Graph, replay, deadline, || {
                self.http
                    .request(method.clone(), url)
                    .bearer_auth(token.secret())
                    .header("Accept", "application/json")
                    .header("client-request-id", &client_request_id)
            })
            .await;
        let mut ids = UpstreamIds {
            client_request_id: Some(client_request_id.clone()),
            ..Default::default()
        };
        let response = match sent {
            Ok(response) => response,
            Err(failure) => {
                tracing::warn!(upstream = "graph", operation = path, client_request_id, failure = ?failure, "Graph call got no answer");
                return Err(graph_no_answer(failure, ids));
            }
        };
        let status = response.status();
        crate::metrics::graph_latency(started.elapsed());
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        ids.request_id = header("request-id");
        let date = header("date");
        let retry_after = retry_after(response.headers(), SystemTime::now());
        tracing::info!(
            upstream = "graph",
            operation = path,
            status = status.as_u16(),
            graph_request_id = ids.request_id.as_deref().unwrap_or(""),
            client_request_id,
            graph_date = date.as_deref().unwrap_or(""),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Graph call answered"
        );
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(_) => {
                return Err(GraphError::Timeout {
                    upstream: Upstream::Graph,
                    ids,
                });
            }
        };
        if status == StatusCode::OK {
            return Ok(GraphAnswer {
                body: body.to_vec(),
                ids,
            });
        }
        Err(graph_failure(status, &body, retry_after, ids))
    }
}

pub(super) struct GraphAnswer {
    pub(super) body: Vec<u8>,
    pub(super) ids: UpstreamIds,
}

impl GraphAnswer {
    fn into_key(self) -> Result<KeyAnswer, GraphError> {
        match extract_key(&self.body) {
            Ok(key) => Ok(KeyAnswer {
                key,
                graph_request_id: self.ids.request_id,
            }),
            Err(reason) => Err(GraphError::BadResponse {
                upstream: Upstream::Graph,
                reason,
                ids: self.ids,
            }),
        }
    }
}

/// The key fields Microsoft documents: `sensorDeploymentAccessKey` (the API pages) and
/// `deploymentAccessKey` (the resource schema).
#[derive(Deserialize, Default)]
struct KeyFields {
    #[serde(rename = "sensorDeploymentAccessKey")]
    sensor_deployment_access_key: Option<SecretString>,
    #[serde(rename = "deploymentAccessKey")]
    deployment_access_key: Option<SecretString>,
}

#[derive(Deserialize)]
struct KeyBody {
    value: Option<KeyFields>,
    #[serde(flatten)]
    bare: KeyFields,
}

/// Finds the key in any documented shape, wrapped in `value` or not. Parse errors are replaced
/// by fixed reasons: serde's messages can quote the input, and the input holds the key.
pub(crate) fn extract_key(body: &[u8]) -> Result<AccessKey, &'static str> {
    let parsed: KeyBody =
        serde_json::from_slice(body).map_err(|_| "the key response is not the JSON object expected")?;
    let fields = [parsed.value.unwrap_or_default(), parsed.bare];
    fields
        .into_iter()
        .flat_map(|f| [f.sensor_deployment_access_key, f.deployment_access_key])
        .flatten()
        .map(AccessKey::new)
        .find(|key| !key.is_empty())
        .ok_or("the key response has no sensorDeploymentAccessKey or deploymentAccessKey")
}

#[derive(Deserialize, Default)]
struct GraphErrorBody {
    #[serde(default)]
    error: GraphErrorDetail,
}

#[derive(Deserialize, Default)]
struct GraphErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Graph's error code, only when it looks like one: codes are echoed to callers, messages never.
fn vetted_code(code: &str) -> String {
    let plausible = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if plausible {
        code.to_owned()
    } else {
        "unknown".to_owned()
    }
}

fn graph_failure(status: StatusCode, body: &[u8], retry_after: Option<Duration>, ids: UpstreamIds) -> GraphError {
    let detail = serde_json::from_slice::<GraphErrorBody>(body).unwrap_or_default().error;
    let code = vetted_code(&detail.code);
    let upstream = Upstream::Graph;
    match status.as_u16() {
        401 => GraphError::Unauthorized { code, ids },
        403 => GraphError::Forbidden {
            reason: classify_forbidden(&detail.message),
            code,
            ids,
        },
        429 => GraphError::Throttled {
            upstream,
            retry_after,
            ids,
        },
        503 if retry_after.is_some() => GraphError::Throttled {
            upstream,
            retry_after,
            ids,
        },
        504 => GraphError::Timeout { upstream, ids },
        status @ 500..=599 => GraphError::Unavailable {
            upstream,
            cause: Unavailable::Status(status),
            ids,
        },
        status => GraphError::Rejected {
            upstream,
            status,
            code,
            ids,
        },
    }
}

fn classify_forbidden(message: &str) -> Forbidden {
    let message = message.to_ascii_lowercase();
    if message.contains("role") || message.contains("permission") || message.contains("consent") {
        Forbidden::MissingPermission
    } else if message.contains("onboard") || message.contains("workspace") || message.contains("provision") {
        Forbidden::TenantNotOnboarded
    } else {
        Forbidden::Unknown
    }
}

fn graph_no_answer(failure: NoAnswer, ids: UpstreamIds) -> GraphError {
    let upstream = Upstream::Graph;
    match failure {
        NoAnswer::Timeout => GraphError::Timeout { upstream, ids },
        NoAnswer::Unreachable => GraphError::Unavailable {
            upstream,
            cause: Unavailable::Unreachable,
            ids,
        },
        NoAnswer::Lost => GraphError::Unavailable {
            upstream,
            cause: Unavailable::ConnectionLost,
            ids,
        },
    }
}

/// After these, a regenerate may have happened: 504, a timeout, a lost connection, a 5xx other
/// than 503 (503 means "not processed").
fn outcome_unknown(error: &GraphError) -> bool {
    match error {
        GraphError::Timeout { .. } => true,
        GraphError::Unavailable { cause, .. } => !matches!(cause, Unavailable::Unreachable | Unavailable::Status(503)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn key_of(body: &str) -> Result<String, &'static str> {
        extract_key(body.as_bytes()).map(|key| key.expose().expose_secret().to_owned())
    }

    #[test]
    fn the_key_is_found_in_every_documented_shape() {
        assert_eq!(
            key_of(r#"{"value":{"@odata.type":"x","sensorDeploymentAccessKey":"k1"}}"#).unwrap(),
            "k1"
        );
        assert_eq!(key_of(r#"{"value":{"deploymentAccessKey":"k2"}}"#).unwrap(), "k2");
        assert_eq!(
            key_of(r#"{"@odata.context":"c","sensorDeploymentAccessKey":"k3"}"#).unwrap(),
            "k3"
        );
        assert_eq!(key_of(r#"{"deploymentAccessKey":"k4"}"#).unwrap(), "k4");
    }

    #[test]
    fn anything_else_is_a_clear_error_that_does_not_quote_the_body() {
        for body in [
            r#"{"value":{"somethingElse":1}}"#,
            r#"{"value":"secret-in-wrong-place"}"#,
            r#"{"sensorDeploymentAccessKey":""}"#,
            r#"{"sensorDeploymentAccessKey":42}"#,
            "<html>secret-in-wrong-place</html>",
            r#"{"value":{"sensorDeploymentAccessKey":"trunc"#,
        ] {
            let reason = key_of(body).unwrap_err();
            assert!(!reason.contains("secret-in-wrong-place"), "{body}: {reason}");
        }
    }

    #[test]
    fn forbidden_messages_are_told_apart() {
        assert_eq!(
            classify_forbidden(
                "Missing application roles. API required roles: SecurityIdentitiesSensors.ReadWrite.All."
            ),
            Forbidden::MissingPermission
        );
        assert_eq!(
            classify_forbidden("The tenant is not onboarded to Microsoft Defender for Identity"),
            Forbidden::TenantNotOnboarded
        );
        assert_eq!(classify_forbidden("Nope"), Forbidden::Unknown);
    }

    #[test]
    fn only_plausible_error_codes_are_kept() {
        assert_eq!(vetted_code("TooManyRequests"), "TooManyRequests");
        assert_eq!(vetted_code("<script>"), "unknown");
        assert_eq!(vetted_code(""), "unknown");
    }

    #[test]
    fn a_regenerate_outcome_is_unknown_only_when_it_may_have_been_processed() {
        let ids = UpstreamIds::default;
        let upstream = Upstream::Graph;
        assert!(outcome_unknown(&GraphError::Timeout { upstream, ids: ids() }));
        let unavailable = |cause| GraphError::Unavailable {
            upstream,
            cause,
            ids: ids(),
        };
        assert!(outcome_unknown(&unavailable(Unavailable::Status(502))));
        assert!(outcome_unknown(&unavailable(Unavailable::ConnectionLost)));
        assert!(!outcome_unknown(&unavailable(Unavailable::Status(503))));
        assert!(!outcome_unknown(&unavailable(Unavailable::Unreachable)));
        assert!(!outcome_unknown(&GraphError::Throttled {
            upstream,
            retry_after: None,
            ids: ids()
        }));
    }
}
