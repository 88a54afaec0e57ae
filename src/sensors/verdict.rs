//! The verdict on a sensor, decided from the properties each cloud's schema has (docs/sensors.md
//! has the table), and a sensor with its verdict as the routes and the CLI show it.

use serde::Serialize;

use super::model::Sensor;

/// What an install pipeline needs to know about a sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Up to date, running and healthy.
    Healthy,
    /// Still onboarding, starting, updating or syncing: poll again.
    Installing,
    /// Anything else, including statuses we do not know.
    Unhealthy,
    /// No sensor of that name (yet).
    Missing,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Installing => "installing",
            Verdict::Unhealthy => "unhealthy",
            Verdict::Missing => "missing",
        }
    }

    /// How good the news is, to choose among sensors that share a name.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Verdict::Healthy => 3,
            Verdict::Installing => 2,
            Verdict::Unhealthy => 1,
            Verdict::Missing => 0,
        }
    }
}

impl Sensor {
    /// Decided from the properties the sensor has, so that every cloud and version can give every
    /// verdict (docs/sensors.md has the table): `healthy` needs `deploymentStatus` up to date and
    /// `healthStatus` healthy, plus `serviceStatus` running and no open health issue where the
    /// schema has those properties; a missing `deploymentStatus` or `healthStatus` is never healthy.
    pub fn verdict(&self) -> Verdict {
        // Graph spells its enum values in camelCase; a case change is not a new value.
        let is = |field: &Option<String>, values: &[&str]| {
            field
                .as_deref()
                .is_some_and(|value| values.iter().any(|known| value.eq_ignore_ascii_case(known)))
        };
        let service_running = self.service_status.is_none() || is(&self.service_status, &["running"]);
        let no_open_issue = self.open_health_issues_count.is_none_or(|count| count == 0);
        if is(&self.deployment_status, &["upToDate"])
            && is(&self.health_status, &["healthy"])
            && service_running
            && no_open_issue
        {
            Verdict::Healthy
        } else if is(&self.service_status, &["onboarding", "starting"])
            || is(&self.deployment_status, &["updating", "syncing"])
        {
            Verdict::Installing
        } else {
            Verdict::Unhealthy
        }
    }
}

/// A sensor with its verdict, as the routes and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SensorReport {
    #[serde(flatten)]
    pub sensor: Sensor,
    pub verdict: Verdict,
}

impl From<Sensor> for SensorReport {
    fn from(sensor: Sensor) -> Self {
        let verdict = sensor.verdict();
        SensorReport { sensor, verdict }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{fairfax_sensor, sensor};
    use super::*;
    #[test]
    fn a_sensor_is_healthy_only_when_up_to_date_running_and_healthy() {
        assert_eq!(
            sensor("a", "upToDate", "running", "healthy").verdict(),
            Verdict::Healthy
        );
        for (deployment, service, health) in [
            ("outdated", "running", "healthy"),
            ("upToDate", "stopped", "healthy"),
            ("upToDate", "running", "notHealthyLow"),
            ("upToDate", "running", "notHealthyMedium"),
            ("upToDate", "running", "notHealthyHigh"),
            ("updateFailed", "running", "healthy"),
            ("notConfigured", "disabled", "healthy"),
            ("unreachable", "unknown", "healthy"),
            ("disconnected", "running", "healthy"),
            ("startFailure", "stopped", "notHealthyHigh"),
        ] {
            assert_eq!(
                sensor("a", deployment, service, health).verdict(),
                Verdict::Unhealthy,
                "{deployment} {service} {health}"
            );
        }
    }

    #[test]
    fn a_sensor_without_service_status_as_in_the_us_government_schema_can_be_healthy() {
        assert_eq!(
            fairfax_sensor("DC1", "contoso.us", "upToDate", "healthy", 0).verdict(),
            Verdict::Healthy
        );
        assert_eq!(
            fairfax_sensor("DC1", "contoso.us", "updating", "healthy", 0).verdict(),
            Verdict::Installing
        );
        assert_eq!(
            fairfax_sensor("DC1", "contoso.us", "upToDate", "notHealthyLow", 1).verdict(),
            Verdict::Unhealthy
        );
    }

    #[test]
    fn open_health_issues_or_a_missing_status_keep_a_sensor_from_being_healthy() {
        let with_issue = Sensor {
            open_health_issues_count: Some(2),
            ..sensor("a", "upToDate", "running", "healthy")
        };
        assert_eq!(with_issue.verdict(), Verdict::Unhealthy);
        let count_unknown = Sensor {
            open_health_issues_count: None,
            ..sensor("a", "upToDate", "running", "healthy")
        };
        assert_eq!(count_unknown.verdict(), Verdict::Healthy, "a schema without the count");
        for missing in [
            Sensor {
                deployment_status: None,
                ..sensor("a", "upToDate", "running", "healthy")
            },
            Sensor {
                health_status: None,
                ..sensor("a", "upToDate", "running", "healthy")
            },
        ] {
            assert_eq!(missing.verdict(), Verdict::Unhealthy);
        }
    }

    #[test]
    fn a_sensor_that_is_onboarding_starting_updating_or_syncing_is_installing() {
        for (deployment, service, health) in [
            ("upToDate", "onboarding", "healthy"),
            ("notConfigured", "starting", "notHealthyHigh"),
            ("updating", "running", "healthy"),
            ("syncing", "stopped", "notHealthyLow"),
            ("updating", "onboarding", "unknownFutureValue"),
        ] {
            assert_eq!(
                sensor("a", deployment, service, health).verdict(),
                Verdict::Installing,
                "{deployment} {service} {health}"
            );
        }
    }

    #[test]
    fn unknown_or_missing_statuses_are_unhealthy_and_passed_through_as_they_came() {
        let odd = sensor("a", "quantumEntangled", "unknownFutureValue", "healthy");
        assert_eq!(odd.verdict(), Verdict::Unhealthy);
        let json = serde_json::to_value(SensorReport::from(odd)).unwrap();
        assert_eq!(json["deploymentStatus"], "quantumEntangled");
        assert_eq!(json["serviceStatus"], "unknownFutureValue");
        assert_eq!(json["verdict"], "unhealthy");
        assert_eq!(Sensor::default().verdict(), Verdict::Unhealthy);
    }

    #[test]
    fn a_report_serializes_the_documented_fields_and_the_verdict() {
        let json = serde_json::to_value(SensorReport::from(sensor("DC1", "upToDate", "running", "healthy"))).unwrap();
        for field in [
            "displayName",
            "domainName",
            "sensorType",
            "version",
            "deploymentStatus",
            "healthStatus",
            "serviceStatus",
        ] {
            assert!(json[field].is_string(), "{field}");
        }
        assert_eq!(json["verdict"], "healthy");
    }
}
