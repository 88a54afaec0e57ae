//! `GET /sensor-key`, `mdi-sensor-key get`: the key, read live from Graph.

use http::Method;

use super::{Answer, Answered, Body, Declaration, KeyRead, Operation, Outcome, Ports, Tally};
use crate::access::Permission;
use crate::deadline::Deadline;
use crate::keys::KeySource;
use crate::secrets::SecretStore;

pub static DECLARATION: Declaration = Declaration {
    name: "read-key",
    method: Method::GET,
    path: "/sensor-key",
    permission: Permission::ReadKey,
    tally: Tally::KeyRead,
    body: Body::None,
    query: &[],
    command: "get",
    about: "Print the sensor deployment access key, read live from Graph",
    input: |_| Ok(Operation::ReadKey(())),
};

pub type Input = ();

pub async fn run<G, K: KeySource, S: SecretStore>(
    ports: Ports<'_, G, K, S>,
    (): Input,
    deadline: Deadline,
) -> Answered {
    let answer = ports.keys.read(deadline).await?;
    Ok(Answer::new(
        Outcome::Key(KeyRead { key: answer.key }),
        answer.graph_request_id,
    ))
}
