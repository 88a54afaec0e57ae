//! How a failed command ends: one line on stderr and a documented exit code (see
//! [`EXIT_CODES`](super::args::EXIT_CODES)).
//!
//! Upstream failures are classified by the library's own problem mapping ([`Problem`]), the one
//! place errors are explained, so the CLI says what the HTTP routes say: which permission is
//! missing, which field of the secret is broken, Graph's request-id. Usage errors (exit 2) are
//! clap's.

use mdi_sensor_key::graph::GraphError;
use mdi_sensor_key::keys::KeyError;
use mdi_sensor_key::operations::OperationError;
use mdi_sensor_key::problem::{Problem, ProblemType};
use mdi_sensor_key::rotation::RotationError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 3: credentials, secrets or endpoints that cannot work as configured.
    Config(String),
    /// 4: Entra ID or Graph refused (credentials, permissions, tenant).
    Refused(String),
    /// 5: throttled, unavailable or timed out; worth retrying later.
    Unavailable(String),
    /// 2: a value that cannot be answered without a guess (clap reports the other usage errors).
    Usage(String),
    /// 1: anything else.
    Other(String),
}

impl Failure {
    pub fn code(&self) -> u8 {
        match self {
            Failure::Other(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Config(_) => 3,
            Failure::Refused(_) => 4,
            Failure::Unavailable(_) => 5,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Config(message)
            | Failure::Usage(message)
            | Failure::Refused(message)
            | Failure::Unavailable(message)
            | Failure::Other(message) => message,
        }
    }

    fn from_problem(problem: &Problem) -> Failure {
        // The operator's own upstreams: the CLI says what they wrote.
        let detail = problem.full_detail.as_deref().unwrap_or(&problem.detail);
        let mut message = format!("{}: {}", problem.title, detail);
        let ids: Vec<String> = [
            ("code", &problem.code),
            ("request-id", &problem.upstream_request_id),
            ("client-request-id", &problem.client_request_id),
            ("correlation_id", &problem.correlation_id),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name} {value}")))
        .collect();
        if !ids.is_empty() {
            message.push_str(&format!(" ({})", ids.join(", ")));
        }
        class(problem.kind).unwrap_or(Failure::Other)(message)
    }
}

/// The exit code's class of each problem type, keyed by the type itself (the match is
/// exhaustive, so a new problem type does not compile until it has a class here); `None` for the
/// refusals of an HTTP request, which the CLI never meets: it checks its input with clap (exit 2).
fn class(kind: ProblemType) -> Option<fn(String) -> Failure> {
    Some(match kind {
        ProblemType::Misconfigured
        | ProblemType::FederationDisabled
        | ProblemType::WebIdentityDenied
        | ProblemType::KeyStoreMisconfigured
        | ProblemType::CloudMismatch
        | ProblemType::CloudUnsupported => Failure::Config,
        ProblemType::EntraRefused
        | ProblemType::FederatedCredentialRefused
        | ProblemType::StsRefused
        | ProblemType::GraphUnauthorized
        | ProblemType::GraphForbidden
        | ProblemType::UpstreamRejected
        | ProblemType::NotAvailableInCloud => Failure::Refused,
        ProblemType::CredentialsUnavailable
        | ProblemType::StsUnavailable
        | ProblemType::Throttled
        | ProblemType::UpstreamTimeout
        | ProblemType::UpstreamUnavailable
        | ProblemType::KeyStoreUnavailable
        | ProblemType::KeyStoreQuotaExceeded
        | ProblemType::CloudDiscoveryFailed => Failure::Unavailable,
        ProblemType::UpstreamFailed | ProblemType::UpstreamBadResponse | ProblemType::OutsideGraphRoot => {
            Failure::Other
        }
        ProblemType::AmbiguousHost => Failure::Usage,
        ProblemType::Unauthenticated
        | ProblemType::Forbidden
        | ProblemType::NotFound
        | ProblemType::MethodNotAllowed
        | ProblemType::BadRequest
        | ProblemType::PayloadTooLarge => return None,
    })
}

impl From<&GraphError> for Failure {
    fn from(error: &GraphError) -> Self {
        Failure::from_problem(&Problem::from(error))
    }
}

impl From<&KeyError> for Failure {
    fn from(error: &KeyError) -> Self {
        Failure::from_problem(&Problem::from(error))
    }
}

impl From<&OperationError> for Failure {
    fn from(error: &OperationError) -> Self {
        Failure::from_problem(&Problem::from(error))
    }
}

impl From<&RotationError> for Failure {
    fn from(error: &RotationError) -> Self {
        match error {
            RotationError::Key(key) => Failure::from(key),
            RotationError::NoKeySecret => Failure::Config(error.to_string()),
            other => Failure::Other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mdi_sensor_key::credentials::CredentialsError;
    use mdi_sensor_key::graph::{EntraRefusal, Forbidden, Unavailable, Upstream, UpstreamIds};
    use mdi_sensor_key::secrets::StoreError;

    use super::*;

    fn ids() -> UpstreamIds {
        UpstreamIds {
            request_id: Some("graph-req-1".into()),
            ..UpstreamIds::default()
        }
    }

    #[test]
    fn each_kind_of_upstream_failure_has_its_exit_code() {
        let upstream = Upstream::Graph;
        let cases = [
            (
                GraphError::Credentials(CredentialsError::MissingField {
                    secret_id: "creds".into(),
                    field: "clientSecret",
                }),
                3,
            ),
            (
                GraphError::Credentials(CredentialsError::Unreadable {
                    secret_id: "creds".into(),
                    source: StoreError::Throttled,
                }),
                5,
            ),
            (
                GraphError::Entra {
                    refusal: EntraRefusal::InvalidClient,
                    code: "invalid_client".into(),
                    aadsts: Some(7000215),
                    ids: ids(),
                },
                4,
            ),
            (
                GraphError::Forbidden {
                    reason: Forbidden::MissingPermission {
                        accepted: &[mdi_sensor_key::graph::READ_WRITE_ROLE],
                    },
                    code: "Forbidden".into(),
                    ids: ids(),
                },
                4,
            ),
            (
                GraphError::Unauthorized {
                    code: "InvalidAuthenticationToken".into(),
                    ids: ids(),
                },
                4,
            ),
            (
                GraphError::Throttled {
                    upstream,
                    retry_after: Some(Duration::from_secs(3)),
                    ids: ids(),
                },
                5,
            ),
            (GraphError::Timeout { upstream, ids: ids() }, 5),
            (
                GraphError::Unavailable {
                    upstream,
                    cause: Unavailable::Unreachable,
                    ids: ids(),
                },
                5,
            ),
            (
                GraphError::BadResponse {
                    upstream,
                    reason: "unreadable",
                    ids: ids(),
                },
                1,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(Failure::from(&error).code(), code, "{error:?}");
        }
    }

    #[test]
    fn the_message_explains_and_carries_graphs_request_id() {
        let failure = Failure::from(&GraphError::Forbidden {
            reason: Forbidden::MissingPermission {
                accepted: &[mdi_sensor_key::graph::READ_WRITE_ROLE],
            },
            code: "Forbidden".into(),
            ids: ids(),
        });
        assert!(
            failure.message().contains("SecurityIdentitiesSensors"),
            "{}",
            failure.message()
        );
        assert!(
            failure.message().contains("request-id graph-req-1"),
            "{}",
            failure.message()
        );
    }

    #[test]
    fn every_problem_types_exit_code_is_the_one_in_the_docs_table() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/http-api.md")).unwrap();
        for kind in ProblemType::ALL {
            let row = docs
                .lines()
                .find(|line| line.starts_with(&format!("| <a id=\"{}\">", kind.slug())))
                .unwrap_or_else(|| panic!("no row for {}", kind.slug()));
            let documented = row.split('|').nth(3).unwrap().trim();
            let code = class(*kind).map(|failure| failure(String::new()).code());
            let expected = code.map_or("-".to_owned(), |code| code.to_string());
            assert_eq!(documented, expected, "{}", kind.slug());
            match kind.status() {
                500 => assert_eq!(code, Some(3), "{}", kind.slug()),
                503 | 504 => assert_eq!(code, Some(5), "{}", kind.slug()),
                _ => {}
            }
        }
    }

    #[test]
    fn a_broken_key_store_is_configuration_and_a_throttled_one_unavailable() {
        let store = |source| KeyError::Store {
            secret_id: "key".into(),
            action: "read",
            source,
        };
        assert_eq!(Failure::from(&store(StoreError::NotFound)).code(), 3);
        assert_eq!(Failure::from(&store(StoreError::Throttled)).code(), 5);
    }
}
