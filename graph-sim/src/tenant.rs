//! The simulated tenant's MDI sensors and sensor deployment package, its health issues, and its
//! sensor candidates with the activation mode: the data tests set through [`crate::SimHandle`],
//! each kept behind its own lock apart from the key state, and how one sensor, issue or candidate
//! is written for a given cloud and API version ([`crate::contract`]). The endpoints that serve
//! them are in [`crate::sensors`], [`crate::health`] and [`crate::candidates`].

use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::contract::Schema;
use crate::fault::{ActivationUpdate, UnknownServerIds};

/// Sensors per page unless a test sets another size.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// What a sensor is installed on: the published members of Graph's `sensorType`
/// (tests/contract/graph-schema.json, `enumTypes.sensorType`, the same in every cloud and
/// version), as MicrosoftDocs/ATADocs `ATPDocs/sensor-settings.md` names them in the portal
/// (domain controller, AD FS, AD CS and standalone sensors) and
/// `ATPDocs/deploy/active-directory-federation-services.md` adds Microsoft Entra Connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimSensorType {
    /// `domainControllerIntegrated`: the sensor on a domain controller.
    DomainController,
    /// `adfsIntegrated`: on an AD FS server.
    Adfs,
    /// `adcsIntegrated`: on an AD CS server.
    Adcs,
    /// `adConnectIntegrated`: on a Microsoft Entra Connect server.
    EntraConnect,
    /// `domainControllerStandalone`: a standalone sensor that sees domain controllers' traffic
    /// through port mirroring.
    Standalone,
}

impl SimSensorType {
    pub const ALL: [SimSensorType; 5] = [
        SimSensorType::DomainController,
        SimSensorType::Adfs,
        SimSensorType::Adcs,
        SimSensorType::EntraConnect,
        SimSensorType::Standalone,
    ];

    /// The `sensorType` member Graph sends.
    pub fn member(self) -> &'static str {
        match self {
            SimSensorType::DomainController => "domainControllerIntegrated",
            SimSensorType::Adfs => "adfsIntegrated",
            SimSensorType::Adcs => "adcsIntegrated",
            SimSensorType::EntraConnect => "adConnectIntegrated",
            SimSensorType::Standalone => "domainControllerStandalone",
        }
    }
}

/// One MDI sensor as Graph describes it (`microsoft.graph.security.sensor`; the enum members
/// below are the published ones, tests/contract). Statuses are free strings so tests can serve
/// values a client does not know (`unknownFutureValue`, or one Microsoft adds later). Which of the
/// fields are sent depends on the cloud and version ([`crate::contract`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimSensor {
    pub id: String,
    /// The server's short (NetBIOS) name, as in Microsoft's example (`DC1`).
    pub display_name: String,
    pub domain_name: String,
    /// `adConnectIntegrated`, `adcsIntegrated`, `adfsIntegrated`, `domainControllerIntegrated`,
    /// `domainControllerStandalone`, `unknownFutureValue` ([`SimSensorType::member`]).
    pub sensor_type: String,
    /// `upToDate`, `outdated`, `updating`, `updateFailed`, `notConfigured`, `unreachable`,
    /// `disconnected`, `startFailure`, `syncing`, `unknownFutureValue`.
    pub deployment_status: String,
    /// `healthy`, `notHealthyLow`, `notHealthyMedium`, `notHealthyHigh`, `unknownFutureValue`.
    pub health_status: String,
    /// `stopped`, `starting`, `running`, `disabled`, `onboarding`, `unknown`, `unknownFutureValue`
    /// (global cloud only).
    pub service_status: String,
    pub version: String,
    pub created_date_time: String,
    #[serde(default)]
    pub open_health_issues_count: u64,
    /// `settings.domainControllerDnsNames`. What it holds depends on the sensor type: for a
    /// domain controller sensor, the server's own fully qualified names (Microsoft's example;
    /// the portal's "Domain Controllers (FQDN)" "cannot be modified for the Defender for
    /// Identity sensor"); for AD FS, AD CS, Entra Connect and standalone sensors, OTHER domain
    /// controllers: the ones a standalone sensor monitors, or the resolver the installer picked
    /// ("the closest domain controller is automatically selected") and whatever an admin added
    /// (MicrosoftDocs/ATADocs `ATPDocs/deploy/configure-sensor-settings.md`,
    /// `ATPDocs/deploy/active-directory-federation-services.md`; the Graph sensor update page:
    /// it "can be updated for all sensors with version < 3.X except for domain controller
    /// sensors").
    #[serde(default)]
    pub domain_controller_dns_names: Vec<String>,
    /// `settings.isDelayedDeploymentEnabled`.
    #[serde(default)]
    pub is_delayed_deployment_enabled: bool,
    /// `migrationState` (beta, global cloud only): `readyForMigration`, `notReadyForMigration`,
    /// `upToDate`, `migrationFailed`, `migrating`, `unknownFutureValue`.
    #[serde(default = "not_ready_for_migration")]
    pub migration_state: String,
    /// The simulator's model of an AD FS, AD CS or Entra Connect sensor initialising: for this
    /// many more list reads that include it, `serviceStatus` reads `stopped`; after them, its
    /// `service_status`. "Initializing the sensor might take a couple of minutes. When it
    /// finishes, the service status of the AD FS, AD CS, or Microsoft Entra Connect sensor
    /// changes from stopped to running" (ATADocs
    /// `ATPDocs/deploy/active-directory-federation-services.md`). Not a Graph property.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stopped_for_reads: u32,
}

