//! The vocabulary tests use to steer the simulator: which endpoint a request
//! hit, which failure to inject into it, and which of the documented response
//! shapes the key endpoints answer with.
//!
//! The same types travel as JSON over the `/_sim` control routes, so their
//! serde forms are part of the contract with the benchmark and the demo.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// What `Fault::Forbidden` says when the control JSON gives no message, and Graph's 403 for
/// `Fault::Status(403)`.
pub(crate) const DEFAULT_FORBIDDEN_MESSAGE: &str = "The tenant is not onboarded to Microsoft Defender for Identity.";

/// One of the operations the simulator counts and can fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Endpoint {
    /// Entra ID `POST /{tenant}/oauth2/v2.0/token`.
    Token,
    /// Graph `GET /{version}/security/identities/sensors/getDeploymentAccessKey`.
    GetKey,
    /// Graph `POST /{version}/security/identities/sensors/regenerateDeploymentAccessKey`.
    RegenerateKey,
    /// Graph `GET /{version}/security/identities/sensors/getDeploymentPackageUri`.
    GetPackage,
    /// Graph `GET /{version}/security/identities/sensors`, every page.
    ListSensors,
    /// Entra `GET /{tenant}/v2.0/.well-known/openid-configuration`.
    OpenIdConfiguration,
    /// STS `POST /sts` `Action=GetWebIdentityToken`.
    WebIdentityToken,
    /// The simulated AWS account's token issuer: its `/.well-known/openid-configuration` and
    /// `/.well-known/jwks.json` (fetched by the simulated Entra).
    IssuerMetadata,
    /// IAM `POST /iam` `Action=GetOutboundWebIdentityFederationInfo`.
    FederationInfo,
    /// Graph `GET /{version}/security/identities/healthIssues`, every page.
    ListHealthIssues,
    /// Graph `GET /{version}/security/identities/sensorCandidates`, every page.
    ListSensorCandidates,
    /// Graph `POST /{version}/security/identities/sensorCandidates/activate`.
    ActivateSensors,
    /// Graph `/{version}/security/identities/sensorCandidateActivationConfiguration`, read or update.
    ActivationConfiguration,
}

impl Endpoint {
    /// How many endpoints there are: the size of the per-endpoint counters and fault queues.
    pub(crate) const COUNT: usize = 13;

    pub(crate) fn index(self) -> usize {
        match self {
            Endpoint::Token => 0,
            Endpoint::GetKey => 1,
            Endpoint::RegenerateKey => 2,
            Endpoint::GetPackage => 3,
            Endpoint::ListSensors => 4,
            Endpoint::OpenIdConfiguration => 5,
            Endpoint::WebIdentityToken => 6,
            Endpoint::IssuerMetadata => 7,
            Endpoint::FederationInfo => 8,
            Endpoint::ListHealthIssues => 9,
            Endpoint::ListSensorCandidates => 10,
            Endpoint::ActivateSensors => 11,
            Endpoint::ActivationConfiguration => 12,
        }
    }
}

/// How a 429 tells the client when to come back; both forms are legal in
/// `Retry-After`, and clients tend to handle only one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    Seconds(u64),
    HttpDate(SystemTime),
}

impl RetryAfter {
    pub(crate) fn header_value(self) -> String {
        match self {
            RetryAfter::Seconds(s) => s.to_string(),
            RetryAfter::HttpDate(t) => httpdate::fmt_http_date(t),
        }
    }
}

