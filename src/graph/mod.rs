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

use crate::cloud::{ApiVersion, Cloud};
pub use crate::upstream::{
    EntraRefusal, FederationRefusal, Forbidden, GraphError, RefusedAssertion, Unavailable, Upstream, UpstreamIds,
};

/// The application permission the key endpoints need.
pub const READ_WRITE_ROLE: &str = "SecurityIdentitiesSensors.ReadWrite.All";
/// The application permission the sensor list and the deployment package need. Microsoft's
/// permission map lists only this one for them, not ReadWrite.All: an app needs both.
pub const READ_ROLE: &str = "SecurityIdentitiesSensors.Read.All";

/// The application permission the health issues need (the permission map's least privileged for
/// `GET /security/identities/healthIssues`).
pub const HEALTH_READ_ROLE: &str = "SecurityIdentitiesHealth.Read.All";
/// The map's higher option for the health issues, which it accepts as well.
pub const HEALTH_READ_WRITE_ROLE: &str = "SecurityIdentitiesHealth.ReadWrite.All";

/// One cloud and API version's published schema, as the contract snapshot keys them
/// (tests/contract/graph-schema.json): Microsoft publishes one US Government schema (`Fairfax`),
/// which serves both `usgov` (L4) and `dod` (L5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    V1Global,
    V1UsGov,
    BetaGlobal,
    BetaUsGov,
}

impl Schema {
    pub const ALL: [Schema; 4] = [Schema::V1Global, Schema::V1UsGov, Schema::BetaGlobal, Schema::BetaUsGov];

    /// The schema a cloud serves at an API version.
    pub fn of(cloud: Cloud, version: ApiVersion) -> Schema {
        match (version, cloud.is_government()) {
            (ApiVersion::V1, false) => Schema::V1Global,
            (ApiVersion::V1, true) => Schema::V1UsGov,
            (ApiVersion::Beta, false) => Schema::BetaGlobal,
            (ApiVersion::Beta, true) => Schema::BetaUsGov,
        }
    }

    /// The snapshot's key: `v1.0-global`, `v1.0-usgov`, `beta-global`, `beta-usgov`.
    pub fn key(self) -> &'static str {
        match self {
            Schema::V1Global => "v1.0-global",
            Schema::V1UsGov => "v1.0-usgov",
            Schema::BetaGlobal => "beta-global",
            Schema::BetaUsGov => "beta-usgov",
        }
    }
}

/// A Graph endpoint this crate calls: its method, its path under the API version, every
/// application permission Microsoft's permission map accepts for it (least privileged first), and
/// the schemas that publish it (tests/contract/, to which tests/contract.rs holds this table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    /// The map's application permissions for the method and path, least privileged first: a
    /// token holding any of them is admitted.
    pub roles: &'static [&'static str],
    /// Where the snapshot publishes the path: elsewhere, Graph's 400 or 404 for it means the API
    /// is not there ([`GraphError::NotInCloud`]).
    pub published: &'static [Schema],
}

impl Endpoint {
    /// The least privileged permission the map names: the one to grant when the app has none.
    pub fn least_privileged(&self) -> &'static str {
        self.roles.first().copied().unwrap_or_default()
    }

    pub fn published_in(&self, schema: Schema) -> bool {
        self.published.contains(&schema)
    }
}

/// Every schema of the snapshot.
const EVERYWHERE: &[Schema] = &Schema::ALL;
/// The identity container's newer navigation properties (sensor candidates, their activation and
/// its configuration): every schema but v1.0 US Government.
const NOT_IN_V1_US_GOV: &[Schema] = &[Schema::V1Global, Schema::BetaGlobal, Schema::BetaUsGov];

