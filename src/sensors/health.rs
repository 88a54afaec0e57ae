//! Health issues: why a sensor is unhealthy, in Defender for Identity's own words (Graph's
//! `microsoft.graph.security.healthIssue`, `GET /security/identities/healthIssues`).
//!
//! An issue names the sensors it concerns by their DNS names (`sensorDNSNames`), so an issue
//! concerns a host when one of those names is the host's (see [`HealthIssue::concerns`]), and a
//! sensor when one is a name of the server it runs on ([`Sensor::own_dns_names`]: never the other
//! domain controllers an AD FS, AD CS, Entra Connect or standalone sensor lists). A verdict reads
//! the open issues only ([`SensorSource::open_health_issues`](super::port::SensorSource), which
//! the Graph adapter asks for with the one `$filter` the API page documents); the route of a
//! host's issues reads every status and filters by host here.
//!
//! The permission is a different one from the sensors' (`SecurityIdentitiesHealth.Read.All`, per
//! Microsoft's permission map, tests/contract/graph-permissions.json): an app may well have the
//! sensors' and not this one, and the verdict must still answer then ([`Explanation`]).

use serde::Serialize;

use super::hosts::HostName;
use super::model::Sensor;
use crate::upstream::{Forbidden, GraphError};

/// One health issue. Every field is optional or may be empty: the schema is lenient
/// (`displayName`, `severity`, `status` are nullable in the CSDL) and enum values pass through
/// as Graph spelt them (`unknownFutureValue` and later members included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthIssue {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// `sensor`, `global`, `unknownFutureValue` (the API page's example writes `Global`).
    pub health_issue_type: Option<String>,
    /// `low`, `medium`, `high`, `unknownFutureValue`.
    pub severity: Option<String>,
    /// `open`, `closed`, `suppressed`, `unknownFutureValue`.
    pub status: Option<String>,
    #[serde(rename = "sensorDNSNames")]
    pub sensor_dns_names: Vec<String>,
    pub domain_names: Vec<String>,
    pub recommendations: Vec<String>,
    pub recommended_action_commands: Vec<String>,
    pub created_date_time: Option<String>,
    pub last_modified_date_time: Option<String>,
    pub issue_type_id: Option<String>,
}

impl HealthIssue {
    /// Still to be dealt with: `status` is `open` (ignoring case; closed and suppressed ones are not).
    pub fn is_open(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|status| status.eq_ignore_ascii_case("open"))
    }

    /// Whether the issue names `host` among its sensors' DNS names: a fully qualified name must be
    /// one of them, a short name their first label (ignoring ASCII case), as [`HostName::matches`].
    pub fn concerns(&self, host: &HostName) -> bool {
        host.names_one_of(&self.sensor_dns_names)
    }

    /// Whether the issue names one of the names of the server `sensor` runs on
    /// ([`Sensor::own_dns_names`]): an AD FS sensor's list of domain controllers names other
    /// servers, whose issues are not its own.
    pub fn concerns_sensor(&self, sensor: &Sensor) -> bool {
        let names = sensor.own_dns_names();
        self.sensor_dns_names
            .iter()
            .any(|dns| names.iter().any(|name| name.eq_ignore_ascii_case(dns)))
    }
}

/// Every health issue of the tenant (all pages), with the first page's request id.
#[derive(Debug, Clone, Default)]
pub struct HealthIssuesAnswer {
    pub issues: Vec<HealthIssue>,
    pub graph_request_id: Option<String>,
}

/// The answer to `GET /sensors/{host}/health-issues`: every issue (of any status) that names the
/// host, in Graph's order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostHealthIssues {
    pub display_name: String,
    pub health_issues: Vec<HealthIssue>,
    #[serde(skip)]
    pub graph_request_id: Option<String>,
}

/// What an unhealthy verdict says about why, in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueSummary {
    pub display_name: Option<String>,
    pub severity: Option<String>,
    pub recommendations: Vec<String>,
}

impl From<&HealthIssue> for IssueSummary {
    fn from(issue: &HealthIssue) -> Self {
        IssueSummary {
            display_name: issue.display_name.clone(),
            severity: issue.severity.clone(),
            recommendations: issue.recommendations.clone(),
        }
    }
}

/// Why an unhealthy sensor is unhealthy: its open issues, or why they could not be read. The
/// verdict answers either way; the issues are its explanation, not its substance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explanation {
    Issues(Vec<IssueSummary>),
    /// The app lacks `permission`: granting it would let the verdict say why.
    PermissionMissing {
        permission: &'static str,
    },
    /// Graph did not answer the health issues read; the reason is a fixed text or an error's display.
    Unavailable {
        reason: String,
    },
}

impl Explanation {
    /// The explanation from the health issues read: the open issues that concern `sensor`.
    pub fn from_read(read: Result<HealthIssuesAnswer, GraphError>, sensor: &Sensor) -> Self {
        match read {
            Ok(answer) => Explanation::Issues(
                answer
                    .issues
                    .iter()
                    .filter(|issue| issue.is_open() && issue.concerns_sensor(sensor))
                    .map(IssueSummary::from)
                    .collect(),
            ),
            Err(GraphError::Forbidden {
                reason: Forbidden::MissingPermission { accepted: [role, ..] },
                ..
            }) => Explanation::PermissionMissing { permission: role },
            Err(error) => Explanation::Unavailable {
                reason: error.to_string(),
            },
        }
    }
}

