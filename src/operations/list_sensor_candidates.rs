//! `GET /sensor-candidates`, `mdi-sensor-key candidates`: the servers that can run the v3 sensor
//! without an installer.

use http::Method;

use super::{Answer, Answered, Body, Declaration, Operation, Outcome, Ports, Tally};
use crate::access::Permission;
use crate::deadline::Deadline;
use crate::sensors::SensorSource;

pub static DECLARATION: Declaration = Declaration {
    name: "list-sensor-candidates",
    method: Method::GET,
    path: "/sensor-candidates",
    permission: Permission::ReadKey,
    tally: Tally::SensorQuery,
    body: Body::None,
    query: &[],
    command: "candidates",
    about: "List the servers (onboarded to Defender for Endpoint) that can run the v3 sensor without an installer",
    input: |_| Ok(Operation::ListSensorCandidates(())),
};

pub type Input = ();

pub async fn run<G: SensorSource, K, S>(ports: Ports<'_, G, K, S>, (): Input, deadline: Deadline) -> Answered {
    let list = ports.graph.sensor_candidates(deadline).await?;
    let graph_request_id = list.graph_request_id.clone();
    Ok(Answer::new(Outcome::Candidates(list), graph_request_id))
}
