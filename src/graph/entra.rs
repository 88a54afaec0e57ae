//! The Entra ID client-credentials token request (with a client secret, a certificate's signed
//! assertion made afresh for every attempt, or a federated assertion fetched afresh for every
//! request), Entra's refusals, and the token it yields.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;

use super::retry::{NoAnswer, Replay, RetryPolicy, Unsent};
use super::untrusted::{self, clamp_lifetime, vetted_code, vetted_id};
use super::{EntraRefusal, FederationRefusal, GraphError, RefusedAssertion, Unavailable, Upstream, UpstreamIds};
use crate::certificate::{ASSERTION_TYPE, CertificateError, ClientCertificate};
use crate::credentials::{ClientCredential, GraphCredentials};
use crate::deadline::Deadline;
use crate::federation::WebIdentityToken;

/// A bearer token for Graph. `Debug` redacts it.
#[derive(Clone, Debug)]
pub struct AccessToken {
    value: SecretString,
    /// `Bearer <token>`, built and checked once per token rather than once per call (a token
    /// is kilobytes, and each byte is validated: issue 22). Marked sensitive, so its `Debug`
    /// prints no token; `None` when the token cannot be a header value, which then fails as the
    /// request is built.
    authorization: Option<reqwest::header::HeaderValue>,
    expires_at: Instant,
    /// When the cache replaces it: [`refresh_margin`] before `expires_at`.
    refresh_at: Instant,
}

/// Assumed when Entra omits `expires_in`: short, so such a token is soon replaced.
const LIFETIME_WHEN_UNSTATED: Duration = Duration::from_secs(600);

/// The longest a token is replaced before it expires: five minutes, MSAL's default for the
/// tokens it caches, so that a token never runs out during the invocation that uses it.
pub(crate) const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How long before its expiry a token of `lifetime` is replaced: a tenth of its life, at most
/// [`MAX_REFRESH_MARGIN`]. A fixed five minutes would make a token of five minutes or less
/// (a token lifetime policy can set one) useless: every call would fetch a new one. Entra's usual
/// 60 to 90 minute tokens keep the full five minutes.
pub(crate) fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(MAX_REFRESH_MARGIN)
}

impl AccessToken {
    pub fn new(value: SecretString, lifetime: Duration) -> Self {
        let lifetime = lifetime.min(untrusted::MAX_TOKEN_LIFETIME);
        let now = Instant::now();
        let authorization = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", value.expose_secret()))
            .ok()
            .map(|mut header| {
                header.set_sensitive(true);
                header
            });
        AccessToken {
            value,
            authorization,
            expires_at: now + lifetime,
            refresh_at: now + (lifetime - refresh_margin(lifetime)),
        }
    }

    pub(crate) fn secret(&self) -> &str {
        self.value.expose_secret()
    }

    /// The `Authorization` header that carries it, when the token can be one.
    pub(crate) fn authorization(&self) -> Option<&reqwest::header::HeaderValue> {
        self.authorization.as_ref()
    }

    /// Whether the token has `margin` or less of its life left.
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at.saturating_duration_since(Instant::now()) <= margin
    }

    /// Whether the cache should replace it: its refresh margin has begun.
    pub fn needs_refresh(&self) -> bool {
        Instant::now() >= self.refresh_at
    }

    pub(crate) fn same_as(&self, other: &AccessToken) -> bool {
        self.value.expose_secret() == other.value.expose_secret()
    }

    /// The application roles the token grants, read from its `roles` claim without checking the
    /// signature: it is our own token, read only to explain a refusal. `None` when the token is
    /// not a readable JWT; an empty list when it has no `roles` claim (Entra omits it then).
    pub(crate) fn roles(&self) -> Option<Vec<String>> {
        #[derive(Deserialize)]
        struct Claims {
            #[serde(default)]
            roles: Vec<String>,
        }
        let payload = self.value.expose_secret().split('.').nth(1)?;
        let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        serde_json::from_slice::<Claims>(&json).ok().map(|claims| claims.roles)
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<SecretString>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct EntraErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_codes: Vec<u32>,
    correlation_id: Option<String>,
    trace_id: Option<String>,
}

