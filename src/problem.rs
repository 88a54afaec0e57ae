//! The machinery by which errors become HTTP statuses and RFC 9457 problem+json bodies (and the
//! CLI's exit codes): the problem types, the problem document, and the upstream it names. Each
//! error type says which problem it is next to its own definition (`impl From<&Error> for
//! Problem`), from typed errors, so no upstream body is ever echoed: only vetted error codes and
//! the upstream request ids an operator needs to open a support case. A leaf: it imports nothing
//! of this crate.
//!
//! Every problem type is a [`ProblemType`]: its slug, status and title are fixed together, its
//! `type` member is a `tag:` URI ([`ProblemType::uri`]), and docs/http-api.md has one table row
//! per type, anchored at the slug (a test holds the two together). Extension member names are
//! camelCase letters only, as RFC 9457 §3.2 asks of names meant to be usable as identifiers.

use std::time::Duration;

use serde::{Serialize, Serializer};

/// The prefix of every problem `type`: a `tag:` URI (RFC 4151), which needs no registration
/// and is never dereferenced; the slug after it is the anchor of its row in docs/http-api.md.
pub const TYPE_PREFIX: &str = "tag:mdi-sensor-key,2026:problem/";

/// The challenge a `401` carries (RFC 9110 §11.6.1): the scheme of the SigV4 `Authorization`
/// header the caller should have sent through the IAM-authenticated function URL.
pub const WWW_AUTHENTICATE: &str = "AWS4-HMAC-SHA256";

/// Declares [`ProblemType`] and its table at once, so [`ProblemType::ALL`] cannot miss a type.
macro_rules! problem_types {
    ($($(#[doc = $doc:literal])* $variant:ident => ($slug:literal, $status:literal, $title:literal),)*) => {
        /// Every kind of problem this function answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemType {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ProblemType {
            /// Every type, in the order of the table in docs/http-api.md.
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$variant,)*];

            /// The last segment of the `type` URI and the anchor of its row in the docs.
            pub fn slug(self) -> &'static str {
                match self {
                    $(ProblemType::$variant => $slug,)*
                }
            }

            /// The HTTP status every problem of this type has.
            pub fn status(self) -> u16 {
                match self {
                    $(ProblemType::$variant => $status,)*
                }
            }

            /// The `title`: the same for every occurrence (RFC 9457 §3.1.3).
            pub fn title(self) -> &'static str {
                match self {
                    $(ProblemType::$variant => $title,)*
                }
            }
        }
    };
}

