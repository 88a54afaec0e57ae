//! Workload identity federation from AWS to Entra ID (`GRAPH_AUTH=aws-federation`): the
//! function's own IAM role gets a short-lived JWT from STS `GetWebIdentityToken` and sends it to
//! Entra as the `client_assertion`; Entra accepts it when the app registration holds a federated
//! identity credential with the token's issuer, subject and audience. No Graph secret is stored
//! anywhere.
//!
//! This module holds the port ([`WebIdentitySource`]), the token it yields, its errors, and what
//! an operator must register in Entra, read from the token's own claims (without verifying them:
//! it is our own token, read only to explain a refusal). The AWS adapter is in [`sts`].

pub mod sts;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::deadline::Deadline;
pub use crate::upstream::{FederationError, Trust};

pub use sts::StsWebIdentity;

/// The signing algorithm asked of STS: Entra verifies RS256 assertions (STS also offers ES384).
pub const SIGNING_ALGORITHM: &str = "RS256";

/// The token's lifetime asked of STS: the shortest STS issues ("Valid Range: Minimum value of 60",
/// GetWebIdentityToken API reference). It is sent to Entra at once and used for one token request
/// (whose retries fit in an invocation's deadline), so a token that leaks from that path is worth
/// a minute, not STS's default of five. The template's IAM condition allows no longer token.
pub const DURATION_SECONDS: i32 = 60;

/// A JWT from STS, used once as a client assertion. `Debug` redacts it.
#[derive(Clone)]
pub struct WebIdentityToken(SecretString);

impl WebIdentityToken {
    pub fn new(jwt: SecretString) -> Self {
        WebIdentityToken(jwt)
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The issuer, subject and audience Entra must find in a federated identity credential, as
    /// the token states them; `None` when the token is not a readable JWT with all three.
    pub fn trust(&self) -> Option<Trust> {
        #[derive(Deserialize)]
        struct Claims {
            iss: String,
            sub: String,
            aud: Audience,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Audience {
            One(String),
            Many(Vec<String>),
        }
        let payload = self.0.expose_secret().split('.').nth(1)?;
        let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let claims: Claims = serde_json::from_slice(&json).ok()?;
        let audience = match claims.aud {
            Audience::One(one) => one,
            Audience::Many(many) => many.into_iter().next()?,
        };
        Some(Trust {
            issuer: vetted(claims.iss)?,
            subject: vetted(claims.sub)?,
            audience: vetted(audience)?,
        })
    }
}

impl fmt::Debug for WebIdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebIdentityToken([REDACTED])")
    }
}

/// Claims end up in error messages and a shell command: short printable text without quotes.
fn vetted(value: String) -> Option<String> {
    let fine = !value.is_empty()
        && value.len() <= 600
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '`' | '$'));
    fine.then_some(value)
}

/// The future a [`WebIdentitySource`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<WebIdentityToken, FederationError>> + Send + 'a>>;

/// Where the federated client assertion comes from: STS in production, a fake in unit tests.
/// A trait object (hence the boxed future) so that [`crate::credentials::ClientCredential`]
/// stays one type whatever the source.
pub trait WebIdentitySource: Send + Sync + fmt::Debug {
    /// A fresh token for `audience`, within `deadline`.
    fn token<'a>(&'a self, audience: &'a str, deadline: Deadline) -> TokenFuture<'a>;
}

/// `AZURE_FEDERATED_TOKEN_FILE`: a JWT another platform writes (a Kubernetes projected token, a
/// CI runner's OIDC token), read again for each token request as the Azure SDKs'
/// `WorkloadIdentityCredential` does, since the platform replaces it before it expires. Its
/// audience was fixed by whoever wrote it; the one asked for is not checked here (Entra does).
#[derive(Debug, Clone)]
pub struct FederatedTokenFile {
    path: std::path::PathBuf,
}

/// A token file larger than this is not a JWT.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

