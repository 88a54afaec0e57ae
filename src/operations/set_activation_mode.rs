//! `PUT /sensor-candidates/activation-mode` with `{"activationMode": ...}`,
//! `mdi-sensor-key activation-mode --set MODE`: set the tenant's activation mode. `automated`
//! deploys the sensor on every candidate, so it is for activators, not readers.

use http::Method;

use super::{Answer, Answered, Body, Declaration, Operation, Outcome, Ports, Tally};
use crate::access::Permission;
use crate::candidates::{self, ActivationMode};
use crate::deadline::Deadline;
use crate::sensors::SensorSource;

pub static DECLARATION: Declaration = Declaration {
    name: "set-activation-mode",
    method: Method::PUT,
    path: "/sensor-candidates/activation-mode",
    permission: Permission::ActivateSensors,
    tally: Tally::SensorActivation,
    body: Body::Json,
    query: &[],
    command: "activation-mode",
    about: "Set the tenant's activation mode for candidates: manual or automated",
    input: |request| {
        Ok(Operation::SetActivationMode(candidates::activation_mode_body(
            request.body,
        )?))
    },
};

pub type Input = ActivationMode;

pub async fn run<G: SensorSource, K, S>(ports: Ports<'_, G, K, S>, mode: Input, deadline: Deadline) -> Answered {
    let answer = ports.graph.set_activation_mode(mode, deadline).await?;
    let graph_request_id = answer.graph_request_id.clone();
    Ok(Answer::new(Outcome::ActivationMode(answer), graph_request_id))
}