problem_types! {
    /// No IAM caller identity in the request context.
    Unauthenticated => ("unauthenticated", 401, "Unauthenticated"),
    /// The caller is not on the operation's allow-list.
    Forbidden => ("forbidden", 403, "Forbidden"),
    NotFound => ("not-found", 404, "Not Found"),
    MethodNotAllowed => ("method-not-allowed", 405, "Method Not Allowed"),
    BadRequest => ("bad-request", 400, "Bad Request"),
    PayloadTooLarge => ("payload-too-large", 413, "Payload Too Large"),
    /// The credentials secret (or the certificate in it) cannot be used.
    Misconfigured => ("misconfigured", 500, "Misconfigured"),
    CredentialsUnavailable => ("credentials-unavailable", 503, "Credentials Unavailable"),
    EntraRefused => ("entra-refused", 502, "Token Request Refused"),
    GraphUnauthorized => ("graph-unauthorized", 502, "Graph Rejected The Token"),
    GraphForbidden => ("graph-forbidden", 502, "Graph Refused Access"),
    Throttled => ("throttled", 503, "Throttled Upstream"),
    UpstreamTimeout => ("upstream-timeout", 504, "Upstream Timeout"),
    UpstreamUnavailable => ("upstream-unavailable", 503, "Upstream Unavailable"),
    UpstreamFailed => ("upstream-failed", 502, "Upstream Failed"),
    UpstreamRejected => ("upstream-rejected", 502, "Upstream Rejected The Request"),
    UpstreamBadResponse => ("upstream-bad-response", 502, "Unreadable Upstream Response"),
    KeyStoreUnavailable => ("key-store-unavailable", 503, "Key Store Unavailable"),
    KeyStoreMisconfigured => ("key-store-misconfigured", 500, "Key Store Misconfigured"),
    /// Secrets Manager refused a new version of the key secret: its version quota is full.
    KeyStoreQuotaExceeded => ("key-store-quota-exceeded", 503, "Key Store Version Quota Exceeded"),
    CloudMismatch => ("cloud-mismatch", 500, "Cloud Mismatch"),
    CloudUnsupported => ("cloud-unsupported", 500, "Cloud Unsupported"),
    CloudDiscoveryFailed => ("cloud-discovery-failed", 503, "Cloud Discovery Failed"),
    NotAvailableInCloud => ("not-available-in-cloud", 502, "Not Available In This Cloud"),
    OutsideGraphRoot => ("outside-graph-root", 502, "Refused To Leave The Graph Root"),
    /// A short host name that sensors in two or more domains have.
    AmbiguousHost => ("ambiguous-host", 409, "Ambiguous Host Name"),
    /// The account has not enabled IAM outbound identity federation.
    FederationDisabled => ("federation-disabled", 500, "Outbound Identity Federation Disabled"),
    /// The function's role may not call sts:GetWebIdentityToken as asked.
    WebIdentityDenied => ("web-identity-denied", 500, "Web Identity Token Denied"),
    StsUnavailable => ("sts-unavailable", 503, "STS Unavailable"),
    StsRefused => ("sts-refused", 502, "STS Refused"),
    /// Entra ID has no federated identity credential that matches the function's token.
    FederatedCredentialRefused => ("federated-credential-refused", 502, "Federated Credential Refused"),
}

impl ProblemType {
    /// The `type` member: [`TYPE_PREFIX`] and the slug.
    pub fn uri(self) -> String {
        format!("{TYPE_PREFIX}{}", self.slug())
    }
}

impl Serialize for ProblemType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.uri())
    }
}

/// The ids an upstream answered with, so an operator can quote them to Microsoft support.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamIds {
    /// Graph's `request-id`.
    pub request_id: Option<String>,
    /// The `client-request-id` we sent (Graph) or Entra's `correlation_id`.
    pub client_request_id: Option<String>,
    /// Entra's `correlation_id`.
    pub correlation_id: Option<String>,
}

/// Which upstream a failure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Entra,
    Graph,
}

impl Upstream {
    /// The short lower-case name used in problem documents and metrics.
    pub fn slug(self) -> &'static str {
        match self {
            Upstream::Entra => "entra",
            Upstream::Graph => "graph",
        }
    }
}

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Upstream::Entra => "Entra ID",
            Upstream::Graph => "Microsoft Graph",
        })
    }
}

/// A problem document plus the headers that go with it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: ProblemType,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The Lambda request id, to find this request's log lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Which upstream answered: `graph` or `entra`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<&'static str>,
    /// That upstream's request id (Graph's `request-id`, Entra's `x-ms-request-id` or
    /// `trace_id`), for a Microsoft support case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    /// Entra's `correlation_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The upstream's own error code (Graph's `error.code`, Entra's `error` and AADSTS number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    /// The methods a path takes, for a `405`'s `Allow`.
    #[serde(skip)]
    pub allow: Option<String>,
    /// The detail with what an upstream wrote (AWS's message, what a federated token names), when
    /// `detail` leaves it out: for the log line and the operator's own CLI, never the document.
    #[serde(skip)]
    pub full_detail: Option<String>,
}

/// Retry-After suggested when an upstream gave none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

