//! A loopback simulator of Microsoft Entra ID's token endpoint (client secret
//! or certificate assertion) and OpenID discovery document, and of Microsoft
//! Graph's MDI sensor deployment access key endpoints, for the integration
//! tests, the benchmark and the local demo of the key-proxy Lambda.
//!
//! It checks requests the way the real services do and refuses them in the
//! real services' error shapes, so the client's error handling is exercised
//! against what production sends. Tests steer it through [`SimHandle`]
//! (faults, key, roles, secret rotation, token revocation, latency) and read
//! back call counts and recorded requests; other processes do the same
//! through the `/_sim` HTTP routes described in the `control` module.
//!
//! One server serves both services, so the authority URL and the Graph URL
//! are the same `http://127.0.0.1:PORT`:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use graph_sim::{Endpoint, Fault, Sim, SimConfig};
//!
//! let sim = Sim::start(SimConfig::default()).await?;
//! let token_url = format!("{}/{}/oauth2/v2.0/token", sim.authority_url(), "11111111-1111-1111-1111-111111111111");
//! let key_url = format!("{}/beta/security/identities/sensors/getDeploymentAccessKey", sim.graph_url());
//! sim.inject(Endpoint::GetKey, Fault::Status(503));
//! # let _ = (token_url, key_url);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

// The layers, top down; a module imports only from layers below it (no import cycle).
// - router: path -> service; records and counts the request, draws its fault, adds latency.
mod router;
// - injection: the one place a queued fault meets a request (the `Service` trait).
mod injection;
// - the services: Entra's token endpoint and discovery document, Graph's key, sensor, health
//   issue and sensor candidate operations (sharing `graph`; the last two also `identities`),
//   AWS STS (`sts`), IAM (`iam`) and the account's token issuer (`issuer`), and `/_sim` (`control`).
mod candidates;
mod control;
mod discovery;
mod entra;
mod graph;
mod health;
mod iam;
mod identities;
mod issuer;
mod keys;
mod sensors;
mod sts;
// - what the services answer with, read and remember: the answer shapes (`reply`), the
//   request, the simulator's state and the tenant's sensors, health issues and candidates.
mod reply;
mod request;
mod state;
mod tenant;
// - their tools: the steering vocabulary (`fault`), the start configuration, the published
//   sensor contract, assertion checks, certificates, minted secrets, clocks.
mod assertion;
mod certificate;
mod clock;
mod config;
mod contract;
mod fault;
mod federated;
mod mint;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use certificate::{InvalidCertificate, TestCertificate, thumbprint_sha256};
pub use config::{
    FederatedCredential, HEALTH_READ_ROLE, HEALTH_READ_WRITE_ROLE, READ_ROLE, REQUIRED_ROLE, SimCloud, SimConfig,
};
pub use fault::{ActivationUpdate, Endpoint, Fault, KeyShape, RetryAfter, UnknownServerIds};
pub use mint::random_key;
pub use state::{MAX_RECORDED_REQUESTS, RecordedRequest};
pub use tenant::{DEFAULT_PAGE_SIZE, SimCandidate, SimHealthIssue, SimPackage, SimSensor, SimSensorType};

use certificate::RegisteredCertificate;
use state::Shared;

/// Starts simulators.
pub struct Sim;

impl Sim {
    /// Starts a simulator on a free loopback port.
    pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts a simulator on the given address, which must be a loopback
    /// address (else `InvalidInput`): the control routes must stay local. A
    /// `client_certificate_der` that is not an RSA certificate is `InvalidInput` too.
    pub async fn start_on(addr: SocketAddr, config: SimConfig) -> std::io::Result<SimHandle> {
        let certificates = match &config.client_certificate_der {
            Some(der) => vec![RegisteredCertificate::from_der(der).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("client_certificate_der: {e}"))
            })?],
            None => Vec::new(),
        };
        let (shared, addr, task) = router::spawn(addr, |base_url| Shared::new(config, certificates, base_url)).await?;
        Ok(SimHandle {
            inner: Arc::new(Inner { shared, addr, task }),
        })
    }
}

/// A running simulator. Clones share the same server. The server runs on
/// the tokio runtime that started it and stops accepting connections when
/// the last clone is dropped or that runtime shuts down.
#[derive(Clone)]
pub struct SimHandle {
    inner: Arc<Inner>,
}

impl fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.shared().base_url)
            .finish_non_exhaustive()
    }
}

struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SimHandle {
    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `http://127.0.0.1:PORT`, serving Entra, Graph and `/_sim`.
    pub fn base_url(&self) -> String {
        self.shared().base_url.clone()
    }

    /// Entra authority; the token URL is `{authority}/{tenant}/oauth2/v2.0/token`.
    pub fn authority_url(&self) -> String {
        self.base_url()
    }

    /// Graph root; key URLs are `{graph}/{beta|v1.0}/security/identities/sensors/…`.
    pub fn graph_url(&self) -> String {
        self.base_url()
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token` for the configured tenant.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.base_url(),
            self.shared().fixed.tenant_id
        )
    }

    pub fn current_key(&self) -> String {
        self.shared().current_key()
    }

    pub fn set_key(&self, key: &str) {
        self.shared().set_key(key);
    }

    /// How many keys `regenerateDeploymentAccessKey` has generated since
    /// start or the last [`reset`](Self::reset), including those whose
    /// answer was then faulted away.
    pub fn keys_generated(&self) -> u64 {
        self.shared().keys_generated()
    }

    pub fn set_key_shape(&self, shape: KeyShape) {
        self.shared().set_key_shape(shape);
    }

    /// Rotates the app's secret in the simulated Entra; the old one stops
    /// working at once, tokens already issued stay valid.
    pub fn set_client_secret(&self, secret: &str) {
        self.shared().set_client_secret(secret);
    }

    /// Registers a certificate (its DER) on the app, as uploading it to the app
    /// registration does; assertions signed with its key are accepted from now
    /// on. Returns its `x5t#S256` thumbprint.
    pub fn register_certificate(&self, der: &[u8]) -> Result<String, InvalidCertificate> {
        Ok(self
            .shared()
            .register_certificate(RegisteredCertificate::from_der(der)?))
    }

    /// Removes every certificate from the app: assertions are refused with AADSTS700027.
    pub fn remove_certificates(&self) {
        self.shared().remove_certificates();
    }

    /// STS's endpoint (`AWS_ENDPOINT_URL_STS`): `GetWebIdentityToken` for the configured role.
    pub fn sts_url(&self) -> String {
        format!("{}/sts", self.base_url())
    }

    /// IAM's endpoint (`AWS_ENDPOINT_URL_IAM`): `GetOutboundWebIdentityFederationInfo` only.
    pub fn iam_url(&self) -> String {
        format!("{}/iam", self.base_url())
    }

    /// The simulated AWS account's token issuer: the `iss` of its web identity tokens, serving
    /// `/.well-known/openid-configuration` and `/.well-known/jwks.json`.
    pub fn aws_issuer(&self) -> String {
        issuer::issuer_url(&self.base_url(), &self.shared().fixed.aws_account_id)
    }

    /// The role whose web identity tokens STS issues (their `sub`).
    pub fn aws_role_arn(&self) -> String {
        self.shared().fixed.aws_role_arn.clone()
    }

    /// A JWT with `claims`, signed RS256 by the account's issuer key as STS signs (header `kid`
    /// included): for tests of tokens that are wrong in exactly one way (expired, say).
    pub fn sign_web_identity_token(&self, claims: &serde_json::Value) -> String {
        issuer::sign(
            &serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": issuer::KEY_ID }),
            claims,
        )
    }

    /// Adds a federated identity credential to the app, as `az ad app federated-credential create` does.
    pub fn register_federated_credential(&self, credential: FederatedCredential) {
        self.shared().register_federated_credential(credential);
    }

    /// Removes every federated identity credential from the app.
    pub fn remove_federated_credentials(&self) {
        self.shared().remove_federated_credentials();
    }

    /// Outbound identity federation on or off for the account (`aws iam
    /// enable-outbound-web-identity-federation`); off, STS answers
    /// `OutboundWebIdentityFederationDisabledException`. On at start.
    pub fn set_outbound_federation(&self, enabled: bool) {
        let settings = self.shared().sts_settings();
        self.shared().set_sts_settings(state::StsSettings {
            federation_enabled: enabled,
            ..settings
        });
    }

    /// Whether the role may call `sts:GetWebIdentityToken`; if not, STS answers `AccessDenied`.
    /// Allowed at start.
    pub fn set_web_identity_allowed(&self, allowed: bool) {
        let settings = self.shared().sts_settings();
        self.shared()
            .set_sts_settings(state::StsSettings { allowed, ..settings });
    }

    /// The cloud the tenant's OpenID configuration document names.
    pub fn cloud(&self) -> SimCloud {
        self.shared().fixed.cloud
    }

    /// `{authority}/{tenant}/v2.0/.well-known/openid-configuration` for the configured tenant.
    pub fn openid_configuration_url(&self) -> String {
        format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            self.base_url(),
            self.shared().fixed.tenant_id
        )
    }

    /// Roles put into tokens issued from now on; tokens already issued keep theirs.
    pub fn set_roles(&self, roles: Vec<String>) {
        self.shared().set_roles(roles);
    }

    /// Makes Graph refuse, with 401, every token issued so far.
    pub fn revoke_tokens(&self) {
        self.shared().revoke_all_tokens();
    }

    /// Delay added to every Entra and Graph answer, before any fault's own delay.
    pub fn set_latency(&self, latency: Duration) {
        self.shared().set_latency(latency);
    }

    /// The tenant's MDI sensors, in the order the list pages them.
    pub fn set_sensors(&self, sensors: Vec<SimSensor>) {
        self.shared().sensors.set_sensors(sensors);
    }

    pub fn sensors(&self) -> Vec<SimSensor> {
        self.shared().sensors.sensors()
    }

    /// Sensors per page of the sensor list (at least 1; [`DEFAULT_PAGE_SIZE`] at start).
    pub fn set_sensor_page_size(&self, size: usize) {
        self.shared().sensors.set_page_size(size);
    }

    /// What `getDeploymentPackageUri` answers.
    pub fn set_sensor_package(&self, package: SimPackage) {
        self.shared().sensors.set_package(package);
    }

    pub fn sensor_package(&self) -> SimPackage {
        self.shared().sensors.package()
    }

    /// Makes the sensor list's `@odata.nextLink` point at `root` (e.g. another server) instead of
    /// the simulator, as a hostile or broken upstream might; `None` restores the simulator.
    pub fn set_sensor_next_link_root(&self, root: Option<&str>) {
        self.shared().sensors.set_next_link_root(root.map(str::to_owned));
    }

    /// The tenant's health issues, in the order the list pages them.
    pub fn set_health_issues(&self, issues: Vec<SimHealthIssue>) {
        self.shared().health.set_issues(issues);
    }

    /// Issues per page of the health issue list (at least 1).
    pub fn set_health_issue_page_size(&self, size: usize) {
        self.shared().health.set_page_size(size);
    }

    /// The tenant's sensor candidates, in the order the list pages them.
    pub fn set_sensor_candidates(&self, candidates: Vec<SimCandidate>) {
        self.shared().candidates.set_candidates(candidates);
    }

    pub fn sensor_candidates(&self) -> Vec<SimCandidate> {
        self.shared().candidates.candidates()
    }

    /// Candidates per page (at least 1).
    pub fn set_sensor_candidate_page_size(&self, size: usize) {
        self.shared().candidates.set_page_size(size);
    }

    /// The activation mode the configuration holds (`manual` at start).
    pub fn activation_mode(&self) -> String {
        self.shared().candidates.activation_mode()
    }

    /// Which verbs update the activation configuration ([`ActivationUpdate::Both`] at start).
    pub fn set_activation_update(&self, verbs: ActivationUpdate) {
        self.shared().candidates.lock().update_verbs = verbs;
    }

    /// What an activation does with a server id that names no candidate
    /// ([`UnknownServerIds::Ignored`] at start).
    pub fn set_unknown_server_ids(&self, answer: UnknownServerIds) {
        self.shared().candidates.lock().unknown_server_ids = answer;
    }

    /// Every `serverIds` list an activation received, oldest first.
    pub fn activations(&self) -> Vec<Vec<String>> {
        self.shared().candidates.activations()
    }

    /// Queues a fault; each request to `endpoint` consumes the oldest one.
    pub fn inject(&self, endpoint: Endpoint, fault: Fault) {
        self.shared().inject(endpoint, fault);
    }

    /// Faults `percent` % of requests to `endpoint` at random (capped at 100;
    /// 0 disables). Queued faults take precedence.
    pub fn set_fault_rate(&self, endpoint: Endpoint, percent: u8, fault: Fault) {
        self.shared().set_fault_rate(endpoint, percent, fault);
    }

    /// Requests received at `endpoint`, whatever their method and fate.
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.shared().calls(endpoint)
    }

    /// Entra and Graph requests received, oldest first; at most the last
    /// [`MAX_RECORDED_REQUESTS`]. `/_sim` requests are not recorded.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared().requests()
    }

    /// Clears queued and random faults, counters (calls, keys generated),
    /// recorded requests and revocations. Keeps the key, its shape, the
    /// secret, the roles, the latency and the issued tokens.
    pub fn reset(&self) {
        self.shared().reset();
    }
}
