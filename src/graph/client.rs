//! Single Graph and Entra calls against the hosts of one cloud: the building block that
//! [`GraphSession`](super::GraphSession) wraps with caches.
//!
//! The bearer token goes to the cloud's Graph base and nowhere else: every Graph call checks its
//! URL against it before anything is sent (a checked invariant, not a convention of callers).

use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode, Url};
use secrecy::SecretString;
use serde::Deserialize;
use tokio::time::Instant;

use super::cloud;
use super::entra::{self, AccessToken};
use super::retry::{NoAnswer, Replay, RetryPolicy, retry_after};
use super::untrusted::{self, Cap, vetted_code, vetted_id};
use super::{Endpoint, Forbidden, GET_KEY, GraphError, REGENERATE_KEY, Schema, Unavailable, Upstream, UpstreamIds};
use crate::cloud::{Cloud, CloudEndpoints, GraphEndpoints, TenantCloud};
use crate::credentials::GraphCredentials;
use crate::deadline::Deadline;
use crate::keys::{AccessKey, KeyAnswer};

const USER_AGENT: &str = concat!("mdi-sensor-key/", env!("CARGO_PKG_VERSION"));

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
    /// Each cloud's Graph base (global, US Gov, DoD), parsed once ([`CloudEndpoints::base_url`]).
    graph_bases: [Option<Url>; 3],
    /// Each cloud's key URL (the warm GET's one call), parsed and checked once.
    key_urls: [Option<Url>; 3],
}

const CLOUDS: [Cloud; 3] = [Cloud::Global, Cloud::UsGov, Cloud::Dod];

/// `cloud`'s place in [`CLOUDS`].
fn index(cloud: Cloud) -> usize {
    match cloud {
        Cloud::Global => 0,
        Cloud::UsGov => 1,
        Cloud::Dod => 2,
    }
}