impl Problem {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Problem {
            kind,
            title: kind.title(),
            status: kind.status(),
            detail: detail.into(),
            request_id: None,
            upstream: None,
            upstream_request_id: None,
            client_request_id: None,
            correlation_id: None,
            code: None,
            retry_after: None,
            allow: None,
            full_detail: None,
        }
    }

    /// Keeps `full`, the detail with an upstream's own text, out of the document (see
    /// [`Problem::full_detail`]).
    pub fn with_full_detail(mut self, full: String) -> Self {
        if full != self.detail {
            self.full_detail = Some(full);
        }
        self
    }

    pub fn with_allow(mut self, methods: String) -> Self {
        self.allow = Some(methods);
        self
    }

    pub fn with_request_id(mut self, request_id: &str) -> Self {
        self.request_id = Some(request_id.to_owned());
        self
    }

    /// Names the upstream that answered, with the ids it answered with.
    pub fn with_upstream(mut self, upstream: Upstream, ids: &UpstreamIds) -> Self {
        self.upstream = Some(upstream.slug());
        self.upstream_request_id = ids.request_id.clone();
        self.client_request_id = ids.client_request_id.clone();
        self.correlation_id = ids.correlation_id.clone();
        self
    }

    /// Names Graph as the upstream when it answered (`id` is its request-id).
    pub fn with_graph_request_id(mut self, id: Option<&String>) -> Self {
        if let Some(id) = id {
            self.upstream = Some(Upstream::Graph.slug());
            self.upstream_request_id = Some(id.clone());
        }
        self
    }

    /// The upstream's own error code.
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// Worth another try: `Retry-After`, the upstream's own or a few seconds.
    pub fn retry_after(mut self, after: Option<Duration>) -> Self {
        // Never advertise "retry now": a zero would invite a tight loop.
        self.retry_after = Some(after.unwrap_or(DEFAULT_RETRY_AFTER).max(Duration::from_secs(1)));
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"status\":{}}}", self.status))
    }

    /// The response headers that go with this problem: `Retry-After` (seconds), `Allow` for a
    /// `405`, and `WWW-Authenticate` for a `401` (RFC 9110 §15.5.2 requires one).
    pub fn headers(&self) -> Vec<(http::HeaderName, String)> {
        let mut headers = Vec::new();
        if let Some(after) = self.retry_after {
            headers.push((http::header::RETRY_AFTER, after.as_secs().to_string()));
        }
        if let Some(methods) = &self.allow {
            headers.push((http::header::ALLOW, methods.clone()));
        }
        if self.status == 401 {
            headers.push((http::header::WWW_AUTHENTICATE, WWW_AUTHENTICATE.to_owned()));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    //! Every error of every layer, through its own mapping: each problem it becomes follows RFC
    //! 9457 and is a declared type with its row in the docs.
    use super::*;
    use crate::cloud::TenantCloud;
    use crate::handler::RequestError;
    use crate::keys::KeyError;
    use crate::sensors::SensorError;
    use crate::upstream::{
        CertificateError, CredentialsError, EntraRefusal, FederationError, FederationRefusal, Forbidden, GraphError,
        RefusedAssertion, StoreError, Unavailable,
    };

    fn ids() -> UpstreamIds {
        UpstreamIds {
            request_id: Some("graph-req-1".into()),
            client_request_id: Some("client-1".into()),
            correlation_id: None,
        }
    }

    /// One of every error the mappings distinguish, with every upstream id set. The
    /// matches in `_every_variant_has_a_sample` fail to compile when a variant is added, until it
    /// has a sample here too.
    fn every_error() -> Vec<(&'static str, Problem)> {
        let full = || UpstreamIds {
            request_id: Some("req".into()),
            client_request_id: Some("client".into()),
            correlation_id: Some("corr".into()),
        };
        let store_errors = || {
            vec![
                StoreError::NotFound,
                StoreError::AccessDenied {
                    code: "AccessDeniedException".into(),
                    message: "m".into(),
                },
                StoreError::Throttled,
                StoreError::Timeout,
                StoreError::TokenConflict,
                StoreError::QuotaExceeded { message: "m".into() },
                StoreError::Refused {
                    code: "c".into(),
                    message: "m".into(),
                },
                StoreError::Unavailable("could not connect".into()),
            ]
        };
        let secret_id = || "creds".to_owned();
        let mut credentials: Vec<CredentialsError> = store_errors()
            .into_iter()
            .map(|source| CredentialsError::Unreadable {
                secret_id: secret_id(),
                source,
            })
            .collect();
        credentials.extend([
            CredentialsError::NotText { secret_id: secret_id() },
            CredentialsError::NotJson { secret_id: secret_id() },
            CredentialsError::MissingField {
                secret_id: secret_id(),
                field: "clientSecret",
            },
            CredentialsError::NotAString {
                secret_id: secret_id(),
                field: "clientSecret",
            },
            CredentialsError::Malformed {
                secret_id: secret_id(),
                field: "tenantId",
                expected: "tenant id",
            },
            CredentialsError::NoCredential { secret_id: secret_id() },
            CredentialsError::BothCredentials { secret_id: secret_id() },
            CredentialsError::Certificate {
                secret_id: secret_id(),
                field: "certificatePem",
                source: CertificateError::NoCertificate,
            },
        ]);
        let upstream = Upstream::Graph;
        let cloud = || {
            Box::new(TenantCloud {
                instance: "microsoftonline.us".into(),
                graph_host: Some("graph.microsoft.us".into()),
                sub_scope: Some("DOD".into()),
            })
        };
        let mut graph: Vec<GraphError> = credentials.into_iter().map(GraphError::Credentials).collect();
        for refusal in [
            EntraRefusal::InvalidClient,
            EntraRefusal::CertificateNotAccepted,
            EntraRefusal::AssertionRejected,
            EntraRefusal::UnauthorizedClient,
            EntraRefusal::UnknownTenant,
            EntraRefusal::Other,
        ] {
            graph.push(GraphError::Entra {
                refusal,
                code: "invalid_client".into(),
                aadsts: Some(7000215),
                ids: full(),
            });
        }
        for reason in [
            Forbidden::MissingPermission {
                accepted: &[crate::graph::READ_ROLE],
            },
            Forbidden::TenantNotOnboarded,
            Forbidden::RoleHeldButRefused,
            Forbidden::Unknown,
        ] {
            graph.push(GraphError::Forbidden {
                reason,
                code: "Forbidden".into(),
                ids: full(),
            });
        }
        for cause in [
            Unavailable::Status(503),
            Unavailable::Status(500),
            Unavailable::Unreachable,
            Unavailable::ConnectionLost,
        ] {
            graph.push(GraphError::Unavailable {
                upstream,
                cause,
                ids: full(),
            });
        }
        let throttled = || GraphError::Throttled {
            upstream: Upstream::Entra,
            retry_after: Some(Duration::from_secs(2)),
            ids: full(),
        };
        graph.extend([
            GraphError::Unauthorized {
                code: "InvalidAuthenticationToken".into(),
                ids: full(),
            },
            throttled(),
            GraphError::Timeout { upstream, ids: full() },
            GraphError::Rejected {
                upstream,
                status: 404,
                code: "ResourceNotFound".into(),
                ids: full(),
            },
            GraphError::BadResponse {
                upstream,
                reason: "no key in it",
                ids: full(),
            },
            GraphError::ClientAssertion(CertificateError::Signing),
            GraphError::CloudMismatch {
                configured: "global",
                found: cloud(),
            },
            GraphError::CloudUnsupported { found: cloud() },
            GraphError::CloudUnknown(Box::new(throttled())),
            GraphError::NotInCloud {
                cloud: crate::cloud::Cloud::Dod,
                status: 404,
                code: "BadRequest".into(),
                ids: full(),
            },
            GraphError::OutsideGraphRoot {
                operation: "list sensors".into(),
            },
            GraphError::Ambiguous(Box::new(GraphError::Timeout { upstream, ids: full() })),
        ]);
        let sts = || Some("sts-1".to_owned());
        graph.extend(
            [
                FederationError::Disabled { request_id: sts() },
                FederationError::AccessDenied {
                    code: "AccessDenied".into(),
                    audience: "api://AzureADTokenExchange".into(),
                    request_id: sts(),
                },
                FederationError::Throttled { request_id: sts() },
                FederationError::Timeout,
                FederationError::Unavailable("HTTP 503".into()),
                FederationError::Refused {
                    code: "ValidationError".into(),
                    request_id: sts(),
                },
                FederationError::NoToken { request_id: sts() },
                FederationError::TokenFile("unreadable".into()),
            ]
            .into_iter()
            .map(GraphError::Federation),
        );
        for reason in [
            FederationRefusal::Issuer,
            FederationRefusal::Subject,
            FederationRefusal::Audience,
            FederationRefusal::NoMatch,
            FederationRefusal::OutsideValidTime,
            FederationRefusal::Signature,
            FederationRefusal::IssuerUnreachable,
        ] {
            graph.push(GraphError::FederatedCredentialRefused(Box::new(RefusedAssertion {
                reason,
                code: "invalid_request".into(),
                aadsts: Some(700213),
                client_id: "app-1".into(),
                trust: None,
                ids: full(),
            })));
        }
        let mut keys: Vec<KeyError> = Vec::new();
        for source in store_errors() {
            keys.push(KeyError::Store {
                secret_id: "key".into(),
                action: "read",
                source: source.clone(),
            });
            keys.push(KeyError::NotStored {
                secret_id: "key".into(),
                source,
                graph_request_id: Some("req".into()),
            });
        }
        keys.extend(graph.into_iter().map(KeyError::Graph));
        let requests = [
            RequestError::Unauthenticated,
            RequestError::NotAllowed("read the key"),
            RequestError::NotFound,
            RequestError::MethodNotAllowed("GET".into()),
            RequestError::BadRequest("bad"),
            RequestError::TooLarge(65536),
            RequestError::Input(crate::sensors::InputError::HostName.into()),
        ];
        let sensors = [SensorError::AmbiguousHost {
            host: "dc1".into(),
            domains: vec!["contoso.com".into(), "fabrikam.com".into()],
            graph_request_id: Some("req".into()),
        }];
        requests
            .iter()
            .map(|error| ("RequestError", Problem::from(error)))
            .chain(keys.iter().map(|error| ("KeyError", Problem::from(error))))
            .chain(sensors.iter().map(|error| ("SensorError", Problem::from(error))))
            .map(|(layer, problem)| (layer, problem.with_request_id("lambda-1")))
            .collect()
    }

    #[allow(dead_code)]
    fn _every_variant_has_a_sample(
        request: &RequestError,
        key: &KeyError,
        graph: &GraphError,
        credentials: &CredentialsError,
        sensor: &SensorError,
    ) {
        match sensor {
            SensorError::Graph(_) | SensorError::AmbiguousHost { .. } => {}
        }
        match request {
            RequestError::Unauthenticated
            | RequestError::NotAllowed(_)
            | RequestError::NotFound
            | RequestError::MethodNotAllowed(_)
            | RequestError::BadRequest(_)
            | RequestError::TooLarge(_)
            | RequestError::Input(_) => {}
        }
        match key {
            KeyError::Graph(_) | KeyError::Store { .. } | KeyError::NotStored { .. } => {}
        }
        match graph {
            GraphError::Credentials(_)
            | GraphError::Entra { .. }
            | GraphError::Unauthorized { .. }
            | GraphError::Forbidden { .. }
            | GraphError::Throttled { .. }
            | GraphError::Timeout { .. }
            | GraphError::Unavailable { .. }
            | GraphError::Rejected { .. }
            | GraphError::BadResponse { .. }
            | GraphError::ClientAssertion(_)
            | GraphError::CloudMismatch { .. }
            | GraphError::CloudUnsupported { .. }
            | GraphError::CloudUnknown(_)
            | GraphError::NotInCloud { .. }
            | GraphError::OutsideGraphRoot { .. }
            | GraphError::Federation(_)
            | GraphError::FederatedCredentialRefused(_)
            | GraphError::Ambiguous(_) => {}
        }
        match credentials {
            CredentialsError::Unreadable { .. }
            | CredentialsError::NotText { .. }
            | CredentialsError::NotJson { .. }
            | CredentialsError::MissingField { .. }
            | CredentialsError::NotAString { .. }
            | CredentialsError::Malformed { .. }
            | CredentialsError::NoCredential { .. }
            | CredentialsError::BothCredentials { .. }
            | CredentialsError::Certificate { .. } => {}
        }
    }

    /// RFC 9457 §3.2: extension names start with a letter, hold only letters, digits and `_`,
    /// and are three characters or longer.
    fn is_identifier(name: &str) -> bool {
        name.len() >= 3
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    #[test]
    fn every_problem_the_errors_produce_follows_rfc_9457() {
        let mut seen = std::collections::HashSet::new();
        for (layer, problem) in every_error() {
            let json: serde_json::Value = serde_json::from_str(&problem.to_json()).unwrap();
            let members = json.as_object().unwrap();
            for name in members.keys() {
                assert!(is_identifier(name), "{layer}: member {name:?} in {json}");
            }
            let kind = json["type"].as_str().unwrap();
            let slug = kind
                .strip_prefix(TYPE_PREFIX)
                .unwrap_or_else(|| panic!("{layer}: type {kind}"));
            let known = ProblemType::ALL.iter().find(|t| t.slug() == slug);
            assert_eq!(known, Some(&problem.kind), "{layer}: {kind} is a declared type");
            assert_eq!(json["status"], problem.kind.status(), "{json}");
            assert_eq!(json["title"], problem.kind.title(), "{json}");
            assert_eq!(json["requestId"], "lambda-1");
            assert!(json["detail"].as_str().is_some_and(|d| !d.is_empty()));
            // An upstream that answered is quoted by its id; one that did not answer (a timeout,
            // an STS outage) has none to give.
            if json.get("upstream").is_some() && !matches!(problem.status, 503 | 504) {
                assert!(
                    json["upstreamRequestId"].is_string(),
                    "{layer}: an upstream comes with its id: {json}"
                );
            }
            assert_eq!(
                problem
                    .headers()
                    .iter()
                    .any(|(name, _)| name == http::header::WWW_AUTHENTICATE),
                problem.status == 401
            );
            seen.insert(problem.kind);
        }
        let unproduced: Vec<_> = ProblemType::ALL.iter().filter(|t| !seen.contains(t)).collect();
        assert!(unproduced.is_empty(), "declared but never produced: {unproduced:?}");
    }

    #[test]
    fn every_problem_type_is_a_tag_uri_with_a_row_in_the_docs_table() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/http-api.md")).unwrap();
        let rows: Vec<&str> = docs.lines().filter(|line| line.starts_with("| <a id=\"")).collect();
        for kind in ProblemType::ALL {
            let uri = kind.uri();
            // RFC 4151: "tag:" authority "," date ":" specific.
            assert!(uri.starts_with("tag:mdi-sensor-key,2026:"), "{uri}");
            assert!(kind.slug().chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{uri}");
            let anchor = format!(
                "| <a id=\"{}\"></a>`{}` | {} |",
                kind.slug(),
                kind.slug(),
                kind.status()
            );
            assert!(
                rows.iter().any(|row| row.starts_with(&anchor)),
                "docs/http-api.md has no row starting {anchor}"
            );
        }
        assert_eq!(
            rows.len(),
            ProblemType::ALL.len(),
            "one row per type, no row for a type the code lacks"
        );
    }

    #[test]
    fn a_401_challenges_for_sigv4_and_a_405_names_the_allowed_methods() {
        let unauthenticated = Problem::from(&RequestError::Unauthenticated);
        assert_eq!(
            unauthenticated.headers(),
            vec![(http::header::WWW_AUTHENTICATE, "AWS4-HMAC-SHA256".to_owned())]
        );
        let method = Problem::from(&RequestError::MethodNotAllowed("GET".into()));
        assert_eq!(method.headers(), vec![(http::header::ALLOW, "GET".to_owned())]);
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
                accepted: &[crate::graph::READ_WRITE_ROLE],
            },
            code: "Forbidden".into(),
            ids: ids(),
        });
        assert_eq!(problem.status, 502);
        assert!(problem.detail.contains("SecurityIdentitiesSensors.ReadWrite.All"));
        let json: serde_json::Value = serde_json::from_str(&problem.with_request_id("lambda-1").to_json()).unwrap();
        assert_eq!(json["requestId"], "lambda-1");
        assert_eq!(json["upstreamRequestId"], "graph-req-1");
        assert_eq!(json["clientRequestId"], "client-1");
        assert_eq!(json["type"], "tag:mdi-sensor-key,2026:problem/graph-forbidden");
        let health = Problem::from(&GraphError::Forbidden {
            reason: Forbidden::MissingPermission {
                accepted: crate::graph::LIST_HEALTH_ISSUES.roles,
            },
            code: "Forbidden".into(),
            ids: ids(),
        });
        assert!(
            health.detail.contains(
                "lacks the application permission SecurityIdentitiesHealth.Read.All (or a higher one Microsoft's permission map accepts: SecurityIdentitiesHealth.ReadWrite.All)"
            ),
            "{}",
            health.detail
        );
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
            assert_eq!(problem.kind.slug(), slug);
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
        let full = subject
            .full_detail
            .as_deref()
            .expect("the fix, for the log and the CLI");
        assert!(full.contains("az ad app federated-credential create --id app-1"));
        assert!(full.contains("arn:aws:iam::123456789012:role/fn"));
        // The document names neither the token's issuer and subject nor the app.
        let document = subject.to_json();
        for named in [
            "az ad app",
            "app-1",
            "arn:aws:iam::123456789012:role/fn",
            "abc.tokens.sts",
        ] {
            assert!(!document.contains(named), "{named} in {document}");
        }
        for reason in [FederationRefusal::OutsideValidTime, FederationRefusal::Signature] {
            let problem = refused(reason);
            assert!(!problem.detail.contains("az ad app"), "{reason:?}");
            assert_eq!(problem.full_detail, None, "{reason:?}: nothing to withhold");
        }
    }

    #[test]
    fn no_problem_document_echoes_what_secrets_manager_wrote_and_the_full_text_is_kept_beside_it() {
        // AWS's own shape (IAM User Guide, "Troubleshoot access denied error messages").
        const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/mdi-FunctionRole-X1/mdi-Function-Y2";
        let message = format!(
            "User: {SESSION} is not authorized to perform: secretsmanager:PutSecretValue on resource: \
             arn:aws:secretsmanager:eu-west-1:123456789012:secret:key-AbCdEf because no identity-based policy allows it"
        );
        let sources = [
            StoreError::AccessDenied {
                code: "AccessDeniedException".into(),
                message: message.clone(),
            },
            StoreError::QuotaExceeded {
                message: message.clone(),
            },
            StoreError::Refused {
                code: "ValidationException".into(),
                message: message.clone(),
            },
        ];
        for source in sources {
            let problems = [
                (
                    "key",
                    Problem::from(&KeyError::Store {
                        secret_id: "key".into(),
                        action: "written",
                        source: source.clone(),
                    }),
                ),
                (
                    "key",
                    Problem::from(&KeyError::NotStored {
                        secret_id: "key".into(),
                        source: source.clone(),
                        graph_request_id: Some("graph-1".into()),
                    }),
                ),
                (
                    "creds",
                    Problem::from(&GraphError::Credentials(CredentialsError::Unreadable {
                        secret_id: "creds".into(),
                        source: source.clone(),
                    })),
                ),
            ];
            for (secret_id, problem) in problems {
                let full = problem.full_detail.clone().expect("the full text, for the log");
                assert!(full.contains(SESSION), "{full}");
                assert!(
                    problem.detail.contains(&format!(" {secret_id} ")),
                    "the project's own words stay: {}",
                    problem.detail
                );
                let document = problem.with_request_id("lambda-1").to_json();
                assert!(!document.contains(SESSION), "{document}");
                assert!(!document.contains("secret:key-AbCdEf"), "{document}");
                assert!(document.contains("log line"), "{document}");
            }
        }
    }

    #[test]
    fn method_not_allowed_carries_the_allowed_methods() {
        let problem = Problem::from(&RequestError::MethodNotAllowed("GET".into()));
        assert_eq!(problem.status, 405);
        assert_eq!(problem.allow.as_deref(), Some("GET"));
    }
}
