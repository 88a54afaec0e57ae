//! The verdict on a sensor, decided from the properties each cloud's schema has (docs/sensors.md
//! has the table), and a sensor with its verdict as the routes and the CLI show it.

use serde::Serialize;

use super::model::{Sensor, SensorKind};

/// What an install pipeline needs to know about a sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Up to date, running and healthy.
    Healthy,
    /// Still onboarding, starting, updating or syncing: poll again.
    Installing,
    /// An AD FS, AD CS or Entra Connect sensor whose service has not started yet: Microsoft says
    /// it "changes from stopped to running" by itself within "a couple of minutes". Poll again.
    Initialising,
    /// Installed, and waiting for someone to configure it (`deploymentStatus` `notConfigured` on
    /// an AD FS, AD CS, Entra Connect or standalone sensor): it does not clear by itself, and
    /// [`Sensor::to_configure`] says what to configure.
    NeedsConfiguration,
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
            Verdict::Initialising => "initialising",
            Verdict::NeedsConfiguration => "needs-configuration",
            Verdict::Unhealthy => "unhealthy",
            Verdict::Missing => "missing",
        }
    }

    /// How good the news is, to choose among sensors that share a name.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Verdict::Healthy => 5,
            Verdict::Installing => 4,
            Verdict::Initialising => 3,
            Verdict::NeedsConfiguration => 2,
            Verdict::Unhealthy => 1,
            Verdict::Missing => 0,
        }
    }

    /// Whether the state is one Microsoft says passes by itself, so a wait keeps asking: every
    /// verdict but `healthy` (done) and `needs-configuration` (someone must act).
    pub fn may_change_by_itself(self) -> bool {
        !matches!(self, Verdict::Healthy | Verdict::NeedsConfiguration)
    }
}

/// What an AD FS, AD CS or Entra Connect sensor needs configured (MicrosoftDocs/ATADocs
/// `ATPDocs/deploy/active-directory-federation-services.md`, "Post-installation steps").
const CONFIGURE_RESOLVER: &str = "In the Microsoft Defender portal, Settings > Identities > Sensors, select the sensor and enter the fully qualified names of its resolver domain controllers in Domain Controllers (FQDN), then Save; the sensor then initialises (its service goes from stopped to running within a couple of minutes)";
/// What a standalone sensor needs configured (`ATPDocs/deploy/configure-sensor-settings.md`).
const CONFIGURE_STANDALONE: &str = "In the Microsoft Defender portal, Settings > Identities > Sensors, select the sensor and enter, in Domain Controllers (FQDN), every domain controller whose traffic it monitors through port mirroring (at least one a global catalog), and its capture network adapters, then Save";

impl Sensor {
    /// Decided from the properties the sensor has, so that every cloud and version can give every
    /// verdict (docs/sensors.md has the table): `healthy` needs `deploymentStatus` up to date and
    /// `healthStatus` healthy, plus `serviceStatus` running and no open health issue where the
    /// schema has those properties; a missing `deploymentStatus` or `healthStatus` is never healthy.
    ///
    /// The sensor type counts where Microsoft documents a state for some types only:
    /// `notConfigured` "requires more configuration before it's fully operational. This applies to
    /// sensors installed on AD FS / AD CS servers or standalone sensors" (ATADocs
    /// `ATPDocs/sensor-settings.md`; Entra Connect sensors take the same post-installation step,
    /// `ATPDocs/deploy/active-directory-federation-services.md`), and an AD FS, AD CS or Entra
    /// Connect sensor's service "changes from stopped to running" while it initialises (same
    /// page). On a domain controller sensor, or one of a type we do not know, neither is
    /// documented, and both stay `unhealthy`.
    pub fn verdict(&self) -> Verdict {
        // Graph spells its enum values in camelCase; a case change is not a new value.
        let is = |field: &Option<String>, values: &[&str]| {
            field
                .as_deref()
                .is_some_and(|value| values.iter().any(|known| value.eq_ignore_ascii_case(known)))
        };
        let kind = self.kind();
        let service_running = self.service_status.is_none() || is(&self.service_status, &["running"]);
        let no_open_issue = self.open_health_issues_count.is_none_or(|count| count == 0);
        if is(&self.deployment_status, &["upToDate"])
            && is(&self.health_status, &["healthy"])
            && service_running
            && no_open_issue
        {
            Verdict::Healthy
        } else if self.to_configure().is_some() && is(&self.deployment_status, &["notConfigured"]) {
            Verdict::NeedsConfiguration
        } else if is(&self.service_status, &["onboarding", "starting"])
            || is(&self.deployment_status, &["updating", "syncing"])
        {
            Verdict::Installing
        } else if kind.is_beside_a_domain_controller()
            && is(&self.service_status, &["stopped"])
            && is(&self.deployment_status, &["upToDate"])
        {
            Verdict::Initialising
        } else {
            Verdict::Unhealthy
        }
    }

