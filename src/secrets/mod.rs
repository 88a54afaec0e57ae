//! The Secrets Manager port: the few secret operations the domain needs, as a narrow trait.
//!
//! [`AwsSecretStore`] is the adapter for AWS Secrets Manager; [`memory::InMemorySecretStore`] is a
//! hand-written fake for unit tests. Values travel as [`SecretString`] so they never print.

use std::collections::HashMap;
use std::future::Future;

use secrecy::SecretString;
use serde::Serialize;

use crate::deadline::Deadline;
pub use crate::upstream::StoreError;

mod aws;
pub mod http;
#[cfg(test)]
pub(crate) mod memory;

pub(crate) use aws::sdk_switch;
pub use aws::{AwsSecretStore, LambdaEnv, LambdaEnvError};

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPENDING: &str = "AWSPENDING";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// Which version of a secret to read. Every read names a stage: reading "the default version"
/// is exactly what goes wrong while a rotation is half done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSelector<'a> {
    Current,
    /// The version `id`, only while it carries the AWSPENDING label.
    Pending(&'a str),
    /// The version `id`, whatever its labels (the claim store's versions have none to name).
    Version(&'a str),
}

/// The stage a newly written version takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewVersionStage {
    Current,
    Pending,
}

/// What a `put` writes: the text, under the idempotency `token` (which becomes the version id),
/// taking `stage`. One value, so that the secret's id and the token, both `&str`, cannot swap.
#[derive(Debug, Clone, Copy)]
pub struct NewVersion<'a> {
    pub text: &'a SecretString,
    pub token: &'a str,
    pub stage: NewVersionStage,
}

impl<'a> NewVersion<'a> {
    /// `text` under `token`, taking AWSCURRENT.
    pub fn current(text: &'a SecretString, token: &'a str) -> Self {
        NewVersion {
            text,
            token,
            stage: NewVersionStage::Current,
        }
    }

    /// `text` under `token`, taking AWSPENDING.
    pub fn pending(text: &'a SecretString, token: &'a str) -> Self {
        NewVersion {
            text,
            token,
            stage: NewVersionStage::Pending,
        }
    }
}

impl NewVersionStage {
    pub fn label(self) -> &'static str {
        match self {
            NewVersionStage::Current => AWSCURRENT,
            NewVersionStage::Pending => AWSPENDING,
        }
    }
}

#[derive(Debug)]
pub struct SecretValue {
    pub version_id: String,
    /// `None` when the secret holds SecretBinary instead of SecretString.
    pub text: Option<SecretString>,
}

/// Where a value was written: the response to a caller names it, so it serializes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredVersion {
    pub secret_id: String,
    pub version_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDescription {
    pub arn: String,
    pub rotation_enabled: bool,
    /// Version id -> its stage labels.
    pub versions: HashMap<String, Vec<String>>,
}

impl SecretDescription {
    pub fn version_with_stage(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.as_str())
    }

    pub fn has_stage(&self, version_id: &str, stage: &str) -> bool {
        self.versions
            .get(version_id)
            .is_some_and(|stages| stages.iter().any(|s| s == stage))
    }
}

/// The secret operations this function performs.
pub trait SecretStore: Send + Sync {
    fn get(
        &self,
        secret_id: &str,
        selector: VersionSelector<'_>,
        deadline: Deadline,
    ) -> impl Future<Output = Result<SecretValue, StoreError>> + Send;

    /// Writes a new version under the idempotency `token`. AWS's PutSecretValue reference: the
    /// same value under a token already used "succeeds but does nothing" (no label moves), and a
    /// different value under it fails. A retry is therefore safe only with the value it first
    /// wrote; a retry holding a newer key needs a new token.
    fn put(
        &self,
        secret_id: &str,
        version: NewVersion<'_>,
        deadline: Deadline,
    ) -> impl Future<Output = Result<StoredVersion, StoreError>> + Send;

    fn describe(
        &self,
        secret_id: &str,
        deadline: Deadline,
    ) -> impl Future<Output = Result<SecretDescription, StoreError>> + Send;

    /// Moves AWSCURRENT to `to_version` (AWSPREVIOUS follows to the old current version); the
    /// version keeps its other labels.
    fn promote(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
        deadline: Deadline,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether version `version_id` was written, whether or not it still carries a label.
    /// `DescribeSecret` lists only labelled versions, so an idempotency check that must still
    /// find an occurrence's version after two later rotations asks this instead.
    fn version_exists(
        &self,
        secret_id: &str,
        version_id: &str,
        deadline: Deadline,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes AWSPENDING off `version_id`: a rotation must not end with AWSPENDING on a version
    /// other than AWSCURRENT's, or Secrets Manager refuses the next `RotateSecret`.
    fn remove_pending(
        &self,
        secret_id: &str,
        version_id: &str,
        deadline: Deadline,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A store that may be absent (the CLI when no AWS is configured): each call on `None` is refused.
/// The key service calls its store only for a key secret, which such a caller never names.
impl<T: SecretStore> SecretStore for Option<T> {
    async fn get(
        &self,
        secret_id: &str,
        selector: VersionSelector<'_>,
        deadline: Deadline,
    ) -> Result<SecretValue, StoreError> {
        self.as_ref()
            .ok_or_else(absent)?
            .get(secret_id, selector, deadline)
            .await
    }

    async fn put(
        &self,
        secret_id: &str,
        version: NewVersion<'_>,
        deadline: Deadline,
    ) -> Result<StoredVersion, StoreError> {
        self.as_ref()
            .ok_or_else(absent)?
            .put(secret_id, version, deadline)
            .await
    }

    async fn describe(&self, secret_id: &str, deadline: Deadline) -> Result<SecretDescription, StoreError> {
        self.as_ref().ok_or_else(absent)?.describe(secret_id, deadline).await
    }

    async fn promote(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
        deadline: Deadline,
    ) -> Result<(), StoreError> {
        self.as_ref()
            .ok_or_else(absent)?
            .promote(secret_id, to_version, from_version, deadline)
            .await
    }

    async fn version_exists(&self, secret_id: &str, version_id: &str, deadline: Deadline) -> Result<bool, StoreError> {
        self.as_ref()
            .ok_or_else(absent)?
            .version_exists(secret_id, version_id, deadline)
            .await
    }

    async fn remove_pending(&self, secret_id: &str, version_id: &str, deadline: Deadline) -> Result<(), StoreError> {
        self.as_ref()
            .ok_or_else(absent)?
            .remove_pending(secret_id, version_id, deadline)
            .await
    }
}

fn absent() -> StoreError {
    StoreError::Refused {
        code: "NoStore".into(),
        message: "no Secrets Manager client is configured".into(),
    }
}