/// How one token request proves the app, settled before the first attempt.
enum Proof<'a> {
    Secret(&'a SecretString),
    Certificate(&'a ClientCertificate),
    /// A web identity token fetched for this request; every attempt of it sends the same one.
    Federated(WebIdentityToken),
}

/// A token for `scope` from `token_url`. `exchange_audience` is the cloud's token-exchange
/// audience, which only a federated credential uses.
pub(crate) async fn request_token(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    token_url: &str,
    scope: &str,
    exchange_audience: &str,
    credentials: &GraphCredentials,
    deadline: Deadline,
) -> Result<AccessToken, GraphError> {
    let client_id = credentials.client_id.as_str();
    let proof = match &credentials.credential {
        ClientCredential::Secret(secret) => Proof::Secret(secret),
        ClientCredential::Certificate(certificate) => Proof::Certificate(certificate),
        ClientCredential::Federated(source) => Proof::Federated(
            source
                .token(exchange_audience, deadline)
                .await
                .map_err(GraphError::Federation)?,
        ),
    };
    let started = Instant::now();
    // As MSAL does: one id per logical request, which Entra logs and echoes back, so a failed
    // token request can be traced with Microsoft support like a Graph call.
    let client_request_id = uuid::Uuid::new_v4().to_string();
    // Built per attempt: a retried request carries a new certificate assertion with a new jti,
    // since Entra may refuse a jti it has seen.
    let build = || -> Result<reqwest::RequestBuilder, CertificateError> {
        let request = http
            .post(token_url)
            .header("Accept", "application/json")
            .header("client-request-id", &client_request_id)
            .header("return-client-request-id", "true");
        let with_assertion = |request: reqwest::RequestBuilder, assertion: &str| {
            request.form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion),
                ("scope", scope),
            ])
        };
        match &proof {
            Proof::Secret(secret) => Ok(request.form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret.expose_secret()),
                ("scope", scope),
            ])),
            Proof::Certificate(certificate) => {
                let signed = certificate.assertion(client_id, token_url, SystemTime::now())?;
                Ok(with_assertion(request, signed.expose_secret()))
            }
            Proof::Federated(token) => Ok(with_assertion(request, token.expose())),
        }
    };
    let response = policy
        .try_send(Upstream::Entra, Replay::Safe, deadline, build)
        .await
        .map_err(|unsent| match unsent {
            Unsent::NoAnswer(failure) => no_answer(
                failure,
                UpstreamIds {
                    client_request_id: Some(client_request_id.clone()),
                    ..UpstreamIds::default()
                },
            ),
            Unsent::NotBuilt(error) => GraphError::ClientAssertion(error),
        })?;
    let status = response.status().as_u16();
    let header_request_id = vetted_id(
        response
            .headers()
            .get("x-ms-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    let retry_after = super::retry::retry_after(response.headers(), std::time::SystemTime::now());
    let ids = UpstreamIds {
        request_id: header_request_id,
        client_request_id: Some(client_request_id),
        ..Default::default()
    };
    if let Some(refused) = untrusted::refuse_redirect(response.status(), Upstream::Entra, ids.clone()) {
        return Err(refused);
    }
    let body = untrusted::read_capped(response, untrusted::SMALL)
        .await
        .map_err(|error| untrusted::body_error(error, untrusted::SMALL, Upstream::Entra, ids.clone()))?;
    tracing::info!(
        upstream = "entra",
        status,
        entra_request_id = ids.request_id.as_deref().unwrap_or(""),
        client_request_id = ids.client_request_id.as_deref().unwrap_or(""),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "token request answered"
    );

    if status != 200 {
        let error = refusal(status, &body, retry_after, ids);
        return Err(match &proof {
            Proof::Federated(token) => federated_refusal(error, token, client_id),
            _ => error,
        });
    }
    let parsed: TokenBody = serde_json::from_slice(&body).map_err(|_| GraphError::BadResponse {
        upstream: Upstream::Entra,
        reason: "token response is not JSON",
        ids: ids.clone(),
    })?;
    let value = parsed
        .access_token
        .filter(|token| !token.expose_secret().is_empty())
        .ok_or(GraphError::BadResponse {
            upstream: Upstream::Entra,
            reason: "token response has no access_token",
            ids,
        })?;
    // Clamped: an absurd `expires_in` (2^64-1) must neither overflow nor keep a token for ever.
    let lifetime = match parsed.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64().map(clamp_lifetime),
        // Entra has historically sent this as a string.
        Some(serde_json::Value::String(s)) => s.parse().ok().map(clamp_lifetime),
        _ => None,
    };
    Ok(AccessToken::new(value, lifetime.unwrap_or(LIFETIME_WHEN_UNSTATED)))
}

