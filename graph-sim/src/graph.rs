//! Microsoft Graph's two MDI sensor deployment access key operations,
//! `getDeploymentAccessKey` (GET) and `regenerateDeploymentAccessKey` (POST),
//! under `/beta` and `/v1.0`.
//!
//! Checks run in Graph's order: API version, bearer token, URL segments,
//! method, application role. Every answer carries Graph's `request-id`,
//! `client-request-id` and `Date` headers, and errors use Graph's
//! `{"error":{"code","message","innerError"}}` shape.

use axum::http::header::HeaderValue;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

use crate::clock;
use crate::config::REQUIRED_ROLE;
use crate::fault::{Endpoint, Fault, KeyShape};
use crate::server::{self, Incoming};
use crate::state::{Shared, TokenCheck};

const JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

const NAMESPACE: &str = "microsoft.graph.security.";

const KEY_TYPE: &str = "microsoft.graph.security.deploymentAccessKeyType";

/// What `Fault::Forbidden` says when the control JSON gives no message.
pub(crate) const DEFAULT_FORBIDDEN_MESSAGE: &str = "The tenant is not onboarded to Microsoft Defender for Identity.";

/// What Graph sends with every 401, pointing the client at Entra.
const WWW_AUTHENTICATE: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    GetKey,
    RegenerateKey,
}

impl Op {
    fn method(self) -> Method {
        match self {
            Op::GetKey => Method::GET,
            Op::RegenerateKey => Method::POST,
        }
    }

    fn allow(self) -> &'static str {
        match self {
            Op::GetKey => "GET",
            Op::RegenerateKey => "POST",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::GetKey => "getDeploymentAccessKey",
            Op::RegenerateKey => "regenerateDeploymentAccessKey",
        }
    }
}

/// What a Graph URL path names.
pub(crate) enum Target {
    BadVersion,
    Known { version: String, op: Op },
    UnknownSegment { segment: String },
}

impl Target {
    pub(crate) fn parse(segments: &[&str]) -> Target {
        let Some((version, rest)) = segments.split_first() else {
            return Target::BadVersion;
        };
        let version = version.to_ascii_lowercase();
        if version != "beta" && version != "v1.0" {
            return Target::BadVersion;
        }
        const PARENT: [&str; 3] = ["security", "identities", "sensors"];
        for (i, expected) in PARENT.iter().enumerate() {
            match rest.get(i) {
                Some(s) if s.eq_ignore_ascii_case(expected) => {}
                Some(s) => {
                    return Target::UnknownSegment {
                        segment: (*s).to_owned(),
                    };
                }
                None => {
                    // Graph has these resources; the simulator does not serve them.
                    let last = rest.last().copied().unwrap_or(version.as_str());
                    return Target::UnknownSegment {
                        segment: last.to_owned(),
                    };
                }
            }
        }
        let Some(function) = rest.get(PARENT.len()) else {
            return Target::UnknownSegment {
                segment: "sensors".to_owned(),
            };
        };
        if let Some(extra) = rest.get(PARENT.len() + 1) {
            return Target::UnknownSegment {
                segment: (*extra).to_owned(),
            };
        }
        // OData lets a bound operation be namespace-qualified and a function
        // be called with empty parentheses; Graph accepts all spellings.
        let bare = function.strip_suffix("()").unwrap_or(function);
        let bare = bare
            .get(..NAMESPACE.len())
            .filter(|p| p.eq_ignore_ascii_case(NAMESPACE))
            .map_or(bare, |_| &bare[NAMESPACE.len()..]);
        let op = if bare.eq_ignore_ascii_case(Op::GetKey.name()) {
            Op::GetKey
        } else if bare.eq_ignore_ascii_case(Op::RegenerateKey.name()) {
            Op::RegenerateKey
        } else {
            return Target::UnknownSegment {
                segment: (*function).to_owned(),
            };
        };
        Target::Known { version, op }
    }

