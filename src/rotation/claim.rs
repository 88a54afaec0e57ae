//! One regenerate per occurrence: before a delivery asks Graph for a new key, it claims the
//! occurrence with a conditional write to the claim store, a secret the stack owns for nothing else.
//!
//! Graph's regenerate has no idempotency key, so two deliveries of one occurrence (a Scheduler or
//! Lambda retry racing the first attempt, or two invocations of one native step) would each
//! regenerate, and the key stored first would die seconds later. The claim is the only guard.
//!
//! A claim is a `PutSecretValue` on the claim store whose `ClientRequestToken` is derived from the
//! occurrence and a generation number, with a document unique to the delivery (its random holder
//! id, its lease's end). Secrets Manager accepts the first and refuses every other with
//! `ResourceExistsException` (PutSecretValue reference: "you can't modify an existing version"), so
//! exactly one delivery holds each generation. The key secret gets no version from it: its
//! readers and the one-version-per-occurrence promise only ever see real keys.
//!
//! A delivery that finds the occurrence claimed waits until the holder writes its release (a
//! second version, under the release token) or its lease ends, then tries the next generation.
//! The lease ends at the holder's Lambda deadline plus a grace for a request it may still have had
//! in flight: Lambda stops a function at its deadline, so a holder past it is dead, and a delivery
//! that then claims the next generation takes the occurrence over. Whoever holds a claim looks
//! again before it regenerates, since the occurrence may have been completed meanwhile.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::deadline::Deadline;
use crate::secrets::{NewVersion, SecretStore, StoreError, VersionSelector};

/// Namespace of the claim and release tokens (a fixed, random UUID).
const NAMESPACE: uuid::Uuid = uuid::uuid!("0d3c8a52-7a4e-4b8e-9f0b-6c1f2e9d4a37");
/// Takeovers of one occurrence before giving up: each needs a holder that died.
const MAX_GENERATIONS: u32 = 8;
/// Left for the call that follows a wait.
const RESERVE: Duration = Duration::from_secs(2);

/// How long after a holder's deadline its claim still stands: a regenerate it sent just before
/// Lambda stopped it may still be on its way to Graph.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// How often a waiting delivery looks for the holder's release.
pub const DEFAULT_POLL: Duration = Duration::from_millis(250);

/// Why an occurrence could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(
        "another delivery of this occurrence holds its claim until {until}; failing so that the occurrence is retried once it has finished or its claim has lapsed"
    )]
    Held { until: String },
    #[error("the claim store {secret_id} could not be {action}: {source}")]
    Store {
        secret_id: String,
        action: &'static str,
        source: StoreError,
    },
    #[error(
        "the claim store {secret_id} holds a claim this function did not write (version {version_id}); refusing to regenerate"
    )]
    Unreadable { secret_id: String, version_id: String },
    #[error("the occurrence was taken over {MAX_GENERATIONS} times (each claim holder died); refusing to regenerate")]
    TooManyTakeovers,
}

/// The document a claim holds: whose it is and until when. Nothing secret.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimDocument {
    occurrence: String,
    generation: u32,
    holder: String,
    claimed_at: String,
    expires_at: String,
}

/// The claim store: the secret whose versions claim occurrences.
#[derive(Debug, Clone)]
pub struct Claims {
    secret_id: String,
    poll: Duration,
    grace: Duration,
}

/// A held claim. Released with [`Lease::release`]; a lease that is never released lapses.
#[derive(Debug)]
#[must_use = "a lease is released when the occurrence is done"]
pub struct Lease {
    secret_id: String,
    occurrence: String,
    generation: u32,
    holder: String,
}

impl Claims {
    pub fn new(secret_id: String) -> Self {
        Claims {
            secret_id,
            poll: DEFAULT_POLL,
            grace: DEFAULT_GRACE,
        }
    }

