//! `POST /sensor-key/regenerate`, `mdi-sensor-key regenerate [--store]`: a new key at Graph, stored
//! in the key secret when one is configured.

use http::Method;

use super::{Answer, Answered, Body, Declaration, KeyRegenerated, Operation, Outcome, Ports, Tally};
use crate::access::Permission;
use crate::deadline::Deadline;
use crate::keys::{KeySource, Trigger};
use crate::secrets::SecretStore;

pub static DECLARATION: Declaration = Declaration {
    name: "regenerate-key",
    method: Method::POST,
    path: "/sensor-key/regenerate",
    permission: Permission::RegenerateKey,
    tally: Tally::Regeneration,
    body: Body::None,
    query: &[],
    command: "regenerate",
    about: "Regenerate the key at Graph (the old one stops working at once) and print the new one",
    input: |_| Ok(Operation::RegenerateKey(Trigger::Api)),
};

/// Who asked: the HTTP route or the CLI.
pub type Input = Trigger;

/// The idempotency token is fresh for each run: each request is its own occurrence.
pub async fn run<G, K: KeySource, S: SecretStore>(
    ports: Ports<'_, G, K, S>,
    trigger: Input,
    deadline: Deadline,
) -> Answered {
    let token = uuid::Uuid::new_v4().to_string();
    let done = ports.keys.regenerate(trigger, &token, deadline).await?;
    Ok(Answer::new(
        Outcome::Regenerated(KeyRegenerated {
            key: Some(done.key),
            stored: done.stored,
            verified: done.verified,
            concurrent_regenerate_won: done.drift_repaired,
        }),
        done.graph_request_id,
    ))
}