fn is_zero(reads: &u32) -> bool {
    *reads == 0
}

fn not_ready_for_migration() -> String {
    "notReadyForMigration".to_owned()
}

impl SimSensor {
    /// An up-to-date, running, healthy domain controller sensor with no open health issue. A
    /// short name (`DC1`) gets the DNS name `dc1.<domain>`; a name with a dot is taken as the DNS
    /// name already.
    pub fn healthy(display_name: &str, domain_name: &str) -> Self {
        let dns_name = if display_name.contains('.') {
            display_name.to_ascii_lowercase()
        } else {
            format!("{}.{domain_name}", display_name.to_ascii_lowercase())
        };
        SimSensor {
            id: Uuid::new_v4().to_string(),
            display_name: display_name.to_owned(),
            domain_name: domain_name.to_owned(),
            sensor_type: SimSensorType::DomainController.member().to_owned(),
            deployment_status: "upToDate".to_owned(),
            health_status: "healthy".to_owned(),
            service_status: "running".to_owned(),
            version: "2.241.18000.0".to_owned(),
            created_date_time: "2026-01-15T09:30:00.1234567Z".to_owned(),
            open_health_issues_count: 0,
            domain_controller_dns_names: vec![dns_name],
            is_delayed_deployment_enabled: false,
            migration_state: not_ready_for_migration(),
            stopped_for_reads: 0,
        }
    }

    /// An up-to-date, running, healthy sensor of `kind` on the server `display_name` (its short
    /// name), whose `settings.domainControllerDnsNames` is `domain_controllers`: for every kind
    /// but [`SimSensorType::DomainController`], other servers (see the field). A domain
    /// controller sensor lists what it is given too, so a test can serve any data.
    pub fn of_type(kind: SimSensorType, display_name: &str, domain_name: &str, domain_controllers: &[&str]) -> Self {
        SimSensor {
            sensor_type: kind.member().to_owned(),
            domain_controller_dns_names: domain_controllers.iter().map(|name| (*name).to_owned()).collect(),
            ..SimSensor::healthy(display_name, domain_name)
        }
    }

    /// The same sensor with its deployment, service and health statuses replaced.
    pub fn with_status(mut self, deployment: &str, service: &str, health: &str) -> Self {
        deployment.clone_into(&mut self.deployment_status);
        service.clone_into(&mut self.service_status);
        health.clone_into(&mut self.health_status);
        self
    }

    /// The same sensor waiting for its configuration: `deploymentStatus` `notConfigured`
    /// ("Sensor requires more configuration before it's fully operational. This applies to
    /// sensors installed on AD FS / AD CS servers or standalone sensors": ATADocs
    /// `ATPDocs/sensor-settings.md`) and its service `stopped` (the service starts "after you save
    /// the Defender for Identity sensor settings": `ATPDocs/deploy/configure-sensor-settings.md`).
    /// Health and issues are left as they are: Microsoft documents none for this state.
    pub fn needing_configuration(self) -> Self {
        let health = self.health_status.clone();
        self.with_status("notConfigured", "stopped", &health)
    }

    /// The same sensor initialising ([`Self::stopped_for_reads`]): `serviceStatus` reads `stopped`
    /// for the next `reads` list reads that include it, then `running`.
    pub fn initialising(mut self, reads: u32) -> Self {
        "running".clone_into(&mut self.service_status);
        self.stopped_for_reads = reads;
        self
    }

    /// The sensor as `schema` publishes it: every property it has, and no other.
    pub fn to_json(&self, schema: &Schema) -> Value {
        let service_status = if self.stopped_for_reads > 0 {
            "stopped"
        } else {
            self.service_status.as_str()
        };
        let every = json!({
            "id": self.id,
            "displayName": self.display_name,
            "domainName": self.domain_name,
            "sensorType": self.sensor_type,
            "deploymentStatus": self.deployment_status,
            "healthStatus": self.health_status,
            "serviceStatus": service_status,
            "version": self.version,
            "createdDateTime": self.created_date_time,
            "openHealthIssuesCount": self.open_health_issues_count,
            "migrationState": self.migration_state,
            "settings": only(&schema.settings, json!({
                "description": "",
                "domainControllerDnsNames": self.domain_controller_dns_names,
                "isDelayedDeploymentEnabled": self.is_delayed_deployment_enabled,
            })),
        });
        only(&schema.sensor, every)
    }
}

