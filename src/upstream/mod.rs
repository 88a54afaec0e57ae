//! What can go wrong upstream (Entra ID, Microsoft Graph, STS, Secrets Manager) and with the
//! credentials the function presents to them, as the domain sees it: the error types the ports
//! return, and the problem each one is (in [`problem`]). A module of its own so that the domain
//! ([`crate::keys`], [`crate::sensors`]) and the adapters that produce these errors
//! ([`crate::graph`], [`crate::secrets`], [`crate::federation`], [`crate::credentials`]) all depend
//! on it, and the domain never on an adapter. It imports only two leaves: the problem machinery and
//! the cloud table.

mod credentials;
mod problem;
mod store;
mod sts;

use std::time::Duration;

use crate::cloud::{Cloud, TenantCloud};
pub use crate::problem::{Upstream, UpstreamIds};
pub use credentials::{CertificateError, CredentialsError, Part};
pub use store::StoreError;
pub use sts::{FederationError, Trust};

/// Why Entra refused to issue a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntraRefusal {
    /// Wrong or expired client secret (AADSTS7000215, 7000222).
    InvalidClient,
    /// The assertion's certificate is not registered on the app, or its signature did not verify
    /// against it (AADSTS700027).
    CertificateNotAccepted,
    /// The assertion itself was refused: outside its valid time, wrong audience, issuer or
    /// subject, malformed or replayed (AADSTS700024, 700023, 700021, 50027, 50013).
    AssertionRejected,
    /// The app is not registered in the tenant (AADSTS700016).
    UnauthorizedClient,
    /// The tenant does not exist in this cloud (AADSTS90002).
    UnknownTenant,
    /// Anything else Entra said no to.
    Other,
}

impl EntraRefusal {
    /// Whether a fresh read of the credentials secret may cure it: the secret or certificate may
    /// have been rotated in Entra and in the secret since the secret was read.
    pub fn may_be_stale_credentials(self) -> bool {
        matches!(self, EntraRefusal::InvalidClient | EntraRefusal::CertificateNotAccepted)
    }
}

/// Which part of a federated assertion Entra found no federated identity credential for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FederationRefusal {
    /// No credential names the token's issuer (AADSTS700211).
    Issuer,
    /// A credential names the issuer but not the token's subject (AADSTS700213).
    Subject,
    /// A credential matches issuer and subject but not the token's audience (AADSTS700212).
    Audience,
    /// No credential matches, part unstated (AADSTS70021; also while a new credential is still
    /// propagating), or the app has none (AADSTS70025).
    NoMatch,
    /// The token was outside its valid time when Entra read it (AADSTS700024).
    OutsideValidTime,
    /// Entra could not verify the token's signature with the issuer's published keys
    /// (AADSTS700027, "Client assertion failed signature validation").
    Signature,
    /// Entra could not fetch the issuer's OpenID configuration or keys (AADSTS90061, "Request to
    /// External OIDC endpoint failed").
    IssuerUnreachable,
}

impl FederationRefusal {
    /// Whether registering the token's issuer, subject and audience on the app would cure it.
    pub fn cured_by_registering(self) -> bool {
        matches!(
            self,
            FederationRefusal::Issuer
                | FederationRefusal::Subject
                | FederationRefusal::Audience
                | FederationRefusal::NoMatch
        )
    }
}

/// Entra's refusal of a federated assertion, with what the app must trust instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedAssertion {
    pub reason: FederationRefusal,
    pub code: String,
    pub aadsts: Option<u32>,
    /// The app the federated identity credential belongs on.
    pub client_id: String,
    /// What the token asked Entra to trust; `None` when the token could not be read.
    pub trust: Option<Trust>,
    pub ids: UpstreamIds,
}

/// Why Graph answered 403, as told by the token's `roles` claim and Graph's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// The token holds none of the application permissions the endpoint accepts (`accepted`,
    /// least privileged first, as Microsoft's permission map lists them; no grant or no admin
    /// consent); the first is the one to grant ([`Forbidden::role_to_grant`]).
    MissingPermission { accepted: &'static [&'static str] },
    /// The tenant has no Defender for Identity workspace.
    TenantNotOnboarded,
    /// The token carries the permission, yet Graph refused without saying why.
    RoleHeldButRefused,
    /// Neither the token nor Graph's message tells.
    Unknown,
}

impl Forbidden {
    /// For a missing permission, the least privileged the endpoint accepts: the one to grant.
    pub fn role_to_grant(&self) -> Option<&'static str> {
        match self {
            Forbidden::MissingPermission { accepted } => accepted.first().copied(),
            _ => None,
        }
    }
}

