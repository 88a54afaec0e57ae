//! Graph's sensor endpoints for [`GraphSession`]: the deployment package, the sensor list, the health
//! issues (every one, or the open ones through the one `$filter` the API page documents), the
//! sensor candidates and their activation, and the activation mode (its update sent with the
//! permission map's `POST` and, after a `405`, once with the CSDL's `PATCH`).
//!
//! The lists are paged with `@odata.nextLink`. A next link is an absolute URL chosen by whoever
//! answered, and following it sends our bearer token there, so it is followed only while it stays
//! on the configured Graph base (scheme, host, port and API version path); anything else fails
//! the request instead.

use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::client::GraphAnswer;
use super::page;
use super::retry::Replay;
use super::session::GraphSession;
use super::untrusted;
use super::{
    ACTIVATE_SENSOR_CANDIDATES, ACTIVATION_UPDATE_OTHER_VERB, Endpoint, GET_ACTIVATION_CONFIGURATION, GET_PACKAGE,
    GraphError, LIST_HEALTH_ISSUES, LIST_SENSOR_CANDIDATES, LIST_SENSORS, OPEN_HEALTH_ISSUES_QUERY,
    SET_ACTIVATION_CONFIGURATION, Upstream, UpstreamIds,
};
use crate::candidates::{ActivationMode, ActivationModeAnswer, CandidateList, SensorCandidate, ServerIds};
use crate::credentials::CredentialsProvider;
use crate::deadline::Deadline;
use crate::sensors::health::{HealthIssue, HealthIssuesAnswer};
use crate::sensors::{DeploymentPackage, PackageAnswer, Sensor, SensorSource, SensorsAnswer};

/// More pages than this is a loop, not a tenant.
const MAX_PAGES: usize = 1000;

impl<S, C: CredentialsProvider> SensorSource for GraphSession<S, C> {
    async fn deployment_package(&self, deadline: Deadline) -> Result<PackageAnswer, GraphError> {
        let answer = self
            .authorized(GET_PACKAGE, deadline, move |client, ready| async move {
                let url = format!("{}/{}", ready.at.graph_base, GET_PACKAGE.path);
                client
                    .get_at(&ready.at, &url, GET_PACKAGE, &ready.token, untrusted::SMALL, deadline)
                    .await
            })
            .await?;
        match extract_package(&answer.body) {
            Ok(package) => Ok(PackageAnswer {
                package,
                graph_request_id: answer.ids.request_id,
            }),
            Err(reason) => Err(bad_response(reason, answer.ids)),
        }
    }

    async fn sensors(&self, deadline: Deadline) -> Result<SensorsAnswer, GraphError> {
        let (sensors, graph_request_id) = self.every_page(LIST_SENSORS, None, sensor, deadline).await?;
        Ok(SensorsAnswer {
            sensors,
            graph_request_id,
        })
    }

    async fn health_issues(&self, deadline: Deadline) -> Result<HealthIssuesAnswer, GraphError> {
        let (issues, graph_request_id) = self
            .every_page(LIST_HEALTH_ISSUES, None, health_issue, deadline)
            .await?;
        Ok(HealthIssuesAnswer {
            issues,
            graph_request_id,
        })
    }

    async fn open_health_issues(&self, deadline: Deadline) -> Result<HealthIssuesAnswer, GraphError> {
        let (issues, graph_request_id) = self
            .every_page(
                LIST_HEALTH_ISSUES,
                Some(OPEN_HEALTH_ISSUES_QUERY),
                health_issue,
                deadline,
            )
            .await?;
        Ok(HealthIssuesAnswer {
            issues: only_open(issues),
            graph_request_id,
        })
    }

    async fn sensor_candidates(&self, deadline: Deadline) -> Result<CandidateList, GraphError> {
        let (sensor_candidates, graph_request_id) = self
            .every_page(LIST_SENSOR_CANDIDATES, None, candidate, deadline)
            .await?;
        Ok(CandidateList {
            sensor_candidates,
            graph_request_id,
        })
    }

