//! `GET /sensors/{host}/health-issues`, `mdi-sensor-key health-issues HOST`: the health issues
//! that name one host.

use http::Method;

use super::{Answer, Answered, Body, Declaration, Operation, Outcome, Ports, Tally};
use crate::access::Permission;
use crate::deadline::Deadline;
use crate::sensors::{self, HostName, SensorSource};

pub static DECLARATION: Declaration = Declaration {
    name: "sensor-health-issues",
    method: Method::GET,
    path: "/sensors/{host}/health-issues",
    permission: Permission::ReadKey,
    tally: Tally::SensorQuery,
    body: Body::None,
    query: &[],
    command: "health-issues",
    about: "List the health issues (open, closed or suppressed) that name one server; needs the app permission SecurityIdentitiesHealth.Read.All",
    input: |request| Ok(Operation::SensorHealthIssues(request.host()?)),
};

pub type Input = HostName;

pub async fn run<G: SensorSource, K, S>(ports: Ports<'_, G, K, S>, host: Input, deadline: Deadline) -> Answered {
    let issues = sensors::host_health_issues(ports.graph, &host, deadline).await?;
    let graph_request_id = issues.graph_request_id.clone();
    Ok(Answer::new(Outcome::HealthIssues(issues), graph_request_id))
}
