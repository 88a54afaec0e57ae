//! The problem each upstream error is: its type, a detail written here from the typed error (never
//! an upstream's body), the upstream's ids and code, and `Retry-After` where trying again helps.

use super::{
    CredentialsError, EntraRefusal, FederationError, FederationRefusal, Forbidden, GraphError, RefusedAssertion,
    StoreError, Unavailable, Upstream,
};
use crate::problem::{Problem, ProblemType};
use std::time::Duration;

impl From<&GraphError> for Problem {
    fn from(error: &GraphError) -> Self {
        match error {
            GraphError::Credentials(credentials) => Problem::from(credentials),
            GraphError::Entra {
                refusal,
                code,
                aadsts,
                ids,
            } => {
                let detail = match refusal {
                    EntraRefusal::InvalidClient => {
                        "Entra ID rejected the app's credentials (invalid_client): the clientSecret in the credentials secret is wrong or expired"
                    }
                    EntraRefusal::CertificateNotAccepted => {
                        "Entra ID did not accept the app's certificate (invalid_client): it is not registered on the app registration (upload its public part, e.g. az ad app credential reset --id <clientId> --cert @cert.pem --append), its registration has expired, or the assertion's signature did not verify against it"
                    }
                    EntraRefusal::AssertionRejected => {
                        "Entra ID refused the client assertion (invalid_client): it was outside its valid time (check the clock), or its audience, issuer or subject did not match, or it was replayed; the AADSTS code says which"
                    }
                    EntraRefusal::UnauthorizedClient => {
                        "Entra ID does not know the app in this tenant (unauthorized_client): check clientId and that the app is registered in tenantId"
                    }
                    EntraRefusal::UnknownTenant => {
                        "Entra ID does not know the tenant in this cloud: check tenantId and GRAPH_CLOUD"
                    }
                    EntraRefusal::Other => "Entra ID refused the token request",
                };
                let code = match aadsts {
                    Some(number) => format!("{code} AADSTS{number}"),
                    None => code.clone(),
                };
                Problem::new(ProblemType::EntraRefused, detail)
                    .with_upstream(Upstream::Entra, ids)
                    .with_code(&code)
            }
            GraphError::Federation(federation) => Problem::from(federation),
            GraphError::FederatedCredentialRefused(refused) => {
                let RefusedAssertion {
                    reason,
                    code,
                    aadsts,
                    client_id,
                    trust,
                    ids,
                } = refused.as_ref();
                let what = match reason {
                    FederationRefusal::Issuer => "no federated identity credential of the app names the token's issuer",
                    FederationRefusal::Subject => {
                        "no federated identity credential of the app names the token's issuer with its subject (the function's role ARN; matched case-sensitively)"
                    }
                    FederationRefusal::Audience => {
                        "the app's federated identity credential does not list the token's audience (the cloud's token-exchange audience)"
                    }
                    FederationRefusal::NoMatch => {
                        "no federated identity credential of the app matches the token (a credential created in the last minutes may still be propagating)"
                    }
                    FederationRefusal::OutsideValidTime => {
                        "the token was outside its valid time when Entra ID read it (check for delays between STS and Entra ID)"
                    }
                    FederationRefusal::Signature => {
                        "Entra ID could not verify the token's signature with the issuer's published keys; check that the credential's issuer is the account's issuer URL exactly (aws iam get-outbound-web-identity-federation-info)"
                    }
                    FederationRefusal::IssuerUnreachable => {
                        "Entra ID could not fetch the issuer's OpenID configuration or keys; retry, and check that the credential's issuer is the account's issuer URL exactly"
                    }
                };
                let fix = match (reason.cured_by_registering(), trust) {
                    (false, _) => String::new(),
                    (true, Some(trust)) => format!(
                        "; register issuer {} with subject {} and audience {} on app {client_id}: {}",
                        trust.issuer,
                        trust.subject,
                        trust.audience,
                        trust.az_command(client_id)
                    ),
                    (true, None) => format!(
                        "; register the account's issuer (aws iam get-outbound-web-identity-federation-info), the function role's ARN as subject and the cloud's token-exchange audience on app {client_id} (az ad app federated-credential create)"
                    ),
                };
                let code = match aadsts {
                    Some(number) => format!("{code} AADSTS{number}"),
                    None => code.clone(),
                };
                // What to register names the token's issuer and subject and the app: the
                // operator's CLI and the log line say it, the document does not.
                let told = if fix.is_empty() {
                    ""
                } else {
                    "; the function's log line for this requestId says what to register on the app"
                };
                Problem::new(
                    ProblemType::FederatedCredentialRefused,
                    format!("Entra ID refused the function's AWS web identity token: {what}{told}"),
                )
                .with_full_detail(format!(
                    "Entra ID refused the function's AWS web identity token: {what}{fix}"
                ))
                .with_upstream(Upstream::Entra, ids)
                .with_code(&code)
            }
            GraphError::Unauthorized { code, ids } => Problem::new(
                ProblemType::GraphUnauthorized,
                "Microsoft Graph rejected a freshly issued token (401): check that the tenant and cloud match",
            )
            .with_upstream(Upstream::Graph, ids)
            .with_code(code),
            GraphError::Forbidden { reason, code, ids } => {
                let detail = match reason {
                    Forbidden::MissingPermission { accepted } => {
                        let role = reason.role_to_grant().unwrap_or("the endpoint's");
                        let also = match accepted.get(1..) {
                            Some(higher) if !higher.is_empty() => {
                                format!(" (or a higher one Microsoft's permission map accepts: {})", higher.join(", "))
                            }
                            _ => String::new(),
                        };
                        format!(
                            "Microsoft Graph refused access (403): the app lacks the application permission {role}{also} or its admin consent (a fresh token's roles claim does not carry it); add the permission to the app registration and grant admin consent for the tenant (az ad app permission admin-consent --id <clientId>)"
                        )
                    }
                    Forbidden::TenantNotOnboarded => {
                        "Microsoft Graph refused access (403): the tenant is not onboarded to Microsoft Defender for Identity".to_owned()
                    }
                    Forbidden::RoleHeldButRefused => {
                        "Microsoft Graph refused access (403) although a fresh token carries the required permission, and did not say why; check the tenant's Defender for Identity workspace and any Conditional Access policy for workload identities".to_owned()
                    }
                    Forbidden::Unknown => "Microsoft Graph refused access (403) for a reason it did not make clear".to_owned(),
                };
                Problem::new(ProblemType::GraphForbidden, detail)
                    .with_upstream(Upstream::Graph, ids)
                    .with_code(code)
            }
            GraphError::Throttled {
                upstream,
                retry_after,
                ids,
            } => Problem::new(
                ProblemType::Throttled,
                format!("{upstream} kept throttling past the retry budget; retry later"),
            )
            .with_upstream(*upstream, ids)
            .retry_after(*retry_after),
            GraphError::Timeout { upstream, ids } => Problem::new(
                ProblemType::UpstreamTimeout,
                format!("{upstream} did not answer in time"),
            )
            .with_upstream(*upstream, ids),
            GraphError::Unavailable { upstream, cause, ids } => {
                let detail = format!("{upstream} is unavailable ({cause})");
                match cause {
                    Unavailable::Status(503) | Unavailable::Unreachable => {
                        Problem::new(ProblemType::UpstreamUnavailable, detail).retry_after(None)
                    }
                    _ => Problem::new(ProblemType::UpstreamFailed, detail),
                }
                .with_upstream(*upstream, ids)
            }
            GraphError::Rejected {
                upstream,
                status,
                code,
                ids,
            } => Problem::new(
                ProblemType::UpstreamRejected,
                format!("{upstream} answered HTTP {status}"),
            )
            .with_upstream(*upstream, ids)
            .with_code(code),
            GraphError::BadResponse { upstream, reason, ids } => Problem::new(
                ProblemType::UpstreamBadResponse,
                format!("{upstream} sent an answer that could not be understood: {reason}"),
            )
            .with_upstream(*upstream, ids),
            GraphError::ClientAssertion(_) => Problem::new(ProblemType::Misconfigured, error.to_string()),
            GraphError::CloudMismatch { .. } => Problem::new(
                ProblemType::CloudMismatch,
                format!("{error}; nothing was sent to Graph. Set the cloud to the tenant's, or to auto"),
            ),
            GraphError::CloudUnsupported { .. } => Problem::new(
                ProblemType::CloudUnsupported,
                format!("{error}; the MDI sensor API exists only in the global, usgov and dod clouds"),
            ),
            GraphError::CloudUnknown(inner) => {
                let retry_after = match inner.as_ref() {
                    GraphError::Throttled { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let mut problem = Problem::new(ProblemType::CloudDiscoveryFailed,
                    format!("{error}; nothing was sent to Graph. Retry, or set GRAPH_CLOUD to the tenant's cloud instead of auto"),
                )
                .retry_after(retry_after);
                if let Some(ids) = inner.ids() {
                    problem = problem.with_upstream(Upstream::Entra, ids);
                }
                problem
            }
            GraphError::NotInCloud { code, ids, .. } => {
                Problem::new(ProblemType::NotAvailableInCloud, error.to_string())
                    .with_upstream(Upstream::Graph, ids)
                    .with_code(code)
            }
            GraphError::OutsideGraphRoot { .. } => Problem::new(
                ProblemType::OutsideGraphRoot,
                format!("{error}; the token is only ever sent to the configured Graph root"),
            ),
            GraphError::Ambiguous(inner) => {
                let mut problem = Problem::from(inner.as_ref());
                problem.detail = format!(
                    "the regenerate request's outcome is unknown (it may have taken effect) and reading the current key failed: {}",
                    problem.detail
                );
                problem
            }
        }
    }
}

impl From<&FederationError> for Problem {
    fn from(error: &FederationError) -> Self {
        federation_problem(error)
    }
}

fn federation_problem(error: &FederationError) -> Problem {
    let detail = error.to_string();
    let mut problem = match error {
        FederationError::Disabled { .. } => Problem::new(ProblemType::FederationDisabled, detail),
        FederationError::AccessDenied { .. } => Problem::new(ProblemType::WebIdentityDenied, detail),
        FederationError::Throttled { .. } | FederationError::Unavailable(_) => {
            Problem::new(ProblemType::StsUnavailable, detail).retry_after(None)
        }
        FederationError::Timeout => Problem::new(ProblemType::UpstreamTimeout, detail),
        FederationError::Refused { code, .. } => Problem::new(ProblemType::StsRefused, detail).with_code(code),
        FederationError::NoToken { .. } => Problem::new(ProblemType::UpstreamBadResponse, detail),
        // Only the CLI reads a token file; it is its own configuration, not an upstream.
        FederationError::TokenFile(_) => return Problem::new(ProblemType::Misconfigured, detail),
    };
    problem.upstream = Some("sts");
    problem.upstream_request_id = error.request_id().map(str::to_owned);
    problem
}

impl From<&CredentialsError> for Problem {
    fn from(error: &CredentialsError) -> Self {
        credentials_problem(error)
    }
}

fn credentials_problem(error: &CredentialsError) -> Problem {
    match error {
        CredentialsError::Unreadable { secret_id, source } => {
            // The detail tells the error without AWS's message; the log line has it.
            let told = CredentialsError::Unreadable {
                secret_id: secret_id.clone(),
                source: source.without_message(),
            }
            .to_string();
            if source.is_transient() {
                Problem::new(ProblemType::CredentialsUnavailable, told).retry_after(None)
            } else {
                Problem::new(ProblemType::Misconfigured, told)
            }
            .with_full_detail(error.to_string())
        }
        _ => Problem::new(ProblemType::Misconfigured, error.to_string()),
    }
}

/// Secrets Manager removes unlabelled versions once they are a day old, and asks for at most one
/// new version every 10 minutes (Secrets Manager quotas): the earliest a retry can help.
const QUOTA_RETRY_AFTER: Duration = Duration::from_secs(600);

impl StoreError {
    /// The problem of a key secret read or write that failed this way, told in `detail`: worth a
    /// retry, or for an operator to fix.
    pub fn key_store_problem(&self, detail: String) -> Problem {
        if let StoreError::QuotaExceeded { .. } = self {
            Problem::new(ProblemType::KeyStoreQuotaExceeded, detail).retry_after(Some(QUOTA_RETRY_AFTER))
        } else if self.is_transient() {
            Problem::new(ProblemType::KeyStoreUnavailable, detail).retry_after(None)
        } else {
            Problem::new(ProblemType::KeyStoreMisconfigured, detail)
        }
    }
}
