//! Everything the simulator remembers between requests: the tenant's
//! mutable settings, the current key, the tokens it issued, the queued
//! faults, the account's STS settings, and what it was asked, so tests can
//! assert on it afterwards. The sensors and the package are the tenant's
//! ([`crate::tenant`]), behind their own lock.
//!
//! One mutex guards it all; no lock is held across an `.await`, and the
//! critical sections are a few map operations, so contention stays negligible
//! even under the benchmark's load.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde::Serialize;

use crate::certificate::RegisteredCertificate;
use crate::config::{FederatedCredential, SimCloud, SimConfig};
use crate::fault::{Endpoint, Fault, KeyShape};
use crate::mint;
use crate::tenant::{CandidateState, HealthState, SensorState};

/// Only the most recent requests are kept, so a long benchmark run does not
/// grow the simulator without bound.
pub const MAX_RECORDED_REQUESTS: usize = 10_000;

/// Expired tokens are swept once this many are held, for the same reason.
const TOKEN_SWEEP_THRESHOLD: usize = 10_000;

/// One request as the simulator received it, for assertions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// The endpoint the path names, whatever the method; `None` for paths
    /// the simulator does not serve.
    pub endpoint: Option<Endpoint>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// In arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossily decoded).
    pub body: String,
    /// The decoded form fields of an `application/x-www-form-urlencoded`
    /// body (the token requests), empty otherwise.
    pub form: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a form field.
    pub fn form_field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the account's STS answers, beyond the request itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StsSettings {
    /// `aws iam enable-outbound-web-identity-federation` was run for the account.
    pub federation_enabled: bool,
    /// The caller's role may call `sts:GetWebIdentityToken`.
    pub allowed: bool,
}

impl Default for StsSettings {
    fn default() -> Self {
        StsSettings {
            federation_enabled: true,
            allowed: true,
        }
    }
}

/// The parts of the configuration that cannot change after start.
pub(crate) struct Fixed {
    pub tenant_id: String,
    pub cloud: SimCloud,
    pub client_id: String,
    pub graph_root: String,
    pub token_lifetime_secs: u64,
    pub aws_account_id: String,
    pub aws_role_arn: String,
}

struct IssuedToken {
    serial: u64,
    expires_at: Instant,
    roles: Vec<String>,
    revoked: bool,
}

/// Why Graph refuses a bearer token, or the roles it grants.
pub(crate) enum TokenCheck {
    Valid { roles: Vec<String> },
    NotIssuedHere,
    Expired,
    Revoked,
}

struct State {
    client_secret: String,
    /// The app's key credentials.
    certificates: Vec<RegisteredCertificate>,
    /// The app's federated identity credentials.
    federated_credentials: Vec<FederatedCredential>,
    sts: StsSettings,
    /// `jti`s of accepted assertions, with their expiry, so none is accepted twice.
    used_jtis: HashMap<String, u64>,
    roles: Vec<String>,
    latency: Duration,
    key: String,
    key_shape: KeyShape,
    keys_generated: u64,
    calls: [usize; Endpoint::COUNT],
    queued: [VecDeque<Fault>; Endpoint::COUNT],
    rates: [Option<(u8, Fault)>; Endpoint::COUNT],
    requests: VecDeque<RecordedRequest>,
    tokens: HashMap<String, IssuedToken>,
    next_serial: u64,
    /// Tokens with a lower serial were revoked by `revoke_tokens`.
    revoked_below: u64,
}

pub(crate) struct Shared {
    pub fixed: Fixed,
    /// `http://127.0.0.1:PORT`, for `@odata.context`.
    pub base_url: String,
    state: Mutex<State>,
    /// The MDI sensors and the deployment package, kept apart from the key state.
    pub sensors: SensorState,
    /// The health issues, behind their own lock.
    pub health: HealthState,
    /// The sensor candidates and the activation mode, behind their own lock.
    pub candidates: CandidateState,
}

