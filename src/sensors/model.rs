//! What Graph says of the sensors: a sensor as the schema has it in every cloud and version, the
//! installer package, and the answers of the reads that fetch them.

use serde::Serialize;

/// Where the sensor installer can be downloaded, and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentPackage {
    pub download_url: String,
    pub version: String,
}

/// The package as Graph gave it, with Graph's request id for the audit log.
#[derive(Debug, Clone)]
pub struct PackageAnswer {
    pub package: DeploymentPackage,
    pub graph_request_id: Option<String>,
}

/// One MDI sensor (Graph's `microsoft.graph.security.sensor`). The status fields are Graph's
/// enum values as Graph spelt them: values we do not know yet (`unknownFutureValue` and whatever
/// follows it) pass through untouched rather than failing the whole list.
///
/// Every field is optional because the schema differs by cloud and version (tests/contract): the
/// US Government schema has no `serviceStatus` at all, so nothing may depend on its presence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sensor {
    pub id: Option<String>,
    /// The server's short (NetBIOS) name, e.g. `DC1`.
    pub display_name: Option<String>,
    pub domain_name: Option<String>,
    pub sensor_type: Option<String>,
    pub version: Option<String>,
    pub deployment_status: Option<String>,
    pub health_status: Option<String>,
    /// Absent in the US Government clouds.
    pub service_status: Option<String>,
    pub open_health_issues_count: Option<u64>,
    /// `settings.domainControllerDnsNames`: what it holds depends on the sensor type (see
    /// [`SensorKind`]); only a domain controller sensor's are the server's own names.
    pub domain_controller_dns_names: Vec<String>,
}

/// What a sensor is installed on, from Graph's `sensorType` (the published members,
/// tests/contract/graph-schema.json `enumTypes.sensorType`, the same in every cloud and version).
///
/// It decides what `settings.domainControllerDnsNames` means: for a domain controller sensor the
/// server's own fully qualified names (the portal's "Domain Controllers (FQDN)" "cannot be modified
/// for the Defender for Identity sensor"); for the others, OTHER domain controllers: the ones a
/// standalone sensor monitors through port mirroring, or the resolver domain controllers of an
/// AD FS, AD CS or Entra Connect sensor ("the closest domain controller is automatically
/// selected", and an admin may add more) (MicrosoftDocs/ATADocs
/// `ATPDocs/deploy/configure-sensor-settings.md`, `ATPDocs/deploy/active-directory-federation-services.md`;
/// the Graph sensor update page: the list "can be updated for all sensors with version < 3.X
/// except for domain controller sensors"). docs/sensors.md has the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensorKind {
    /// `domainControllerIntegrated`.
    DomainController,
    /// `adfsIntegrated`.
    Adfs,
    /// `adcsIntegrated`.
    Adcs,
    /// `adConnectIntegrated`: on a Microsoft Entra Connect server.
    EntraConnect,
    /// `domainControllerStandalone`: a standalone sensor fed by port mirroring.
    Standalone,
    /// `unknownFutureValue`, a member added later, or none: treated as not a domain controller
    /// sensor, so its list of domain controllers never names the host it runs on.
    Other,
}

impl SensorKind {
    /// The AD FS, AD CS and Entra Connect sensors: installed on a server beside the domain
    /// controllers, resolving through one of them, and initialising after their configuration
    /// ("the service status ... changes from stopped to running").
    pub fn is_beside_a_domain_controller(self) -> bool {
        matches!(self, SensorKind::Adfs | SensorKind::Adcs | SensorKind::EntraConnect)
    }
}

impl Sensor {
    /// What the sensor is installed on; Graph's spelling, ignoring ASCII case.
    pub fn kind(&self) -> SensorKind {
        let Some(member) = self.sensor_type.as_deref() else {
            return SensorKind::Other;
        };
        [
            ("domainControllerIntegrated", SensorKind::DomainController),
            ("adfsIntegrated", SensorKind::Adfs),
            ("adcsIntegrated", SensorKind::Adcs),
            ("adConnectIntegrated", SensorKind::EntraConnect),
            ("domainControllerStandalone", SensorKind::Standalone),
        ]
        .into_iter()
        .find(|(name, _)| member.eq_ignore_ascii_case(name))
        .map_or(SensorKind::Other, |(_, kind)| kind)
    }

    /// The fully qualified names of the server the sensor runs on: `displayName.domainName` (or a
    /// `displayName` that is already qualified) for every sensor, and for a domain controller
    /// sensor its `settings.domainControllerDnsNames` too. Never another server's name.
    pub fn own_dns_names(&self) -> Vec<String> {
        let mut names: Vec<String> = match (&self.display_name, &self.domain_name) {
            (Some(name), _) if name.contains('.') => vec![name.clone()],
            (Some(name), Some(domain)) if !name.is_empty() && !domain.is_empty() => vec![format!("{name}.{domain}")],
            _ => Vec::new(),
        };
        if self.kind() == SensorKind::DomainController {
            names.extend(self.domain_controller_dns_names.iter().cloned());
        }
        names
    }
}

/// Every sensor of the tenant (all pages), with the first page's request id.
#[derive(Debug, Clone, Default)]
pub struct SensorsAnswer {
    pub sensors: Vec<Sensor>,
    pub graph_request_id: Option<String>,
}