    async fn activation_mode(&self, deadline: Deadline) -> Result<ActivationModeAnswer, GraphError> {
        let endpoint = GET_ACTIVATION_CONFIGURATION;
        let answer = self
            .authorized(endpoint, deadline, move |client, ready| async move {
                let url = format!("{}/{}", ready.at.graph_base, endpoint.path);
                client
                    .get_at(&ready.at, &url, endpoint, &ready.token, untrusted::SMALL, deadline)
                    .await
            })
            .await?;
        match extract_activation_mode(&answer.body) {
            Ok(mode) => Ok(ActivationModeAnswer {
                activation_mode: Some(mode),
                graph_request_id: answer.ids.request_id,
            }),
            Err(reason) => Err(bad_response(reason, answer.ids)),
        }
    }

    async fn activate(&self, servers: &ServerIds, deadline: Deadline) -> Result<Option<String>, GraphError> {
        let body = serde_json::json!({ "serverIds": servers.as_slice() }).to_string();
        let body = body.as_bytes();
        let endpoint = ACTIVATE_SENSOR_CANDIDATES;
        let answer = self
            .authorized(endpoint, deadline, move |client, ready| async move {
                // An action with effects: sent again only when Graph said it did not process it.
                client
                    .send(
                        &ready.at,
                        endpoint,
                        reqwest::Method::POST,
                        &ready.token,
                        Some(body),
                        Replay::OnlyIfNotProcessed,
                        deadline,
                    )
                    .await
            })
            .await?;
        Ok(answer.ids.request_id)
    }

    async fn set_activation_mode(
        &self,
        mode: ActivationMode,
        deadline: Deadline,
    ) -> Result<ActivationModeAnswer, GraphError> {
        let body = serde_json::json!({
            "@odata.type": "#microsoft.graph.security.sensorCandidateActivationConfiguration",
            "activationMode": mode.name(),
        })
        .to_string();
        let body = body.as_bytes();
        let endpoint = SET_ACTIVATION_CONFIGURATION;
        let answer = self
            .authorized(endpoint, deadline, move |client, ready| async move {
                // Setting a value is idempotent: a retry sets the same one. The sources disagree
                // on the verb (src/graph/mod.rs), so a 405, Graph's "not this method" (OData
                // Protocol 9.3.1 and RFC 9110 15.5.6: nothing was done), is tried once with the
                // other; any other refusal is an answer about this request and stands.
                let send = |method: reqwest::Method| {
                    client.send(
                        &ready.at,
                        endpoint,
                        method,
                        &ready.token,
                        Some(body),
                        Replay::Safe,
                        deadline,
                    )
                };
                let first = reqwest::Method::from_bytes(endpoint.method.as_bytes()).unwrap_or(reqwest::Method::POST);
                match send(first).await {
                    Err(GraphError::Rejected { status: 405, ids, .. }) => {
                        tracing::info!(
                            operation = endpoint.path,
                            graph_request_id = ids.request_id.as_deref().unwrap_or(""),
                            first = endpoint.method,
                            then = ACTIVATION_UPDATE_OTHER_VERB,
                            "Graph refused the activation mode update's verb (405); sending it once with the other"
                        );
                        let other = reqwest::Method::from_bytes(ACTIVATION_UPDATE_OTHER_VERB.as_bytes())
                            .unwrap_or(reqwest::Method::PATCH);
                        send(other).await
                    }
                    other => other,
                }
            })
            .await?;
        Ok(ActivationModeAnswer {
            activation_mode: Some(mode.name().to_owned()),
            graph_request_id: answer.ids.request_id,
        })
    }
}

