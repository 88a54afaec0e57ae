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
    /// `settings.domainControllerDnsNames`: the server's fully qualified names.
    pub domain_controller_dns_names: Vec<String>,
}

/// Every sensor of the tenant (all pages), with the first page's request id.
#[derive(Debug, Clone, Default)]
pub struct SensorsAnswer {
    pub sensors: Vec<Sensor>,
    pub graph_request_id: Option<String>,
}