    pub(crate) fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Target::Known { op: Op::GetKey, .. } => Some(Endpoint::GetKey),
            Target::Known {
                op: Op::RegenerateKey, ..
            } => Some(Endpoint::RegenerateKey),
            _ => None,
        }
    }
}

/// Per-request ids, shared by the error body and the headers (the sensor endpoints use it too).
pub(crate) struct Ctx {
    request_id: String,
    client_request_id: String,
}

impl Ctx {
    pub(crate) fn new(req: &Incoming) -> Self {
        Ctx {
            request_id: Uuid::new_v4().to_string(),
            client_request_id: req
                .header("client-request-id")
                .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned),
        }
    }

    /// Adds Graph's tracing headers to any answer, JSON or not.
    pub(crate) fn stamp(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        for (name, value) in [
            ("request-id", &self.request_id),
            ("client-request-id", &self.client_request_id),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        }
        headers.insert("cache-control", HeaderValue::from_static("no-cache"));
        response
    }

    pub(crate) fn respond(&self, status: StatusCode, body: String) -> Response {
        self.stamp(server::raw(status, JSON, body))
    }

    pub(crate) fn error(&self, status: StatusCode, code: &str, message: &str) -> Response {
        let body = json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": clock::graph_date(),
                    "request-id": self.request_id,
                    "client-request-id": self.client_request_id,
                }
            }
        });
        let mut response = self.respond(status, body.to_string());
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert("www-authenticate", HeaderValue::from_static(WWW_AUTHENTICATE));
        }
        response
    }

    pub(crate) fn unauthenticated(&self, message: &str) -> Response {
        self.error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    }

    /// An arbitrary status with the code Graph uses for it.
    pub(crate) fn status(&self, code: u16) -> Response {
        let status = server::status(code);
        let (code, message) = match status.as_u16() {
            400 => ("BadRequest", "Bad request."),
            401 => return self.unauthenticated(EXPIRED),
            403 => ("Forbidden", DEFAULT_FORBIDDEN_MESSAGE),
            404 => ("NotFound", "Resource not found."),
            409 => (
                "Conflict",
                "The request conflicts with the current state of the resource.",
            ),
            429 => ("TooManyRequests", "Too many requests."),
            500 => ("InternalServerError", "An internal server error occurred."),
            502 => ("BadGateway", "Bad gateway."),
            503 => (
                "ServiceUnavailable",
                "The service is temporarily unavailable. Please retry later.",
            ),
            504 => ("GatewayTimeout", "The request timed out."),
            _ => ("UnknownError", ""),
        };
        self.error(status, code, message)
    }
}

const EXPIRED: &str = "Access token has expired or is not yet valid.";

const NOT_A_JWT: &str = "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE \
    Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): \
    'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.";

fn key_body(shared: &Shared, version: &str, shape: KeyShape, key: &str) -> String {
    let context = format!("{}/{version}/$metadata#{KEY_TYPE}", shared.base_url);
    let odata_type = format!("#{KEY_TYPE}");
    let body = match shape {
        KeyShape::ValueWrapped => json!({
            "@odata.context": context,
            "value": { "@odata.type": odata_type, "sensorDeploymentAccessKey": key },
        }),
        KeyShape::ValueWrappedDeploymentAccessKey => json!({ "value": { "deploymentAccessKey": key } }),
        KeyShape::Bare => json!({ "@odata.type": odata_type, "sensorDeploymentAccessKey": key }),
        KeyShape::BareDeploymentAccessKey => json!({ "deploymentAccessKey": key }),
    };
    body.to_string()
}