pub const GET_KEY: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensors/getDeploymentAccessKey",
    roles: &[READ_WRITE_ROLE],
    published: EVERYWHERE,
};
pub const REGENERATE_KEY: Endpoint = Endpoint {
    method: "POST",
    path: "security/identities/sensors/regenerateDeploymentAccessKey",
    roles: &[READ_WRITE_ROLE],
    published: EVERYWHERE,
};
pub const LIST_SENSORS: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensors",
    roles: &[READ_ROLE],
    published: EVERYWHERE,
};
pub const GET_PACKAGE: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensors/getDeploymentPackageUri",
    roles: &[READ_ROLE],
    published: EVERYWHERE,
};
/// `GET /security/identities/healthIssues`: v1.0 and beta, in the global and US Government
/// schemas alike (tests/contract/graph-schema.json; API page
/// `security-identitycontainer-list-healthissues.md`).
pub const LIST_HEALTH_ISSUES: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/healthIssues",
    roles: &[HEALTH_READ_ROLE, HEALTH_READ_WRITE_ROLE],
    published: EVERYWHERE,
};
/// The open health issues: the list with the one `$filter` the API page documents for it, in
/// v1.0 and beta ("Get all open health alerts": `$filter=Status eq 'open'`). Sent with the CSDL's
/// spelling of the property, `status`: right under OData's case-sensitive rule, and the page's
/// `Status` shows the service matches names ignoring case.
pub const OPEN_HEALTH_ISSUES_QUERY: &str = "$filter=status%20eq%20%27open%27";
/// `GET /security/identities/sensorCandidates`: v1.0 in the global cloud only, beta in the global
/// and US Government clouds (tests/contract/graph-schema.json; API page
/// `security-identitycontainer-list-sensorcandidates.md`).
pub const LIST_SENSOR_CANDIDATES: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensorCandidates",
    roles: &[READ_ROLE, READ_WRITE_ROLE],
    published: NOT_IN_V1_US_GOV,
};
/// `POST /security/identities/sensorCandidates/activate` with `{"serverIds": [...]}`: answers
/// `200 OK` with no body (API page `security-sensorcandidate-activate.md`). Same clouds.
pub const ACTIVATE_SENSOR_CANDIDATES: Endpoint = Endpoint {
    method: "POST",
    path: "security/identities/sensorCandidates/activate",
    roles: &[READ_WRITE_ROLE],
    published: NOT_IN_V1_US_GOV,
};
/// `GET /security/identities/sensorCandidateActivationConfiguration`. Same clouds.
pub const GET_ACTIVATION_CONFIGURATION: Endpoint = Endpoint {
    method: "GET",
    path: "security/identities/sensorCandidateActivationConfiguration",
    roles: &[READ_ROLE, READ_WRITE_ROLE],
    published: NOT_IN_V1_US_GOV,
};
/// The update of the activation configuration, as the permission map lists it: `POST` on this
/// (singular) path. The sources disagree on the verb: the CSDL has a single-valued navigation
/// property of this name, which OData updates with `PATCH`, and the SDKs generated from it send
/// `PATCH` (e.g. `Update-MgSecurityIdentitySensorCandidateActivationConfiguration`); the API page
/// `security-identitycontainer-post-sensorcandidateactivationconfiguration.md` writes `POST` on a
/// plural path the CSDL does not have. So the client sends the map's `POST` and, when Graph
/// answers that the method is not allowed, [`ACTIVATION_UPDATE_OTHER_VERB`] once
/// (docs/install-pipeline.md). Same clouds.
pub const SET_ACTIVATION_CONFIGURATION: Endpoint = Endpoint {
    method: "POST",
    path: "security/identities/sensorCandidateActivationConfiguration",
    roles: &[READ_WRITE_ROLE],
    published: NOT_IN_V1_US_GOV,
};
/// The activation configuration update's other verb, sent once after Graph refuses the first.
pub const ACTIVATION_UPDATE_OTHER_VERB: &str = "PATCH";
/// Every endpoint above; the permission map lists each method and path as they are.
pub const ENDPOINTS: [Endpoint; 9] = [
    GET_KEY,
    REGENERATE_KEY,
    LIST_SENSORS,
    GET_PACKAGE,
    LIST_HEALTH_ISSUES,
    LIST_SENSOR_CANDIDATES,
    ACTIVATE_SENSOR_CANDIDATES,
    GET_ACTIVATION_CONFIGURATION,
    SET_ACTIVATION_CONFIGURATION,
];
