//! Certificate client credentials: the `client_assertion` JWT (RFC 7523)
//! checked as Entra checks it, in Entra's order: its form, the algorithm, the
//! certificate it names (`x5t#S256`, which must be registered on the app), the
//! signature, the audience, issuer and subject, the time window, and finally
//! that its `jti` has not been used before.
//!
//! Each refusal maps to one row of [`Refusal::answer`], the single table of
//! status, OAuth error and AADSTS code. Entra's documentation names 700027
//! (signature or unregistered certificate), 700024 (time range), 700023
//! (audience) and 700021 (issuer/subject); for malformed JWTs it documents
//! 50027, and 50013 for an assertion that is otherwise invalid, which is
//! used here for a replayed `jti`.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::signature::Verifier as _;
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::certificate::RegisteredCertificate;

/// The only `client_assertion_type` Entra accepts.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew tolerated on `nbf`, as Entra tolerates a few minutes.
pub(crate) const SKEW_SECS: u64 = 300;

/// The longest an assertion may still be valid for when it arrives.
pub(crate) const MAX_LIFETIME_SECS: u64 = 3600;

/// Why an assertion was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    MissingAssertionType,
    WrongAssertionType,
    Malformed,
    UnsupportedAlgorithm(String),
    UnregisteredCertificate {
        thumbprint: String,
    },
    BadSignature,
    WrongAudience,
    WrongIssuerOrSubject,
    OutsideValidTime {
        now: u64,
        nbf: u64,
        exp: u64,
    },
    TooLongLived,
    Replayed,
    /// Federated assertions (workload identity federation): no federated identity credential
    /// names the token's issuer, its subject under that issuer, or its audience for both.
    NoMatchingIssuer {
        issuer: String,
    },
    NoMatchingSubject {
        subject: String,
    },
    NoMatchingAudience {
        audience: String,
    },
    /// The issuer's discovery document or keys could not be fetched.
    IssuerUnreachable,
}

impl Refusal {
    /// Status, OAuth `error`, AADSTS code and message: the one table.
    pub(crate) fn answer(&self, client_id: &str) -> (StatusCode, &'static str, u32, String) {
        let unauthorized = StatusCode::UNAUTHORIZED;
        match self {
            Refusal::MissingAssertionType => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_assertion_type'.".to_owned(),
            ),
            Refusal::WrongAssertionType => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                format!("The 'client_assertion_type' parameter must be '{JWT_BEARER}'."),
            ),
            Refusal::Malformed => (
                unauthorized,
                "invalid_client",
                50027,
                "JWT token is invalid or malformed.".to_owned(),
            ),
            Refusal::UnsupportedAlgorithm(alg) => (
                unauthorized,
                "invalid_client",
                50027,
                format!("Invalid JWT token. '{alg}' is not a supported signature algorithm."),
            ),
            Refusal::UnregisteredCertificate { thumbprint } => (
                unauthorized,
                "invalid_client",
                700027,
                format!(
                    "The certificate with identifier used to sign the client assertion is not registered on \
                     application. [Reason - The key was not found., Thumbprint of key used by client: \
                     '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see \
                     configured keys for app Id '{client_id}'.]"
                ),
            ),
            Refusal::BadSignature => (
                unauthorized,
                "invalid_client",
                700027,
                "Client assertion failed signature validation.".to_owned(),
            ),
            Refusal::WrongAudience => (
                unauthorized,
                "invalid_client",
                700023,
                "Client assertion audience claim does not match Realm issuer.".to_owned(),
            ),
            Refusal::WrongIssuerOrSubject => (
                unauthorized,
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.".to_owned(),
            ),
            Refusal::OutsideValidTime { now, nbf, exp } => (
                unauthorized,
                "invalid_client",
                700024,
                format!(
                    "Client assertion is not within its valid time range. Current time: {now}, assertion valid \
                     from {nbf}, expiry time of assertion {exp}."
                ),
            ),
            Refusal::TooLongLived => (
                unauthorized,
                "invalid_client",
                700024,
                format!("Client assertion contains an expiry more than {MAX_LIFETIME_SECS} seconds in the future."),
            ),
            Refusal::Replayed => (
                unauthorized,
                "invalid_client",
                50013,
                "Assertion is invalid: its jti has already been used.".to_owned(),
            ),
            // The federated no-match family: 400 invalid_request as in the AADSTS70021 answer
            // quoted by Azure/azure-workload-identity's troubleshooting guide; the texts are the
            // service's runtime messages (facts.md B: MicrosoftDocs/azure-devops-docs
            // errors-workload-identity, entra-docs workload-identity-federation-considerations).
            Refusal::NoMatchingIssuer { issuer } => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                700211,
                format!(
                    "No matching federated identity record found for presented assertion issuer '{issuer}'. {CHECK_FIC}"
                ),
            ),
            Refusal::NoMatchingSubject { subject } => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                700213,
                format!(
                    "No matching federated identity record found for presented assertion subject '{subject}'. {CHECK_FIC}"
                ),
            ),
            Refusal::NoMatchingAudience { audience } => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                700212,
                format!(
                    "No matching federated identity record found for presented assertion audience '{audience}'. {CHECK_FIC}"
                ),
            ),
            // AADSTS90061, invalid_request: Azure/azure-workload-identity troubleshooting guide.
            Refusal::IssuerUnreachable => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90061,
                "Request to External OIDC endpoint failed.".to_owned(),
            ),
        }
    }
}