/// `{"healthIssues": [...]}` or `{"healthIssuesUnavailable": "..."}`, flattened into the verdict.
impl Serialize for Explanation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Explanation::Issues(issues) => map.serialize_entry("healthIssues", issues)?,
            Explanation::PermissionMissing { permission } => map.serialize_entry(
                "healthIssuesUnavailable",
                &format!(
                    "the app lacks the application permission {permission}: grant it (with admin consent) for the verdict to list the sensor's open health issues"
                ),
            )?,
            Explanation::Unavailable { reason } => map.serialize_entry(
                "healthIssuesUnavailable",
                &format!("the health issues could not be read: {reason}"),
            )?,
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::UpstreamIds;

    fn issue(dns: &[&str], status: &str) -> HealthIssue {
        HealthIssue {
            display_name: Some("Sensor stopped communicating".into()),
            severity: Some("high".into()),
            status: Some(status.into()),
            sensor_dns_names: dns.iter().map(|name| (*name).to_owned()).collect(),
            recommendations: vec!["Check the sensor's network".into()],
            ..HealthIssue::default()
        }
    }

    fn dc1() -> Sensor {
        Sensor {
            display_name: Some("DC1".into()),
            domain_name: Some("contoso.com".into()),
            sensor_type: Some("domainControllerIntegrated".into()),
            domain_controller_dns_names: vec!["dc1.contoso.com".into()],
            ..Sensor::default()
        }
    }

    #[test]
    fn an_issue_concerns_a_host_by_a_qualified_name_or_a_short_names_first_label() {
        let on_dc1 = issue(&["DC1.contoso.com"], "open");
        for name in ["dc1", "DC1", "dc1.contoso.com"] {
            assert!(on_dc1.concerns(&HostName::parse(name).unwrap()), "{name}");
        }
        for name in ["dc", "dc1.fabrikam.com", "contoso.com", "dc10"] {
            assert!(!on_dc1.concerns(&HostName::parse(name).unwrap()), "{name}");
        }
    }

    #[test]
    fn an_issue_concerns_a_sensor_by_its_dns_names_or_its_name_in_its_domain() {
        assert!(issue(&["DC1.CONTOSO.COM"], "open").concerns_sensor(&dc1()));
        let no_dns = Sensor {
            domain_controller_dns_names: Vec::new(),
            ..dc1()
        };
        assert!(issue(&["dc1.contoso.com"], "open").concerns_sensor(&no_dns));
        assert!(!issue(&["dc1.fabrikam.com"], "open").concerns_sensor(&dc1()));
        assert!(
            !issue(&[], "open").concerns_sensor(&dc1()),
            "a global issue names no sensor"
        );
    }

    #[test]
    fn an_issue_of_a_domain_controller_is_not_an_issue_of_the_ad_fs_sensor_that_lists_it() {
        let adfs1 = Sensor {
            display_name: Some("ADFS1".into()),
            domain_name: Some("contoso.com".into()),
            sensor_type: Some("adfsIntegrated".into()),
            domain_controller_dns_names: vec!["dc1.contoso.com".into()],
            ..Sensor::default()
        };
        assert!(!issue(&["dc1.contoso.com"], "open").concerns_sensor(&adfs1));
        assert!(issue(&["adfs1.contoso.com"], "open").concerns_sensor(&adfs1));
    }

    #[test]
    fn the_explanation_is_the_open_issues_of_the_sensor_only() {
        let read = Ok(HealthIssuesAnswer {
            issues: vec![
                issue(&["dc1.contoso.com"], "open"),
                issue(&["dc1.contoso.com"], "closed"),
                issue(&["dc1.contoso.com"], "suppressed"),
                issue(&["dc2.contoso.com"], "open"),
            ],
            graph_request_id: None,
        });
        let explanation = Explanation::from_read(read, &dc1());
        assert_eq!(
            serde_json::to_value(&explanation).unwrap(),
            serde_json::json!({"healthIssues": [{
                "displayName": "Sensor stopped communicating",
                "severity": "high",
                "recommendations": ["Check the sensor's network"],
            }]})
        );
    }

    #[test]
    fn a_missing_permission_is_named_and_other_failures_are_said_without_failing() {
        let forbidden = Err(GraphError::Forbidden {
            reason: Forbidden::MissingPermission {
                accepted: &["SecurityIdentitiesHealth.Read.All"],
            },
            code: "Forbidden".into(),
            ids: UpstreamIds::default(),
        });
        let json = serde_json::to_value(Explanation::from_read(forbidden, &dc1())).unwrap();
        let said = json["healthIssuesUnavailable"].as_str().unwrap();
        assert!(
            said.contains("lacks the application permission SecurityIdentitiesHealth.Read.All"),
            "{said}"
        );
        let timeout = Err(GraphError::Timeout {
            upstream: crate::upstream::Upstream::Graph,
            ids: UpstreamIds::default(),
        });
        let json = serde_json::to_value(Explanation::from_read(timeout, &dc1())).unwrap();
        assert!(
            json["healthIssuesUnavailable"]
                .as_str()
                .unwrap()
                .starts_with("the health issues could not be read")
        );
    }
}
