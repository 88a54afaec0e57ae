//! An in-memory [`SecretStore`] for unit tests: versions, stage labels and idempotency tokens
//! behave as Secrets Manager's do (as `tools/moto_server.py` makes moto behave, each rule with AWS's
//! text there), and every call is counted: a rotation that is not finished refuses the next one and
//! keeps its labels, the version quota refuses a write, and each AWSPENDING variant can be chosen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};

use super::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, NewVersion, NewVersionStage, SecretDescription, SecretStore, SecretValue,
    StoreError, StoredVersion, VersionSelector,
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
    failures: Vec<StoreError>,
    pending: PendingVariant,
}

/// What becomes of AWSPENDING once a rotation has succeeded, where AWS's sources disagree
/// (tools/moto_server.py, docs/rotation.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PendingVariant {
    /// It stays where the rotation function left it, through later writes too.
    #[default]
    Kept,
    /// Secrets Manager removes it when the rotation succeeds, and when a new AWSCURRENT version is
    /// written while it sits on another version (RotationAbandoned).
    Cleared,
}

/// Versions a secret may hold ("Versions of a secret: ~100", Secrets Manager quotas).
pub const MAX_VERSIONS: usize = 100;

#[derive(Default)]
struct Secret {
    /// Version id -> (value, stages). `None` value: binary, or a pending version without a value.
    versions: HashMap<String, (Option<String>, Vec<String>)>,
    /// Versions more than a day old: the only ones Secrets Manager prunes.
    aged: Vec<String>,
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

    /// Chooses what becomes of AWSPENDING after a rotation (see [`PendingVariant`]).
    pub fn set_pending_variant(&self, variant: PendingVariant) {
        self.with(|inner| inner.pending = variant);
    }

    /// What `RotateSecret` does before it invokes createSecret: enables rotation and creates the
    /// token's version, labelled AWSPENDING, without a value. As in Secrets Manager, it refuses
    /// while AWSPENDING sits on a version other than AWSCURRENT's ("A previous rotation isn't
    /// complete. That rotation will be reattempted."), keeping every label, and answers the token
    /// Secrets Manager then reattempts the rotation with. AWSPENDING beside AWSCURRENT is a
    /// finished rotation: a new one starts.
    pub fn start_rotation(&self, secret_id: &str, token: &str) -> Result<(), String> {
        self.with(|inner| {
            let secret = inner.secrets.entry(secret_id.to_owned()).or_default();
            let pending = version_with_stage(secret, AWSPENDING);
            if pending.is_some() && pending != version_with_stage(secret, AWSCURRENT) {
                return Err(pending.unwrap_or_default());
            }
            secret.rotation_enabled = true;
            for (_, stages) in secret.versions.values_mut() {
                stages.retain(|s| s != AWSPENDING);
            }
            secret
                .versions
                .insert(token.to_owned(), (None, vec![AWSPENDING.to_owned()]));
            Ok(())
        })
    }

    /// What Secrets Manager does once every step of the rotation of `token` succeeded: with
    /// [`PendingVariant::Cleared`], it takes AWSPENDING off the token's version.
    pub fn finish_rotation(&self, secret_id: &str, token: &str) {
        self.with(|inner| {
            if inner.pending != PendingVariant::Cleared {
                return;
            }
            if let Some((_, stages)) = inner
                .secrets
                .get_mut(secret_id)
                .and_then(|secret| secret.versions.get_mut(token))
            {
                stages.retain(|s| s != AWSPENDING);
            }
        });
    }

    /// `RotateSecret` with `RotateImmediately=false`: an AWSPENDING test version (empty, or with
    /// a copy of AWSCURRENT's value: AWS does not say which) for testSecret alone.
    pub fn start_test_rotation(&self, secret_id: &str, token: &str, with_current_value: bool) {
        self.with(|inner| {
            let secret = inner.secrets.entry(secret_id.to_owned()).or_default();
            secret.rotation_enabled = true;
            let value = with_current_value
                .then(|| {
                    secret
                        .versions
                        .values()
                        .find(|(_, stages)| stages.iter().any(|s| s == AWSCURRENT))
                        .and_then(|(text, _)| text.clone())
                })
                .flatten();
            for (_, stages) in secret.versions.values_mut() {
                stages.retain(|s| s != AWSPENDING);
            }
            secret
                .versions
                .insert(token.to_owned(), (value, vec![AWSPENDING.to_owned()]));
        });
    }