impl<S, C: CredentialsProvider> GraphSession<S, C> {
    /// Every member of the collection at `endpoint`, each read by `read`, following
    /// `@odata.nextLink` while it stays on the Graph base; with the first page's request id.
    async fn every_page<T>(
        &self,
        endpoint: Endpoint,
        query: Option<&str>,
        read: fn(&Map<String, Value>) -> T,
        deadline: Deadline,
    ) -> Result<(Vec<T>, Option<String>), GraphError> {
        let path = endpoint.path;
        let base = self.graph_base(deadline).await?;
        let base = base.as_str();
        let mut url = match query {
            Some(query) => format!("{base}/{path}?{query}"),
            None => format!("{base}/{path}"),
        };
        let mut collected = Vec::new();
        let mut first_request_id = None;
        let mut total_bytes = 0;
        for page in 0..MAX_PAGES {
            let current = url.as_str();
            let answer: GraphAnswer = self
                .authorized(endpoint, deadline, move |client, ready| async move {
                    client
                        .get_at(
                            &ready.at,
                            current,
                            endpoint,
                            &ready.token,
                            untrusted::SENSOR_PAGE,
                            deadline,
                        )
                        .await
                })
                .await?;
            total_bytes += answer.body.len();
            if total_bytes > untrusted::SENSOR_LIST.bytes {
                return Err(bad_response(untrusted::SENSOR_LIST.reason, answer.ids));
            }
            // Members are counted as they are read: per page, per list and per member (page.rs).
            let parsed = match page::parse(&answer.body, collected.len(), read) {
                Ok(parsed) => parsed,
                Err(reason) => return Err(bad_response(reason, answer.ids)),
            };
            if page == 0 {
                first_request_id = answer.ids.request_id.clone();
            }
            collected.extend(parsed.members);
            let Some(link) = parsed.next_link else {
                return Ok((collected, first_request_id));
            };
            url = match next_page(base, current, &link) {
                Ok(next) => next,
                Err(reason) => {
                    tracing::warn!(
                        graph_request_id = answer.ids.request_id.as_deref().unwrap_or(""),
                        operation = path,
                        reason,
                        "not following a list's @odata.nextLink"
                    );
                    return Err(bad_response(reason, answer.ids));
                }
            };
        }
        Err(bad_response(
            "a Graph list (sensors, health issues or candidates) did not end within 1000 pages",
            UpstreamIds::default(),
        ))
    }
}

fn bad_response(reason: &'static str, ids: UpstreamIds) -> GraphError {
    GraphError::BadResponse {
        upstream: Upstream::Graph,
        reason,
        ids,
    }
}

#[derive(Deserialize, Default)]
struct PackageFields {
    #[serde(rename = "downloadUrl")]
    download_url: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct PackageBody {
    value: Option<PackageFields>,
    #[serde(flatten)]
    bare: PackageFields,
}

/// The package, wrapped in `value` or bare, as for the key. Reasons are fixed strings.
fn extract_package(body: &[u8]) -> Result<DeploymentPackage, &'static str> {
    let parsed: PackageBody =
        serde_json::from_slice(body).map_err(|_| "the package response is not the JSON object expected")?;
    let fields = match parsed.value {
        Some(wrapped) if wrapped.download_url.is_some() => wrapped,
        _ => parsed.bare,
    };
    let (Some(download_url), Some(version)) = (fields.download_url, fields.version) else {
        return Err("the package response has no downloadUrl or no version");
    };
    let downloadable = Url::parse(&download_url).is_ok_and(|url| matches!(url.scheme(), "https" | "http"));
    if !downloadable || version.trim().is_empty() {
        return Err("the package response's downloadUrl is not an http(s) URL or its version is empty");
    }
    Ok(DeploymentPackage { download_url, version })
}

/// Every sensor property [`sensor`] reads (`settings/` ones inside `settings`). tests/contract.rs
/// holds this list to Microsoft's published schema: each is published, and the parser treats each
/// as optional since the schema differs by cloud and version; a unit test below holds the parser
/// to this list.
pub const SENSOR_PROPERTIES_READ: [&str; 10] = [
    "id",
    "displayName",
    "domainName",
    "sensorType",
    "version",
    "deploymentStatus",
    "healthStatus",
    "serviceStatus",
    "openHealthIssuesCount",
    "settings/domainControllerDnsNames",
];

/// A server has a handful of DNS names; more than this is not a sensor's settings.
const MAX_DNS_NAMES: usize = 32;
/// A DNS name's limit.
const MAX_DNS_NAME: usize = 255;

/// A sensor from its JSON, leniently: a field that is missing or not of its published type is
/// `None` (or empty), and enum values pass through as they are. Which properties exist depends on
/// the cloud and version (tests/contract), so none is required.
fn sensor(fields: &Map<String, Value>) -> Sensor {
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    let dns_names = fields
        .get("settings")
        .and_then(|settings| settings.get("domainControllerDnsNames"))
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .filter(|name| !name.is_empty() && name.len() <= MAX_DNS_NAME)
                .take(MAX_DNS_NAMES)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Sensor {
        id: text("id"),
        display_name: text("displayName"),
        domain_name: text("domainName"),
        sensor_type: text("sensorType"),
        version: text("version"),
        deployment_status: text("deploymentStatus"),
        health_status: text("healthStatus"),
        service_status: text("serviceStatus"),
        // Edm.Int64: a JSON number unless the caller asks for IEEE754Compatible strings.
        open_health_issues_count: fields.get("openHealthIssuesCount").and_then(Value::as_u64),
        domain_controller_dns_names: dns_names,
    }
}

