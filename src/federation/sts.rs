//! The STS adapter of [`WebIdentitySource`]: `GetWebIdentityToken` through the AWS SDK, over the
//! same reqwest client adapter as Secrets Manager, so `AWS_ENDPOINT_URL_STS` (or
//! `AWS_ENDPOINT_URL`) and the regional endpoint work as for every other AWS call. The operation
//! is not served by the global endpoint (GetWebIdentityToken API reference, "Note"); the SDK's
//! default resolution is regional.
//!
//! Errors are classified by their AWS error code: `OutboundWebIdentityFederationDisabledException`
//! (403, the API reference's Errors), `AccessDenied` (the common error for a missing
//! permission), throttling (retried by the SDK first).

use aws_sdk_sts::Client;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;
use secrecy::SecretString;

use super::{DURATION_SECONDS, FederationError, SIGNING_ALGORITHM, TokenFuture, WebIdentitySource, WebIdentityToken};
use crate::deadline::Deadline;
use crate::secrets::{LambdaEnv, LambdaEnvError};

/// STS through the AWS SDK. Cheap to clone: the SDK client is shared. `Debug` shows nothing of
/// the client, whose configuration holds the role's credentials.
#[derive(Clone)]
pub struct StsWebIdentity {
    client: Client,
}

impl std::fmt::Debug for StsWebIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StsWebIdentity { .. }")
    }
}

impl StsWebIdentity {
    pub fn new(client: Client) -> Self {
        StsWebIdentity { client }
    }

    /// The client Lambda needs, from Lambda's environment as Secrets Manager's
    /// ([`LambdaEnv`]: region, role credentials, FIPS and dual-stack switches, app name) and
    /// `AWS_ENDPOINT_URL_STS`.
    pub fn from_lambda_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, LambdaEnvError> {
        let env = LambdaEnv::from_lookup(lookup)?;
        let mut sdk = aws_sdk_sts::config::Builder::from(&env.sdk_config());
        if let Some(url) = env.endpoint("AWS_ENDPOINT_URL_STS") {
            sdk = sdk.endpoint_url(url);
        }
        Ok(StsWebIdentity::new(Client::from_conf(sdk.build())))
    }

    async fn fetch(&self, audience: &str, deadline: Deadline) -> Result<WebIdentityToken, FederationError> {
        let started = tokio::time::Instant::now();
        let request = self
            .client
            .get_web_identity_token()
            .audience(audience)
            .signing_algorithm(SIGNING_ALGORITHM)
            .duration_seconds(DURATION_SECONDS)
            .send();
        let output = match tokio::time::timeout_at(deadline.instant(), request).await {
            Err(_elapsed) => return Err(FederationError::Timeout),
            Ok(result) => result.map_err(|error| classify(error, audience))?,
        };
        let request_id = output.request_id().map(str::to_owned);
        tracing::info!(
            upstream = "sts",
            operation = "GetWebIdentityToken",
            sts_request_id = request_id.as_deref().unwrap_or(""),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "web identity token issued"
        );
        let mut output = output;
        match output.web_identity_token.take().filter(|token| !token.is_empty()) {
            Some(token) => Ok(WebIdentityToken::new(SecretString::from(token))),
            None => Err(FederationError::NoToken { request_id }),
        }
    }
}

impl WebIdentitySource for StsWebIdentity {
    fn token<'a>(&'a self, audience: &'a str, deadline: Deadline) -> TokenFuture<'a> {
        Box::pin(self.fetch(audience, deadline))
    }
}

fn classify<E: ProvideErrorMetadata + RequestId, R>(error: SdkError<E, R>, audience: &str) -> FederationError {
    let service = match &error {
        SdkError::TimeoutError(_) => return FederationError::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => return FederationError::Timeout,
        SdkError::DispatchFailure(_) => return FederationError::Unavailable("could not connect".into()),
        SdkError::ConstructionFailure(_) => return FederationError::Unavailable("request could not be built".into()),
        SdkError::ResponseError(_) => return FederationError::Unavailable("unreadable response".into()),
        SdkError::ServiceError(context) => context.err(),
        _ => return FederationError::Unavailable("unknown SDK failure".into()),
    };
    let request_id = service.request_id().map(str::to_owned);
    let code = service.code().unwrap_or("Unknown").to_owned();
    tracing::warn!(
        upstream = "sts",
        operation = "GetWebIdentityToken",
        code,
        sts_request_id = request_id.as_deref().unwrap_or(""),
        "STS refused"
    );
    match code.as_str() {
        "OutboundWebIdentityFederationDisabledException" | "OutboundWebIdentityFederationDisabled" => {
            FederationError::Disabled { request_id }
        }
        "AccessDenied" | "AccessDeniedException" => FederationError::AccessDenied {
            code,
            audience: audience.to_owned(),
            request_id,
        },
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => FederationError::Throttled { request_id },
        "InternalFailure" | "ServiceUnavailable" | "InternalError" => FederationError::Unavailable(code),
        _ => FederationError::Refused { code, request_id },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_built_from_the_variables_lambda_sets_and_a_missing_one_is_named() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, v)| v.to_string())
        };
        assert!(
            StsWebIdentity::from_lambda_env(env(&[
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "a"),
                ("AWS_SECRET_ACCESS_KEY", "b"),
            ]))
            .is_ok()
        );
        assert!(matches!(
            StsWebIdentity::from_lambda_env(env(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")])),
            Err(LambdaEnvError::Missing("AWS_REGION"))
        ));
    }
}
