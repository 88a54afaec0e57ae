//! The four steps of Secrets Manager's native rotation over the key service: createSecret
//! regenerates once per occurrence (under its claim) and promotes at once; setSecret and
//! testSecret only read; finishSecret settles. The invariant they keep is the module's
//! (docs/rotation.md).

use super::{
    Claims, Outcome, RotationError, RotationSummary, Step, claim, describe, release, settle, store_error, write_once,
    written,
};
use crate::deadline::Deadline;
use crate::keys::{KeyError, KeyService, KeySource, Settled, Trigger};
use crate::secrets::{AWSCURRENT, AWSPENDING, NewVersionStage, SecretStore};

/// Native rotation. Graph holds one key: from the regenerate on, only the new key works, so
/// createSecret promotes the new version at once (ending, as the RotateSecret reference allows,
/// with AWSPENDING and AWSCURRENT on the same version) rather than leaving AWSCURRENT dead until
/// finishSecret. setSecret and testSecret only read: they check AWSCURRENT against Graph and
/// write nothing, whatever the token's labels (testSecret may run alone, on a test version
/// Secrets Manager then removes). A token whose rotation is over (AWSCURRENT, AWSPREVIOUS or
/// no label left), as in AWS's reattempt of a rotation an HTTP regenerate overtook, is settled,
/// never refused: a step that fails although nothing is wrong raises the alarm for nothing.
pub(super) async fn run<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    claims: Option<&Claims>,
    secret_id: &str,
    step: Step,
    token: &str,
    deadline: Deadline,
) -> Result<RotationSummary, RotationError> {
    // A createSecret that waited for another delivery's claim looks again: that delivery wrote
    // the key, and the labels now say what is left (a promotion, or nothing).
    for _ in 0..3 {
        if let Some(summary) = native_step(keys, claims, secret_id, step, token, deadline).await? {
            return Ok(summary);
        }
    }
    Err(RotationError::NotCreated {
        secret_id: secret_id.to_owned(),
        token: token.to_owned(),
    })
}

/// One look at a native step; `None` when another delivery of createSecret created the key while
/// this one waited for the occurrence's claim.
async fn native_step<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    claims: Option<&Claims>,
    secret_id: &str,
    step: Step,
    token: &str,
    deadline: Deadline,
) -> Result<Option<RotationSummary>, RotationError> {
    let summary = |outcome, regenerated, drift_repaired, stored_at| RotationSummary {
        outcome,
        secret_id: secret_id.to_owned(),
        version_id: Some(token.to_owned()),
        trigger: Trigger::SecretsManagerRotation,
        step: Some(step),
        regenerated,
        drift_repaired,
        key_stored_at: stored_at,
    };
    // The guards of AWS's rotation function template: rotation enabled, the token a version of
    // the secret. Listed or not: a token whose dead pending key an earlier step put aside still
    // exists, without labels, and DescribeSecret leaves such versions out.
    let description = describe(keys, secret_id, deadline).await?;
    if !description.rotation_enabled {
        return Err(RotationError::RotationNotEnabled(secret_id.to_owned()));
    }
    let listed = description.versions.contains_key(token);
    if !listed
        && !keys
            .store()
            .version_exists(secret_id, token, deadline)
            .await
            .map_err(|source| store_error(secret_id, "read", source))?
    {
        return Err(RotationError::UnknownToken {
            secret_id: secret_id.to_owned(),
            token: token.to_owned(),
        });
    }
    if let Step::Set | Step::Test = step {
        let verified = keys.verify(secret_id, deadline).await?;
        if !verified.holds_graphs_key {
            return Err(RotationError::CurrentNotGraphs {
                secret_id: secret_id.to_owned(),
                step,
                graph_request_id: verified.graph_request_id,
            });
        }
        let outcome = match step {
            Step::Set => Outcome::NothingToDo,
            _ => Outcome::Verified,
        };
        return Ok(Some(summary(outcome, false, false, verified.stored_at)));
    }
    let pending = description.has_stage(token, AWSPENDING) && !description.has_stage(token, AWSCURRENT);
    if !pending {
        // The rotation of this token is over: AWSCURRENT (createSecret promoted it), AWSPREVIOUS
        // or no label (a later write moved AWSCURRENT on). Settle, as every redelivery does.
        let settled = settle(keys, secret_id, deadline).await?;
        if settled.repaired {
            clear_stale_pending(keys, secret_id, token, deadline).await?;
        }
        let outcome = if settled.repaired {
            Outcome::Repaired
        } else {
            Outcome::AlreadyDone
        };
        return Ok(Some(summary(outcome, false, settled.repaired, settled.stored_at)));
    }
    let mut regenerated = false;
    if step == Step::Create && keys.stored_pending_key(secret_id, token, deadline).await?.is_none() {
        let lease = claim(keys, claims, token, deadline).await?;
        let created = async {
            if lease.is_some() && written(keys, secret_id, token, deadline).await? {
                return Ok(None);
            }
            // As for scheduled rotations: a key Graph already replaced is stored, not replaced
            // again.
            let stored = keys.stored_current_key(secret_id, deadline).await?;
            let graph = keys.read(deadline).await?;
            let (key, regenerated) = if stored.as_ref().is_some_and(|(key, _)| key.same_as(&graph.key)) {
                let fresh = keys.regenerate_at_graph(deadline).await?;
                if fresh.key.same_as(&graph.key) {
                    return Err(RotationError::KeyUnchanged {
                        graph_request_id: fresh.graph_request_id,
                    });
                }
                (fresh.key, true)
            } else {
                (graph.key, false)
            };
            write_once(
                keys,
                secret_id,
                &key,
                Trigger::SecretsManagerRotation,
                token,
                NewVersionStage::Pending,
                deadline,
            )
            .await
            .map_err(KeyError::not_stored(secret_id, &None))?;
            Ok(Some(regenerated))
        }
        .await;
        release(keys, lease, deadline).await;
        match created? {
            Some(fresh) => regenerated = fresh,
            None => return Ok(None),
        }
    }
    let (outcome, drift_repaired, settled) = promote_if_live(keys, secret_id, token, deadline).await?;
    Ok(Some(summary(outcome, regenerated, drift_repaired, settled.stored_at)))
}

