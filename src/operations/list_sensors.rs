//! `GET /sensors`, `mdi-sensor-key sensors`: the tenant's sensors, each with its verdict.

use http::Method;

use super::{Answer, Answered, Body, Declaration, InputError, Operation, Outcome, Ports, RequestParts, Tally};
use crate::access::Permission;
use crate::deadline::Deadline;
use crate::sensors::{self, HostName, InputError as Invalid, SensorFilter, SensorSource};

pub static DECLARATION: Declaration = Declaration {
    name: "list-sensors",
    method: Method::GET,
    path: "/sensors",
    permission: Permission::ReadKey,
    tally: Tally::SensorQuery,
    body: Body::None,
    query: &["domainName", "displayName"],
    command: "sensors",
    about: "List the tenant's sensors, each with a verdict: healthy, installing, initialising, needs-configuration or unhealthy",
    input: |request| Ok(Operation::ListSensors(sensor_filter(request)?)),
};

pub type Input = SensorFilter;

/// `domainName` and `displayName` (a short or fully qualified host name); neither may be empty.
fn sensor_filter(request: &RequestParts<'_, '_>) -> Result<SensorFilter, InputError> {
    let text = |name: &'static str| match request.single(name)? {
        Some("") => Err(InputError::from(Invalid::Empty(name))),
        other => Ok(other),
    };
    Ok(SensorFilter {
        domain_name: text("domainName")?.map(str::to_owned),
        host: text("displayName")?.map(HostName::parse).transpose()?,
    })
}

pub async fn run<G: SensorSource, K, S>(ports: Ports<'_, G, K, S>, filter: Input, deadline: Deadline) -> Answered {
    let list = sensors::list(ports.graph, &filter, deadline).await?;
    let graph_request_id = list.graph_request_id.clone();
    Ok(Answer::new(Outcome::Sensors(list), graph_request_id))
}

#[cfg(test)]
mod tests {
    use super::super::request::tests::query;
    use super::*;

    fn filter(pairs: &[(&str, &str)]) -> Result<SensorFilter, InputError> {
        let query = query(pairs);
        sensor_filter(&RequestParts {
            host: None,
            query: &query,
            body: b"",
        })
    }

    #[test]
    fn the_filter_takes_a_domain_and_a_short_or_qualified_host_and_refuses_empty_values() {
        let given = filter(&[("domainName", "CONTOSO.com"), ("displayName", "dc1.contoso.com")]).unwrap();
        assert_eq!(given.domain_name.as_deref(), Some("CONTOSO.com"));
        assert_eq!(given.host.unwrap().as_str(), "dc1.contoso.com");
        assert_eq!(filter(&[("domainName", "")]), Err(Invalid::Empty("domainName").into()));
        assert_eq!(filter(&[("displayName", "dc_1")]), Err(Invalid::HostName.into()));
    }
}