/// Entra's refusal of a federated assertion, explained with what the app must trust, read from
/// the token itself (AADSTS70021x: no federated identity credential matches it).
fn federated_refusal(error: GraphError, token: &WebIdentityToken, client_id: &str) -> GraphError {
    let GraphError::Entra { code, aadsts, ids, .. } = &error else {
        return error;
    };
    let reason = match aadsts {
        Some(700211) => FederationRefusal::Issuer,
        Some(700213) => FederationRefusal::Subject,
        Some(700212) => FederationRefusal::Audience,
        Some(70021 | 70025) => FederationRefusal::NoMatch,
        Some(700024) => FederationRefusal::OutsideValidTime,
        Some(700027) => FederationRefusal::Signature,
        Some(90061) => FederationRefusal::IssuerUnreachable,
        _ => return error,
    };
    GraphError::FederatedCredentialRefused(Box::new(RefusedAssertion {
        reason,
        code: code.clone(),
        aadsts: *aadsts,
        client_id: client_id.to_owned(),
        trust: token.trust(),
        ids: ids.clone(),
    }))
}

/// AADSTS codes of a refused client assertion, other than 700027 (the certificate): time range,
/// audience, issuer/subject, malformed JWT, otherwise invalid assertion.
const ASSERTION_CODES: [u32; 5] = [700024, 700023, 700021, 50027, 50013];

/// Entra's non-200 answer (token or discovery endpoint) as an error.
pub(crate) fn refusal(status: u16, body: &[u8], retry_after: Option<Duration>, sent: UpstreamIds) -> GraphError {
    let mut error: EntraErrorBody = serde_json::from_slice(body).unwrap_or_default();
    // Vetted as Graph's are: the code and ids reach callers and logs, the description never.
    if !error.error.is_empty() {
        error.error = vetted_code(&error.error);
    }
    let ids = UpstreamIds {
        request_id: sent.request_id.or(vetted_id(error.trace_id)),
        client_request_id: sent.client_request_id,
        correlation_id: vetted_id(error.correlation_id),
    };
    let aadsts = error.error_codes.first().copied();
    let entra = |refusal| GraphError::Entra {
        refusal,
        code: error.error.clone(),
        aadsts,
        ids: ids.clone(),
    };
    match (status, error.error.as_str()) {
        (429, _) => GraphError::Throttled {
            upstream: Upstream::Entra,
            retry_after,
            ids,
        },
        (500..=599, _) => GraphError::Unavailable {
            upstream: Upstream::Entra,
            cause: Unavailable::Status(status),
            ids,
        },
        (_, "") => GraphError::Rejected {
            upstream: Upstream::Entra,
            status,
            code: "unreadable error".into(),
            ids,
        },
        _ if aadsts == Some(700027) => entra(EntraRefusal::CertificateNotAccepted),
        _ if aadsts.is_some_and(|code| ASSERTION_CODES.contains(&code)) => entra(EntraRefusal::AssertionRejected),
        (_, "invalid_client") => entra(EntraRefusal::InvalidClient),
        (_, "unauthorized_client") => entra(EntraRefusal::UnauthorizedClient),
        // 90002: no such tenant; 900023: not a tenant id or domain at all. (90072 is a guest
        // account missing from the tenant it signs in to: a user sign-in error, not ours.)
        _ if matches!(aadsts, Some(90002 | 900023)) => entra(EntraRefusal::UnknownTenant),
        _ => entra(EntraRefusal::Other),
    }
}