/// Every candidate property [`candidate`] reads; tests/contract.rs holds it to the published
/// `sensorCandidate` (beta in the US Government clouds has no `domainName`).
pub const CANDIDATE_PROPERTIES_READ: [&str; 5] = [
    "id",
    "computerDnsName",
    "domainName",
    "lastSeenDateTime",
    "senseClientVersion",
];

fn candidate(fields: &Map<String, Value>) -> SensorCandidate {
    let text = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|value| value.len() <= MAX_DNS_NAME)
            .map(str::to_owned)
    };
    SensorCandidate {
        id: text("id"),
        computer_dns_name: text("computerDnsName"),
        domain_name: text("domainName"),
        last_seen_date_time: text("lastSeenDateTime"),
        sense_client_version: text("senseClientVersion"),
    }
}

/// `activationMode`, from the configuration bare or wrapped in `value` (the v1.0 API page's
/// example wraps it); a value Graph adds later passes through.
fn extract_activation_mode(body: &[u8]) -> Result<String, &'static str> {
    const UNREADABLE: &str = "the activation configuration has no activationMode";
    let parsed: Value = serde_json::from_slice(body).map_err(|_| UNREADABLE)?;
    [&parsed["value"]["activationMode"], &parsed["activationMode"]]
        .into_iter()
        .find_map(Value::as_str)
        .filter(|mode| !mode.is_empty() && mode.len() <= 64 && mode.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_owned)
        .ok_or(UNREADABLE)
}

/// Every health issue property [`health_issue`] reads; tests/contract.rs holds it to the
/// published `healthIssue` (the same in every cloud and version of the snapshot).
pub const HEALTH_ISSUE_PROPERTIES_READ: [&str; 13] = [
    "id",
    "displayName",
    "description",
    "healthIssueType",
    "severity",
    "status",
    "sensorDNSNames",
    "domainNames",
    "recommendations",
    "recommendedActionCommands",
    "createdDateTime",
    "lastModifiedDateTime",
    "issueTypeId",
];

/// The open issues of `issues`: what Graph answers the open-issues filter with, and never a closed
/// or suppressed one even if Graph ignored the filter.
fn only_open(mut issues: Vec<HealthIssue>) -> Vec<HealthIssue> {
    issues.retain(HealthIssue::is_open);
    issues
}

/// A recommendation or a command is a sentence or a line of PowerShell; longer is not text for people.
const MAX_ISSUE_TEXT: usize = 4096;
/// More entries than this in one of an issue's lists is not an issue's.
const MAX_ISSUE_LIST: usize = 64;

/// A health issue from its JSON, leniently as [`sensor`]: a member missing or not of its
/// published type is `None` or empty; long texts and lists are clamped (the answer is untrusted).
fn health_issue(fields: &Map<String, Value>) -> HealthIssue {
    let clamp = |text: &str| -> String { text.chars().take(MAX_ISSUE_TEXT).collect() };
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(clamp);
    let list = |name: &str| -> Vec<String> {
        fields
            .get(name)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .take(MAX_ISSUE_LIST)
                    .map(clamp)
                    .collect()
            })
            .unwrap_or_default()
    };
    HealthIssue {
        id: text("id"),
        display_name: text("displayName"),
        description: text("description"),
        health_issue_type: text("healthIssueType"),
        severity: text("severity"),
        status: text("status"),
        sensor_dns_names: list("sensorDNSNames")
            .into_iter()
            .filter(|name| !name.is_empty() && name.len() <= MAX_DNS_NAME)
            .collect(),
        domain_names: list("domainNames"),
        recommendations: list("recommendations"),
        recommended_action_commands: list("recommendedActionCommands"),
        created_date_time: text("createdDateTime"),
        last_modified_date_time: text("lastModifiedDateTime"),
        issue_type_id: text("issueTypeId"),
    }
}