    /// "This test creates an AWSPENDING version of the secret and then removes it."
    pub fn end_test_rotation(&self, secret_id: &str, token: &str) {
        self.with(|inner| {
            let Some(secret) = inner.secrets.get_mut(secret_id) else {
                return;
            };
            if let Some((_, stages)) = secret.versions.get_mut(token) {
                stages.retain(|s| s != AWSPENDING);
                if stages.is_empty() {
                    secret.versions.remove(token);
                }
            }
        });
    }

    /// Every version of `secret_id` becomes more than a day old, so unlabelled ones can be pruned.
    pub fn age_versions(&self, secret_id: &str) {
        self.with(|inner| {
            if let Some(secret) = inner.secrets.get_mut(secret_id) {
                secret.aged = secret.versions.keys().cloned().collect();
            }
        });
    }

    /// How many versions `secret_id` holds, labelled or not.
    pub fn version_count(&self, secret_id: &str) -> usize {
        self.with(|inner| inner.secrets.get(secret_id).map_or(0, |secret| secret.versions.len()))
    }

    /// The labels of version `version_id`, whether or not `describe` would list it.
    pub fn labels(&self, secret_id: &str, version_id: &str) -> Option<Vec<String>> {
        self.with(|inner| Some(inner.secrets.get(secret_id)?.versions.get(version_id)?.1.clone()))
    }

    /// The id of the version labelled `stage`.
    pub fn version_with(&self, secret_id: &str, stage: &str) -> Option<String> {
        self.with(|inner| {
            inner
                .secrets
                .get(secret_id)?
                .versions
                .iter()
                .find(|(_, (_, stages))| stages.iter().any(|s| s == stage))
                .map(|(id, _)| id.clone())
        })
    }

    /// The next calls fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = StoreError>) {
        self.with(|inner| inner.failures.extend(errors));
    }

    pub fn reads(&self, secret_id: &str) -> usize {
        self.with(|inner| inner.reads.get(secret_id).copied().unwrap_or(0))
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

fn version_with_stage(secret: &Secret, stage: &str) -> Option<String> {
    secret
        .versions
        .iter()
        .find(|(_, (_, stages))| stages.iter().any(|s| s == stage))
        .map(|(id, _)| id.clone())
}

/// Before a new version: prunes unlabelled versions more than a day old while 100 or more remain,
/// and refuses when 100 remain ("Secrets Manager removes unlabeled versions when there are more
/// than 100, but it does not remove versions created less than 24 hours ago", Secrets Manager
/// quotas).
fn make_room(secret: &mut Secret) -> Result<(), StoreError> {
    let prunable: Vec<String> = secret
        .aged
        .iter()
        .filter(|id| secret.versions.get(*id).is_some_and(|(_, stages)| stages.is_empty()))
        .cloned()
        .collect();
    for id in prunable {
        if secret.versions.len() < MAX_VERSIONS {
            break;
        }
        secret.versions.remove(&id);
    }
    if secret.versions.len() >= MAX_VERSIONS {
        return Err(StoreError::QuotaExceeded {
            message: format!("the secret holds {} versions", secret.versions.len()),
        });
    }
    Ok(())
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
                VersionSelector::Version(id) => secret
                    .versions
                    .get_key_value(id)
                    .filter(|(_, (text, _))| text.is_some())
                    .ok_or(StoreError::NotFound)?,
            };
            Ok(SecretValue {
                version_id: version_id.clone(),
                text: text.clone().map(SecretString::from),
            })
        })
    }

    async fn put(&self, secret_id: &str, version: NewVersion<'_>, _: Deadline) -> Result<StoredVersion, StoreError> {
        let NewVersion { text, token, stage } = version;
        self.take_failure()?;
        self.with(|inner| {
            let variant = inner.pending;
            let secret = inner.secrets.get_mut(secret_id).ok_or(StoreError::NotFound)?;
            let value = text.expose_secret();
            match secret.versions.get_mut(token) {
                Some((Some(existing), _)) if existing == value => {}
                Some((Some(_), _)) => return Err(StoreError::TokenConflict),
                // A pending version created without a value (native rotation) takes the value.
                Some((stored @ None, _)) => *stored = Some(value.to_owned()),
                None => {
                    make_room(secret)?;
                    put_version(secret, token, Some(value), stage.label());
                    // RotationAbandoned: a new version written by hand while AWSPENDING sits on
                    // another version ends that rotation (the Cleared variant).
                    if stage == NewVersionStage::Current && variant == PendingVariant::Cleared {
                        for (id, (_, stages)) in secret.versions.iter_mut() {
                            if id != token {
                                stages.retain(|s| s != AWSPENDING);
                            }
                        }
                    }
                }
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
                // As the DescribeSecret API reference says of VersionIdsToStages: only versions
                // that have staging labels attached are listed; the others are deprecated.
                versions: secret
                    .versions
                    .iter()
                    .filter(|(_, (_, stages))| !stages.is_empty())
                    .map(|(id, (_, stages))| (id.clone(), stages.clone()))
                    .collect(),
            })
        })
    }

    async fn promote(&self, secret_id: &str, to_version: &str, _: Option<&str>, _: Deadline) -> Result<(), StoreError> {
        self.take_failure()?;
        self.with(|inner| {
            let secret = inner.secrets.get_mut(secret_id).ok_or(StoreError::NotFound)?;
            if !secret.versions.contains_key(to_version) {
                return Err(StoreError::NotFound);
            }
            // UpdateSecretVersionStage adds the label to the version's others and moves
            // AWSPREVIOUS to the version AWSCURRENT leaves.
            if secret.versions[to_version].1.iter().any(|s| s == AWSCURRENT) {
                return Ok(());
            }
            for (_, stages) in secret.versions.values_mut() {
                stages.retain(|s| s != AWSPREVIOUS);
                if let Some(label) = stages.iter_mut().find(|s| *s == AWSCURRENT) {
                    *label = AWSPREVIOUS.to_owned();
                }
            }
            if let Some((_, stages)) = secret.versions.get_mut(to_version) {
                stages.retain(|s| s != AWSPREVIOUS);
                stages.push(AWSCURRENT.to_owned());
            }
            Ok(())
        })
    }

    async fn version_exists(&self, secret_id: &str, version_id: &str, _: Deadline) -> Result<bool, StoreError> {
        self.take_failure()?;
        self.with(|inner| {
            let secret = inner.secrets.get(secret_id).ok_or(StoreError::NotFound)?;
            // GetSecretValue by VersionId finds only versions that hold a value.
            Ok(secret.versions.get(version_id).is_some_and(|(text, _)| text.is_some()))
        })
    }

    async fn remove_pending(&self, secret_id: &str, version_id: &str, _: Deadline) -> Result<(), StoreError> {
        self.take_failure()?;
        self.with(|inner| {
            let secret = inner.secrets.get_mut(secret_id).ok_or(StoreError::NotFound)?;
            let (_, stages) = secret.versions.get_mut(version_id).ok_or(StoreError::NotFound)?;
            if !stages.iter().any(|s| s == AWSPENDING) {
                return Err(StoreError::Refused {
                    code: "InvalidParameterException".into(),
                    message: format!("Version stage AWSPENDING not found in version {version_id}"),
                });
            }
            stages.retain(|s| s != AWSPENDING);
            Ok(())
        })
    }
}

