//! Makes the secrets the simulator hands out: MDI-style deployment access
//! keys and JWT-shaped Entra access tokens.
//!
//! The tokens carry the claims a real app-only Graph token carries so that
//! a client that peeks into them (for `exp`, say) sees familiar data, but the
//! signature is random bytes: the simulator recognises its tokens by keeping
//! them, not by verifying them.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore as _;
use serde_json::json;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A fresh key shaped like a real MDI deployment access key: standard base64
/// of 64 random bytes (88 characters, padded).
pub fn random_key() -> String {
    STANDARD.encode(random_bytes::<64>())
}

/// What a minted token says about itself.
pub(crate) struct Claims<'a> {
    pub tenant_id: &'a str,
    pub client_id: &'a str,
    pub audience: &'a str,
    pub roles: &'a [String],
    pub issued_at: u64,
    pub lifetime_secs: u64,
}

pub(crate) fn access_token(c: &Claims<'_>) -> String {
    let key_id = URL_SAFE_NO_PAD.encode(random_bytes::<20>());
    let header = json!({ "typ": "JWT", "alg": "RS256", "x5t": key_id, "kid": key_id });
    let issuer = format!("https://sts.windows.net/{}/", c.tenant_id);
    let object_id = uuid::Uuid::new_v4().to_string();
    let mut payload = json!({
        "aud": c.audience,
        "iss": issuer,
        "iat": c.issued_at,
        "nbf": c.issued_at,
        "exp": c.issued_at.saturating_add(c.lifetime_secs),
        "app_displayname": "graph-sim client",
        "appid": c.client_id,
        "appidacr": "1",
        "idp": issuer,
        "idtyp": "app",
        "oid": object_id,
        "sub": object_id,
        "tid": c.tenant_id,
        "uti": URL_SAFE_NO_PAD.encode(random_bytes::<16>()),
        "ver": "1.0",
    });
    // Entra leaves the claim out, rather than sending [], when the app holds no role.
    if !c.roles.is_empty() {
        payload["roles"] = json!(c.roles);
    }
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(random_bytes::<256>()),
    )
}
