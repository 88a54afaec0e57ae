//! The AWS Secrets Manager adapter of [`SecretStore`].
//!
//! Each call is bounded by the invocation's deadline on top of the SDK's own timeouts and
//! retries, and SDK errors are classified by their AWS error code.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::config::{AppName, BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use secrecy::{ExposeSecret, SecretString};

use super::http::{ReqwestHttpClient, reqwest_client};
use super::{
    AWSCURRENT, AWSPENDING, NewVersion, SecretDescription, SecretStore, SecretValue, StoreError, StoredVersion,
    VersionSelector,
};
use crate::deadline::Deadline;

/// Why the Secrets Manager client could not be built from Lambda's environment.
#[derive(Debug, thiserror::Error)]
pub enum LambdaEnvError {
    #[error("environment variable {0} is required but missing or empty (Lambda sets it)")]
    Missing(&'static str),
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(reqwest::Error),
    #[error("environment variable {0} must be true or false")]
    NotABoolean(&'static str),
    #[error("environment variable {name} asks for an endpoint that does not exist: {reason}")]
    NoSuchEndpoint { name: &'static str, reason: String },
}

/// The name the SDK puts in its user agent (`app/mdi-sensor-key`), so CloudTrail shows which tool
/// called Secrets Manager.
pub const APP_NAME: &str = "mdi-sensor-key";

/// An SDK switch such as `AWS_USE_FIPS_ENDPOINT`: `true` or `false` (any case), absent is false,
/// as the AWS SDKs read them.
pub(crate) fn sdk_switch(lookup: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<bool, LambdaEnvError> {
    match lookup(name).map(|value| value.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(LambdaEnvError::NotABoolean(name)),
    }
}

/// What every AWS SDK client of the function takes from the variables Lambda sets (`AWS_REGION`,
/// the role's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and the SDK's own
/// switches, read as aws-config would (`AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`;
/// GovCloud users need FIPS endpoints), over [`ReqwestHttpClient`]. Built without aws-config's
/// provider chain: on Lambda the environment is the chain, and skipping it saves init time and
/// binary size. Secrets Manager and STS are built from the same one.
pub struct LambdaEnv {
    pub region: Region,
    pub credentials: Credentials,
    pub http: ReqwestHttpClient,
    pub timeouts: TimeoutConfig,
    pub use_fips: bool,
    pub use_dual_stack: bool,
    pub app_name: AppName,
    endpoint_overrides: Vec<(&'static str, String)>,
}

impl LambdaEnv {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, LambdaEnvError> {
        let get = |name: &'static str| lookup(name).filter(|value| !value.is_empty());
        let required = |name: &'static str| get(name).ok_or(LambdaEnvError::Missing(name));
        let credentials = Credentials::new(
            required("AWS_ACCESS_KEY_ID")?,
            required("AWS_SECRET_ACCESS_KEY")?,
            get("AWS_SESSION_TOKEN"),
            None,
            "lambda-environment",
        );
        let http = reqwest_client().map_err(LambdaEnvError::HttpClient)?;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_attempt_timeout(Duration::from_secs(3))
            .operation_timeout(Duration::from_secs(8))
            .build();
        let endpoint_overrides = [
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT_URL",
        ]
        .into_iter()
        .filter_map(|name| get(name).map(|url| (name, url)))
        .collect();
        Ok(LambdaEnv {
            region: Region::new(required("AWS_REGION")?),
            credentials,
            http: ReqwestHttpClient::new(http),
            timeouts,
            use_fips: sdk_switch(&lookup, "AWS_USE_FIPS_ENDPOINT")?,
            use_dual_stack: sdk_switch(&lookup, "AWS_USE_DUALSTACK_ENDPOINT")?,
            app_name: AppName::new(APP_NAME).expect("a valid app name"),
            endpoint_overrides,
        })
    }

    /// The shared part of every client's configuration; each client adds its own endpoint.
    pub fn sdk_config(&self) -> aws_types::SdkConfig {
        aws_types::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .app_name(self.app_name.clone())
            .use_fips(self.use_fips)
            .use_dual_stack(self.use_dual_stack)
            .region(self.region.clone())
            .credentials_provider(aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(
                self.credentials.clone(),
            ))
            .http_client(self.http.clone())
            .timeout_config(self.timeouts.clone())
            .build()
    }

    /// The endpoint override for one service (`AWS_ENDPOINT_URL_<SERVICE>`), else the global one.
    pub fn endpoint(&self, service_variable: &str) -> Option<&str> {
        let find = |name: &str| {
            self.endpoint_overrides
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, url)| url.as_str())
        };
        find(service_variable).or_else(|| find("AWS_ENDPOINT_URL"))
    }
}

/// Secrets Manager through the AWS SDK. Cheap to clone: the SDK client is shared.
#[derive(Clone, Debug)]
pub struct AwsSecretStore {
    client: Client,
}

impl AwsSecretStore {
    pub fn new(client: Client) -> Self {
        AwsSecretStore { client }
    }

    /// The client Lambda needs, from Lambda's environment ([`LambdaEnv`]).
    pub fn from_lambda_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, LambdaEnvError> {
        let env = LambdaEnv::from_lookup(lookup)?;
        let mut sdk = aws_sdk_secretsmanager::config::Builder::from(&env.sdk_config());
        if let Some(url) = env.endpoint("AWS_ENDPOINT_URL_SECRETS_MANAGER") {
            sdk = sdk.endpoint_url(url);
        }
        Ok(AwsSecretStore::new(Client::from_conf(sdk.build())))
    }
}

async fn bounded<T, E, R>(
    deadline: Deadline,
    call: impl Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, StoreError>
where
    E: ProvideErrorMetadata,
{
    match tokio::time::timeout_at(deadline.instant(), call).await {
        Err(_elapsed) => Err(StoreError::Timeout),
        Ok(result) => result.map_err(classify),
    }
}

fn classify<E: ProvideErrorMetadata, R>(error: SdkError<E, R>) -> StoreError {
    let (code, message) = match &error {
        SdkError::TimeoutError(_) => return StoreError::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => return StoreError::Timeout,
        SdkError::DispatchFailure(failure)
            if failure
                .as_connector_error()
                .is_some_and(|connector| super::http::is_too_large(connector)) =>
        {
            return StoreError::Unavailable(super::http::TOO_LARGE.into());
        }
        SdkError::DispatchFailure(_) => return StoreError::Unavailable("could not connect".into()),
        SdkError::ConstructionFailure(_) => return StoreError::Unavailable("request could not be built".into()),
        SdkError::ServiceError(context) => (context.err().code(), context.err().message()),
        SdkError::ResponseError(_) => return StoreError::Unavailable("unreadable response".into()),
        _ => (None, None),
    };
    let code = code.unwrap_or("Unknown").to_owned();
    let message = message.unwrap_or_default().to_owned();
    match code.as_str() {
        "ResourceNotFoundException" => StoreError::NotFound,
        "AccessDeniedException" | "AccessDenied" | "DecryptionFailure" | "KMSAccessDeniedException" => {
            StoreError::AccessDenied { code, message }
        }
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => {
            StoreError::Throttled
        }
        "ResourceExistsException" => StoreError::TokenConflict,
        // "The request failed because it would exceed one of the Secrets Manager quotas" (botocore's
        // model); for PutSecretValue, the versions of a secret.
        "LimitExceededException" => StoreError::QuotaExceeded { message },
        "InternalServiceError" | "InternalFailure" | "ServiceUnavailable" => StoreError::Unavailable(code),
        _ => StoreError::Refused { code, message },
    }
}

impl SecretStore for AwsSecretStore {
    async fn get(
        &self,
        secret_id: &str,
        selector: VersionSelector<'_>,
        deadline: Deadline,
    ) -> Result<SecretValue, StoreError> {
        let request = self.client.get_secret_value().secret_id(secret_id);
        let request = match selector {
            VersionSelector::Current => request.version_stage(AWSCURRENT),
            VersionSelector::Pending(version_id) => request.version_id(version_id).version_stage(AWSPENDING),
            VersionSelector::Version(version_id) => request.version_id(version_id),
        };
        let mut output = bounded(deadline, request.send()).await?;
        Ok(SecretValue {
            version_id: output.version_id.take().unwrap_or_default(),
            text: output.secret_string.take().map(SecretString::from),
        })
    }

    async fn put(
        &self,
        secret_id: &str,
        version: NewVersion<'_>,
        deadline: Deadline,
    ) -> Result<StoredVersion, StoreError> {
        let NewVersion { text, token, stage } = version;
        let request = self
            .client
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(text.expose_secret())
            .client_request_token(token)
            .version_stages(stage.label());
        let output = bounded(deadline, request.send()).await?;
        Ok(StoredVersion {
            secret_id: output.arn().unwrap_or(secret_id).to_owned(),
            version_id: output.version_id().unwrap_or(token).to_owned(),
        })
    }

    async fn describe(&self, secret_id: &str, deadline: Deadline) -> Result<SecretDescription, StoreError> {
        let output = bounded(deadline, self.client.describe_secret().secret_id(secret_id).send()).await?;
        Ok(SecretDescription {
            arn: output.arn().unwrap_or(secret_id).to_owned(),
            rotation_enabled: output.rotation_enabled().unwrap_or(false),
            versions: output.version_ids_to_stages().cloned().unwrap_or_default(),
        })
    }

    async fn promote(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
        deadline: Deadline,
    ) -> Result<(), StoreError> {
        let request = self
            .client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSCURRENT)
            .move_to_version_id(to_version)
            .set_remove_from_version_id(from_version.map(str::to_owned));
        bounded(deadline, request.send()).await.map(|_| ())
    }

    async fn version_exists(&self, secret_id: &str, version_id: &str, deadline: Deadline) -> Result<bool, StoreError> {
        // The DescribeSecret reference (VersionIdsToStages): versions without labels are left
        // out, and "to check if a secret version exists, call GetSecretValue". The value read
        // is dropped at once.
        let request = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_id(version_id);
        match bounded(deadline, request.send()).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn remove_pending(&self, secret_id: &str, version_id: &str, deadline: Deadline) -> Result<(), StoreError> {
        let request = self
            .client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSPENDING)
            .remove_from_version_id(version_id);
        bounded(deadline, request.send()).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn the_client_is_built_from_the_variables_lambda_sets() {
        let env = lookup(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
        ]);
        assert!(AwsSecretStore::from_lambda_env(env).is_ok());
    }

    #[test]
    fn the_sdk_names_the_tool_in_its_user_agent() {
        let env = lookup(&[
            ("AWS_REGION", "us-gov-west-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
        ]);
        let store = AwsSecretStore::from_lambda_env(env).unwrap();
        assert_eq!(
            store.client.config().app_name().map(|name| name.as_ref()),
            Some(APP_NAME)
        );
    }

    #[test]
    fn the_fips_and_dual_stack_switches_are_read_as_the_sdks_read_them() {
        let switch =
            |value: Option<&'static str>| sdk_switch(&move |_: &str| value.map(str::to_owned), "AWS_USE_FIPS_ENDPOINT");
        assert!(switch(Some("true")).unwrap());
        assert!(switch(Some("TRUE")).unwrap());
        assert!(!switch(Some("false")).unwrap());
        assert!(!switch(None).unwrap());
        assert!(matches!(
            switch(Some("yes")),
            Err(LambdaEnvError::NotABoolean("AWS_USE_FIPS_ENDPOINT"))
        ));
        let env = lookup(&[
            ("AWS_REGION", "us-gov-west-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
        ]);
        assert!(AwsSecretStore::from_lambda_env(env).is_ok());
    }

    #[test]
    fn a_missing_variable_is_named() {
        let env = lookup(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]);
        assert!(matches!(
            AwsSecretStore::from_lambda_env(env),
            Err(LambdaEnvError::Missing("AWS_REGION"))
        ));
        let env = lookup(&[("AWS_REGION", "us-east-1"), ("AWS_SECRET_ACCESS_KEY", "b")]);
        assert!(matches!(
            AwsSecretStore::from_lambda_env(env),
            Err(LambdaEnvError::Missing("AWS_ACCESS_KEY_ID"))
        ));
    }
}
