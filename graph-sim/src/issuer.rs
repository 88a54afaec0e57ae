//! The simulated AWS account's token issuer: the key that signs STS's web identity tokens
//! ([`crate::sts`]) and the OpenID configuration and JWKS it publishes, as AWS's issuer does.
//!
//! Sources: `IssuerIdentifier` "hosts the OpenID Connect (OIDC) discovery endpoints at
//! /.well-known/openid-configuration and /.well-known/jwks.json" (IAM API reference). Here it is
//! `{base}/aws-issuer/{account}`, plain HTTP on loopback, where AWS's is
//! `https://<id>.tokens.sts.global.api.aws`. Its RSA key's JWKS `kid` is `RSA_0`, as observed on
//! AWS issuers; the documents carry the fields a real AWS issuer's were observed to carry.

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

use crate::injection::{Answers, Call, Service, Shape};
use crate::reply::{self, PlainJson};
use crate::request::Incoming;
use crate::state::Shared;

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