/// `object` with only the members named in `names`.
fn only(names: &[String], object: Value) -> Value {
    match object {
        Value::Object(mut members) => {
            members.retain(|name, _| names.iter().any(|wanted| wanted == name));
            Value::Object(members)
        }
        other => other,
    }
}

/// What `getDeploymentPackageUri` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimPackage {
    pub download_url: String,
    pub version: String,
}

impl Default for SimPackage {
    fn default() -> Self {
        SimPackage {
            // `.invalid` never resolves: nothing can download from the simulator by accident.
            download_url: "https://sensor-package.sim.invalid/Azure%20ATP%20Sensor%20Setup.zip".to_owned(),
            version: "2.241.18000.0".to_owned(),
        }
    }
}

pub(crate) struct Tenant {
    pub sensors: Vec<SimSensor>,
    pub page_size: usize,
    pub package: SimPackage,
    /// Where next links point instead of the simulator itself, to test clients that must refuse
    /// a link leaving Graph.
    pub next_link_root: Option<String>,
}

/// The sensors and the package, behind their own lock.
pub(crate) struct SensorState {
    tenant: Mutex<Tenant>,
}

impl Default for SensorState {
    fn default() -> Self {
        SensorState {
            tenant: Mutex::new(Tenant {
                sensors: Vec::new(),
                page_size: DEFAULT_PAGE_SIZE,
                package: SimPackage::default(),
                next_link_root: None,
            }),
        }
    }
}

impl SensorState {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_sensors(&self, sensors: Vec<SimSensor>) {
        self.lock().sensors = sensors;
    }

    pub(crate) fn sensors(&self) -> Vec<SimSensor> {
        self.lock().sensors.clone()
    }

    /// At least one: a page of nothing would never end.
    pub(crate) fn set_page_size(&self, size: usize) {
        self.lock().page_size = size.max(1);
    }

    pub(crate) fn set_package(&self, package: SimPackage) {
        self.lock().package = package;
    }

    pub(crate) fn package(&self) -> SimPackage {
        self.lock().package.clone()
    }

    pub(crate) fn set_next_link_root(&self, root: Option<String>) {
        self.lock().next_link_root = root;
    }
}

/// One health issue as Graph describes it (`microsoft.graph.security.healthIssue`). Enum values
/// are free strings so tests can serve members a client does not know; which properties are sent
/// depends on the cloud and version ([`crate::contract`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimHealthIssue {
    pub id: String,
    pub display_name: String,
    pub description: String,
    /// `sensor`, `global`, `unknownFutureValue`.
    pub health_issue_type: String,
    /// `low`, `medium`, `high`, `unknownFutureValue`.
    pub severity: String,
    /// `open`, `closed`, `suppressed`, `unknownFutureValue`.
    pub status: String,
    pub issue_type_id: String,
    #[serde(rename = "sensorDNSNames")]
    pub sensor_dns_names: Vec<String>,
    pub domain_names: Vec<String>,
    pub recommendations: Vec<String>,
    pub recommended_action_commands: Vec<String>,
    pub additional_information: Vec<String>,
    pub created_date_time: String,
    pub last_modified_date_time: String,
}

impl SimHealthIssue {
    /// An open, high-severity sensor issue on `dns_name` (e.g. `dc1.contoso.com`), worded after
    /// the API page's example.
    pub fn open_on(dns_name: &str) -> Self {
        let domain = dns_name.split_once('.').map_or("", |(_, domain)| domain);
        SimHealthIssue {
            id: Uuid::new_v4().to_string(),
            display_name: "Sensor stopped communicating".to_owned(),
            description: format!("The sensor on {dns_name} has not communicated with the cloud service."),
            health_issue_type: "sensor".to_owned(),
            severity: "high".to_owned(),
            status: "open".to_owned(),
            issue_type_id: "1031".to_owned(),
            sensor_dns_names: vec![dns_name.to_owned()],
            domain_names: vec![domain.to_owned()],
            recommendations: vec![
                "Check that the sensor service is running and can reach the cloud service.".to_owned(),
            ],
            recommended_action_commands: vec!["Get-Service AATPSensor".to_owned()],
            additional_information: Vec::new(),
            created_date_time: "2026-01-15T09:30:00.1234567Z".to_owned(),
            last_modified_date_time: "2026-01-15T10:30:00.1234567Z".to_owned(),
        }
    }

    /// The same issue with another status and severity.
    pub fn with(mut self, status: &str, severity: &str) -> Self {
        status.clone_into(&mut self.status);
        severity.clone_into(&mut self.severity);
        self
    }