/// A failure injected into one request. Faults are consumed before the
/// request is checked, so a faulted request never reaches normal processing
/// unless the fault says so (`Delay`, `ProcessThen*`).
///
/// A fault that has no meaning for the endpoint it was queued on (say
/// `InvalidClient` on `GetKey`) is consumed and the request is answered
/// normally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "wire::FaultWire", into = "wire::FaultWire")]
pub enum Fault {
    /// 429 in the service's error shape, with `Retry-After` when given.
    TooManyRequests { retry_after: Option<RetryAfter> },
    /// That status with the service's JSON error body.
    Status(u16),
    /// Waits, then answers normally; for exercising client timeouts.
    Delay(Duration),
    /// 200 whose body is not JSON at all.
    MalformedBody,
    /// 200 whose JSON body stops halfway.
    TruncatedBody,
    /// That status as an HTML page, as a proxy or gateway in front of the
    /// service would send it.
    HtmlErrorPage(u16),
    /// 200 with well-formed JSON that holds no token or key in any documented shape.
    UnexpectedShape,
    /// Graph: 401 `InvalidAuthenticationToken` although the token was good;
    /// the presented token stays revoked afterwards, as a really revoked one would.
    TokenRevoked,
    /// Graph: 403 `Forbidden` with this message (e.g. tenant not onboarded).
    Forbidden { message: String },
    /// Graph: `400 BadRequest` "Resource not found for the segment '<the path's last segment>'.",
    /// Graph's answer for a path it does not know, as a cloud or version that lacks the API
    /// answers it (the same words in microsoftgraph/msgraph-sdk-dotnet#1779 and
    /// msgraph-beta-sdk-python#764, microsoft-graph-docs#21648); the simulator answers paths its
    /// cloud's schema lacks this way on its own.
    UnknownSegment,
    /// Token: 401 `invalid_client` (AADSTS7000215) even with the right secret.
    InvalidClient,
    /// Does the work (regenerates the key, issues the token), then answers
    /// this status instead of the result: the ambiguous failure a client
    /// must not mistake for "nothing happened".
    ProcessThenStatus(u16),
    /// Does the work, then closes the connection without answering.
    ProcessThenDrop,
    /// Token: a successful answer without `expires_in`.
    WithoutExpiresIn,
    /// Token: a successful answer whose `expires_in` is this many seconds, however absurd. RFC
    /// 6749 section 5.1 defines it only as "the lifetime in seconds of the access token"; no
    /// upper bound is promised, so a client must clamp it.
    ExpiresIn(u64),
    /// Any endpoint: this redirect status (307 or 308) with `Location: location` and nothing else,
    /// as a misconfigured proxy or a hostile upstream might answer. Neither Entra's token endpoint
    /// nor Graph's documented endpoints answer with redirects, and a client that follows a 307 or
    /// 308 must send the same method and body again (RFC 9110 sections 15.4.8 and 15.4.9): the
    /// client secret or assertion, or the bearer token, would go wherever `location` names.
    Redirect { status: u16, location: String },
    /// Any endpoint: a 200 whose JSON body is `bytes` long (padding inside a JSON object), an
    /// answer no client should read whole. `chunked` sends it without `Content-Length`, so only
    /// counting while reading can stop it.
    OversizedBody { bytes: usize, chunked: bool },
    /// Any endpoint: a 200 OData collection `{"value":[{},{},…]}` about `bytes` long, under any
    /// byte cap a client would set for a page, but of some `bytes / 3` members: the answer that
    /// bounds memory by members, not only by bytes. No documented Graph list pages that densely
    /// (the largest pages Microsoft documents hold 999 or 1,000 members); it stands for a broken
    /// or hostile upstream.
    DenseCollection { bytes: usize },
}

/// Which of the response shapes seen for `deploymentAccessKeyType` the key
/// endpoints use; clients should accept all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyShape {
    /// `{"@odata.context":…,"value":{"@odata.type":…,"sensorDeploymentAccessKey":…}}`, the API page's example.
    #[default]
    ValueWrapped,
    /// `{"value":{"deploymentAccessKey":…}}`.
    ValueWrappedDeploymentAccessKey,
    /// `{"@odata.type":…,"sensorDeploymentAccessKey":…}`.
    Bare,
    /// `{"deploymentAccessKey":…}`.
    BareDeploymentAccessKey,
}

/// Which verbs the update of `sensorCandidateActivationConfiguration` takes. Microsoft's sources
/// disagree, so the simulator serves each reading:
/// - the CSDL (msgraph-metadata) has a single-valued containment navigation property of that
///   name, which OData updates with `PATCH` (OData 4.01 Protocol, 11.4.3 "Update an Entity"),
///   and the SDKs generated from it send `PATCH` (e.g. msgraph-sdk-php's
///   `SensorCandidateActivationConfigurationRequestBuilder::patch`): [`Self::PatchOnly`];
/// - the permission map (microsoft-graph-devx-content `permissions/new/permissions.json`) lists
///   `POST` on that singular path, and the API page
///   `security-identitycontainer-post-sensorcandidateactivationconfiguration.md` writes `POST`
///   (on a plural path the CSDL does not have): [`Self::PostOnly`];
/// - which the live service takes is not known: [`Self::Both`], the default.
///
/// A verb a reading does not take is answered `405` with `Allow`, as every simulated Graph
/// operation answers a wrong method. The plural path is no navigation property, so Graph's
/// `400 Resource not found for the segment` answers it in every reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActivationUpdate {
    /// `PATCH`, answered `204 No Content` (OData's answer to an update without
    /// `Prefer: return=representation`).
    PatchOnly,
    /// `POST`, answered `200 OK` with the configuration (the API page's status).
    PostOnly,
    #[default]
    Both,
}

/// What `sensorCandidates/activate` does with a `serverIds` entry that names no candidate (a
/// stale id, or one already activated). The API page documents `200 OK` and no per-server
/// result, so the live service's answer is not known: [`Self::Ignored`] (the default) accepts the
/// request and activates the others; the two refusals activate nothing and answer as a Graph
/// workload that validates its input would.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UnknownServerIds {
    #[default]
    Ignored,
    /// `400 BadRequest`, naming the id.
    BadRequest,
    /// `404 NotFound`, naming the id.
    NotFound,
}