impl GraphClient {
    /// Builds the HTTP client once; connections and TLS sessions are then reused across warm
    /// invocations.
    pub fn new(endpoints: GraphEndpoints, policy: RetryPolicy) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(3))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(false)
            .tls_backend_preconfigured(crate::tls::client_config())
            .build()?;
        Ok(GraphClient {
            http,
            policy,
            graph_bases: CLOUDS.map(|cloud| endpoints.for_cloud(cloud).base_url()),
            key_urls: CLOUDS.map(|cloud| {
                let at = endpoints.for_cloud(cloud);
                let url = Url::parse(&format!("{}/{}", at.graph_base, GET_KEY.path)).ok()?;
                let base = at.base_url()?;
                crate::cloud::under(&base, &url).then_some(url)
            }),
            endpoints,
        })
    }

    /// Whether `target` lies under `cloud`'s Graph base (the configured `GRAPH_ENDPOINT` or the
    /// cloud's root).
    fn in_graph_root(&self, cloud: Cloud, target: &Url) -> bool {
        self.graph_bases[index(cloud)]
            .as_ref()
            .is_some_and(|base| crate::cloud::under(base, target))
    }

    /// `url` parsed, when it lies under `cloud`'s Graph base; the key URL from its cache.
    fn graph_target(&self, cloud: Cloud, url: &str) -> Option<Url> {
        match &self.key_urls[index(cloud)] {
            Some(key_url) if key_url.as_str() == url => Some(key_url.clone()),
            _ => Url::parse(url).ok().filter(|target| self.in_graph_root(cloud, target)),
        }
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub fn endpoints(&self) -> &GraphEndpoints {
        &self.endpoints
    }

    /// A token for `at`'s cloud, from `at`'s authority.
    pub async fn token(
        &self,
        at: &CloudEndpoints,
        credentials: &GraphCredentials,
        deadline: Deadline,
    ) -> Result<AccessToken, GraphError> {
        let url = at.token_url(&credentials.tenant_id);
        let exchange_audience = at.cloud.token_exchange_audience();
        entra::request_token(
            &self.http,
            &self.policy,
            &url,
            &at.scope,
            exchange_audience,
            credentials,
            deadline,
        )
        .await
    }

    /// What the tenant's OpenID configuration says about its cloud.
    pub async fn discover(&self, tenant_id: &str, deadline: Deadline) -> Result<TenantCloud, GraphError> {
        cloud::discover(
            &self.http,
            &self.policy,
            self.endpoints.discovery_authority(),
            tenant_id,
            deadline,
        )
        .await
    }

    pub async fn get_key(
        &self,
        at: &CloudEndpoints,
        token: &AccessToken,
        deadline: Deadline,
    ) -> Result<KeyAnswer, GraphError> {
        let answer = self.call(at, GET_KEY, token, Replay::Safe, deadline).await?;
        answer.into_key()
    }

    pub(crate) async fn regenerate_key(
        &self,
        at: &CloudEndpoints,
        token: &AccessToken,
        deadline: Deadline,
    ) -> Result<Regenerated, GraphError> {
        match self
            .call(at, REGENERATE_KEY, token, Replay::OnlyIfNotProcessed, deadline)
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

    /// A read of `endpoint` at `url` (a page of it, say), which must lie under `at`'s Graph base;
    /// the endpoint's path names it in the logs (a page URL's query is not worth logging). Its
    /// body is read up to `cap`.
    pub(super) async fn get_at(
        &self,
        at: &CloudEndpoints,
        url: &str,
        endpoint: Endpoint,
        token: &AccessToken,
        cap: Cap,
        deadline: Deadline,
    ) -> Result<GraphAnswer, GraphError> {
        self.call_url(at, Method::GET, url, endpoint, token, Replay::Safe, cap, None, deadline)
            .await
    }

    /// A write to `endpoint` under `at`'s Graph base with a JSON `body` (an action's parameters,
    /// an update), sent with `method` (the endpoint's own, or another reading of it); `200 OK`,
    /// `201 Created` and `204 No Content` are all success, the body of each read up to the small
    /// cap.
    async fn call(
        &self,
        at: &CloudEndpoints,
        endpoint: Endpoint,
        token: &AccessToken,
        replay: Replay,
        deadline: Deadline,
    ) -> Result<GraphAnswer, GraphError> {
        let method = Method::from_bytes(endpoint.method.as_bytes()).unwrap_or(Method::GET);
        self.send(at, endpoint, method, token, None, replay, deadline).await
    }

    /// `endpoint` under the cloud's Graph base, with `body` when it has one (JSON), and an answer
    /// of at most [`untrusted::SMALL`].
    #[expect(
        clippy::too_many_arguments,
        reason = "one call's whole description; a struct would only be unpacked again here"
    )]
    pub(super) async fn send(
        &self,
        at: &CloudEndpoints,
        endpoint: Endpoint,
        method: Method,
        token: &AccessToken,
        body: Option<&[u8]>,
        replay: Replay,
        deadline: Deadline,
    ) -> Result<GraphAnswer, GraphError> {
        let url = format!("{}/{}", at.graph_base, endpoint.path);
        self.call_url(
            at,
            method,
            &url,
            endpoint,
            token,
            replay,
            untrusted::SMALL,
            body,
            deadline,
        )
        .await
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call's whole description; a struct would only be unpacked again here"
    )]
    async fn call_url(
        &self,
        at: &CloudEndpoints,
        method: Method,
        url: &str,
        endpoint: Endpoint,
        token: &AccessToken,
        replay: Replay,
        cap: Cap,
        json_body: Option<&[u8]>,
        deadline: Deadline,
    ) -> Result<GraphAnswer, GraphError> {
        let path = endpoint.path;
        // The token may only go to the cloud's Graph root (or the configured GRAPH_ENDPOINT). The
        // allowed base is derived here from the client's own configuration, never taken from the
        // caller, so no caller can widen it.
        // Parsed once: the parsed URL is what is checked and what reqwest is given.
        let Some(target) = self.graph_target(at.cloud, url) else {
            tracing::error!(
                operation = path,
                "refused to send the token outside the configured Graph root"
            );
            return Err(GraphError::OutsideGraphRoot {
                operation: path.to_owned(),
            });
        };
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let sent = self
            .policy
            .send(Upstream::Graph, replay, deadline, || {
                let request = self.http.request(method.clone(), target.clone());
                let request = match token.authorization() {
                    Some(authorization) => request.header(reqwest::header::AUTHORIZATION, authorization.clone()),
                    None => request.bearer_auth(token.secret()),
                };
                let request = request
                    .header("Accept", "application/json")
                    .header("client-request-id", &client_request_id);
                match json_body {
                    Some(body) => request.header("Content-Type", "application/json").body(body.to_vec()),
                    None => request,
                }
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
        ids.request_id = vetted_id(header("request-id"));
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
        if let Some(refused) = untrusted::refuse_redirect(status, Upstream::Graph, ids.clone()) {
            return Err(refused);
        }
        // An error body only feeds the code, the 403 triage and the unknown-segment check: the small
        // cap does for it. A write may answer 201 Created or 204 No Content (an update) as well as
        // 200 (an action without a result).
        let succeeded = status == StatusCode::OK
            || (json_body.is_some() && matches!(status, StatusCode::CREATED | StatusCode::NO_CONTENT));
        let cap = if succeeded { cap } else { untrusted::SMALL };
        let body = match untrusted::read_capped(response, cap).await {
            Ok(body) => body,
            Err(error) => return Err(untrusted::body_error(error, cap, Upstream::Graph, ids)),
        };
        if succeeded {
            return Ok(GraphAnswer { body, ids });
        }
        let schema = Schema::of(at.cloud, self.endpoints.api_version);
        Err(graph_failure(schema, at, endpoint, status, &body, retry_after, ids))
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

fn graph_failure(
    schema: Schema,
    at: &CloudEndpoints,
    endpoint: Endpoint,
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
    ids: UpstreamIds,
) -> GraphError {
    let detail = serde_json::from_slice::<GraphErrorBody>(body).unwrap_or_default().error;
    let code = vetted_code(&detail.code);
    let upstream = Upstream::Graph;
    match status.as_u16() {
        // A 400 or 404 says the API is not there only when the contract snapshot publishes no such
        // endpoint for this cloud and version, or when Graph itself says it knows no segment of
        // the endpoint's path; anything else (a stale id in an action's body, say) is a refusal
        // of this request by an API that exists.
        status @ (400 | 404) if !endpoint.published_in(schema) || names_unknown_segment(endpoint, &detail.message) => {
            GraphError::NotInCloud {
                cloud: at.cloud,
                status,
                code,
                ids,
            }
        }
        401 => GraphError::Unauthorized { code, ids },
        403 => GraphError::Forbidden {
            reason: classify_forbidden(&detail.message, endpoint),
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

/// Whether Graph's message is its answer for a path it does not know, "Resource not found for the
/// segment '<segment>'." (microsoftgraph/msgraph-sdk-dotnet#1779, msgraph-beta-sdk-python#764),
/// naming a segment of `endpoint`'s own path: then the API is missing from this cloud or version.
fn names_unknown_segment(endpoint: Endpoint, message: &str) -> bool {
    message
        .strip_prefix("Resource not found for the segment '")
        .and_then(|rest| rest.strip_suffix("'."))
        .is_some_and(|segment| endpoint.path.split('/').any(|part| part.eq_ignore_ascii_case(segment)))
}

/// The 403 reason from Graph's message alone; the session refines it with the token's roles.
fn classify_forbidden(message: &str, endpoint: Endpoint) -> Forbidden {
    let message = message.to_ascii_lowercase();
    if message.contains("role") || message.contains("permission") || message.contains("consent") {
        Forbidden::MissingPermission {
            accepted: endpoint.roles,
        }
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
        use crate::graph::{LIST_HEALTH_ISSUES, READ_WRITE_ROLE};
        assert_eq!(
            classify_forbidden(
                "Missing application roles. API required roles: SecurityIdentitiesSensors.ReadWrite.All.",
                GET_KEY
            ),
            Forbidden::MissingPermission {
                accepted: &[READ_WRITE_ROLE]
            }
        );
        assert_eq!(
            classify_forbidden("Missing application roles.", LIST_HEALTH_ISSUES),
            Forbidden::MissingPermission {
                accepted: LIST_HEALTH_ISSUES.roles
            }
        );
        assert_eq!(
            classify_forbidden(
                "The tenant is not onboarded to Microsoft Defender for Identity",
                GET_KEY
            ),
            Forbidden::TenantNotOnboarded
        );
        assert_eq!(classify_forbidden("Nope", GET_KEY), Forbidden::Unknown);
    }

    fn failure(schema: Schema, endpoint: Endpoint, status: u16, message: &str) -> GraphError {
        use crate::cloud::{ApiVersion, Cloud, CloudChoice};
        let cloud = match schema {
            Schema::V1UsGov | Schema::BetaUsGov => Cloud::UsGov,
            Schema::V1Global | Schema::BetaGlobal => Cloud::Global,
        };
        let at = GraphEndpoints {
            cloud: CloudChoice::Fixed(cloud),
            api_version: ApiVersion::V1,
            graph_override: None,
            authority_override: None,
        }
        .for_cloud(cloud);
        let body = serde_json::json!({"error": {"code": "BadRequest", "message": message}}).to_string();
        graph_failure(
            schema,
            &at,
            endpoint,
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            None,
            UpstreamIds::default(),
        )
    }

    #[test]
    fn an_api_is_not_available_by_the_snapshot_or_by_graphs_own_words_never_by_the_status_alone() {
        use crate::graph::{ACTIVATE_SENSOR_CANDIDATES, LIST_SENSOR_CANDIDATES};
        let unknown = "Resource not found for the segment 'sensorCandidates'.";
        let not_in_cloud = |error: GraphError| matches!(error, GraphError::NotInCloud { .. });
        // The snapshot: v1.0 US Government publishes no sensor candidates.
        for status in [400, 404] {
            assert!(not_in_cloud(failure(
                Schema::V1UsGov,
                LIST_SENSOR_CANDIDATES,
                status,
                "Bad request."
            )));
        }
        // Graph's own words, in any cloud, for a segment of the endpoint's path.
        for schema in [Schema::BetaUsGov, Schema::V1Global] {
            assert!(not_in_cloud(failure(schema, LIST_SENSOR_CANDIDATES, 400, unknown)));
        }
        assert!(not_in_cloud(failure(
            Schema::BetaUsGov,
            GET_KEY,
            404,
            "Resource not found for the segment 'getDeploymentAccessKey'."
        )));
        // The status alone says nothing: a stale id, a bad body, a segment not of this path.
        for (status, message) in [
            (400, "The server id 'abc' is not a sensor candidate of this tenant."),
            (404, "Resource not found."),
            (400, "Resource not found for the segment 'somethingElse'."),
            (400, "Resource not found for the segment 'sensorCandidates'"),
        ] {
            let error = failure(Schema::BetaUsGov, ACTIVATE_SENSOR_CANDIDATES, status, message);
            assert!(
                matches!(error, GraphError::Rejected { status: got, .. } if got == status),
                "{message}: {error:?}"
            );
        }
    }

    #[test]
    fn only_plausible_error_codes_are_kept() {
        assert_eq!(vetted_code("TooManyRequests"), "TooManyRequests");
        assert_eq!(vetted_code("<script>"), "unknown");
        assert_eq!(vetted_code(""), "unknown");
    }

    #[tokio::test]
    async fn a_token_is_never_sent_outside_the_configured_graph_root() {
        use crate::cloud::{ApiVersion, Cloud, CloudChoice};
        let ours = graph_sim::Sim::start(graph_sim::SimConfig::default()).await.unwrap();
        let elsewhere = graph_sim::Sim::start(graph_sim::SimConfig::default()).await.unwrap();
        let endpoints = GraphEndpoints {
            cloud: CloudChoice::Fixed(Cloud::Global),
            api_version: ApiVersion::Beta,
            graph_override: Some(ours.graph_url()),
            authority_override: None,
        };
        let at = endpoints.fixed().unwrap();
        let client = GraphClient::new(endpoints, RetryPolicy::default()).unwrap();
        let token = AccessToken::new(SecretString::from("eyJ.not-for-elsewhere.sig"), Duration::from_secs(60));
        let deadline = crate::deadline::Deadline::after(Duration::from_secs(5));
        let (other_host, other_port) = (elsewhere.addr().ip(), elsewhere.addr().port());
        let sensors = crate::graph::LIST_SENSORS;
        for url in [
            format!("{}/beta/security/identities/sensors", elsewhere.graph_url()),
            format!(
                "http://localhost:{}/beta/security/identities/sensors",
                ours.addr().port()
            ),
            format!("{}/v1.0/security/identities/sensors", ours.graph_url()),
            format!("http://user@{}/beta/security/identities/sensors", ours.addr()),
            format!("http://{other_host}:{other_port}/beta/x"),
        ] {
            let outcome = client
                .get_at(&at, &url, sensors, &token, untrusted::SENSOR_PAGE, deadline)
                .await;
            assert!(
                matches!(outcome, Err(GraphError::OutsideGraphRoot { .. })),
                "{url}: {:?}",
                outcome.err()
            );
        }
        // Even a caller that names another base cannot widen what the client allows.
        let forged = CloudEndpoints {
            graph_base: format!("{}/beta", elsewhere.graph_url()),
            ..at.clone()
        };
        let url = format!("{}/beta/security/identities/sensors", elsewhere.graph_url());
        let outcome = client
            .get_at(&forged, &url, sensors, &token, untrusted::SENSOR_PAGE, deadline)
            .await;
        assert!(
            matches!(outcome, Err(GraphError::OutsideGraphRoot { .. })),
            "{:?}",
            outcome.err()
        );
        assert!(elsewhere.requests().is_empty(), "nothing reached the other server");
        assert!(ours.requests().is_empty(), "nor ours, on another path or spelling");

        let inside = format!("{}/beta/security/identities/sensors", ours.graph_url());
        let outcome = client
            .get_at(&at, &inside, sensors, &token, untrusted::SENSOR_PAGE, deadline)
            .await;
        assert!(
            matches!(outcome, Err(GraphError::Unauthorized { .. })),
            "{:?}",
            outcome.err()
        );
        assert_eq!(ours.requests().len(), 1, "a URL under the root is sent");
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