/// How an upstream was unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// It answered with this 5xx status.
    Status(u16),
    /// No connection could be made, so the request was not processed.
    Unreachable,
    /// The connection failed after the request was sent.
    ConnectionLost,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::Status(status) => write!(f, "HTTP {status}"),
            Unavailable::Unreachable => f.write_str("could not connect"),
            Unavailable::ConnectionLost => f.write_str("connection lost before an answer"),
        }
    }
}

/// Everything that can go wrong on the way to the key.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("Entra ID refused the token request ({code}{})", aadsts.map(|c| format!(", AADSTS{c}")).unwrap_or_default())]
    Entra {
        refusal: EntraRefusal,
        code: String,
        aadsts: Option<u32>,
        ids: UpstreamIds,
    },
    #[error("no web identity token for the Entra token request: {0}")]
    Federation(FederationError),
    #[error("Entra ID refused the function's federated assertion ({}{})", .0.code, .0.aadsts.map(|c| format!(", AADSTS{c}")).unwrap_or_default())]
    FederatedCredentialRefused(Box<RefusedAssertion>),
    #[error("Microsoft Graph rejected a freshly issued token (401 {code})")]
    Unauthorized { code: String, ids: UpstreamIds },
    #[error("Microsoft Graph refused access (403 {code})")]
    Forbidden {
        reason: Forbidden,
        code: String,
        ids: UpstreamIds,
    },
    #[error("{upstream} kept throttling past the retry budget")]
    Throttled {
        upstream: Upstream,
        retry_after: Option<Duration>,
        ids: UpstreamIds,
    },
    #[error("{upstream} did not answer in time")]
    Timeout { upstream: Upstream, ids: UpstreamIds },
    #[error("{upstream} is unavailable ({cause})")]
    Unavailable {
        upstream: Upstream,
        cause: Unavailable,
        ids: UpstreamIds,
    },
    #[error("{upstream} answered {status} ({code})")]
    Rejected {
        upstream: Upstream,
        status: u16,
        code: String,
        ids: UpstreamIds,
    },
    #[error("{upstream} sent an answer that could not be understood: {reason}")]
    BadResponse {
        upstream: Upstream,
        reason: &'static str,
        ids: UpstreamIds,
    },
    #[error("the client assertion could not be signed: the private key {0}")]
    ClientAssertion(CertificateError),
    #[error(
        "the configured cloud is {configured} (GRAPH_CLOUD, or the CLI's --cloud) but the tenant's OpenID configuration places it elsewhere ({found})"
    )]
    CloudMismatch {
        configured: &'static str,
        found: Box<TenantCloud>,
    },
    #[error("the tenant's OpenID configuration names a cloud this function does not serve ({found})")]
    CloudUnsupported { found: Box<TenantCloud> },
    #[error("the tenant's cloud could not be discovered (GRAPH_CLOUD=auto): {0}")]
    CloudUnknown(Box<GraphError>),
    #[error("Microsoft Graph answered {status} ({code}): the MDI sensor API is not available in the {} cloud", cloud.name())]
    NotInCloud {
        cloud: Cloud,
        status: u16,
        code: String,
        ids: UpstreamIds,
    },
    #[error("a request to {operation} was refused before sending: its URL is outside the configured Graph root")]
    OutsideGraphRoot { operation: String },
    /// A regenerate whose outcome is unknown and whose follow-up read failed too.
    #[error("the regenerate request's outcome is unknown and reading the current key failed: {0}")]
    Ambiguous(Box<GraphError>),
}

impl GraphError {
    pub fn ids(&self) -> Option<&UpstreamIds> {
        match self {
            GraphError::Credentials(_)
            | GraphError::Federation(_)
            | GraphError::ClientAssertion(_)
            | GraphError::CloudMismatch { .. }
            | GraphError::CloudUnsupported { .. }
            | GraphError::OutsideGraphRoot { .. } => None,
            GraphError::Ambiguous(inner) | GraphError::CloudUnknown(inner) => inner.ids(),
            GraphError::FederatedCredentialRefused(refused) => Some(&refused.ids),
            GraphError::Entra { ids, .. }
            | GraphError::Unauthorized { ids, .. }
            | GraphError::Forbidden { ids, .. }
            | GraphError::Throttled { ids, .. }
            | GraphError::Timeout { ids, .. }
            | GraphError::Unavailable { ids, .. }
            | GraphError::Rejected { ids, .. }
            | GraphError::BadResponse { ids, .. }
            | GraphError::NotInCloud { ids, .. } => Some(ids),
        }
    }
}
