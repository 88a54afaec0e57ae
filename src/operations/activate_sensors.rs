//! `POST /sensor-candidates/activate` with `{"serverIds": [...]}`, `mdi-sensor-key activate ID...`:
//! activate the sensor on these candidates. It deploys software on domain controllers, so it is
//! for activators, not readers.

use http::Method;

use super::{Answer, Answered, Body, Declaration, Operation, Outcome, Ports, Tally};
use crate::access::Permission;
use crate::candidates::{self, Activation, ServerIds, ServerOutcome};
use crate::deadline::Deadline;
use crate::sensors::SensorSource;

pub static DECLARATION: Declaration = Declaration {
    name: "activate-sensors",
    method: Method::POST,
    path: "/sensor-candidates/activate",
    permission: Permission::ActivateSensors,
    tally: Tally::SensorActivation,
    body: Body::Json,
    query: &[],
    command: "activate",
    about: "Activate the sensor on candidate servers (it deploys software on them); at most 100 ids, none twice",
    input: |request| Ok(Operation::ActivateSensors(candidates::activation_body(request.body)?)),
};

pub type Input = ServerIds;

/// Graph answers the whole request and documents no per-server result, so each server's outcome
/// is what Graph said of the request that named it.
pub async fn run<G: SensorSource, K, S>(ports: Ports<'_, G, K, S>, servers: Input, deadline: Deadline) -> Answered {
    let graph_request_id = ports.graph.activate(&servers, deadline).await?;
    let servers = servers
        .as_slice()
        .iter()
        .map(|id| ServerOutcome {
            server_id: id.clone(),
            outcome: "accepted",
        })
        .collect();
    Ok(Answer::new(
        Outcome::Activated(Activation {
            servers,
            graph_request_id: graph_request_id.clone(),
        }),
        graph_request_id,
    ))
}