/// The in-memory store behind [`Gates`](crate::gate::Gates): each call passes a gate named
/// `store.<call>` first, so a test can hold it and act as another writer meanwhile.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct GatedStore {
    pub store: InMemorySecretStore,
    pub gates: crate::gate::Gates,
}

#[cfg(test)]
impl SecretStore for GatedStore {
    async fn get(
        &self,
        secret_id: &str,
        selector: VersionSelector<'_>,
        deadline: Deadline,
    ) -> Result<SecretValue, StoreError> {
        self.gates.pass("store.get").await;
        self.store.get(secret_id, selector, deadline).await
    }

    async fn put(
        &self,
        secret_id: &str,
        version: NewVersion<'_>,
        deadline: Deadline,
    ) -> Result<StoredVersion, StoreError> {
        self.gates.pass("store.put").await;
        self.store.put(secret_id, version, deadline).await
    }

    async fn describe(&self, secret_id: &str, deadline: Deadline) -> Result<SecretDescription, StoreError> {
        self.gates.pass("store.describe").await;
        self.store.describe(secret_id, deadline).await
    }

    async fn promote(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
        deadline: Deadline,
    ) -> Result<(), StoreError> {
        self.gates.pass("store.promote").await;
        self.store.promote(secret_id, to_version, from_version, deadline).await
    }

    async fn version_exists(&self, secret_id: &str, version_id: &str, deadline: Deadline) -> Result<bool, StoreError> {
        self.gates.pass("store.version_exists").await;
        self.store.version_exists(secret_id, version_id, deadline).await
    }

