//! Why AWS STS gave the function no web identity token (`GRAPH_AUTH=aws-federation`), and what
//! the Entra app must trust for the token it does give.

/// What a federated identity credential on the app must hold for Entra to accept the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
}

impl Trust {
    /// The Azure CLI command that registers this trust on the app `client_id`.
    pub fn az_command(&self, client_id: &str) -> String {
        let parameters = serde_json::json!({
            "name": "mdi-sensor-key-aws",
            "issuer": self.issuer,
            "subject": self.subject,
            "audiences": [self.audience],
            "description": "The mdi-sensor-key function's IAM role (AWS outbound identity federation)",
        });
        format!("az ad app federated-credential create --id {client_id} --parameters '{parameters}'")
    }
}

/// Why STS gave no token.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error(
        "AWS outbound identity federation is not enabled for this account (STS OutboundWebIdentityFederationDisabledException): run `aws iam enable-outbound-web-identity-federation` once for the account, then register the issuer it prints in Entra"
    )]
    Disabled { request_id: Option<String> },
    #[error(
        "the function's IAM role may not call sts:GetWebIdentityToken ({code}): allow it for audience {audience}, signing algorithm RS256 and at most 60 seconds (the template does so with GraphAuth=aws-federation)"
    )]
    AccessDenied {
        code: String,
        audience: String,
        request_id: Option<String>,
    },
    #[error("STS kept throttling GetWebIdentityToken past the SDK's retries")]
    Throttled { request_id: Option<String> },
    #[error("STS did not answer GetWebIdentityToken in time")]
    Timeout,
    #[error("STS is unavailable ({0})")]
    Unavailable(String),
    #[error("STS refused GetWebIdentityToken ({code})")]
    Refused { code: String, request_id: Option<String> },
    #[error("STS answered GetWebIdentityToken without a token")]
    NoToken { request_id: Option<String> },
    #[error("the federated token file (AZURE_FEDERATED_TOKEN_FILE) could not be used: {0}")]
    TokenFile(String),
}

impl FederationError {
    /// STS's request id, for a support case.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            FederationError::Disabled { request_id }
            | FederationError::AccessDenied { request_id, .. }
            | FederationError::Throttled { request_id }
            | FederationError::Refused { request_id, .. }
            | FederationError::NoToken { request_id } => request_id.as_deref(),
            FederationError::Timeout | FederationError::Unavailable(_) | FederationError::TokenFile(_) => None,
        }
    }

    /// Whether trying again later may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FederationError::Throttled { .. } | FederationError::Timeout | FederationError::Unavailable(_)
        )
    }
}