const CHECK_FIC: &str = "Please check your federated identity credential Subject, Audience and Issuer against the \
                         presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

/// A client assertion taken apart: its header and claims, its `alg`, the input its signature
/// covers and the signature's bytes.
pub(crate) struct Decoded {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub alg: String,
    pub signing_input: String,
    pub signature: Vec<u8>,
}

/// Takes an assertion apart, refusing it as Entra does when its type is not the JWT bearer
/// type or it is not three base64url parts of which the first two are JSON objects and the
/// header names an `alg`. Certificate and federated assertions alike.
pub(crate) fn decode(assertion_type: Option<&str>, assertion: &str) -> Result<Decoded, Refusal> {
    match assertion_type {
        None => return Err(Refusal::MissingAssertionType),
        Some(JWT_BEARER) => {}
        Some(_) => return Err(Refusal::WrongAssertionType),
    }
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = parts.as_slice() else {
        return Err(Refusal::Malformed);
    };
    let header = decode_object(header_b64)?;
    let claims = decode_object(claims_b64)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64.trim_end_matches('='))
        .map_err(|_| Refusal::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Refusal::Malformed)?
        .to_owned();
    Ok(Decoded {
        header,
        claims,
        alg,
        signing_input: format!("{header_b64}.{claims_b64}"),
        signature,
    })
}

/// A decoded assertion whose form, certificate and signature checked out.
pub(crate) struct Verified {
    pub jti: String,
    pub exp: u64,
}

/// Everything but replay: that needs the shared jti memory, which the caller holds.
pub(crate) fn verify(
    assertion_type: Option<&str>,
    assertion: &str,
    audience: &str,
    client_id: &str,
    certificates: &[RegisteredCertificate],
    now: u64,
) -> Result<Verified, Refusal> {
    let Decoded {
        header,
        claims,
        alg,
        signing_input,
        signature,
    } = decode(assertion_type, assertion)?;
    let alg = alg.as_str();
    if alg != "PS256" && alg != "RS256" {
        return Err(Refusal::UnsupportedAlgorithm(alg.to_owned()));
    }
    let thumbprint = header.get("x5t#S256").and_then(Value::as_str).unwrap_or_default();
    let Some(certificate) = certificates.iter().find(|c| c.thumbprint == thumbprint) else {
        return Err(Refusal::UnregisteredCertificate {
            thumbprint: thumbprint.to_owned(),
        });
    };
    if !signature_valid(alg, &certificate.key, signing_input.as_bytes(), &signature) {
        return Err(Refusal::BadSignature);
    }
    if claims.get("aud").and_then(Value::as_str) != Some(audience) {
        return Err(Refusal::WrongAudience);
    }
    let names_client = |claim: &str| {
        claims
            .get(claim)
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(client_id))
    };
    if !names_client("iss") || !names_client("sub") {
        return Err(Refusal::WrongIssuerOrSubject);
    }
    let time = |claim: &str| claims.get(claim).and_then(Value::as_u64);
    let (Some(exp), Some(jti)) = (time("exp"), claims.get("jti").and_then(Value::as_str)) else {
        return Err(Refusal::Malformed);
    };
    let nbf = time("nbf").unwrap_or(0);
    if exp <= now || nbf > now + SKEW_SECS {
        return Err(Refusal::OutsideValidTime { now, nbf, exp });
    }
    if exp > now + MAX_LIFETIME_SECS {
        return Err(Refusal::TooLongLived);
    }
    if jti.is_empty() {
        return Err(Refusal::Malformed);
    }
    Ok(Verified {
        jti: jti.to_owned(),
        exp,
    })
}

pub(crate) fn decode_object(part: &str) -> Result<Map<String, Value>, Refusal> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| Refusal::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| Refusal::Malformed)
}

pub(crate) fn signature_valid(alg: &str, key: &rsa::PublicKey, message: &[u8], signature: &[u8]) -> bool {
    if alg == "PS256" {
        let Ok(signature) = rsa::pss::Signature::try_from(signature) else {
            return false;
        };
        rsa::pss::VerifyingKey::<Sha256>::new(key.clone())
            .verify(message, &signature)
            .is_ok()
    } else {
        let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
            return false;
        };
        rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone())
            .verify(message, &signature)
            .is_ok()
    }
}
