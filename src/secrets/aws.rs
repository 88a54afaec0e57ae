//! The AWS Secrets Manager adapter of [`SecretStore`].
//!
//! Each call is bounded by the invocation's deadline on top of the SDK's own timeouts and
//! retries, and SDK errors are classified by their AWS error code.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use secrecy::{ExposeSecret, SecretString};

use super::{
    AWSCURRENT, AWSPENDING, NewVersionStage, SecretDescription, SecretStore, SecretValue, StoreError, StoredVersion,
    VersionSelector,
};
use crate::deadline::Deadline;

/// Secrets Manager through the AWS SDK. Cheap to clone: the SDK client is shared.
#[derive(Clone, Debug)]
pub struct AwsSecretStore {
    client: Client,
}

impl AwsSecretStore {
    pub fn new(client: Client) -> Self {
        AwsSecretStore { client }
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
        text: &SecretString,
        token: &str,
        stage: NewVersionStage,
        deadline: Deadline,
    ) -> Result<StoredVersion, StoreError> {
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
}
