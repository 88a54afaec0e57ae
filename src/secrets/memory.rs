//! An in-memory [`SecretStore`] for unit tests: versions, stage labels and idempotency tokens
//! behave as Secrets Manager's do, and every call is counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};

use super::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, NewVersionStage, SecretDescription, SecretStore, SecretValue, StoreError,
    StoredVersion, VersionSelector,
};
use crate::deadline::Deadline;

#[derive(Clone, Default)]
pub struct InMemorySecretStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    secrets: HashMap<String, Secret>,
    reads: HashMap<String, usize>,
    writes: HashMap<String, usize>,
    failures: Vec<StoreError>,
}

#[derive(Default)]
struct Secret {
    /// Version id -> (value, stages). `None` value: binary, or a pending version without a value.
    versions: HashMap<String, (Option<String>, Vec<String>)>,
    rotation_enabled: bool,
}

impl InMemorySecretStore {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Sets a secret's current text, as an operator would.
    pub fn set_text(&self, secret_id: &str, text: &str) {
        let token = uuid::Uuid::new_v4().to_string();
        self.with(|inner| {
            put_version(
                inner.secrets.entry(secret_id.to_owned()).or_default(),
                &token,
                Some(text),
                AWSCURRENT,
            )
        });
    }

    /// Makes the secret hold SecretBinary only.
    pub fn set_binary(&self, secret_id: &str) {
        let token = uuid::Uuid::new_v4().to_string();
        self.with(|inner| {
            put_version(
                inner.secrets.entry(secret_id.to_owned()).or_default(),
                &token,
                None,
                AWSCURRENT,
            )
        });
    }

    /// The next calls fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = StoreError>) {
        self.with(|inner| inner.failures.extend(errors));
    }

    pub fn reads(&self, secret_id: &str) -> usize {
        self.with(|inner| inner.reads.get(secret_id).copied().unwrap_or(0))
    }

    pub fn writes(&self, secret_id: &str) -> usize {
        self.with(|inner| inner.writes.get(secret_id).copied().unwrap_or(0))
    }

    pub fn current_text(&self, secret_id: &str) -> Option<String> {
        self.with(|inner| {
            let secret = inner.secrets.get(secret_id)?;
            secret
                .versions
                .values()
                .find(|(_, stages)| stages.iter().any(|s| s == AWSCURRENT))?
                .0
                .clone()
        })
    }

    fn take_failure(&self) -> Result<(), StoreError> {
        self.with(|inner| {
            if inner.failures.is_empty() {
                Ok(())
            } else {
                Err(inner.failures.remove(0))
            }
        })
    }
}

fn put_version(secret: &mut Secret, token: &str, text: Option<&str>, stage: &str) {
    if stage == AWSCURRENT {
        for (_, stages) in secret.versions.values_mut() {
            stages.retain(|s| s != AWSPREVIOUS);
        }
        for (_, stages) in secret.versions.values_mut() {
            if let Some(label) = stages.iter_mut().find(|s| *s == AWSCURRENT) {
                *label = AWSPREVIOUS.to_owned();
            }
        }
    } else {
        for (_, stages) in secret.versions.values_mut() {
            stages.retain(|s| s != stage);
        }
    }
    secret
        .versions
        .insert(token.to_owned(), (text.map(str::to_owned), vec![stage.to_owned()]));
}

impl SecretStore for InMemorySecretStore {
    async fn get(
        &self,
        secret_id: &str,
        selector: VersionSelector<'_>,
        _: Deadline,
    ) -> Result<SecretValue, StoreError> {
        self.take_failure()?;
        self.with(|inner| {
            *inner.reads.entry(secret_id.to_owned()).or_default() += 1;
            let secret = inner.secrets.get(secret_id).ok_or(StoreError::NotFound)?;
            let (version_id, (text, _)) = match selector {
                VersionSelector::Current => secret
                    .versions
                    .iter()
                    .find(|(_, (_, stages))| stages.iter().any(|s| s == AWSCURRENT))
                    .ok_or(StoreError::NotFound)?,
                VersionSelector::Pending(id) => secret
                    .versions
                    .get_key_value(id)
                    .filter(|(_, (text, stages))| text.is_some() && stages.iter().any(|s| s == AWSPENDING))
                    .ok_or(StoreError::NotFound)?,
            };
            Ok(SecretValue {
                version_id: version_id.clone(),
                text: text.clone().map(SecretString::from),
            })
        })
    }

    async fn put(
        &self,
        secret_id: &str,
        text: &SecretString,
        token: &str,
        stage: NewVersionStage,
        _: Deadline,
    ) -> Result<StoredVersion, StoreError> {
        self.take_failure()?;
        self.with(|inner| {
            *inner.writes.entry(secret_id.to_owned()).or_default() += 1;
            let secret = inner.secrets.get_mut(secret_id).ok_or(StoreError::NotFound)?;
            let value = text.expose_secret();
            match secret.versions.get_mut(token) {
                Some((Some(existing), _)) if existing == value => {}
                Some((Some(_), _)) => return Err(StoreError::TokenConflict),
                // A pending version created without a value (native rotation) takes the value.
                Some((stored @ None, _)) => *stored = Some(value.to_owned()),
                None => put_version(secret, token, Some(value), stage.label()),
            }
            Ok(StoredVersion {
                secret_id: secret_id.to_owned(),
                version_id: token.to_owned(),
            })
        })
    }

    async fn describe(&self, secret_id: &str, _: Deadline) -> Result<SecretDescription, StoreError> {
        self.take_failure()?;
        self.with(|inner| {
            let secret = inner.secrets.get(secret_id).ok_or(StoreError::NotFound)?;
            Ok(SecretDescription {
                arn: secret_id.to_owned(),
                rotation_enabled: secret.rotation_enabled,
                versions: secret
                    .versions
                    .iter()
                    .map(|(id, (_, stages))| (id.clone(), stages.clone()))
                    .collect(),
            })
        })
    }

    async fn promote(&self, secret_id: &str, to_version: &str, _: Option<&str>, _: Deadline) -> Result<(), StoreError> {
        self.take_failure()?;
        self.with(|inner| {
            let secret = inner.secrets.get_mut(secret_id).ok_or(StoreError::NotFound)?;
            let (text, _) = secret.versions.remove(to_version).ok_or(StoreError::NotFound)?;
            put_version(secret, to_version, text.as_deref(), AWSCURRENT);
            Ok(())
        })
    }
}
