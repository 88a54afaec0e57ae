//! Microsoft Graph's two MDI sensor deployment access key operations,
//! `getDeploymentAccessKey` (GET) and `regenerateDeploymentAccessKey` (POST),
//! under `/beta` and `/v1.0`.
//!
//! Checks run in Graph's order: API version, bearer token, URL segments,
//! method, application role. Every answer carries Graph's `request-id`,
//! `client-request-id` and `Date` headers, and errors use Graph's
//! `{"error":{"code","message","innerError"}}` shape ([`crate::reply::graph`]).

use axum::http::header::HeaderValue;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::config::REQUIRED_ROLE;
use crate::fault::{Endpoint, KeyShape};
use crate::graph::{GraphOperation, GraphRequest};
use crate::reply::Dialect;
use crate::state::Shared;

const NAMESPACE: &str = "microsoft.graph.security.";

const KEY_TYPE: &str = "microsoft.graph.security.deploymentAccessKeyType";

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

impl Target {
    /// The API version the answer's `@odata.context` names.
    fn version(&self) -> &str {
        match self {
            Target::Known { version, .. } => version.as_str(),
            _ => "v1.0",
        }
    }
}

impl GraphOperation for Target {
    fn success_body(&self, graph: &GraphRequest<'_>) -> String {
        let (key, shape) = graph.shared.key_and_shape();
        key_body(graph.shared, self.version(), shape, &key)
    }

    fn unexpected_shape(&self, graph: &GraphRequest<'_>) -> String {
        let body = json!({
            "@odata.context": format!("{}/{}/$metadata#{KEY_TYPE}", graph.shared.base_url, self.version()),
            "value": { "somethingElse": 1 },
        });
        body.to_string()
    }

    fn work(&self, graph: &GraphRequest<'_>) -> Result<Response, Response> {
        let reply = &graph.reply;
        let resolved = match self {
            Target::BadVersion => return Err(reply.error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid version.")),
            Target::Known { version, op } => Ok((version.as_str(), *op)),
            Target::UnknownSegment { segment } => Err(segment),
        };
        let roles = graph.roles(NOT_A_JWT)?;
        let (version, op) = resolved.map_err(|segment| reply.unknown_segment(segment))?;
        if graph.req.method != op.method() {
            let mut response = reply.error(
                StatusCode::METHOD_NOT_ALLOWED,
                "BadRequest",
                &format!(
                    "The request method '{}' is not allowed for the resource '{}'.",
                    graph.req.method,
                    op.name()
                ),
            );
            response
                .headers_mut()
                .insert("allow", HeaderValue::from_static(op.allow()));
            return Err(response);
        }
        graph.require(REQUIRED_ROLE, &roles)?;
        let (key, shape) = match op {
            Op::GetKey => graph.shared.key_and_shape(),
            Op::RegenerateKey => graph.shared.regenerate_key(),
        };
        Ok(reply.respond(StatusCode::OK, key_body(graph.shared, version, shape, &key)))
    }
}
