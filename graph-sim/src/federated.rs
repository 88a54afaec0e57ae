//! Federated client assertions (workload identity federation), checked as Entra checks a token
//! from an external issuer: the issuer must be named by one of the app's federated identity
//! credentials; its OpenID configuration and JWKS are fetched (from the issuer's own URL, which
//! here must be loopback); the RS256 signature must verify with the key the JWT's `kid` names;
//! `exp`/`nbf` must hold; and a credential of that issuer must name the token's `sub` and list
//! its `aud`. Issuer, subject and audience are compared case-sensitively.
//!
//! Sources: Microsoft Learn "Workload identity federation" and "Important considerations and
//! restrictions for federated identity credentials" (RS256 the only tested algorithm; exact,
//! case-sensitive matching; one audience per credential), and the AADSTS codes in
//! [`Refusal::answer`](crate::assertion::Refusal::answer). Entra caches issuer keys; the simulator
//! fetches them for every assertion, so each test sees its own issuer's current keys.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::assertion::{self, Refusal, SKEW_SECS};
use crate::config::FederatedCredential;

/// Whether `assertion` is from an external issuer rather than the app itself. A certificate
/// assertion names its certificate (`x5t#S256` or `x5t` in the header) and the app (`iss` = client
/// id); anything else that names another issuer is taken as federated. (How Entra itself tells
/// them apart is not documented; this keeps every certificate assertion on the certificate path.)
pub(crate) fn is_federated(assertion: &str, client_id: &str) -> bool {
    let mut parts = assertion.split('.');
    let (Some(Ok(header)), Some(Ok(claims))) = (
        parts.next().map(assertion::decode_object),
        parts.next().map(assertion::decode_object),
    ) else {
        return false;
    };
    let names_certificate = header.contains_key("x5t#S256") || header.contains_key("x5t");
    let issuer = claims.get("iss").and_then(Value::as_str);
    !names_certificate && issuer.is_some_and(|iss| !iss.eq_ignore_ascii_case(client_id))
}

pub(crate) async fn verify(
    credentials: &[FederatedCredential],
    assertion_type: Option<&str>,
    assertion: &str,
    now: u64,
) -> Result<(), Refusal> {
    let assertion::Decoded {
        header,
        claims,
        alg,
        signing_input,
        signature,
    } = assertion::decode(assertion_type, assertion)?;
    let alg = alg.as_str();
    if alg != "RS256" {
        return Err(Refusal::UnsupportedAlgorithm(alg.to_owned()));
    }
    let text = |claim: &str| claims.get(claim).and_then(Value::as_str);
    let issuer = text("iss").ok_or(Refusal::Malformed)?;
    let of_issuer: Vec<&FederatedCredential> = credentials.iter().filter(|c| c.issuer == issuer).collect();
    if of_issuer.is_empty() {
        return Err(Refusal::NoMatchingIssuer {
            issuer: issuer.to_owned(),
        });
    }
    let key = issuer_key(issuer, header.get("kid").and_then(Value::as_str)).await?;
    if !assertion::signature_valid(alg, &key, signing_input.as_bytes(), &signature) {
        return Err(Refusal::BadSignature);
    }
    let time = |claim: &str| claims.get(claim).and_then(Value::as_u64);
    let exp = time("exp").ok_or(Refusal::Malformed)?;
    let nbf = time("nbf").or(time("iat")).unwrap_or(0);
    if exp <= now || nbf > now + SKEW_SECS {
        return Err(Refusal::OutsideValidTime { now, nbf, exp });
    }
    let subject = text("sub").ok_or(Refusal::Malformed)?;
    let of_subject: Vec<&&FederatedCredential> = of_issuer.iter().filter(|c| c.subject == subject).collect();
    if of_subject.is_empty() {
        return Err(Refusal::NoMatchingSubject {
            subject: subject.to_owned(),
        });
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let listed = of_subject.iter().any(|c| {
        audiences
            .iter()
            .any(|aud| c.audiences.iter().any(|listed| listed == aud))
    });
    if !listed {
        return Err(Refusal::NoMatchingAudience {
            audience: audiences.first().copied().unwrap_or_default().to_owned(),
        });
    }
    Ok(())
}

/// The issuer's RSA key named `kid`, from its discovery document's `jwks_uri`.
async fn issuer_key(issuer: &str, kid: Option<&str>) -> Result<rsa::PublicKey, Refusal> {
    let discovery = fetch_json(&format!("{issuer}/.well-known/openid-configuration")).await?;
    // OpenID Connect Discovery 1.0, 4.3: the document's issuer must be the one asked about.
    if discovery.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(Refusal::IssuerUnreachable);
    }
    let jwks_uri = discovery
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or(Refusal::IssuerUnreachable)?;
    let jwks = fetch_json(jwks_uri).await?;
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(Refusal::IssuerUnreachable)?;
    let key = keys
        .iter()
        .find(|key| kid.is_none_or(|kid| key.get("kid").and_then(Value::as_str) == Some(kid)))
        .ok_or(Refusal::BadSignature)?;
    let component = |name: &str| {
        key.get(name)
            .and_then(Value::as_str)
            .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
            .map(|bytes| rsa::BoxedUint::from_be_slice_vartime(&bytes))
    };
    let (Some(n), Some(e)) = (component("n"), component("e")) else {
        return Err(Refusal::BadSignature);
    };
    rsa::PublicKey::new(n, e).map_err(|_| Refusal::BadSignature)
}

/// Only loopback issuers are fetched: the simulator must never reach out of the machine. A
/// one-shot HTTP/1.1 GET (`Connection: close`, no redirects, 1 MiB and 2 s at most) rather than
/// an HTTP client crate, whose TLS set-up would depend on the features its users enable.
async fn fetch_json(url: &str) -> Result<Value, Refusal> {
    let rest = ["http://127.0.0.1:", "http://localhost:"].iter().find_map(|prefix| {
        url.strip_prefix(prefix)
            .map(|rest| (&prefix[7..prefix.len() - 1], rest))
    });
    let Some((host, rest)) = rest else {
        return Err(Refusal::IssuerUnreachable);
    };
    let (port, path) = rest.split_once('/').ok_or(Refusal::IssuerUnreachable)?;
    let port: u16 = port.parse().map_err(|_| Refusal::IssuerUnreachable)?;
    let exchange = async {
        let mut stream = TcpStream::connect((host, port)).await.ok()?;
        let request = format!(
            "GET /{path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        stream.take(MAX_METADATA_BYTES).read_to_end(&mut raw).await.ok()?;
        Some(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
        .ok_or(Refusal::IssuerUnreachable)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(Refusal::IssuerUnreachable)?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let ok = head.starts_with("http/1.1 200") && !head.contains("transfer-encoding: chunked");
    if !ok {
        return Err(Refusal::IssuerUnreachable);
    }
    serde_json::from_slice(&raw[split + 4..]).map_err(|_| Refusal::IssuerUnreachable)
}

const MAX_METADATA_BYTES: u64 = 1 << 20;
