//! AWS STS `GetWebIdentityToken` (IAM outbound identity federation) and the simulated account's
//! token issuer, which serves its OpenID configuration and JWKS as AWS's issuer does.
//!
//! Sources, each behaviour from the first that states it:
//! - The request: the AWS query protocol as the SDK sends it (form POST,
//!   `Action=GetWebIdentityToken&Version=2011-06-15`, `Audience.member.N` (1-10, each 1-1000
//!   characters), `SigningAlgorithm` (required, `RS256` or `ES384`), `DurationSeconds` (60-3600,
//!   default 300)): the GetWebIdentityToken API reference and botocore's
//!   `sts/2011-06-15/service-2.json`.
//! - The answer: `GetWebIdentityTokenResponse/GetWebIdentityTokenResult/{WebIdentityToken,
//!   Expiration}` with `ResponseMetadata/RequestId`, namespace `https://sts.amazonaws.com/doc/2011-06-15/`
//!   (the element names aws-sdk-sts 1.124 parses); errors as
//!   `ErrorResponse/Error/{Type,Code,Message}` plus `RequestId` (the query protocol's wrapped
//!   errors): `OutboundWebIdentityFederationDisabledException` (403),
//!   `AccessDenied` (403), `Throttling` (400), `ValidationError` (400).
//! - The token: AWS's "Understanding token claims" page: `iss` (the account's issuer), `sub` (the
//!   role ARN), `aud`, `iat`, `exp`, `jti`, and `aws_account`, `source_region` and
//!   `lambda_source_function_arn` under `https://sts.amazonaws.com/`; RS256 with the issuer's
//!   key, whose JWKS `kid` is `RSA_0` as observed on AWS issuers.
//! - The issuer: `IssuerIdentifier` "hosts the OpenID Connect (OIDC) discovery endpoints at
//!   /.well-known/openid-configuration and /.well-known/jwks.json" (IAM API reference). Here it is
//!   `{base}/aws-issuer/{account}`, plain HTTP on loopback, where AWS's is
//!   `https://<id>.tokens.sts.global.api.aws`.
//!
//! Not simulated: ES384 (refused with a `ValidationError` naming the simulator's limit), request
//! tags, SigV4 signature checks (only the header's presence and form are checked; there is no
//! secret key to check against), `SessionDurationEscalationException`.

use std::sync::OnceLock;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{PrivateKey, PublicKey};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::clock;
use crate::injection::{Answers, Call, Service, Shape};
use crate::reply::aws::AwsReply;
use crate::reply::{self, Dialect, PlainJson};
use crate::request::Incoming;
use crate::state::Shared;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The key id AWS issuers publish for their RSA key (observed: "RSA_0").
pub(crate) const KEY_ID: &str = "RSA_0";

/// The issuer's signing key: made once per process (RSA key generation is slow in debug builds)
/// and shared by every simulator in it; each simulator still has its own issuer URL.
pub(crate) struct IssuerKey {
    signing: rsa::pkcs1v15::SigningKey<Sha256>,
    pub public: PublicKey,
}

pub(crate) fn issuer_key() -> &'static IssuerKey {
    static KEY: OnceLock<IssuerKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = PrivateKey::new(&mut UnwrapErr(SysRng), 2048).expect("RSA key generation");
        IssuerKey {
            public: key.to_public_key(),
            signing: rsa::pkcs1v15::SigningKey::<Sha256>::new(key),
        }
    })
}

/// `{base}/aws-issuer/{account}`: the account's issuer URL, the `iss` of its tokens.
pub(crate) fn issuer_url(base_url: &str, account: &str) -> String {
    format!("{base_url}/aws-issuer/{account}")
}

/// `POST /sts`: the query-protocol STS endpoint; only `GetWebIdentityToken` is served.
pub(crate) struct Sts;

impl Service for Sts {
    type Dialect = AwsReply;
    const ANSWERS: Answers = Answers::EVERY_READ_ONLY;

    fn dialect(&self, _shared: &Shared, _req: &Incoming) -> AwsReply {
        AwsReply::new(NAMESPACE)
    }

    async fn work(&self, call: &Call<'_, AwsReply>, _shape: Shape) -> Result<Response, Response> {
        Ok(web_identity_token(call.shared, call.req, &call.reply))
    }
}