impl Shared {
    /// `certificates` are `config`'s, already parsed (see [`crate::Sim::start_on`]).
    pub(crate) fn new(config: SimConfig, certificates: Vec<RegisteredCertificate>, base_url: String) -> Self {
        Shared {
            fixed: Fixed {
                tenant_id: config.tenant_id,
                cloud: config.cloud,
                client_id: config.client_id,
                graph_root: config.graph_root,
                token_lifetime_secs: config.token_lifetime_secs,
                aws_account_id: config.aws_account_id,
                aws_role_arn: config.aws_role_arn,
            },
            base_url,
            state: Mutex::new(State {
                client_secret: config.client_secret,
                certificates,
                federated_credentials: config.federated_credentials,
                sts: StsSettings::default(),
                used_jtis: HashMap::new(),
                roles: config.roles,
                latency: config.latency,
                key: config.initial_key,
                key_shape: KeyShape::default(),
                keys_generated: 0,
                calls: [0; Endpoint::COUNT],
                queued: Default::default(),
                rates: Default::default(),
                requests: VecDeque::new(),
                tokens: HashMap::new(),
                next_serial: 0,
                revoked_below: 0,
            }),
            sensors: SensorState::default(),
            health: HealthState::default(),
            candidates: CandidateState::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take every later assertion down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records and counts a request and picks the fault it suffers, if any;
    /// returns that fault and the latency to add to the answer.
    pub(crate) fn admit(&self, request: RecordedRequest) -> (Option<Fault>, Duration) {
        let mut st = self.lock();
        let endpoint = request.endpoint;
        if st.requests.len() >= MAX_RECORDED_REQUESTS {
            st.requests.pop_front();
        }
        st.requests.push_back(request);
        let fault = endpoint.and_then(|e| {
            let i = e.index();
            st.calls[i] += 1;
            st.queued[i].pop_front().or_else(|| match &st.rates[i] {
                Some((percent, fault)) if rand::rng().random_range(0..100u8) < *percent => Some(fault.clone()),
                _ => None,
            })
        });
        (fault, st.latency)
    }

    pub(crate) fn client_secret_matches(&self, presented: &str) -> bool {
        self.lock().client_secret == presented
    }

    /// Checks a client assertion against the registered certificates and,
    /// when it holds, spends its `jti`.
    pub(crate) fn accept_assertion(
        &self,
        assertion_type: Option<&str>,
        assertion: &str,
        audience: &str,
        client_id: &str,
    ) -> Result<(), crate::assertion::Refusal> {
        let now = crate::clock::unix_now();
        let mut st = self.lock();
        let verified = crate::assertion::verify(assertion_type, assertion, audience, client_id, &st.certificates, now)?;
        // A jti need only be remembered while its assertion could still be accepted.
        if st.used_jtis.len() >= TOKEN_SWEEP_THRESHOLD {
            st.used_jtis.retain(|_, exp| *exp > now);
        }
        if st.used_jtis.get(&verified.jti).is_some_and(|exp| *exp > now) {
            return Err(crate::assertion::Refusal::Replayed);
        }
        st.used_jtis.insert(verified.jti, verified.exp);
        Ok(())
    }

    pub(crate) fn register_certificate(&self, certificate: RegisteredCertificate) -> String {
        let thumbprint = certificate.thumbprint.clone();
        let mut st = self.lock();
        st.certificates.retain(|c| c.thumbprint != thumbprint);
        st.certificates.push(certificate);
        thumbprint
    }

    pub(crate) fn federated_credentials(&self) -> Vec<FederatedCredential> {
        self.lock().federated_credentials.clone()
    }

    pub(crate) fn register_federated_credential(&self, credential: FederatedCredential) {
        self.lock().federated_credentials.push(credential);
    }

    pub(crate) fn remove_federated_credentials(&self) {
        self.lock().federated_credentials.clear();
    }

    pub(crate) fn sts_settings(&self) -> StsSettings {
        self.lock().sts
    }

    pub(crate) fn set_sts_settings(&self, settings: StsSettings) {
        self.lock().sts = settings;
    }

    pub(crate) fn remove_certificates(&self) {
        self.lock().certificates.clear();
    }

    /// Issues a token with the roles the app holds right now and remembers it.
    pub(crate) fn issue_token(&self) -> String {
        let mut st = self.lock();
        let now = Instant::now();
        if st.tokens.len() >= TOKEN_SWEEP_THRESHOLD {
            st.tokens.retain(|_, t| t.expires_at > now);
        }
        let token = mint::access_token(&mint::Claims {
            tenant_id: &self.fixed.tenant_id,
            client_id: &self.fixed.client_id,
            audience: &self.fixed.graph_root,
            roles: &st.roles,
            issued_at: crate::clock::unix_now(),
            lifetime_secs: self.fixed.token_lifetime_secs,
        });
        let serial = st.next_serial;
        st.next_serial += 1;
        let issued = IssuedToken {
            serial,
            expires_at: now + Duration::from_secs(self.fixed.token_lifetime_secs),
            roles: st.roles.clone(),
            revoked: false,
        };
        st.tokens.insert(token.clone(), issued);
        token
    }

    /// A token shaped like a real one but unknown to Graph, for bodies that
    /// are never meant to be usable (a truncated answer, say).
    pub(crate) fn unregistered_token(&self) -> String {
        let roles = self.lock().roles.clone();
        mint::access_token(&mint::Claims {
            tenant_id: &self.fixed.tenant_id,
            client_id: &self.fixed.client_id,
            audience: &self.fixed.graph_root,
            roles: &roles,
            issued_at: crate::clock::unix_now(),
            lifetime_secs: self.fixed.token_lifetime_secs,
        })
    }

    pub(crate) fn check_token(&self, token: &str) -> TokenCheck {
        let st = self.lock();
        match st.tokens.get(token) {
            None => TokenCheck::NotIssuedHere,
            Some(t) if t.revoked || t.serial < st.revoked_below => TokenCheck::Revoked,
            Some(t) if Instant::now() >= t.expires_at => TokenCheck::Expired,
            Some(t) => TokenCheck::Valid { roles: t.roles.clone() },
        }
    }

    pub(crate) fn revoke_token(&self, token: &str) {
        if let Some(t) = self.lock().tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    pub(crate) fn revoke_all_tokens(&self) {
        let mut st = self.lock();
        st.revoked_below = st.next_serial;
    }

    pub(crate) fn key_and_shape(&self) -> (String, KeyShape) {
        let st = self.lock();
        (st.key.clone(), st.key_shape)
    }

    /// Replaces the key with a fresh one and returns it with the shape to answer in.
    pub(crate) fn regenerate_key(&self) -> (String, KeyShape) {
        let key = mint::random_key();
        let mut st = self.lock();
        st.key.clone_from(&key);
        st.keys_generated += 1;
        (key, st.key_shape)
    }

    pub(crate) fn current_key(&self) -> String {
        self.lock().key.clone()
    }

    pub(crate) fn set_key(&self, key: &str) {
        key.clone_into(&mut self.lock().key);
    }

    pub(crate) fn set_key_shape(&self, shape: KeyShape) {
        self.lock().key_shape = shape;
    }

    pub(crate) fn keys_generated(&self) -> u64 {
        self.lock().keys_generated
    }

    pub(crate) fn set_client_secret(&self, secret: &str) {
        secret.clone_into(&mut self.lock().client_secret);
    }

    pub(crate) fn set_roles(&self, roles: Vec<String>) {
        self.lock().roles = roles;
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    pub(crate) fn inject(&self, endpoint: Endpoint, fault: Fault) {
        self.lock().queued[endpoint.index()].push_back(fault);
    }

    pub(crate) fn set_fault_rate(&self, endpoint: Endpoint, percent: u8, fault: Fault) {
        self.lock().rates[endpoint.index()] = (percent > 0).then(|| (percent.min(100), fault));
    }

    pub(crate) fn calls(&self, endpoint: Endpoint) -> usize {
        self.lock().calls[endpoint.index()]
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    pub(crate) fn reset(&self) {
        let mut st = self.lock();
        st.keys_generated = 0;
        st.calls = [0; Endpoint::COUNT];
        st.queued = Default::default();
        st.rates = Default::default();
        st.requests.clear();
        st.revoked_below = 0;
        for t in st.tokens.values_mut() {
            t.revoked = false;
        }
    }
}
