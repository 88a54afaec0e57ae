//! `GET /sensors/{host}/verdict`, `mdi-sensor-key verdict HOST [--wait]`: the verdict on one
//! host's sensor, for an install pipeline to poll.

use http::Method;

use super::{Answer, Answered, Body, Declaration, Operation, Outcome, Ports, Tally};
use crate::access::Permission;
use crate::deadline::Deadline;
use crate::sensors::{self, HostName, SensorSource};

pub static DECLARATION: Declaration = Declaration {
    name: "sensor-verdict",
    method: Method::GET,
    path: "/sensors/{host}/verdict",
    permission: Permission::ReadKey,
    tally: Tally::SensorQuery,
    body: Body::None,
    query: &[],
    command: "verdict",
    about: "Print the verdict on one sensor: healthy, installing, initialising, needs-configuration, unhealthy or missing",
    input: |request| Ok(Operation::SensorVerdict(request.host()?)),
};

pub type Input = HostName;

pub async fn run<G: SensorSource, K, S>(ports: Ports<'_, G, K, S>, host: Input, deadline: Deadline) -> Answered {
    let verdict = sensors::verdict(ports.graph, &host, deadline).await?;
    let graph_request_id = verdict.graph_request_id.clone();
    Ok(Answer::new(Outcome::Verdict(Box::new(verdict)), graph_request_id))
}
