//! What the simulated tenant looks like when the simulator starts: the app
//! registration the client must present, the resource it must ask for, and
//! the key the MDI workspace holds.

use std::time::Duration;

/// The role Graph demands for both key endpoints.
pub const REQUIRED_ROLE: &str = "SecurityIdentitiesSensors.ReadWrite.All";

/// Starting state of a simulator; the mutable parts can be changed later
/// through [`crate::SimHandle`].
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// The resource a client-credentials scope must name, as `<graph_root>/.default`;
    /// also the `aud` of issued tokens.
    pub graph_root: String,
    /// Application roles put into issued tokens.
    pub roles: Vec<String>,
    pub initial_key: String,
    pub token_lifetime_secs: u64,
    /// Added to every Entra and Graph answer (not to the `/_sim` routes).
    pub latency: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tenant_id: "11111111-1111-1111-1111-111111111111".to_owned(),
            client_id: "22222222-2222-2222-2222-222222222222".to_owned(),
            client_secret: "sim-client-secret".to_owned(),
            graph_root: "https://graph.microsoft.com".to_owned(),
            roles: vec![REQUIRED_ROLE.to_owned()],
            initial_key: crate::mint::random_key(),
            // Entra's own default for app tokens, so clients that refresh
            // "a bit before expiry" see realistic numbers.
            token_lifetime_secs: 3599,
            latency: Duration::ZERO,
        }
    }
}