/// Whether the request carries a SigV4 `Authorization` header; the signature itself is not
/// checked (there is no secret key to check it against).
fn sigv4_signed(req: &Incoming) -> bool {
    req.header("authorization")
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 Credential="))
}

/// `GetWebIdentityToken`: the token, or the refusal in STS's words.
fn web_identity_token(shared: &Shared, req: &Incoming, ctx: &AwsReply) -> Response {
    if req.method != Method::POST {
        return ctx.error(StatusCode::BAD_REQUEST, "InvalidAction", "Only POST is served here");
    }
    if !sigv4_signed(req) {
        return ctx.missing_authentication_token();
    }
    match (req.form_field("Action"), req.form_field("Version")) {
        (Some("GetWebIdentityToken"), Some("2011-06-15")) => {}
        (Some(action), _) if action != "GetWebIdentityToken" => {
            return ctx.error(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                &format!("Could not find operation {action} for version 2011-06-15"),
            );
        }
        _ => return ctx.error(StatusCode::BAD_REQUEST, "InvalidAction", "Missing Action or Version"),
    }
    let audiences: Vec<&str> = (1..=11)
        .map_while(|n| req.form_field(&format!("Audience.member.{n}")))
        .collect();
    if audiences.is_empty() || audiences.len() > 10 || audiences.iter().any(|a| a.is_empty() || a.len() > 1000) {
        return ctx.validation(
            "1 validation error detected: Value at 'audience' failed to satisfy constraint: Member must have length \
             between 1 and 10, each member between 1 and 1000 characters",
        );
    }
    match req.form_field("SigningAlgorithm") {
        Some("RS256") => {}
        Some("ES384") => return ctx.validation("graph-sim signs RS256 only; ES384 is not simulated"),
        _ => {
            return ctx.validation(
                "1 validation error detected: Value at 'signingAlgorithm' failed to satisfy constraint: Member must \
                 be RS256 or ES384",
            );
        }
    }
    let duration = match req.form_field("DurationSeconds").map(str::parse::<u64>) {
        None => 300,
        Some(Ok(seconds)) if (60..=3600).contains(&seconds) => seconds,
        Some(_) => {
            return ctx.validation(
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must \
                 have value between 60 and 3600",
            );
        }
    };
    let settings = shared.sts_settings();
    let fixed = &shared.fixed;
    if !settings.allowed {
        return ctx.error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!(
                "User: {} is not authorized to perform: sts:GetWebIdentityToken because no identity-based policy \
                 allows the sts:GetWebIdentityToken action",
                fixed.aws_role_arn
            ),
        );
    }
    if !settings.federation_enabled {
        return ctx.error(
            StatusCode::FORBIDDEN,
            "OutboundWebIdentityFederationDisabledException",
            "The outbound web identity federation feature is not enabled for this account. To use this feature, \
             you must first enable it through the AWS Management Console or API.",
        );
    }
    let now = clock::unix_now();
    let token = sign(
        &json!({ "alg": "RS256", "typ": "JWT", "kid": KEY_ID }),
        &web_identity_claims(shared, &audiences, now, duration),
    );
    let expiration = clock::iso8601(now + duration);
    ctx.respond(
        StatusCode::OK,
        format!(
            "<GetWebIdentityTokenResponse xmlns=\"{NAMESPACE}\">\n  <GetWebIdentityTokenResult>\n    \
             <WebIdentityToken>{token}</WebIdentityToken>\n    <Expiration>{expiration}</Expiration>\n  \
             </GetWebIdentityTokenResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  \
             </ResponseMetadata>\n</GetWebIdentityTokenResponse>\n",
            ctx.request_id
        ),
    )
}

fn web_identity_claims(shared: &Shared, audiences: &[&str], now: u64, duration: u64) -> Value {
    let fixed = &shared.fixed;
    // One audience is a string, several an array (RFC 7519 4.1.3).
    let aud = match audiences {
        [one] => json!(one),
        many => json!(many),
    };
    json!({
        "iss": issuer_url(&shared.base_url, &fixed.aws_account_id),
        "sub": fixed.aws_role_arn,
        "aud": aud,
        "iat": now,
        "exp": now + duration,
        "jti": Uuid::new_v4().to_string(),
        "https://sts.amazonaws.com/": {
            "aws_account": fixed.aws_account_id,
            "source_region": "us-east-1",
            "lambda_source_function_arn": format!("arn:aws:lambda:us-east-1:{}:function:mdi-sensor-key", fixed.aws_account_id),
        },
    })
}