/// Ends a rotation whose token is AWSPENDING with a value: promotes it if Graph accepts its key;
/// otherwise (a regenerate elsewhere since it was made) takes AWSPENDING off it, so Secrets
/// Manager's next rotation can start, and stores Graph's key as AWSCURRENT instead. Promoting a
/// key Graph no longer accepts would hand every reader a dead key; failing instead would leave it
/// AWSCURRENT's neighbour for every retry, which can never pass.
async fn promote_if_live<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    secret_id: &str,
    token: &str,
    deadline: Deadline,
) -> Result<(Outcome, bool, Settled), RotationError> {
    let pending = keys
        .stored_pending_key(secret_id, token, deadline)
        .await?
        .ok_or_else(|| RotationError::NotCreated {
            secret_id: secret_id.to_owned(),
            token: token.to_owned(),
        })?;
    let graph = keys.read(deadline).await?;
    if !pending.same_as(&graph.key) {
        tracing::warn!(
            secret_id,
            graph_request_id = graph.graph_request_id.as_deref().unwrap_or(""),
            "the AWSPENDING key is no longer the key Graph accepts (a regenerate elsewhere?); not promoting it, storing Graph's key instead"
        );
        keys.store()
            .remove_pending(secret_id, token, deadline)
            .await
            .map_err(|source| store_error(secret_id, "relabelled", source))?;
        let settled = settle(keys, secret_id, deadline).await?;
        return Ok((Outcome::Repaired, true, settled));
    }
    let current = describe(keys, secret_id, deadline).await?;
    keys.store()
        .promote(secret_id, token, current.version_with_stage(AWSCURRENT), deadline)
        .await
        .map_err(|source| store_error(secret_id, "promoted", source))?;
    let settled = settle(keys, secret_id, deadline).await?;
    if settled.repaired {
        clear_stale_pending(keys, secret_id, token, deadline).await?;
    }
    Ok((Outcome::Rotated, settled.repaired, settled))
}

/// After a repair moved AWSCURRENT off the token, AWSPENDING must not stay behind on it.
async fn clear_stale_pending<K: KeySource, S: SecretStore>(
    keys: &KeyService<K, S>,
    secret_id: &str,
    token: &str,
    deadline: Deadline,
) -> Result<(), RotationError> {
    let description = describe(keys, secret_id, deadline).await?;
    if description.has_stage(token, AWSPENDING) && !description.has_stage(token, AWSCURRENT) {
        keys.store()
            .remove_pending(secret_id, token, deadline)
            .await
            .map_err(|source| store_error(secret_id, "relabelled", source))?;
    }
    Ok(())
}