    async fn remove_pending(&self, secret_id: &str, version_id: &str, deadline: Deadline) -> Result<(), StoreError> {
        self.gates.pass("store.remove_pending").await;
        self.store.remove_pending(secret_id, version_id, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn describe_leaves_out_versions_that_lost_every_label_as_secrets_manager_does() {
        let store = InMemorySecretStore::default();
        let soon = Deadline::after(Duration::from_secs(5));
        store.set_text("s", "one");
        let first = store.version_with("s", AWSCURRENT).unwrap();
        store.set_text("s", "two");
        store.set_text("s", "three");

        let described = store.describe("s", soon).await.unwrap();

        assert_eq!(store.labels("s", &first), Some(vec![]));
        assert!(!described.versions.contains_key(&first));
        assert_eq!(described.versions.len(), 2);
        assert!(
            store.version_exists("s", &first, soon).await.unwrap(),
            "GetSecretValue still finds it"
        );
    }

    #[tokio::test]
    async fn promote_keeps_the_versions_other_labels() {
        let store = InMemorySecretStore::default();
        let soon = Deadline::after(Duration::from_secs(5));
        store.set_text("s", "old");
        store.start_rotation("s", "t").unwrap();
        store
            .put("s", NewVersion::pending(&SecretString::from("new"), "t"), soon)
            .await
            .unwrap();

        store.promote("s", "t", None, soon).await.unwrap();

        let mut labels = store.labels("s", "t").unwrap();
        labels.sort();
        assert_eq!(labels, vec![AWSCURRENT.to_owned(), AWSPENDING.to_owned()]);
        assert_eq!(store.current_text("s").as_deref(), Some("new"));
    }

    #[tokio::test]
    async fn a_rotation_is_refused_while_another_is_not_complete_and_every_label_stays() {
        let store = InMemorySecretStore::default();
        let soon = Deadline::after(Duration::from_secs(5));
        store.set_text("s", "old");
        store.start_rotation("s", "t1").unwrap();

        assert_eq!(store.start_rotation("s", "t2"), Err("t1".to_owned()));
        assert_eq!(store.labels("s", "t1"), Some(vec![AWSPENDING.to_owned()]));
        assert_eq!(store.labels("s", "t2"), None);

        // Finished (AWSPENDING beside AWSCURRENT): the next rotation starts and takes the label.
        store
            .put("s", NewVersion::pending(&SecretString::from("new"), "t1"), soon)
            .await
            .unwrap();
        store.promote("s", "t1", None, soon).await.unwrap();
        store.start_rotation("s", "t2").unwrap();
        assert_eq!(store.labels("s", "t1"), Some(vec![AWSCURRENT.to_owned()]));
        assert_eq!(store.labels("s", "t2"), Some(vec![AWSPENDING.to_owned()]));
    }

    #[tokio::test]
    async fn the_cleared_variant_takes_awspending_off_when_a_rotation_ends_or_a_new_version_abandons_it() {
        let store = InMemorySecretStore::default();
        let soon = Deadline::after(Duration::from_secs(5));
        store.set_pending_variant(PendingVariant::Cleared);
        store.set_text("s", "old");
        store.start_rotation("s", "t1").unwrap();

        store
            .put("s", NewVersion::current(&SecretString::from("by hand"), "t2"), soon)
            .await
            .unwrap();

        assert_eq!(store.labels("s", "t1"), Some(vec![]), "RotationAbandoned");
        store.start_rotation("s", "t3").unwrap();
        store
            .put("s", NewVersion::pending(&SecretString::from("new"), "t3"), soon)
            .await
            .unwrap();
        store.promote("s", "t3", None, soon).await.unwrap();
        store.finish_rotation("s", "t3");
        assert_eq!(store.labels("s", "t3"), Some(vec![AWSCURRENT.to_owned()]));
    }

    #[tokio::test]
    async fn a_new_version_beyond_the_quota_is_refused_until_unlabelled_ones_are_a_day_old() {
        let store = InMemorySecretStore::default();
        let soon = Deadline::after(Duration::from_secs(5));
        store.set_text("s", "v0");
        for n in 1..MAX_VERSIONS {
            let text = SecretString::from(format!("v{n}"));
            store
                .put("s", NewVersion::current(&text, &format!("t{n}")), soon)
                .await
                .unwrap();
        }
        let next = SecretString::from("one more");

        let refused = store.put("s", NewVersion::current(&next, "next"), soon).await;
        store.age_versions("s");
        let accepted = store.put("s", NewVersion::current(&next, "next"), soon).await;

        assert!(matches!(refused, Err(StoreError::QuotaExceeded { .. })), "{refused:?}");
        assert!(accepted.is_ok());
        assert_eq!(store.version_count("s"), MAX_VERSIONS);
        assert_eq!(store.current_text("s").as_deref(), Some("one more"));
    }
}