/// The next page's URL, when `link` (resolved against the `current` page) stays under the Graph
/// `base` and moves on. Everything is compared after URL parsing, so case, default ports and dot
/// segments cannot disguise another host or path.
fn next_page(base: &str, current: &str, link: &str) -> Result<String, &'static str> {
    const ELSEWHERE: &str = "the list's @odata.nextLink leaves the configured Graph root; it was not followed";
    let base = Url::parse(&format!("{base}/")).map_err(|_| ELSEWHERE)?;
    let current = Url::parse(current).map_err(|_| ELSEWHERE)?;
    let next = current
        .join(link)
        .map_err(|_| "the list's @odata.nextLink is not a URL")?;
    let on_base = next.scheme() == base.scheme()
        && next.host() == base.host()
        && next.port_or_known_default() == base.port_or_known_default()
        && next.username().is_empty()
        && next.password().is_none()
        && next.path().starts_with(base.path());
    if !on_base {
        return Err(ELSEWHERE);
    }
    if next == current {
        return Err("the list's @odata.nextLink points at the page it came from");
    }
    Ok(next.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_page<T>(body: &[u8], read: fn(&Map<String, Value>) -> T) -> Result<page::Page<T>, &'static str> {
        page::parse(body, 0, read)
    }

    const BASE: &str = "https://graph.microsoft.com/beta";
    const FIRST: &str = "https://graph.microsoft.com/beta/security/identities/sensors";

    #[test]
    fn the_parser_reads_exactly_the_listed_properties() {
        let mut every = Map::new();
        for property in SENSOR_PROPERTIES_READ {
            let value = match property {
                "openHealthIssuesCount" => serde_json::json!(1),
                "settings/domainControllerDnsNames" => serde_json::json!(["dc1.contoso.com"]),
                _ => serde_json::json!("x"),
            };
            match property.split_once('/') {
                Some((parent, child)) => {
                    every.insert(parent.to_owned(), serde_json::json!({ child: value }));
                }
                None => {
                    every.insert(property.to_owned(), value);
                }
            }
        }
        let full = serde_json::to_value(sensor(&every)).unwrap();
        let fields = full.as_object().unwrap();
        assert!(
            fields
                .values()
                .all(|value| !value.is_null() && value != &serde_json::json!([])),
            "a field the list does not feed: {full}"
        );
        assert_eq!(sensor(&Map::new()), crate::sensors::Sensor::default());
    }

    #[test]
    fn the_package_is_found_wrapped_or_bare() {
        let wrapped = br##"{"@odata.context":"c","value":{"@odata.type":"#microsoft.graph.security.sensorDeploymentPackage","downloadUrl":"https://d.example/s.zip","version":"2.241.18000.0"}}"##;
        let bare = br#"{"downloadUrl":"https://d.example/s.zip","version":"2.241.18000.0"}"#;
        for body in [&wrapped[..], &bare[..]] {
            let package = extract_package(body).unwrap();
            assert_eq!(package.download_url, "https://d.example/s.zip");
            assert_eq!(package.version, "2.241.18000.0");
        }
    }

    #[test]
    fn a_package_without_a_usable_url_or_version_is_a_clear_error() {
        for body in [
            r#"{"value":{"version":"1"}}"#,
            r#"{"value":{"downloadUrl":"https://d.example/s.zip"}}"#,
            r#"{"downloadUrl":"javascript:alert(1)","version":"1"}"#,
            r#"{"downloadUrl":"https://d.example/s.zip","version":" "}"#,
            r#"{"downloadUrl":42,"version":"1"}"#,
            "<html>",
        ] {
            assert!(extract_package(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn a_health_issue_is_read_leniently_with_its_lists_clamped() {
        let many: Vec<String> = (0..100).map(|n| format!("step {n}")).collect();
        let body = serde_json::json!({"value": [{
            "id": "i1", "displayName": "Sensor stopped communicating", "severity": "brandNew",
            "status": "open", "sensorDNSNames": ["dc1.contoso.com", 7, ""],
            "recommendations": many, "recommendedActionCommands": ["x".repeat(10_000)],
            "domainNames": "not a list"
        }]});
        let page = parse_page(body.to_string().as_bytes(), health_issue).unwrap();
        let issue = &page.members[0];
        assert_eq!(
            issue.severity.as_deref(),
            Some("brandNew"),
            "unknown members pass through"
        );
        assert_eq!(issue.sensor_dns_names, ["dc1.contoso.com"]);
        assert_eq!(issue.recommendations.len(), MAX_ISSUE_LIST);
        assert_eq!(issue.recommended_action_commands[0].len(), MAX_ISSUE_TEXT);
        assert!(issue.domain_names.is_empty());
        let mut every = Map::new();
        for property in HEALTH_ISSUE_PROPERTIES_READ {
            let value = match property {
                "sensorDNSNames" | "domainNames" | "recommendations" | "recommendedActionCommands" => {
                    serde_json::json!(["x"])
                }
                _ => serde_json::json!("x"),
            };
            every.insert(property.to_owned(), value);
        }
        let full = serde_json::to_value(health_issue(&every)).unwrap();
        assert!(
            full.as_object()
                .unwrap()
                .values()
                .all(|value| !value.is_null() && value != &serde_json::json!([])),
            "a field the list does not feed: {full}"
        );
    }

    #[test]
    fn the_open_issues_keep_no_closed_or_suppressed_one_whatever_graph_sent() {
        let issue = |status: Option<&str>| HealthIssue {
            status: status.map(str::to_owned),
            ..HealthIssue::default()
        };
        let kept = only_open(vec![
            issue(Some("open")),
            issue(Some("closed")),
            issue(Some("suppressed")),
            issue(Some("unknownFutureValue")),
            issue(None),
            issue(Some("Open")),
        ]);
        let statuses: Vec<_> = kept.iter().map(|issue| issue.status.as_deref()).collect();
        assert_eq!(statuses, [Some("open"), Some("Open")]);
    }

    #[test]
    fn a_page_keeps_unknown_enum_values_and_tolerates_odd_fields() {
        let page = parse_page(
            br#"{"value":[{"id":"1","displayName":"DC1","deploymentStatus":"brandNewStatus","healthStatus":7,"settings":{"x":1}}],"@odata.nextLink":"https://graph.microsoft.com/beta/security/identities/sensors?$skiptoken=2"}"#,
            sensor,
        )
        .unwrap();
        assert_eq!(page.members[0].deployment_status.as_deref(), Some("brandNewStatus"));
        assert_eq!(page.members[0].health_status, None);
        assert!(page.next_link.is_some());
        assert!(parse_page(br#"{"value":{"not":"a list"}}"#, sensor).is_err());
        assert!(parse_page(br#"{"value":["not an object"]}"#, health_issue).is_err());
    }

    #[test]
    fn a_next_link_on_the_graph_base_is_followed() {
        let next = format!("{FIRST}?$skiptoken=abc");
        assert_eq!(next_page(BASE, FIRST, &next).unwrap(), next);
        assert_eq!(
            next_page(
                BASE,
                FIRST,
                "https://GRAPH.microsoft.com:443/beta/security/identities/sensors?$skiptoken=1"
            )
            .unwrap(),
            "https://graph.microsoft.com/beta/security/identities/sensors?$skiptoken=1"
        );
        assert_eq!(
            next_page(BASE, FIRST, "sensors?$skiptoken=2").unwrap(),
            "https://graph.microsoft.com/beta/security/identities/sensors?$skiptoken=2"
        );
    }

    #[test]
    fn a_next_link_off_the_graph_base_is_refused() {
        for link in [
            "https://evil.example/beta/security/identities/sensors?$skiptoken=1",
            "https://graph.microsoft.com.evil.example/beta/security/identities/sensors",
            "http://graph.microsoft.com/beta/security/identities/sensors?$skiptoken=1",
            "https://graph.microsoft.com:8443/beta/security/identities/sensors",
            "https://graph.microsoft.com/v1.0/security/identities/sensors?$skiptoken=1",
            "https://graph.microsoft.com/beta/../v1.0/security/identities/sensors",
            "https://graph.microsoft.com/betaX/security/identities/sensors",
            "https://user@graph.microsoft.com/beta/security/identities/sensors",
            "//evil.example/beta/security/identities/sensors",
            "/v1.0/security/identities/sensors",
        ] {
            assert!(next_page(BASE, FIRST, link).is_err(), "{link}");
        }
        assert!(
            next_page(BASE, FIRST, FIRST).is_err(),
            "a link to the same page would loop"
        );
    }
}
