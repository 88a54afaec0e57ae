//! Microsoft Graph and Entra ID: the token, the tenant's cloud (in `cloud`), the two key
//! endpoints, the sensor endpoints (in `sensors`), and the caches around them.
//!
//! [`GraphClient`] makes single calls (with retries) against the hosts of one cloud, and refuses
//! to send a token anywhere but that cloud's Graph root; [`GraphSession`] adds the credentials,
//! cloud and token caches and implements the domain's [`KeySource`](crate::keys::KeySource) port.

mod client;
mod cloud;
mod entra;
mod page;
mod retry;
mod sensors;
mod session;
mod untrusted;

pub use client::GraphClient;
pub use entra::AccessToken;
pub use retry::RetryPolicy;
pub use sensors::{CANDIDATE_PROPERTIES_READ, HEALTH_ISSUE_PROPERTIES_READ, SENSOR_PROPERTIES_READ};
pub use session::GraphSession;

pub use crate::upstream::{
    EntraRefusal, FederationRefusal, Forbidden, GraphError, RefusedAssertion, Unavailable, Upstream, UpstreamIds,
};

/// The application permission the key endpoints need.
pub const READ_WRITE_ROLE: &str = "SecurityIdentitiesSensors.ReadWrite.All";
/// The application permission the sensor list and the deployment package need. Microsoft's
/// permission map lists only this one for them, not ReadWrite.All: an app needs both.
pub const READ_ROLE: &str = "SecurityIdentitiesSensors.Read.All";

/// The application permission the health issues need (the permission map's least privileged for
/// `GET /security/identities/healthIssues`; ReadWrite.All is listed as the higher option).
pub const HEALTH_READ_ROLE: &str = "SecurityIdentitiesHealth.Read.All";

/// A Graph endpoint this crate calls: its method, its path under the API version, and the
/// application permission Microsoft's permission map names for it
/// (tests/contract/graph-permissions.json, to which tests/contract.rs holds this table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub role: &'static str,
}

pub const GET_KEY: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensors/getDeploymentAccessKey",
    role: READ_WRITE_ROLE,
};
pub const REGENERATE_KEY: Endpoint = Endpoint {
    method: "POST",
    path: "security/identities/sensors/regenerateDeploymentAccessKey",
    role: READ_WRITE_ROLE,
};
pub const LIST_SENSORS: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensors",
    role: READ_ROLE,
};
pub const GET_PACKAGE: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensors/getDeploymentPackageUri",
    role: READ_ROLE,
};
/// `GET /security/identities/healthIssues`: v1.0 and beta, in the global and US Government
/// schemas alike (tests/contract/graph-schema.json; API page
/// `security-identitycontainer-list-healthissues.md`).
pub const LIST_HEALTH_ISSUES: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/healthIssues",
    role: HEALTH_READ_ROLE,
};
/// `GET /security/identities/sensorCandidates`: v1.0 in the global cloud only, beta in the global
/// and US Government clouds (tests/contract/graph-schema.json; API page
/// `security-identitycontainer-list-sensorcandidates.md`). The map also lists ReadWrite.All.
pub const LIST_SENSOR_CANDIDATES: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensorCandidates",
    role: READ_ROLE,
};
/// `POST /security/identities/sensorCandidates/activate` with `{"serverIds": [...]}`: answers
/// `200 OK` with no body (API page `security-sensorcandidate-activate.md`). Same clouds.
pub const ACTIVATE_SENSOR_CANDIDATES: Endpoint = Endpoint {
    method: "POST",
    path: "security/identities/sensorCandidates/activate",
    role: READ_WRITE_ROLE,
};
/// `GET /security/identities/sensorCandidateActivationConfiguration`. Same clouds.
pub const GET_ACTIVATION_CONFIGURATION: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensorCandidateActivationConfiguration",
    role: READ_ROLE,
};
/// The update of the activation configuration. The sources disagree on its verb and path: the
/// permission map lists `POST` on this (singular) path, the Graph PowerShell SDK
/// (`Update-MgSecurityIdentitySensorCandidateActivationConfiguration`) sends `PATCH` to it, and
/// the API page `security-identitycontainer-post-sensorcandidateactivationconfiguration.md`
/// writes `POST .../sensorCandidateActivationConfigurations` (plural). The CSDL has a
/// single-valued navigation property of this singular name, and OData updates a single entity
/// with `PATCH`; so `PATCH` on the singular path, and docs/install-pipeline.md says it is
/// unconfirmed against the live service. The role is the map's (for its `POST` entry).
pub const SET_ACTIVATION_CONFIGURATION: Endpoint = Endpoint {
    method: "PATCH",
    path: "security/identities/sensorCandidateActivationConfiguration",
    role: READ_WRITE_ROLE,
};
/// Every endpoint above whose method and path the permission map lists as they are.
pub const ENDPOINTS: [Endpoint; 8] = [
    GET_KEY,
    REGENERATE_KEY,
    LIST_SENSORS,
    GET_PACKAGE,
    LIST_HEALTH_ISSUES,
    LIST_SENSOR_CANDIDATES,
    ACTIVATE_SENSOR_CANDIDATES,
    GET_ACTIVATION_CONFIGURATION,
];