pub(crate) async fn answer(shared: &Shared, req: &Incoming, target: &Target, fault: Option<Fault>) -> Response {
    let ctx = Ctx::new(req);
    let version = match target {
        Target::Known { version, .. } => version.as_str(),
        _ => "v1.0",
    };
    match &fault {
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut response = ctx.error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests.");
            if let Some(v) = retry_after.and_then(|r| HeaderValue::from_str(&r.header_value()).ok()) {
                response.headers_mut().insert("retry-after", v);
            }
            return response;
        }
        Some(Fault::Status(code)) => return ctx.status(*code),
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::MalformedBody) => return ctx.respond(StatusCode::OK, server::MALFORMED_BODY.to_owned()),
        Some(Fault::TruncatedBody) => {
            let (key, shape) = shared.key_and_shape();
            return ctx.respond(
                StatusCode::OK,
                server::truncated(&key_body(shared, version, shape, &key)),
            );
        }
        Some(Fault::HtmlErrorPage(code)) => return ctx.stamp(server::html_error_page(*code)),
        Some(Fault::UnexpectedShape) => {
            let body = json!({
                "@odata.context": format!("{}/{version}/$metadata#{KEY_TYPE}", shared.base_url),
                "value": { "somethingElse": 1 },
            });
            return ctx.respond(StatusCode::OK, body.to_string());
        }
        Some(Fault::TokenRevoked) => {
            if let Some(token) = bearer(req) {
                shared.revoke_token(token);
            }
            return ctx.unauthenticated(EXPIRED);
        }
        Some(Fault::Forbidden { message }) => return ctx.error(StatusCode::FORBIDDEN, "Forbidden", message),
        _ => {}
    }
    match (fault, process(shared, req, target, &ctx)) {
        (_, Err(refusal)) => refusal,
        (Some(Fault::ProcessThenStatus(code)), Ok(_)) => ctx.status(code),
        (Some(Fault::ProcessThenDrop), Ok(_)) => server::dropped_connection(),
        (_, Ok(success)) => success,
    }
}

/// The token of a `Bearer` authorization header, if there is one.
pub(crate) fn bearer(req: &Incoming) -> Option<&str> {
    let (scheme, token) = req.header("authorization")?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[expect(
    clippy::result_large_err,
    reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
)]
fn process(shared: &Shared, req: &Incoming, target: &Target, ctx: &Ctx) -> Result<Response, Response> {
    let resolved = match target {
        Target::BadVersion => return Err(ctx.error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid version.")),
        Target::Known { version, op } => Ok((version.as_str(), *op)),
        Target::UnknownSegment { segment } => Err(segment),
    };
    let Some(token) = bearer(req) else {
        return Err(ctx.unauthenticated("Access token is empty."));
    };
    if token.split('.').count() != 3 {
        return Err(ctx.unauthenticated(NOT_A_JWT));
    }
    let roles = match shared.check_token(token) {
        TokenCheck::Valid { roles } => roles,
        TokenCheck::NotIssuedHere => return Err(ctx.unauthenticated("Access token validation failure.")),
        TokenCheck::Expired | TokenCheck::Revoked => return Err(ctx.unauthenticated(EXPIRED)),
    };
    let (version, op) = resolved.map_err(|segment| {
        ctx.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{segment}'."),
        )
    })?;
    if req.method != op.method() {
        let mut response = ctx.error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            &format!(
                "The request method '{}' is not allowed for the resource '{}'.",
                req.method,
                op.name()
            ),
        );
        response
            .headers_mut()
            .insert("allow", HeaderValue::from_static(op.allow()));
        return Err(response);
    }
    if !roles.iter().any(|r| r == REQUIRED_ROLE) {
        return Err(ctx.error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "Missing application roles. API required roles: {REQUIRED_ROLE}. API acceptable roles: {REQUIRED_ROLE}. \
                 Application roles: {}.",
                roles.join(",")
            ),
        ));
    }
    let (key, shape) = match op {
        Op::GetKey => shared.key_and_shape(),
        Op::RegenerateKey => shared.regenerate_key(),
    };
    Ok(ctx.respond(StatusCode::OK, key_body(shared, version, shape, &key)))
}