    /// The issue as `schema` publishes it: every property it has, and no other.
    pub fn to_json(&self, schema: &Schema) -> Value {
        let every = json!({
            "id": self.id,
            "displayName": self.display_name,
            "description": self.description,
            "healthIssueType": self.health_issue_type,
            "severity": self.severity,
            "status": self.status,
            "issueTypeId": self.issue_type_id,
            "sensorDNSNames": self.sensor_dns_names,
            "domainNames": self.domain_names,
            "recommendations": self.recommendations,
            "recommendedActionCommands": self.recommended_action_commands,
            "additionalInformation": self.additional_information,
            "createdDateTime": self.created_date_time,
            "lastModifiedDateTime": self.last_modified_date_time,
        });
        only(&schema.health_issue, every)
    }
}

pub(crate) struct Issues {
    pub issues: Vec<SimHealthIssue>,
    pub page_size: usize,
}

/// The tenant's health issues, behind their own lock.
pub(crate) struct HealthState {
    inner: Mutex<Issues>,
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState {
            inner: Mutex::new(Issues {
                issues: Vec::new(),
                page_size: DEFAULT_PAGE_SIZE,
            }),
        }
    }
}

impl HealthState {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Issues> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_issues(&self, issues: Vec<SimHealthIssue>) {
        self.lock().issues = issues;
    }

    /// At least one: a page of nothing would never end.
    pub(crate) fn set_page_size(&self, size: usize) {
        self.lock().page_size = size.max(1);
    }
}

/// One candidate server (`microsoft.graph.security.sensorCandidate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimCandidate {
    /// A Defender for Endpoint machine id: 40 hex digits.
    pub id: String,
    pub computer_dns_name: String,
    pub domain_name: String,
    pub last_seen_date_time: String,
    pub sense_client_version: String,
}

impl SimCandidate {
    /// A domain controller at `dns_name` (e.g. `dc5.contoso.com`) with a fresh machine id.
    pub fn new(dns_name: &str) -> Self {
        let domain = dns_name.split_once('.').map_or("", |(_, domain)| domain);
        SimCandidate {
            id: format!(
                "{}{}",
                Uuid::new_v4().simple(),
                &Uuid::new_v4().simple().to_string()[..8]
            ),
            computer_dns_name: dns_name.to_owned(),
            domain_name: domain.to_owned(),
            last_seen_date_time: "2026-01-15T09:30:00.1234567Z".to_owned(),
            sense_client_version: "10.8760.26100.3775".to_owned(),
        }
    }

    /// The candidate as `schema` publishes it: every property it has, and no other.
    pub(crate) fn to_json(&self, schema: &Schema) -> Value {
        let every = json!({
            "id": self.id,
            "computerDnsName": self.computer_dns_name,
            "domainName": self.domain_name,
            "lastSeenDateTime": self.last_seen_date_time,
            "senseClientVersion": self.sense_client_version,
            // deviceType is a flags enum; one member for a domain controller.
            "sensorTypes": ["domainController"],
        });
        only(&schema.candidate, every)
    }
}

pub(crate) struct Candidates {
    pub candidates: Vec<SimCandidate>,
    pub page_size: usize,
    pub activation_mode: String,
    /// Every `serverIds` list received, in order.
    pub activations: Vec<Vec<String>>,
    /// Which verbs update the activation configuration.
    pub update_verbs: ActivationUpdate,
    /// What an activation does with an id that names no candidate.
    pub unknown_server_ids: UnknownServerIds,
}

/// The tenant's sensor candidates and activation mode, behind their own lock.
pub(crate) struct CandidateState {
    inner: Mutex<Candidates>,
}

impl Default for CandidateState {
    fn default() -> Self {
        CandidateState {
            inner: Mutex::new(Candidates {
                candidates: Vec::new(),
                page_size: DEFAULT_PAGE_SIZE,
                activation_mode: "manual".to_owned(),
                activations: Vec::new(),
                update_verbs: ActivationUpdate::default(),
                unknown_server_ids: UnknownServerIds::default(),
            }),
        }
    }
}

impl CandidateState {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Candidates> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_candidates(&self, candidates: Vec<SimCandidate>) {
        self.lock().candidates = candidates;
    }

    pub(crate) fn candidates(&self) -> Vec<SimCandidate> {
        self.lock().candidates.clone()
    }

    /// At least one: a page of nothing would never end.
    pub(crate) fn set_page_size(&self, size: usize) {
        self.lock().page_size = size.max(1);
    }

    pub(crate) fn activation_mode(&self) -> String {
        self.lock().activation_mode.clone()
    }

    pub(crate) fn activations(&self) -> Vec<Vec<String>> {
        self.lock().activations.clone()
    }
}