/// The JSON form of [`Fault`]: `Fault` keeps tuple variants for ergonomic
/// Rust, which serde cannot tag internally, so the wire form is spelled out here.
mod wire {
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    use super::{Fault, RetryAfter};

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
    pub(super) enum FaultWire {
        TooManyRequests {
            #[serde(default, rename = "retryAfter", skip_serializing_if = "Option::is_none")]
            retry_after: Option<RetryAfterWire>,
        },
        Status {
            status: u16,
        },
        Delay {
            millis: u64,
        },
        MalformedBody,
        TruncatedBody,
        HtmlErrorPage {
            status: u16,
        },
        UnexpectedShape,
        TokenRevoked,
        Forbidden {
            #[serde(default = "default_forbidden_message")]
            message: String,
        },
        InvalidClient,
        UnknownSegment,
        ProcessThenStatus {
            status: u16,
        },
        ProcessThenDrop,
        WithoutExpiresIn,
        ExpiresIn {
            seconds: u64,
        },
        Redirect {
            status: u16,
            location: String,
        },
        OversizedBody {
            bytes: usize,
            #[serde(default)]
            chunked: bool,
        },
        DenseCollection {
            bytes: usize,
        },
    }

    /// A number of seconds, or an HTTP date string.
    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    pub(super) enum RetryAfterWire {
        Seconds(u64),
        HttpDate(String),
    }

    fn default_forbidden_message() -> String {
        super::DEFAULT_FORBIDDEN_MESSAGE.to_owned()
    }

    impl TryFrom<FaultWire> for Fault {
        type Error = String;

        fn try_from(w: FaultWire) -> Result<Self, String> {
            Ok(match w {
                FaultWire::TooManyRequests { retry_after } => Fault::TooManyRequests {
                    retry_after: match retry_after {
                        None => None,
                        Some(RetryAfterWire::Seconds(s)) => Some(RetryAfter::Seconds(s)),
                        Some(RetryAfterWire::HttpDate(d)) => Some(RetryAfter::HttpDate(
                            httpdate::parse_http_date(&d)
                                .map_err(|e| format!("retryAfter {d:?} is not an HTTP date: {e}"))?,
                        )),
                    },
                },
                FaultWire::Status { status } => Fault::Status(status),
                FaultWire::Delay { millis } => Fault::Delay(Duration::from_millis(millis)),
                FaultWire::MalformedBody => Fault::MalformedBody,
                FaultWire::TruncatedBody => Fault::TruncatedBody,
                FaultWire::HtmlErrorPage { status } => Fault::HtmlErrorPage(status),
                FaultWire::UnexpectedShape => Fault::UnexpectedShape,
                FaultWire::TokenRevoked => Fault::TokenRevoked,
                FaultWire::Forbidden { message } => Fault::Forbidden { message },
                FaultWire::InvalidClient => Fault::InvalidClient,
                FaultWire::UnknownSegment => Fault::UnknownSegment,
                FaultWire::ProcessThenStatus { status } => Fault::ProcessThenStatus(status),
                FaultWire::ProcessThenDrop => Fault::ProcessThenDrop,
                FaultWire::WithoutExpiresIn => Fault::WithoutExpiresIn,
                FaultWire::ExpiresIn { seconds } => Fault::ExpiresIn(seconds),
                FaultWire::Redirect { status, location } => Fault::Redirect { status, location },
                FaultWire::OversizedBody { bytes, chunked } => Fault::OversizedBody { bytes, chunked },
                FaultWire::DenseCollection { bytes } => Fault::DenseCollection { bytes },
            })
        }
    }

    impl From<Fault> for FaultWire {
        fn from(f: Fault) -> Self {
            match f {
                Fault::TooManyRequests { retry_after } => FaultWire::TooManyRequests {
                    retry_after: retry_after.map(|r| match r {
                        RetryAfter::Seconds(s) => RetryAfterWire::Seconds(s),
                        RetryAfter::HttpDate(t) => RetryAfterWire::HttpDate(httpdate::fmt_http_date(t)),
                    }),
                },
                Fault::Status(status) => FaultWire::Status { status },
                Fault::Delay(d) => FaultWire::Delay {
                    millis: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
                },
                Fault::MalformedBody => FaultWire::MalformedBody,
                Fault::TruncatedBody => FaultWire::TruncatedBody,
                Fault::HtmlErrorPage(status) => FaultWire::HtmlErrorPage { status },
                Fault::UnexpectedShape => FaultWire::UnexpectedShape,
                Fault::TokenRevoked => FaultWire::TokenRevoked,
                Fault::Forbidden { message } => FaultWire::Forbidden { message },
                Fault::InvalidClient => FaultWire::InvalidClient,
                Fault::UnknownSegment => FaultWire::UnknownSegment,
                Fault::ProcessThenStatus(status) => FaultWire::ProcessThenStatus { status },
                Fault::ProcessThenDrop => FaultWire::ProcessThenDrop,
                Fault::WithoutExpiresIn => FaultWire::WithoutExpiresIn,
                Fault::ExpiresIn(seconds) => FaultWire::ExpiresIn { seconds },
                Fault::Redirect { status, location } => FaultWire::Redirect { status, location },
                Fault::OversizedBody { bytes, chunked } => FaultWire::OversizedBody { bytes, chunked },
                Fault::DenseCollection { bytes } => FaultWire::DenseCollection { bytes },
            }
        }
    }
}
