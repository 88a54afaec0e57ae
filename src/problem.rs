//! The one place where errors become HTTP statuses and RFC 9457 problem+json bodies.
//!
//! Details are written here, from typed errors, so no upstream body is ever echoed: only
//! vetted error codes and the upstream request ids an operator needs to open a support case.

use std::time::Duration;

use serde::Serialize;

use crate::credentials::CredentialsError;
use crate::federation::FederationError;
use crate::graph::{
    EntraRefusal, FederationRefusal, Forbidden, GraphError, RefusedAssertion, Unavailable, Upstream, UpstreamIds,
};
use crate::keys::KeyError;
use crate::secrets::StoreError;
use crate::sensors::SensorError;

/// Refusals decided from the request alone, before anything upstream is touched.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RequestError {
    #[error("the request carries no IAM caller identity; call the function URL with a SigV4-signed request")]
    Unauthenticated,
    #[error("the caller is not allowed to {0}")]
    NotAllowed(&'static str),
    #[error("no such route")]
    NotFound,
    #[error("method not allowed; allowed: {0}")]
    MethodNotAllowed(&'static str),
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Input(#[from] crate::sensors::InputError),
}

/// A problem document plus the headers that go with it.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<&'static str>,
    #[serde(rename = "request-id", skip_serializing_if = "Option::is_none")]
    pub upstream_request_id: Option<String>,
    #[serde(rename = "client-request-id", skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    #[serde(rename = "correlation_id", skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    #[serde(skip)]
    pub allow: Option<&'static str>,
}

/// Retry-After suggested when an upstream gave none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

impl Problem {
    fn new(status: u16, slug: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:mdi-sensor-key:problem:{slug}"),
            title,
            status,
            detail: detail.into(),
            request_id: None,
            upstream: None,
            upstream_request_id: None,
            client_request_id: None,
            correlation_id: None,
            code: None,
            retry_after: None,
            allow: None,
        }
    }

    pub fn with_request_id(mut self, request_id: &str) -> Self {
        self.request_id = Some(request_id.to_owned());
        self
    }

    fn with_upstream(mut self, upstream: Upstream, ids: &UpstreamIds) -> Self {
        self.upstream = Some(upstream.slug());
        self.upstream_request_id = ids.request_id.clone();
        self.client_request_id = ids.client_request_id.clone();
        self.correlation_id = ids.correlation_id.clone();
        self
    }

    fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    fn retry_after(mut self, after: Option<Duration>) -> Self {
        // Never advertise "retry now": a zero would invite a tight loop.
        self.retry_after = Some(after.unwrap_or(DEFAULT_RETRY_AFTER).max(Duration::from_secs(1)));
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"status\":{}}}", self.status))
    }
}

impl From<&RequestError> for Problem {
    fn from(error: &RequestError) -> Self {
        let detail = error.to_string();
        match error {
            RequestError::Unauthenticated => Problem::new(401, "unauthenticated", "Unauthenticated", detail),
            RequestError::NotAllowed(_) => Problem::new(403, "forbidden", "Forbidden", detail),
            RequestError::NotFound => Problem::new(404, "not-found", "Not Found", detail),
            RequestError::MethodNotAllowed(allow) => {
                let mut problem = Problem::new(405, "method-not-allowed", "Method Not Allowed", detail);
                problem.allow = Some(allow);
                problem
            }
            RequestError::BadRequest(_) => Problem::new(400, "bad-request", "Bad Request", detail),
            RequestError::TooLarge(_) => Problem::new(413, "payload-too-large", "Payload Too Large", detail),
            RequestError::Input(_) => Problem::new(400, "bad-request", "Bad Request", detail),
        }
    }
}

impl From<&KeyError> for Problem {
    fn from(error: &KeyError) -> Self {
        match error {
            KeyError::Graph(graph) => Problem::from(graph),
            KeyError::Store { source, .. } => store_problem(source, error.to_string()),
            KeyError::NotStored {
                source,
                graph_request_id,
                ..
            } => {
                let mut problem = store_problem(source, error.to_string());
                problem.upstream_request_id = graph_request_id.clone();
                problem
            }
        }
    }
}

fn store_problem(source: &StoreError, detail: String) -> Problem {
    if source.is_transient() {
        Problem::new(503, "key-store-unavailable", "Key Store Unavailable", detail).retry_after(None)
    } else {
        Problem::new(500, "key-store-misconfigured", "Key Store Misconfigured", detail)
    }
}