impl FederatedTokenFile {
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        FederatedTokenFile { path: path.into() }
    }

    fn read(&self) -> Result<WebIdentityToken, FederationError> {
        let unusable = |reason: String| FederationError::TokenFile(reason);
        // Bounded on the read itself: a FIFO, /dev/zero or a file swapped after a size check
        // cannot make it read more.
        let bytes = crate::bounded_file::read_bounded(&self.path, MAX_TOKEN_FILE_BYTES)
            .map_err(|error| unusable(error.to_string()))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| unusable("it is not text".into()))?
            .trim();
        if text.split('.').count() != 3 {
            return Err(unusable("it does not hold a JWT".into()));
        }
        Ok(WebIdentityToken::new(SecretString::from(text)))
    }
}

impl WebIdentitySource for FederatedTokenFile {
    fn token<'a>(&'a self, _audience: &'a str, _deadline: Deadline) -> TokenFuture<'a> {
        Box::pin(std::future::ready(self.read()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> WebIdentityToken {
        let token = format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        WebIdentityToken::new(SecretString::from(token))
    }

    #[test]
    fn the_trust_is_read_from_the_tokens_own_claims() {
        let token = jwt(serde_json::json!({
            "iss": "https://abc123.tokens.sts.global.api.aws",
            "sub": "arn:aws:iam::123456789012:role/mdi-sensor-key",
            "aud": "api://AzureADTokenExchange",
        }));
        let trust = token.trust().unwrap();
        assert_eq!(trust.issuer, "https://abc123.tokens.sts.global.api.aws");
        assert_eq!(trust.subject, "arn:aws:iam::123456789012:role/mdi-sensor-key");
        let command = trust.az_command("app-id");
        assert!(
            command.starts_with("az ad app federated-credential create --id app-id --parameters '{"),
            "{command}"
        );
        assert!(
            command.contains(r#""audiences":["api://AzureADTokenExchange"]"#),
            "{command}"
        );
        let listed = jwt(serde_json::json!({"iss": "i", "sub": "s", "aud": ["a", "b"]}));
        assert_eq!(listed.trust().unwrap().audience, "a");
    }

    #[test]
    fn claims_that_could_break_the_command_or_are_missing_give_no_trust() {
        for claims in [
            serde_json::json!({"iss": "i'; rm -rf /", "sub": "s", "aud": "a"}),
            serde_json::json!({"iss": "i", "sub": "s\nnext", "aud": "a"}),
            serde_json::json!({"iss": "i", "aud": "a"}),
        ] {
            assert_eq!(jwt(claims).trust(), None);
        }
        assert_eq!(WebIdentityToken::new(SecretString::from("opaque")).trust(), None);
    }

    #[tokio::test]
    async fn a_token_file_is_read_again_for_each_request_and_junk_is_refused_without_quoting_it() {
        let path = std::env::temp_dir().join(format!("mdi-sensor-key-token-{}", std::process::id()));
        let file = FederatedTokenFile::new(&path);
        let soon = Deadline::after(std::time::Duration::from_secs(5));
        std::fs::write(&path, "eyJh.eyJi.c2ln\n").unwrap();
        assert_eq!(file.token("aud", soon).await.unwrap().expose(), "eyJh.eyJi.c2ln");
        std::fs::write(&path, "eyJh.eyJj.c2ln").unwrap();
        assert_eq!(file.token("aud", soon).await.unwrap().expose(), "eyJh.eyJj.c2ln");
        std::fs::write(&path, "hunter2-not-a-jwt").unwrap();
        let error = file.token("aud", soon).await.unwrap_err().to_string();
        assert!(
            error.contains("AZURE_FEDERATED_TOKEN_FILE") && !error.contains("hunter2"),
            "{error}"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(file.token("aud", soon).await.is_err());
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = WebIdentityToken::new(SecretString::from("eyJ-web-identity-secret"));
        assert!(!format!("{token:?}").contains("eyJ"));
    }
}