pub(crate) fn no_answer(failure: NoAnswer, ids: UpstreamIds) -> GraphError {
    match failure {
        NoAnswer::Timeout => GraphError::Timeout {
            upstream: Upstream::Entra,
            ids,
        },
        NoAnswer::Unreachable => GraphError::Unavailable {
            upstream: Upstream::Entra,
            cause: Unavailable::Unreachable,
            ids,
        },
        NoAnswer::Lost => GraphError::Unavailable {
            upstream: Upstream::Entra,
            cause: Unavailable::ConnectionLost,
            ids,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_reports_when_it_nears_expiry() {
        let token = AccessToken::new(SecretString::from("t"), Duration::from_secs(600));
        assert!(!token.expires_within(Duration::from_secs(300)));
        assert!(token.expires_within(Duration::from_secs(600)));
    }

    fn jwt(payload: &str) -> AccessToken {
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(payload));
        AccessToken::new(SecretString::from(token), Duration::from_secs(60))
    }

    #[tokio::test]
    async fn the_roles_claim_is_read_and_a_token_without_it_holds_no_role() {
        let token = jwt(r#"{"aud":"https://graph.microsoft.com","roles":["SecurityIdentitiesSensors.Read.All"]}"#);
        assert_eq!(
            token.roles(),
            Some(vec!["SecurityIdentitiesSensors.Read.All".to_owned()])
        );
        assert_eq!(jwt(r#"{"aud":"x"}"#).roles(), Some(vec![]));
        let opaque = AccessToken::new(SecretString::from("opaque-token"), Duration::from_secs(60));
        assert_eq!(opaque.roles(), None);
        assert_eq!(jwt("not json").roles(), None);
    }

    #[test]
    fn entras_refusals_are_told_apart_by_their_aadsts_code() {
        let body = |error: &str, code: u32| format!(r#"{{"error":"{error}","error_codes":[{code}]}}"#);
        let refusal_of =
            |status, error, code| match refusal(status, body(error, code).as_bytes(), None, UpstreamIds::default()) {
                GraphError::Entra { refusal, .. } => refusal,
                other => panic!("{other:?}"),
            };
        assert_eq!(refusal_of(401, "invalid_client", 7000215), EntraRefusal::InvalidClient);
        assert_eq!(
            refusal_of(401, "invalid_client", 700027),
            EntraRefusal::CertificateNotAccepted
        );
        for code in ASSERTION_CODES {
            assert_eq!(refusal_of(401, "invalid_client", code), EntraRefusal::AssertionRejected);
        }
        assert_eq!(
            refusal_of(400, "unauthorized_client", 700016),
            EntraRefusal::UnauthorizedClient
        );
        assert_eq!(refusal_of(400, "invalid_request", 90002), EntraRefusal::UnknownTenant);
        assert_eq!(refusal_of(400, "invalid_request", 900023), EntraRefusal::UnknownTenant);
        assert_eq!(
            refusal_of(400, "invalid_grant", 90072),
            EntraRefusal::Other,
            "AADSTS90072 is a guest account missing from the tenant, not an unknown tenant"
        );
        assert_eq!(refusal_of(400, "invalid_scope", 70011), EntraRefusal::Other);
        assert!(matches!(
            refusal(429, b"{}", None, UpstreamIds::default()),
            GraphError::Throttled { .. }
        ));
        assert!(matches!(
            refusal(400, b"<html>", None, UpstreamIds::default()),
            GraphError::Rejected { .. }
        ));
    }

    #[test]
    fn entras_error_code_and_ids_are_vetted_as_graphs_are() {
        let body = r#"{"error":"<b>client secret is hunter2</b>","error_codes":[7000215],
            "trace_id":"not an id: hunter2","correlation_id":"7f3a9c1e-0000-4000-8000-000000000000"}"#;
        let GraphError::Entra { code, ids, .. } = refusal(401, body.as_bytes(), None, UpstreamIds::default()) else {
            panic!("an Entra refusal");
        };
        assert_eq!(code, "unknown");
        assert_eq!(ids.request_id, None);
        assert_eq!(
            ids.correlation_id.as_deref(),
            Some("7f3a9c1e-0000-4000-8000-000000000000")
        );
    }

    #[test]
    fn the_refresh_margin_is_a_tenth_of_the_lifetime_and_at_most_five_minutes() {
        assert_eq!(refresh_margin(Duration::from_secs(3599)), MAX_REFRESH_MARGIN);
        assert_eq!(refresh_margin(Duration::from_secs(300)), Duration::from_secs(30));
        assert_eq!(refresh_margin(Duration::from_secs(60)), Duration::from_secs(6));
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn a_short_lived_token_is_used_for_most_of_its_life_and_replaced_before_it_ends() {
        let margin = |token: &AccessToken| token.expires_at - token.refresh_at;
        let five_minutes = AccessToken::new(SecretString::from("t"), Duration::from_secs(300));
        assert!(!five_minutes.needs_refresh(), "a five-minute token is usable at once");
        assert_eq!(margin(&five_minutes), Duration::from_secs(30));
        let hour = AccessToken::new(SecretString::from("t"), Duration::from_secs(3600));
        assert_eq!(margin(&hour), MAX_REFRESH_MARGIN, "an hour's token keeps five minutes");
        let spent = AccessToken::new(SecretString::from("t"), Duration::ZERO);
        assert!(spent.needs_refresh());
    }

    #[test]
    fn a_token_with_an_absurd_lifetime_neither_panics_nor_lives_past_a_day() {
        let token = AccessToken::new(SecretString::from("t"), Duration::from_secs(u64::MAX));
        assert!(token.expires_within(untrusted::MAX_TOKEN_LIFETIME));
        assert!(!token.expires_within(Duration::from_secs(3600)));
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = AccessToken::new(SecretString::from("eyJ-secret-token"), Duration::from_secs(1));
        assert!(!format!("{token:?}").contains("eyJ-secret-token"));
    }
}
