//! A scripted [`SensorSource`] (and [`KeySource`]) for unit tests, and the sensors they use.

use std::sync::Mutex;
use std::time::Duration;

use secrecy::SecretString;

use super::health::{HealthIssue, HealthIssuesAnswer};
use super::model::{DeploymentPackage, PackageAnswer, Sensor, SensorsAnswer};
use super::port::SensorSource;
use crate::candidates::{ActivationMode, ActivationModeAnswer, CandidateList, ServerIds};
use crate::deadline::Deadline;
use crate::keys::{AccessKey, KeyAnswer, KeySource};
use crate::upstream::GraphError;

#[derive(Default)]
pub struct FakeSensors {
    pub key: String,
    pub sensors: Vec<Sensor>,
    pub issues: Vec<HealthIssue>,
    /// Answer the health issues read with this instead.
    pub issues_error: Option<fn() -> GraphError>,
    pub calls: Mutex<Vec<&'static str>>,
}

impl KeySource for FakeSensors {
    async fn current_key(&self, _: Deadline) -> Result<KeyAnswer, GraphError> {
        self.calls.lock().unwrap().push("key");
        Ok(KeyAnswer {
            key: AccessKey::new(SecretString::from(self.key.clone())),
            graph_request_id: Some("key-req".into()),
        })
    }

    async fn regenerate_key(&self, deadline: Deadline) -> Result<KeyAnswer, GraphError> {
        self.current_key(deadline).await
    }
}

impl SensorSource for FakeSensors {
    async fn deployment_package(&self, _: Deadline) -> Result<PackageAnswer, GraphError> {
        self.calls.lock().unwrap().push("package");
        Ok(PackageAnswer {
            package: DeploymentPackage {
                download_url: "https://download.example/sensor.zip".into(),
                version: "2.241.18000.0".into(),
            },
            graph_request_id: Some("package-req".into()),
        })
    }

    async fn sensors(&self, _: Deadline) -> Result<SensorsAnswer, GraphError> {
        self.calls.lock().unwrap().push("sensors");
        Ok(SensorsAnswer {
            sensors: self.sensors.clone(),
            graph_request_id: Some("sensors-req".into()),
        })
    }

    async fn health_issues(&self, _: Deadline) -> Result<HealthIssuesAnswer, GraphError> {
        self.calls.lock().unwrap().push("health");
        if let Some(error) = self.issues_error {
            return Err(error());
        }
        Ok(HealthIssuesAnswer {
            issues: self.issues.clone(),
            graph_request_id: Some("health-req".into()),
        })
    }

    async fn sensor_candidates(&self, _: Deadline) -> Result<CandidateList, GraphError> {
        self.calls.lock().unwrap().push("candidates");
        Ok(CandidateList::default())
    }

    async fn activation_mode(&self, _: Deadline) -> Result<ActivationModeAnswer, GraphError> {
        self.calls.lock().unwrap().push("activation-mode");
        Ok(ActivationModeAnswer {
            activation_mode: Some("manual".into()),
            graph_request_id: None,
        })
    }

    async fn activate(&self, _: &ServerIds, _: Deadline) -> Result<Option<String>, GraphError> {
        self.calls.lock().unwrap().push("activate");
        Ok(Some("activate-req".into()))
    }

    async fn set_activation_mode(&self, mode: ActivationMode, _: Deadline) -> Result<ActivationModeAnswer, GraphError> {
        self.calls.lock().unwrap().push("set-activation-mode");
        Ok(ActivationModeAnswer {
            activation_mode: Some(mode.name().into()),
            graph_request_id: None,
        })
    }
}

pub(crate) const KEY: &str = "c2Vuc29yLWtleQ+/abc==";

pub(crate) fn soon() -> Deadline {
    Deadline::after(Duration::from_secs(5))
}

pub(crate) fn sensor(name: &str, deployment: &str, service: &str, health: &str) -> Sensor {
    Sensor {
        id: Some(format!("{name}-id")),
        display_name: Some(name.to_owned()),
        domain_name: Some("contoso.com".into()),
        sensor_type: Some("domainControllerIntegrated".into()),
        version: Some("2.241.18000.0".into()),
        deployment_status: Some(deployment.to_owned()),
        health_status: Some(health.to_owned()),
        service_status: Some(service.to_owned()),
        open_health_issues_count: Some(0),
        domain_controller_dns_names: vec![format!("{}.contoso.com", name.to_ascii_lowercase())],
    }
}

/// A sensor as the US Government schema has it: no `serviceStatus` (tests/contract).
pub(crate) fn fairfax_sensor(name: &str, domain: &str, deployment: &str, health: &str, open_issues: u64) -> Sensor {
    Sensor {
        domain_name: Some(domain.to_owned()),
        service_status: None,
        open_health_issues_count: Some(open_issues),
        domain_controller_dns_names: vec![format!("{}.{domain}", name.to_ascii_lowercase())],
        ..sensor(name, deployment, "unused", health)
    }
}

pub(crate) fn key() -> AccessKey {
    AccessKey::new(SecretString::from(KEY))
}
