//! The STS adapter of [`WebIdentitySource`]: `GetWebIdentityToken` through the AWS SDK, over the
//! same reqwest client adapter as Secrets Manager, so `AWS_ENDPOINT_URL_STS` (or
//! `AWS_ENDPOINT_URL`) and the regional endpoint work as for every other AWS call. The operation
//! is not served by the global endpoint (GetWebIdentityToken API reference, "Note"); the SDK's
//! default resolution is regional.
//!
//! STS has its own endpoint switches, `STS_USE_FIPS_ENDPOINT` and `STS_USE_DUALSTACK_ENDPOINT`
//! ([`sts_uses_fips`]), in place of the SDK's `AWS_USE_*`, which stay Secrets Manager's: STS has
//! FIPS endpoints only in us-east-1, us-east-2, us-west-1, us-west-2 and GovCloud, and no dual-stack
//! endpoint anywhere (botocore's `endpoints.json`, service `sts`: `fips` variants there only, no
//! `dualstack` variant), while the SDK's endpoint rules would build `sts-fips.<region>` or
//! `sts.<region>.api.aws` for any region, hosts that do not answer.
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

/// The variables STS's endpoint is chosen from (docs/deploy.md, "STS endpoints").
pub const FIPS_VARIABLE: &str = "STS_USE_FIPS_ENDPOINT";
pub const DUAL_STACK_VARIABLE: &str = "STS_USE_DUALSTACK_ENDPOINT";

/// The regions where STS has a FIPS endpoint (botocore's `endpoints.json`: the `aws` partition's
/// `fips` variants, and the `aws-us-gov` partition's default `fips` variant, `sts.{region}`).
fn sts_has_fips_endpoint(region: &str) -> bool {
    matches!(region, "us-east-1" | "us-east-2" | "us-west-1" | "us-west-2") || region.starts_with("us-gov-")
}