impl From<&SensorError> for Problem {
    fn from(error: &SensorError) -> Self {
        match error {
            SensorError::Graph(graph) => Problem::from(graph),
            SensorError::AmbiguousHost { graph_request_id, .. } => {
                let mut problem = Problem::new(409, "ambiguous-host", "Ambiguous Host Name", error.to_string());
                problem.upstream_request_id = graph_request_id.clone();
                problem
            }
        }
    }
}

impl From<&GraphError> for Problem {
    fn from(error: &GraphError) -> Self {
        match error {
            GraphError::Credentials(credentials) => credentials_problem(credentials),
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
                Problem::new(502, "entra-refused", "Token Request Refused", detail)
                    .with_upstream(Upstream::Entra, ids)
                    .with_code(&code)
            }
            GraphError::Federation(federation) => federation_problem(federation),
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
                Problem::new(
                    502,
                    "federated-credential-refused",
                    "Federated Credential Refused",
                    format!("Entra ID refused the function's AWS web identity token: {what}{fix}"),
                )
                .with_upstream(Upstream::Entra, ids)
                .with_code(&code)
            }
            GraphError::Unauthorized { code, ids } => Problem::new(
                502,
                "graph-unauthorized",
                "Graph Rejected The Token",
                "Microsoft Graph rejected a freshly issued token (401): check that the tenant and cloud match",
            )
            .with_upstream(Upstream::Graph, ids)
            .with_code(code),
            GraphError::Forbidden { reason, code, ids } => {
                let detail = match reason {
                    Forbidden::MissingPermission { role } => format!(
                        "Microsoft Graph refused access (403): the app lacks the application permission {role} or its admin consent (a fresh token's roles claim does not carry it); add the permission to the app registration and grant admin consent for the tenant (az ad app permission admin-consent --id <clientId>)"
                    ),
                    Forbidden::TenantNotOnboarded => {
                        "Microsoft Graph refused access (403): the tenant is not onboarded to Microsoft Defender for Identity".to_owned()
                    }
                    Forbidden::RoleHeldButRefused => {
                        "Microsoft Graph refused access (403) although a fresh token carries the required permission, and did not say why; check the tenant's Defender for Identity workspace and any Conditional Access policy for workload identities".to_owned()
                    }
                    Forbidden::Unknown => "Microsoft Graph refused access (403) for a reason it did not make clear".to_owned(),
                };
                Problem::new(502, "graph-forbidden", "Graph Refused Access", detail)
                    .with_upstream(Upstream::Graph, ids)
                    .with_code(code)
            }
            GraphError::Throttled {
                upstream,
                retry_after,
                ids,
            } => Problem::new(
                503,
                "throttled",
                "Throttled Upstream",
                format!("{upstream} kept throttling past the retry budget; retry later"),
            )
            .with_upstream(*upstream, ids)
            .retry_after(*retry_after),
            GraphError::Timeout { upstream, ids } => Problem::new(
                504,
                "upstream-timeout",
                "Upstream Timeout",
                format!("{upstream} did not answer in time"),
            )
            .with_upstream(*upstream, ids),
            GraphError::Unavailable { upstream, cause, ids } => {
                let detail = format!("{upstream} is unavailable ({cause})");
                match cause {
                    Unavailable::Status(503) | Unavailable::Unreachable => {
                        Problem::new(503, "upstream-unavailable", "Upstream Unavailable", detail).retry_after(None)
                    }
                    _ => Problem::new(502, "upstream-failed", "Upstream Failed", detail),
                }
                .with_upstream(*upstream, ids)
            }
            GraphError::Rejected {
                upstream,
                status,
                code,
                ids,
            } => Problem::new(
                502,
                "upstream-rejected",
                "Upstream Rejected The Request",
                format!("{upstream} answered HTTP {status}"),
            )
            .with_upstream(*upstream, ids)
            .with_code(code),
            GraphError::BadResponse { upstream, reason, ids } => Problem::new(
                502,
                "upstream-bad-response",
                "Unreadable Upstream Response",
                format!("{upstream} sent an answer that could not be understood: {reason}"),
            )
            .with_upstream(*upstream, ids),
            GraphError::ClientAssertion(_) => Problem::new(500, "misconfigured", "Misconfigured", error.to_string()),
            GraphError::CloudMismatch { .. } => Problem::new(
                500,
                "cloud-mismatch",
                "Cloud Mismatch",
                format!("{error}; nothing was sent to Graph. Set the cloud to the tenant's, or to auto"),
            ),
            GraphError::CloudUnsupported { .. } => Problem::new(
                500,
                "cloud-unsupported",
                "Cloud Unsupported",
                format!("{error}; the MDI sensor API exists only in the global, usgov and dod clouds"),
            ),
            GraphError::CloudUnknown(inner) => {
                let retry_after = match inner.as_ref() {
                    GraphError::Throttled { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let mut problem = Problem::new(
                    503,
                    "cloud-discovery-failed",
                    "Cloud Discovery Failed",
                    format!("{error}; nothing was sent to Graph. Retry, or set GRAPH_CLOUD to the tenant's cloud instead of auto"),
                )
                .retry_after(retry_after);
                if let Some(ids) = inner.ids() {
                    problem = problem.with_upstream(Upstream::Entra, ids);
                }
                problem
            }
            GraphError::NotInCloud { code, ids, .. } => Problem::new(
                502,
                "not-available-in-cloud",
                "Not Available In This Cloud",
                error.to_string(),
            )
            .with_upstream(Upstream::Graph, ids)
            .with_code(code),
            GraphError::OutsideGraphRoot { .. } => Problem::new(
                502,
                "outside-graph-root",
                "Refused To Leave The Graph Root",
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

fn federation_problem(error: &FederationError) -> Problem {
    let detail = error.to_string();
    let mut problem = match error {
        FederationError::Disabled { .. } => Problem::new(
            500,
            "federation-disabled",
            "Outbound Identity Federation Disabled",
            detail,
        ),
        FederationError::AccessDenied { .. } => {
            Problem::new(500, "web-identity-denied", "Web Identity Token Denied", detail)
        }
        FederationError::Throttled { .. } | FederationError::Unavailable(_) => {
            Problem::new(503, "sts-unavailable", "STS Unavailable", detail).retry_after(None)
        }
        FederationError::Timeout => Problem::new(504, "upstream-timeout", "Upstream Timeout", detail),
        FederationError::Refused { code, .. } => {
            Problem::new(502, "sts-refused", "STS Refused", detail).with_code(code)
        }
        FederationError::NoToken { .. } => {
            Problem::new(502, "upstream-bad-response", "Unreadable Upstream Response", detail)
        }
        // Only the CLI reads a token file; it is its own configuration, not an upstream.
        FederationError::TokenFile(_) => return Problem::new(500, "misconfigured", "Misconfigured", detail),
    };
    problem.upstream = Some("sts");
    problem.upstream_request_id = error.request_id().map(str::to_owned);
    problem
}

fn credentials_problem(error: &CredentialsError) -> Problem {
    match error {
        CredentialsError::Unreadable { source, .. } if source.is_transient() => Problem::new(
            503,
            "credentials-unavailable",
            "Credentials Unavailable",
            error.to_string(),
        )
        .retry_after(None),
        _ => Problem::new(500, "misconfigured", "Misconfigured", error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> UpstreamIds {
        UpstreamIds {
            request_id: Some("graph-req-1".into()),
            client_request_id: Some("client-1".into()),
            correlation_id: None,
        }
    }

    #[test]
    fn throttling_becomes_503_with_a_retry_after_of_at_least_a_second() {
        let problem = Problem::from(&GraphError::Throttled {
            upstream: Upstream::Graph,
            retry_after: Some(Duration::ZERO),
            ids: ids(),
        });
        assert_eq!(problem.status, 503);
        assert_eq!(problem.retry_after, Some(Duration::from_secs(1)));
        assert_eq!(problem.upstream_request_id.as_deref(), Some("graph-req-1"));
    }

    #[test]
    fn a_missing_permission_is_explained_with_the_permission_name() {
        let problem = Problem::from(&GraphError::Forbidden {
            reason: Forbidden::MissingPermission {
                role: crate::graph::READ_WRITE_ROLE,
            },
            code: "Forbidden".into(),
            ids: ids(),
        });
        assert_eq!(problem.status, 502);
        assert!(problem.detail.contains("SecurityIdentitiesSensors.ReadWrite.All"));
        let json: serde_json::Value = serde_json::from_str(&problem.with_request_id("lambda-1").to_json()).unwrap();
        assert_eq!(json["requestId"], "lambda-1");
        assert_eq!(json["request-id"], "graph-req-1");
        assert_eq!(json["type"], "urn:mdi-sensor-key:problem:graph-forbidden");
    }

    #[test]
    fn a_timeout_is_504_and_a_lost_connection_502() {
        assert_eq!(
            Problem::from(&GraphError::Timeout {
                upstream: Upstream::Graph,
                ids: ids()
            })
            .status,
            504
        );
        let lost = GraphError::Unavailable {
            upstream: Upstream::Graph,
            cause: Unavailable::ConnectionLost,
            ids: ids(),
        };
        assert_eq!(Problem::from(&lost).status, 502);
    }

    #[test]
    fn a_broken_credentials_secret_is_a_500_naming_the_field() {
        let error = GraphError::Credentials(CredentialsError::MissingField {
            secret_id: "creds".into(),
            field: "clientSecret",
        });
        let problem = Problem::from(&error);
        assert_eq!(problem.status, 500);
        assert!(problem.detail.contains("clientSecret"));
    }

    #[test]
    fn each_federation_failure_has_its_status_and_names_sts() {
        let cases = [
            (
                FederationError::Disabled {
                    request_id: Some("sts-1".into()),
                },
                500,
                "federation-disabled",
            ),
            (
                FederationError::AccessDenied {
                    code: "AccessDenied".into(),
                    audience: "api://AzureADTokenExchange".into(),
                    request_id: None,
                },
                500,
                "web-identity-denied",
            ),
            (FederationError::Throttled { request_id: None }, 503, "sts-unavailable"),
            (
                FederationError::Unavailable("could not connect".into()),
                503,
                "sts-unavailable",
            ),
            (FederationError::Timeout, 504, "upstream-timeout"),
            (
                FederationError::Refused {
                    code: "SessionDurationEscalationException".into(),
                    request_id: None,
                },
                502,
                "sts-refused",
            ),
        ];
        for (error, status, slug) in cases {
            let problem = Problem::from(&GraphError::Federation(error));
            assert_eq!(problem.status, status, "{slug}");
            assert_eq!(problem.kind, format!("urn:mdi-sensor-key:problem:{slug}"));
            assert_eq!(problem.upstream, Some("sts"));
            assert_eq!(problem.retry_after.is_some(), status == 503, "{slug}");
        }
        let disabled = Problem::from(&GraphError::Federation(FederationError::Disabled {
            request_id: Some("sts-1".into()),
        }));
        assert_eq!(disabled.upstream_request_id.as_deref(), Some("sts-1"));
        assert!(
            disabled
                .detail
                .contains("aws iam enable-outbound-web-identity-federation")
        );
    }

    #[test]
    fn a_refused_federated_assertion_gives_the_fix_only_where_registering_cures_it() {
        let refused = |reason| {
            Problem::from(&GraphError::FederatedCredentialRefused(Box::new(RefusedAssertion {
                reason,
                code: "invalid_request".into(),
                aadsts: Some(700213),
                client_id: "app-1".into(),
                trust: Some(crate::federation::Trust {
                    issuer: "https://abc.tokens.sts.global.api.aws".into(),
                    subject: "arn:aws:iam::123456789012:role/fn".into(),
                    audience: "api://AzureADTokenExchange".into(),
                }),
                ids: ids(),
            })))
        };
        let subject = refused(FederationRefusal::Subject);
        assert_eq!(subject.status, 502);
        assert_eq!(subject.code.as_deref(), Some("invalid_request AADSTS700213"));
        assert!(
            subject
                .detail
                .contains("az ad app federated-credential create --id app-1")
        );
        assert!(subject.detail.contains("arn:aws:iam::123456789012:role/fn"));
        for reason in [FederationRefusal::OutsideValidTime, FederationRefusal::Signature] {
            assert!(!refused(reason).detail.contains("az ad app"), "{reason:?}");
        }
    }

    #[test]
    fn method_not_allowed_carries_the_allowed_methods() {
        let problem = Problem::from(&RequestError::MethodNotAllowed("GET"));
        assert_eq!(problem.status, 405);
        assert_eq!(problem.allow, Some("GET"));
    }
}