/// A compact JWS of `header` and `claims` signed RS256 with the issuer's key.
pub(crate) fn sign(header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = issuer_key()
        .signing
        .try_sign(input.as_bytes())
        .expect("RS256 signs")
        .to_vec();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// `POST /iam` `Action=GetOutboundWebIdentityFederationInfo&Version=2010-05-08` (IAM API
/// reference): `IssuerIdentifier` and `JwtVendingEnabled`, or `FeatureDisabled` (404) when the
/// account has not enabled outbound identity federation. The only IAM action served.
pub(crate) struct Iam;

/// IAM answers only the faults every endpoint answers.
impl Service for Iam {
    type Dialect = AwsReply;
    const ANSWERS: Answers = Answers::NONE;

    fn dialect(&self, _shared: &Shared, _req: &Incoming) -> AwsReply {
        AwsReply::new("https://iam.amazonaws.com/doc/2010-05-08/")
    }

    async fn work(&self, call: &Call<'_, AwsReply>, _shape: Shape) -> Result<Response, Response> {
        Ok(federation_info(call.shared, call.req, &call.reply))
    }
}

fn federation_info(shared: &Shared, req: &Incoming, ctx: &AwsReply) -> Response {
    if req.method != Method::POST || !sigv4_signed(req) {
        return ctx.missing_authentication_token();
    }
    if (req.form_field("Action"), req.form_field("Version"))
        != (Some("GetOutboundWebIdentityFederationInfo"), Some("2010-05-08"))
    {
        return ctx.error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "Only GetOutboundWebIdentityFederationInfo is simulated",
        );
    }
    if !shared.sts_settings().federation_enabled {
        return ctx.error(
            StatusCode::NOT_FOUND,
            "FeatureDisabled",
            "Outbound identity federation is disabled for this account.",
        );
    }
    let issuer = issuer_url(&shared.base_url, &shared.fixed.aws_account_id);
    ctx.respond(
        StatusCode::OK,
        format!(
            "<GetOutboundWebIdentityFederationInfoResponse xmlns=\"{}\">\n  \
             <GetOutboundWebIdentityFederationInfoResult>\n    <IssuerIdentifier>{issuer}</IssuerIdentifier>\n    \
             <JwtVendingEnabled>true</JwtVendingEnabled>\n  </GetOutboundWebIdentityFederationInfoResult>\n  \
             <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n\
             </GetOutboundWebIdentityFederationInfoResponse>\n",
            ctx.namespace, ctx.request_id
        ),
    )
}

/// Which issuer document is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IssuerDocument {
    OpenIdConfiguration,
    Jwks,
}

const JSON: &str = "application/json";

/// `GET /aws-issuer/{account}/.well-known/{openid-configuration|jwks.json}`.
pub(crate) struct Issuer {
    pub account: String,
    pub document: IssuerDocument,
}

/// The issuer answers a faulted status with an empty JSON object, and no 429 or garbage.
impl Service for Issuer {
    type Dialect = PlainJson;
    const ANSWERS: Answers = Answers {
        too_many_requests: false,
        malformed_body: false,
        ..Answers::EVERY_READ_ONLY
    };

    fn dialect(&self, _shared: &Shared, _req: &Incoming) -> PlainJson {
        PlainJson
    }

    async fn work(&self, call: &Call<'_, PlainJson>, _shape: Shape) -> Result<Response, Response> {
        Ok(issuer_document(call.shared, call.req, &self.account, self.document))
    }
}

fn issuer_document(shared: &Shared, req: &Incoming, account: &str, document: IssuerDocument) -> Response {
    if req.method != Method::GET || account != shared.fixed.aws_account_id {
        return reply::raw(StatusCode::NOT_FOUND, JSON, "{}");
    }
    let issuer = issuer_url(&shared.base_url, account);
    let body = match document {
        // The fields a real AWS issuer's document was observed to carry.
        IssuerDocument::OpenIdConfiguration => json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES384"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "jti", "https://sts.amazonaws.com/"],
        }),
        IssuerDocument::Jwks => {
            let key = &issuer_key().public;
            json!({ "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": KEY_ID,
                "n": URL_SAFE_NO_PAD.encode(key.n_bytes()),
                "e": URL_SAFE_NO_PAD.encode(key.e_bytes()),
            }]})
        }
    };
    reply::raw(StatusCode::OK, JSON, body.to_string())
}
