//! `GET /sensor-candidates/activation-mode`, `mdi-sensor-key activation-mode`: the tenant's
//! activation mode for candidates.

use http::Method;

use super::{Answer, Answered, Body, Declaration, Operation, Outcome, Ports, Tally};
use crate::access::Permission;
use crate::deadline::Deadline;
use crate::sensors::SensorSource;

pub static DECLARATION: Declaration = Declaration {
    name: "read-activation-mode",
    method: Method::GET,
    path: "/sensor-candidates/activation-mode",
    permission: Permission::ReadKey,
    tally: Tally::SensorQuery,
    body: Body::None,
    query: &[],
    command: "activation-mode",
    about: "Print the tenant's activation mode for candidates, or set it with --set",
    input: |_| Ok(Operation::ReadActivationMode(())),
};

pub type Input = ();

pub async fn run<G: SensorSource, K, S>(ports: Ports<'_, G, K, S>, (): Input, deadline: Deadline) -> Answered {
    let mode = ports.graph.activation_mode(deadline).await?;
    let graph_request_id = mode.graph_request_id.clone();
    Ok(Answer::new(Outcome::ActivationMode(mode), graph_request_id))
}
