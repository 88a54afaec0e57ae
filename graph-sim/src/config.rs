//! What the simulated tenant looks like when the simulator starts: its cloud,
//! the app registration the client must present (secret and certificates), the
//! resource it must ask for, and the key the MDI workspace holds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The role Graph demands for both key endpoints: the only one Microsoft's permission map names
/// for them (tests/contract/graph-permissions.json).
pub const REQUIRED_ROLE: &str = "SecurityIdentitiesSensors.ReadWrite.All";
/// The role for the sensor list and the deployment package, and the only one the map names.
pub const READ_ROLE: &str = "SecurityIdentitiesSensors.Read.All";
/// The permission map's least privileged application permission for the health issues.
pub const HEALTH_READ_ROLE: &str = "SecurityIdentitiesHealth.Read.All";
/// The map's higher option for the same read.
pub const HEALTH_READ_WRITE_ROLE: &str = "SecurityIdentitiesHealth.ReadWrite.All";

/// The Microsoft cloud the simulated tenant lives in, as its OpenID
/// configuration document tells it (`cloud_instance_name`, `msgraph_host`,
/// `tenant_region_scope`, `tenant_region_sub_scope`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimCloud {
    /// Commercial Microsoft 365.
    #[default]
    Global,
    /// US Government Community Cloud (moderate): a global-cloud tenant with sub-scope GCC.
    Gcc,
    /// GCC High (L4): `microsoftonline.us`, `graph.microsoft.us`, sub-scope DODCON.
    UsGov,
    /// DoD (L5): `microsoftonline.us`, `dod-graph.microsoft.us`, sub-scope DOD.
    Dod,
}

impl SimCloud {
    /// The Graph root whose `/.default` scope this cloud's Entra issues tokens for.
    pub fn graph_root(self) -> &'static str {
        match self {
            SimCloud::Global | SimCloud::Gcc => "https://graph.microsoft.com",
            SimCloud::UsGov => "https://graph.microsoft.us",
            SimCloud::Dod => "https://dod-graph.microsoft.us",
        }
    }

    pub(crate) fn instance_name(self) -> &'static str {
        match self {
            SimCloud::Global | SimCloud::Gcc => "microsoftonline.com",
            SimCloud::UsGov | SimCloud::Dod => "microsoftonline.us",
        }
    }

    pub(crate) fn msgraph_host(self) -> &'static str {
        let root = self.graph_root();
        root.strip_prefix("https://").unwrap_or(root)
    }

    pub(crate) fn region_scope(self) -> &'static str {
        match self {
            SimCloud::Global | SimCloud::Gcc => "NA",
            SimCloud::UsGov | SimCloud::Dod => "USGov",
        }
    }

    pub(crate) fn region_sub_scope(self) -> Option<&'static str> {
        match self {
            SimCloud::Global => None,
            SimCloud::Gcc => Some("GCC"),
            SimCloud::UsGov => Some("DODCON"),
            SimCloud::Dod => Some("DOD"),
        }
    }
}

/// Starting state of a simulator; the mutable parts can be changed later
/// through [`crate::SimHandle`].
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub tenant_id: String,
    /// The cloud the tenant's OpenID configuration document names.
    pub cloud: SimCloud,
    pub client_id: String,
    pub client_secret: String,
    /// DER of a certificate registered on the app at start (a key credential);
    /// [`crate::SimHandle::register_certificate`] adds more.
    pub client_certificate_der: Option<Vec<u8>>,
    /// The resource a client-credentials scope must name, as `<graph_root>/.default`;
    /// also the `aud` of issued tokens.
    pub graph_root: String,
    /// Application roles put into issued tokens: by default the sensors' two and the health issues',
    /// as the deploy steps grant.
    pub roles: Vec<String>,
    pub initial_key: String,
    pub token_lifetime_secs: u64,
    /// Added to every Entra and Graph answer (not to the `/_sim` routes).
    pub latency: Duration,
    /// The AWS account of the simulated STS, and the IAM role whose credentials call it: the
    /// `sub` of the web identity tokens it issues.
    pub aws_account_id: String,
    pub aws_role_arn: String,
    /// Federated identity credentials registered on the app at start;
    /// [`crate::SimHandle::register_federated_credential`] adds more.
    pub federated_credentials: Vec<FederatedCredential>,
}

/// A federated identity credential of the app registration (Graph's `federatedIdentityCredential`:
/// `issuer`, `subject`, `audiences`, compared case-sensitively): Entra accepts a client assertion
/// from `issuer` about `subject` for one of `audiences` in place of a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedCredential {
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tenant_id: "11111111-1111-1111-1111-111111111111".to_owned(),
            cloud: SimCloud::Global,
            client_id: "22222222-2222-2222-2222-222222222222".to_owned(),
            client_secret: "sim-client-secret".to_owned(),
            client_certificate_der: None,
            graph_root: "https://graph.microsoft.com".to_owned(),
            roles: vec![
                REQUIRED_ROLE.to_owned(),
                READ_ROLE.to_owned(),
                HEALTH_READ_ROLE.to_owned(),
            ],
            initial_key: crate::mint::random_key(),
            // Entra's own default for app tokens, so clients that refresh
            // "a bit before expiry" see realistic numbers.
            token_lifetime_secs: 3599,
            latency: Duration::ZERO,
            aws_account_id: "123456789012".to_owned(),
            aws_role_arn: "arn:aws:iam::123456789012:role/mdi-sensor-key-function".to_owned(),
            federated_credentials: Vec::new(),
        }
    }
}

impl SimConfig {
    /// The defaults for a tenant in `cloud`, whose Entra issues tokens for that cloud's Graph.
    pub fn in_cloud(cloud: SimCloud) -> Self {
        SimConfig {
            cloud,
            graph_root: cloud.graph_root().to_owned(),
            ..SimConfig::default()
        }
    }
}
