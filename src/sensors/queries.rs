//! The sensor reads an install pipeline asks for: the list with each sensor's verdict, the
//! verdict on one host (explained by its open health issues when it is unhealthy), and the health
//! issues that name a host.

use serde::Serialize;

use super::health::{Explanation, HostHealthIssues};
use super::hosts::{HostName, SensorFilter};
use super::model::Sensor;
use super::port::SensorSource;
use super::verdict::{SensorReport, Verdict};
use crate::deadline::Deadline;
use crate::problem::{Problem, ProblemType};
use crate::upstream::GraphError;

/// The answer to `GET /sensors`.
#[derive(Debug, Clone, Serialize)]
pub struct SensorList {
    pub sensors: Vec<SensorReport>,
    #[serde(skip)]
    pub graph_request_id: Option<String>,
}

/// The answer to `GET /sensors/{displayName}/verdict`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostVerdict {
    pub display_name: String,
    pub verdict: Verdict,
    pub sensor: Option<SensorReport>,
    /// For an `unhealthy` verdict only: the sensor's open health issues, or why they could not be
    /// read (`healthIssues` or `healthIssuesUnavailable`).
    #[serde(flatten)]
    pub explanation: Option<Explanation>,
    /// For a `needs-configuration` verdict only: what to configure, and where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_configure: Option<&'static str>,
    #[serde(skip)]
    pub graph_request_id: Option<String>,
}

/// Failures of the sensor operations: Graph's, or an answer that cannot be given without a guess.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(
        "the short name {host} matches sensors in {} domains ({}); ask for the fully qualified name, e.g. {host}.{}",
        domains.len(),
        domains.join(", "),
        domains.first().map_or("", String::as_str)
    )]
    AmbiguousHost {
        host: String,
        domains: Vec<String>,
        graph_request_id: Option<String>,
    },
}

impl From<&SensorError> for Problem {
    fn from(error: &SensorError) -> Self {
        match error {
            SensorError::Graph(graph) => Problem::from(graph),
            SensorError::AmbiguousHost { graph_request_id, .. } => {
                Problem::new(ProblemType::AmbiguousHost, error.to_string())
                    .with_graph_request_id(graph_request_id.as_ref())
            }
        }
    }
}

/// The tenant's sensors that pass `filter`, each with its verdict, in Graph's order.
pub async fn list<G: SensorSource>(
    graph: &G,
    filter: &SensorFilter,
    deadline: Deadline,
) -> Result<SensorList, GraphError> {
    let answer = graph.sensors(deadline).await?;
    Ok(SensorList {
        sensors: answer
            .sensors
            .into_iter()
            .filter(|sensor| filter.matches(sensor))
            .map(SensorReport::from)
            .collect(),
        graph_request_id: answer.graph_request_id,
    })
}

/// The verdict on the sensor of `host` (a short or a fully qualified name, see
/// [`HostName::matches`]). A reinstalled server can leave its old sensor behind under the same
/// name, so when several match in one domain, the one with the best verdict counts; a short name
/// that matches sensors in two domains is two servers, and answering for either would be a guess.
pub async fn verdict<G: SensorSource>(
    graph: &G,
    host: &HostName,
    deadline: Deadline,
) -> Result<HostVerdict, SensorError> {
    let answer = graph.sensors(deadline).await?;
    let matching: Vec<Sensor> = answer
        .sensors
        .into_iter()
        .filter(|sensor| host.matches(sensor))
        .collect();
    let mut domains: Vec<String> = Vec::new();
    for domain in matching.iter().filter_map(|sensor| sensor.domain_name.as_deref()) {
        if !domains.iter().any(|known| known.eq_ignore_ascii_case(domain)) {
            domains.push(domain.to_owned());
        }
    }
    if domains.len() > 1 && !host.is_qualified() {
        domains.sort_by_key(|domain| domain.to_ascii_lowercase());
        return Err(SensorError::AmbiguousHost {
            host: host.as_str().to_owned(),
            domains,
            graph_request_id: answer.graph_request_id,
        });
    }
    let best = matching
        .into_iter()
        .map(SensorReport::from)
        // max_by_key keeps the last of equals; reversing first keeps Graph's first instead.
        .rev()
        .max_by_key(|report| report.verdict.rank());
    let verdict = best.as_ref().map_or(Verdict::Missing, |report| report.verdict);
    // Only an unhealthy sensor needs explaining, and a failure to explain it does not fail the
    // verdict: the health issues need a permission of their own that the app may lack.
    let explanation = match &best {
        Some(report) if verdict == Verdict::Unhealthy => Some(Explanation::from_read(
            graph.open_health_issues(deadline).await,
            &report.sensor,
        )),
        _ => None,
    };
    let to_configure = match &best {
        Some(report) if verdict == Verdict::NeedsConfiguration => report.sensor.to_configure(),
        _ => None,
    };
    Ok(HostVerdict {
        display_name: host.as_str().to_owned(),
        verdict,
        sensor: best,
        explanation,
        to_configure,
        graph_request_id: answer.graph_request_id,
    })
}