    /// The same store with other timing (tests: a holder that dies lapses at once).
    pub fn with_timing(mut self, poll: Duration, grace: Duration) -> Self {
        self.poll = poll;
        self.grace = grace;
        self
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// Claims `occurrence` for this delivery, waiting while another delivery holds it. Returns
    /// once this delivery holds a claim; the caller then looks again whether the occurrence is
    /// done (a holder before it may have finished it).
    pub async fn claim<S: SecretStore>(
        &self,
        store: &S,
        occurrence: &str,
        deadline: Deadline,
    ) -> Result<Lease, ClaimError> {
        for generation in 0..MAX_GENERATIONS {
            let holder = uuid::Uuid::new_v4().to_string();
            let now = OffsetDateTime::now_utc();
            let document = ClaimDocument {
                occurrence: occurrence.to_owned(),
                generation,
                holder: holder.clone(),
                claimed_at: rfc3339(now),
                expires_at: rfc3339(now + deadline.remaining() + self.grace),
            };
            let text = SecretString::from(serde_json::to_string(&document).unwrap_or_default());
            let token = claim_token(occurrence, generation);
            match store
                .put(&self.secret_id, NewVersion::current(&text, &token), deadline)
                .await
            {
                Ok(_) => {
                    return Ok(Lease {
                        secret_id: self.secret_id.clone(),
                        occurrence: occurrence.to_owned(),
                        generation,
                        holder,
                    });
                }
                Err(StoreError::TokenConflict) => self.wait_out(store, occurrence, generation, deadline).await?,
                Err(source) => return Err(self.store_error("written", source)),
            }
        }
        Err(ClaimError::TooManyTakeovers)
    }

    /// Waits until the holder of `generation` releases it or its lease ends.
    async fn wait_out<S: SecretStore>(
        &self,
        store: &S,
        occurrence: &str,
        generation: u32,
        deadline: Deadline,
    ) -> Result<(), ClaimError> {
        let token = claim_token(occurrence, generation);
        let held = match store
            .get(&self.secret_id, VersionSelector::Version(&token), deadline)
            .await
        {
            Ok(value) => value,
            // Pruned between the refused write and this read: only versions a day old are.
            Err(StoreError::NotFound) => return Ok(()),
            Err(source) => return Err(self.store_error("read", source)),
        };
        let expires_at = held
            .text
            .as_ref()
            .and_then(|text| serde_json::from_str::<ClaimDocument>(text.expose_secret()).ok())
            .filter(|document| document.occurrence == occurrence && document.generation == generation)
            .and_then(|document| OffsetDateTime::parse(&document.expires_at, &Rfc3339).ok())
            .ok_or_else(|| ClaimError::Unreadable {
                secret_id: self.secret_id.clone(),
                version_id: token.clone(),
            })?;
        loop {
            if self.released(store, occurrence, generation, deadline).await? {
                return Ok(());
            }
            if OffsetDateTime::now_utc() >= expires_at {
                tracing::warn!(
                    occurrence,
                    generation,
                    "the delivery holding this occurrence's claim did not finish before its lease ended; taking the occurrence over"
                );
                return Ok(());
            }
            if !deadline.allows(self.poll, RESERVE) {
                return Err(ClaimError::Held {
                    until: rfc3339(expires_at),
                });
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    async fn released<S: SecretStore>(
        &self,
        store: &S,
        occurrence: &str,
        generation: u32,
        deadline: Deadline,
    ) -> Result<bool, ClaimError> {
        let token = release_token(occurrence, generation);
        match store
            .get(&self.secret_id, VersionSelector::Version(&token), deadline)
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(source) => Err(self.store_error("read", source)),
        }
    }

    fn store_error(&self, action: &'static str, source: StoreError) -> ClaimError {
        ClaimError::Store {
            secret_id: self.secret_id.clone(),
            action,
            source,
        }
    }
}

impl Lease {
    /// Tells waiting deliveries that this one is done with the occurrence (whether it succeeded
    /// or not: they look at the key secret themselves). A release that cannot be written is
    /// logged: the waiters then wait for the lease to end.
    pub async fn release<S: SecretStore>(self, store: &S, deadline: Deadline) {
        let document = serde_json::json!({
            "occurrence": self.occurrence,
            "generation": self.generation,
            "holder": self.holder,
            "releasedAt": rfc3339(OffsetDateTime::now_utc()),
        });
        let text = SecretString::from(document.to_string());
        let token = release_token(&self.occurrence, self.generation);
        if let Err(error) = store
            .put(&self.secret_id, NewVersion::current(&text, &token), deadline)
            .await
        {
            tracing::warn!(
                secret_id = self.secret_id,
                error = %error,
                "the occurrence's claim could not be released; other deliveries wait for its lease to end"
            );
        }
    }
}

/// The claim token of one generation of an occurrence's claim (a version id of the claim store).
pub fn claim_token(occurrence: &str, generation: u32) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, format!("{occurrence}|claim|{generation}").as_bytes()).to_string()
}

fn release_token(occurrence: &str, generation: u32) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, format!("{occurrence}|release|{generation}").as_bytes()).to_string()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A claim document as a holder writes it, for tests that stand in for another delivery.
#[cfg(test)]
pub(crate) fn document(occurrence: &str, generation: u32, expires_at: OffsetDateTime) -> SecretString {
    let now = OffsetDateTime::now_utc();
    SecretString::from(
        serde_json::to_string(&ClaimDocument {
            occurrence: occurrence.to_owned(),
            generation,
            holder: "another-delivery".to_owned(),
            claimed_at: rfc3339(now),
            expires_at: rfc3339(expires_at),
        })
        .unwrap_or_default(),
    )
}