    /// What to configure on a sensor of a type Microsoft says may need configuring after the
    /// install (AD FS, AD CS, Entra Connect, standalone); `None` for the others.
    pub fn to_configure(&self) -> Option<&'static str> {
        match self.kind() {
            SensorKind::Adfs | SensorKind::Adcs | SensorKind::EntraConnect => Some(CONFIGURE_RESOLVER),
            SensorKind::Standalone => Some(CONFIGURE_STANDALONE),
            SensorKind::DomainController | SensorKind::Other => None,
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

    fn of_type(member: &str, deployment: &str, service: &str, health: &str) -> Sensor {
        Sensor {
            sensor_type: Some(member.into()),
            ..sensor("S1", deployment, service, health)
        }
    }

    const BESIDE_A_DC: [&str; 3] = ["adfsIntegrated", "adcsIntegrated", "adConnectIntegrated"];

    #[test]
    fn not_configured_needs_configuration_on_the_types_microsoft_names_and_says_what_to_configure() {
        for member in BESIDE_A_DC.into_iter().chain(["domainControllerStandalone"]) {
            for (service, health) in [
                ("stopped", "healthy"),
                ("running", "notHealthyHigh"),
                ("starting", "healthy"),
            ] {
                let sensor = of_type(member, "notConfigured", service, health);
                assert_eq!(
                    sensor.verdict(),
                    Verdict::NeedsConfiguration,
                    "{member} {service} {health}"
                );
                assert!(sensor.to_configure().unwrap().contains("Domain Controllers (FQDN)"));
            }
        }
        assert!(
            of_type("domainControllerStandalone", "notConfigured", "stopped", "healthy")
                .to_configure()
                .unwrap()
                .contains("port mirroring")
        );
        // Undocumented on a domain controller sensor or a type we do not know: not a state that
        // someone can configure away, so it stays unhealthy.
        for member in ["domainControllerIntegrated", "unknownFutureValue"] {
            let sensor = of_type(member, "notConfigured", "stopped", "healthy");
            assert_eq!(sensor.verdict(), Verdict::Unhealthy, "{member}");
            assert_eq!(sensor.to_configure(), None);
        }
        assert_eq!(Verdict::NeedsConfiguration.name(), "needs-configuration");
        assert_eq!(
            serde_json::to_value(Verdict::NeedsConfiguration).unwrap(),
            "needs-configuration"
        );
    }

    #[test]
    fn a_stopped_sensor_beside_a_domain_controller_is_initialising_and_nowhere_else() {
        for member in BESIDE_A_DC {
            assert_eq!(
                of_type(member, "upToDate", "stopped", "healthy").verdict(),
                Verdict::Initialising,
                "{member}"
            );
            assert_eq!(
                of_type(member, "upToDate", "stopped", "notHealthyHigh").verdict(),
                Verdict::Initialising,
                "{member}: a stopped service reads unhealthy while it starts"
            );
            for deployment in [
                "updateFailed",
                "startFailure",
                "disconnected",
                "unreachable",
                "outdated",
            ] {
                assert_eq!(
                    of_type(member, deployment, "stopped", "healthy").verdict(),
                    Verdict::Unhealthy,
                    "{member} {deployment}: a failure is not initialising"
                );
            }
            assert_eq!(
                of_type(member, "upToDate", "disabled", "healthy").verdict(),
                Verdict::Unhealthy
            );
        }
        for member in [
            "domainControllerIntegrated",
            "domainControllerStandalone",
            "unknownFutureValue",
        ] {
            assert_eq!(
                of_type(member, "upToDate", "stopped", "healthy").verdict(),
                Verdict::Unhealthy,
                "{member}: Microsoft documents no initialising stop"
            );
        }
        assert_eq!(serde_json::to_value(Verdict::Initialising).unwrap(), "initialising");
    }

    #[test]
    fn a_wait_stops_at_healthy_and_needs_configuration_only() {
        for verdict in [
            Verdict::Installing,
            Verdict::Initialising,
            Verdict::Unhealthy,
            Verdict::Missing,
        ] {
            assert!(verdict.may_change_by_itself(), "{verdict:?}");
        }
        assert!(!Verdict::Healthy.may_change_by_itself());
        assert!(!Verdict::NeedsConfiguration.may_change_by_itself());
    }
}