/// Every health issue (of any status) that names `host` among its sensors' DNS names, in
/// Graph's order.
pub async fn host_health_issues<G: SensorSource>(
    graph: &G,
    host: &HostName,
    deadline: Deadline,
) -> Result<HostHealthIssues, GraphError> {
    let answer = graph.health_issues(deadline).await?;
    Ok(HostHealthIssues {
        display_name: host.as_str().to_owned(),
        health_issues: answer.issues.into_iter().filter(|issue| issue.concerns(host)).collect(),
        graph_request_id: answer.graph_request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fake::{FakeSensors, fairfax_sensor, sensor, soon};
    use super::*;
    use crate::upstream::UpstreamIds;
    #[tokio::test]
    async fn the_list_is_filtered_and_each_sensor_carries_its_verdict() {
        let graph = FakeSensors {
            sensors: vec![
                sensor("DC1", "upToDate", "running", "healthy"),
                Sensor {
                    domain_name: Some("fabrikam.com".into()),
                    ..sensor("DC2", "updating", "running", "healthy")
                },
            ],
            ..FakeSensors::default()
        };
        let all = list(&graph, &SensorFilter::default(), soon()).await.unwrap();
        assert_eq!(
            all.sensors.iter().map(|s| s.verdict).collect::<Vec<_>>(),
            [Verdict::Healthy, Verdict::Installing]
        );
        let filter = SensorFilter {
            domain_name: Some("Fabrikam.com".into()),
            host: None,
        };
        let fabrikam = list(&graph, &filter, soon()).await.unwrap();
        assert_eq!(fabrikam.sensors.len(), 1);
        assert_eq!(fabrikam.sensors[0].sensor.display_name.as_deref(), Some("DC2"));
        assert_eq!(
            serde_json::to_value(&fabrikam).unwrap()["sensors"][0]["verdict"],
            "installing"
        );
    }

    #[tokio::test]
    async fn a_verdict_by_dns_name_finds_the_sensor_whose_display_name_is_short() {
        let graph = FakeSensors {
            sensors: vec![sensor("DC1", "upToDate", "running", "healthy")],
            ..FakeSensors::default()
        };
        let answer = verdict(&graph, &HostName::parse("dc1.contoso.com").unwrap(), soon())
            .await
            .unwrap();
        assert_eq!(answer.verdict, Verdict::Healthy);
        assert_eq!(answer.sensor.unwrap().sensor.display_name.as_deref(), Some("DC1"));
    }

    #[tokio::test]
    async fn a_short_name_in_two_domains_is_refused_listing_them_and_the_full_name_decides() {
        let graph = FakeSensors {
            sensors: vec![
                fairfax_sensor("DC1", "fabrikam.com", "upToDate", "healthy", 0),
                fairfax_sensor("DC1", "Contoso.com", "disconnected", "notHealthyHigh", 3),
                fairfax_sensor("dc1", "contoso.com", "updating", "healthy", 0),
            ],
            ..FakeSensors::default()
        };
        let error = verdict(&graph, &HostName::parse("dc1").unwrap(), soon())
            .await
            .unwrap_err();
        let SensorError::AmbiguousHost {
            host,
            domains,
            graph_request_id,
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(host, "dc1");
        assert_eq!(domains, &["Contoso.com", "fabrikam.com"], "each domain once, sorted");
        assert_eq!(graph_request_id.as_deref(), Some("sensors-req"));
        assert!(error.to_string().contains("fully qualified"), "{error}");
        let contoso = verdict(&graph, &HostName::parse("DC1.contoso.com").unwrap(), soon())
            .await
            .unwrap();
        assert_eq!(contoso.verdict, Verdict::Installing, "the better of contoso's two");
        let fabrikam = verdict(&graph, &HostName::parse("dc1.fabrikam.com").unwrap(), soon())
            .await
            .unwrap();
        assert_eq!(fabrikam.verdict, Verdict::Healthy);
    }

    #[tokio::test]
    async fn a_verdict_is_missing_without_a_sensor_and_the_best_of_namesakes_otherwise() {
        let graph = FakeSensors {
            sensors: vec![
                sensor("DC1", "disconnected", "stopped", "notHealthyHigh"),
                sensor("dc1", "upToDate", "running", "healthy"),
                sensor("DC2", "updating", "starting", "healthy"),
            ],
            ..FakeSensors::default()
        };
        let dc1 = verdict(&graph, &HostName::parse("DC1").unwrap(), soon()).await.unwrap();
        assert_eq!(dc1.verdict, Verdict::Healthy);
        assert_eq!(dc1.sensor.unwrap().sensor.id.as_deref(), Some("dc1-id"));
        let dc9 = verdict(&graph, &HostName::parse("DC9").unwrap(), soon()).await.unwrap();
        assert_eq!(dc9.verdict, Verdict::Missing);
        let json = serde_json::to_value(&dc9).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"displayName": "DC9", "verdict": "missing", "sensor": null})
        );
    }

    fn open_issue(dns: &str) -> crate::sensors::health::HealthIssue {
        crate::sensors::health::HealthIssue {
            display_name: Some("Sensor stopped communicating".into()),
            severity: Some("high".into()),
            status: Some("open".into()),
            sensor_dns_names: vec![dns.to_owned()],
            recommendations: vec!["Start the sensor service".into()],
            ..crate::sensors::health::HealthIssue::default()
        }
    }

    #[tokio::test]
    async fn an_unhealthy_verdict_carries_the_sensors_open_issues_and_a_healthy_one_reads_none() {
        let graph = FakeSensors {
            sensors: vec![
                sensor("DC1", "disconnected", "stopped", "notHealthyHigh"),
                sensor("DC2", "upToDate", "running", "healthy"),
            ],
            issues: vec![open_issue("dc1.contoso.com"), open_issue("dc2.contoso.com")],
            ..FakeSensors::default()
        };
        let dc1 = verdict(&graph, &HostName::parse("DC1").unwrap(), soon()).await.unwrap();
        let json = serde_json::to_value(&dc1).unwrap();
        assert_eq!(json["verdict"], "unhealthy");
        assert_eq!(
            json["healthIssues"],
            serde_json::json!([{"displayName": "Sensor stopped communicating", "severity": "high", "recommendations": ["Start the sensor service"]}])
        );
        graph.calls.lock().unwrap().clear();
        let dc2 = verdict(&graph, &HostName::parse("DC2").unwrap(), soon()).await.unwrap();
        let json = serde_json::to_value(&dc2).unwrap();
        assert!(
            json.get("healthIssues").is_none() && json.get("healthIssuesUnavailable").is_none(),
            "{json}"
        );
        assert_eq!(
            *graph.calls.lock().unwrap(),
            ["sensors"],
            "a healthy sensor needs no explaining"
        );
    }

    #[tokio::test]
    async fn without_the_health_permission_the_unhealthy_verdict_still_answers_and_names_it() {
        let graph = FakeSensors {
            sensors: vec![sensor("DC1", "disconnected", "stopped", "notHealthyHigh")],
            issues_error: Some(|| GraphError::Forbidden {
                reason: crate::upstream::Forbidden::MissingPermission {
                    accepted: &["SecurityIdentitiesHealth.Read.All"],
                },
                code: "Forbidden".into(),
                ids: UpstreamIds::default(),
            }),
            ..FakeSensors::default()
        };
        let dc1 = verdict(&graph, &HostName::parse("DC1").unwrap(), soon()).await.unwrap();
        assert_eq!(dc1.verdict, Verdict::Unhealthy);
        let json = serde_json::to_value(&dc1).unwrap();
        assert!(
            json["healthIssuesUnavailable"]
                .as_str()
                .unwrap()
                .contains("SecurityIdentitiesHealth.Read.All"),
            "{json}"
        );
    }

    #[tokio::test]
    async fn a_hosts_health_issues_are_every_status_that_names_it() {
        let mut closed = open_issue("dc1.contoso.com");
        closed.status = Some("closed".into());
        let graph = FakeSensors {
            issues: vec![open_issue("dc1.contoso.com"), open_issue("dc2.contoso.com"), closed],
            ..FakeSensors::default()
        };
        let found = host_health_issues(&graph, &HostName::parse("dc1").unwrap(), soon())
            .await
            .unwrap();
        assert_eq!(found.health_issues.len(), 2);
        assert_eq!(found.graph_request_id.as_deref(), Some("health-req"));
    }
}
