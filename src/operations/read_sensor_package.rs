//! `GET /sensor-package`, `mdi-sensor-key package`: the sensor installer's download URL and version.

use http::Method;

use super::{Answer, Answered, Body, Declaration, Operation, Outcome, Ports, Tally};
use crate::access::Permission;
use crate::deadline::Deadline;
use crate::sensors::SensorSource;

pub static DECLARATION: Declaration = Declaration {
    name: "read-sensor-package",
    method: Method::GET,
    path: "/sensor-package",
    permission: Permission::ReadKey,
    tally: Tally::SensorQuery,
    body: Body::None,
    query: &[],
    command: "package",
    about: "Print the sensor installer's download URL and version",
    input: |_| Ok(Operation::ReadSensorPackage(())),
};

pub type Input = ();

pub async fn run<G: SensorSource, K, S>(ports: Ports<'_, G, K, S>, (): Input, deadline: Deadline) -> Answered {
    let answer = ports.graph.deployment_package(deadline).await?;
    Ok(Answer::new(Outcome::Package(answer.package), answer.graph_request_id))
}