/// Whether STS is called on its FIPS endpoint in `region`: `STS_USE_FIPS_ENDPOINT` when set (the
/// template sets it, `true` only where STS has FIPS); when absent, `AWS_USE_FIPS_ENDPOINT` where
/// STS has a FIPS endpoint and the regional endpoint elsewhere, as the template derives it. Asking
/// for an endpoint STS does not have (FIPS outside those regions, or dual-stack anywhere) fails the
/// cold start, naming the variable, rather than failing every federation with "could not connect".
pub fn sts_uses_fips(lookup: &impl Fn(&str) -> Option<String>, region: &str) -> Result<bool, LambdaEnvError> {
    if crate::secrets::sdk_switch(lookup, DUAL_STACK_VARIABLE)? {
        return Err(LambdaEnvError::NoSuchEndpoint {
            name: DUAL_STACK_VARIABLE,
            reason: "STS has no dual-stack endpoint".into(),
        });
    }
    let asked = lookup(FIPS_VARIABLE).filter(|value| !value.trim().is_empty());
    match asked {
        None => Ok(crate::secrets::sdk_switch(lookup, "AWS_USE_FIPS_ENDPOINT")? && sts_has_fips_endpoint(region)),
        Some(_) => match crate::secrets::sdk_switch(lookup, FIPS_VARIABLE)? {
            true if !sts_has_fips_endpoint(region) => Err(LambdaEnvError::NoSuchEndpoint {
                name: FIPS_VARIABLE,
                reason: format!("STS has no FIPS endpoint in {region}"),
            }),
            fips => Ok(fips),
        },
    }
}

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
    /// ([`LambdaEnv`]: region, role credentials, app name), STS's own endpoint switches
    /// ([`sts_uses_fips`]) and `AWS_ENDPOINT_URL_STS`.
    pub fn from_lambda_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, LambdaEnvError> {
        let fips = sts_uses_fips(&lookup, lookup("AWS_REGION").as_deref().unwrap_or_default())?;
        let env = LambdaEnv::from_lookup(lookup)?;
        let mut sdk = aws_sdk_sts::config::Builder::from(&env.sdk_config())
            .use_fips(fips)
            .use_dual_stack(false);
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
    use std::sync::{Arc, Mutex};

    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

    /// Records the URL of each request the SDK sends, and answers none.
    #[derive(Debug, Clone, Default)]
    struct RecordUrl(Arc<Mutex<Vec<String>>>);

    impl HttpClient for RecordUrl {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }

    impl HttpConnector for RecordUrl {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            self.0.lock().unwrap().push(request.uri().to_owned());
            HttpConnectorFuture::ready(Err(ConnectorError::other("recorded, not sent".into(), None)))
        }
    }

    /// Where the client `from_lambda_env` builds from `pairs` sends GetWebIdentityToken.
    async fn endpoint_for(pairs: &[(&str, &str)]) -> Result<String, LambdaEnvError> {
        let env: Vec<(String, String)> = [("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sts = StsWebIdentity::from_lambda_env(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))?;
        let recorder = RecordUrl::default();
        let config = sts.client.config().to_builder().http_client(recorder.clone()).build();
        let _ = Client::from_conf(config)
            .get_web_identity_token()
            .audience("api://AzureADTokenExchange")
            .signing_algorithm(SIGNING_ALGORITHM)
            .send()
            .await;
        let url = recorder.0.lock().unwrap().first().cloned().expect("one request");
        Ok(url.trim_end_matches('/').to_owned())
    }

    #[tokio::test]
    async fn each_sts_setting_resolves_to_an_endpoint_sts_has() {
        for (pairs, expected) in [
            (
                &[("AWS_REGION", "us-east-1")][..],
                "https://sts.us-east-1.amazonaws.com",
            ),
            (
                &[("AWS_REGION", "us-east-1"), ("STS_USE_FIPS_ENDPOINT", "true")][..],
                "https://sts-fips.us-east-1.amazonaws.com",
            ),
            (
                &[("AWS_REGION", "us-west-2"), ("AWS_USE_FIPS_ENDPOINT", "true")][..],
                "https://sts-fips.us-west-2.amazonaws.com",
            ),
            // GovCloud's STS endpoints are its FIPS endpoints.
            (
                &[("AWS_REGION", "us-gov-west-1"), ("STS_USE_FIPS_ENDPOINT", "true")][..],
                "https://sts.us-gov-west-1.amazonaws.com",
            ),
            (
                &[("AWS_REGION", "us-gov-east-1"), ("STS_USE_FIPS_ENDPOINT", "false")][..],
                "https://sts.us-gov-east-1.amazonaws.com",
            ),
            // Secrets Manager's switches do not reach STS where STS has no such endpoint.
            (
                &[
                    ("AWS_REGION", "eu-west-1"),
                    ("AWS_USE_FIPS_ENDPOINT", "true"),
                    ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
                ][..],
                "https://sts.eu-west-1.amazonaws.com",
            ),
            (
                &[
                    ("AWS_REGION", "us-east-1"),
                    ("AWS_USE_FIPS_ENDPOINT", "true"),
                    ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
                    ("STS_USE_FIPS_ENDPOINT", "false"),
                    ("STS_USE_DUALSTACK_ENDPOINT", "false"),
                ][..],
                "https://sts.us-east-1.amazonaws.com",
            ),
        ] {
            assert_eq!(endpoint_for(pairs).await.unwrap(), expected, "{pairs:?}");
        }
    }

    #[tokio::test]
    async fn an_sts_endpoint_that_does_not_exist_fails_the_cold_start_naming_its_variable() {
        for (pairs, variable) in [
            (
                &[("AWS_REGION", "eu-west-1"), ("STS_USE_FIPS_ENDPOINT", "true")][..],
                FIPS_VARIABLE,
            ),
            (
                &[("AWS_REGION", "us-east-1"), ("STS_USE_DUALSTACK_ENDPOINT", "true")][..],
                DUAL_STACK_VARIABLE,
            ),
        ] {
            match endpoint_for(pairs).await {
                Err(LambdaEnvError::NoSuchEndpoint { name, .. }) => assert_eq!(name, variable),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
        assert!(matches!(
            endpoint_for(&[("AWS_REGION", "us-east-1"), ("STS_USE_FIPS_ENDPOINT", "yes")]).await,
            Err(LambdaEnvError::NotABoolean("STS_USE_FIPS_ENDPOINT"))
        ));
    }

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
