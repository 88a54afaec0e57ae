//! Microsoft Graph's MDI sensor list, `GET /{version}/security/identities/sensors`, paged on the
//! server with an absolute `@odata.nextLink` carrying a `$skiptoken`, and the sensor deployment
//! package, `GET /{version}/security/identities/sensors/getDeploymentPackageUri`.
//!
//! Requests are checked as the key endpoints check them (API version, bearer token, method,
//! application role). The role is the one Microsoft's permission map names for these endpoints,
//! `SecurityIdentitiesSensors.Read.All`, and only it: the map does not list ReadWrite.All for them
//! (tests/contract/graph-permissions.json). A sensor has the properties its cloud and the API
//! version publish ([`crate::contract`]); the sensors themselves are the tenant's ([`crate::tenant`]).
//! The same faults apply, and answers carry Graph's `request-id`, `client-request-id` and `Date`
//! headers and its error shape ([`crate::graph`]).

use axum::http::header::HeaderValue;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::config::READ_ROLE;
use crate::contract;
use crate::fault::Endpoint;
use crate::graph::{GraphOperation, GraphRequest};
use crate::identities;
use crate::reply::Dialect;
use crate::request::Incoming;
use crate::state::Shared;

const PACKAGE_TYPE: &str = "microsoft.graph.security.sensorDeploymentPackage";
const PACKAGE_FUNCTION: &str = "getDeploymentPackageUri";
const NAMESPACE: &str = "microsoft.graph.security.";

/// Which of the two operations a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Package,
    List,
}

pub(crate) struct Target {
    version: String,
    op: Op,
}

impl Target {
    /// `Some` for the two sensor paths under a known API version; anything else is left to the
    /// key endpoints' parser, which answers it in Graph's words.
    pub(crate) fn parse(segments: &[&str]) -> Option<Target> {
        let (version, rest) = segments.split_first()?;
        let version = version.to_ascii_lowercase();
        if version != "beta" && version != "v1.0" {
            return None;
        }
        let parent = ["security", "identities", "sensors"];
        if rest.len() < parent.len()
            || !parent
                .iter()
                .zip(rest)
                .all(|(want, got)| got.eq_ignore_ascii_case(want))
        {
            return None;
        }
        let op = match &rest[parent.len()..] {
            [] => Op::List,
            [function] => {
                // As Graph does: an optional namespace and optional empty parentheses.
                let bare = function.strip_suffix("()").unwrap_or(function);
                let bare = bare
                    .get(..NAMESPACE.len())
                    .filter(|prefix| prefix.eq_ignore_ascii_case(NAMESPACE))
                    .map_or(bare, |_| &bare[NAMESPACE.len()..]);
                if !bare.eq_ignore_ascii_case(PACKAGE_FUNCTION) {
                    return None;
                }
                Op::Package
            }
            _ => return None,
        };
        Some(Target { version, op })
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        match self.op {
            Op::Package => Endpoint::GetPackage,
            Op::List => Endpoint::ListSensors,
        }
    }
}

impl GraphOperation for Target {
    fn success_body(&self, graph: &GraphRequest<'_>) -> String {
        body(graph.shared, graph.req, self).unwrap_or_default()
    }

    fn unexpected_shape(&self, graph: &GraphRequest<'_>) -> String {
        // Neither a package nor a collection: `value` is an object without a download URL.
        json!({ "@odata.context": context(graph.shared, self), "value": { "somethingElse": 1 } }).to_string()
    }

    fn work(&self, graph: &GraphRequest<'_>) -> Result<Response, Response> {
        let reply = &graph.reply;
        let roles = graph.roles("IDX14100: JWT is not well formed, there are no dots (.).")?;
        if graph.req.method != Method::GET {
            let mut response = reply.error(
                StatusCode::METHOD_NOT_ALLOWED,
                "BadRequest",
                &format!(
                    "The request method '{}' is not allowed for the resource.",
                    graph.req.method
                ),
            );
            response.headers_mut().insert("allow", HeaderValue::from_static("GET"));
            return Err(response);
        }
        graph.require(READ_ROLE, &roles)?;
        match body(graph.shared, graph.req, self) {
            Ok(body) => Ok(reply.respond(StatusCode::OK, body)),
            Err(message) => Err(reply.error(StatusCode::BAD_REQUEST, "BadRequest", message)),
        }
    }
}

fn context(shared: &Shared, target: &Target) -> String {
    match target.op {
        Op::Package => format!("{}/{}/$metadata#{PACKAGE_TYPE}", shared.base_url, target.version),
        Op::List => format!(
            "{}/{}/$metadata#security/identities/sensors",
            shared.base_url, target.version
        ),
    }
}

/// The successful answer's body, or why the query is refused.
fn body(shared: &Shared, req: &Incoming, target: &Target) -> Result<String, &'static str> {
    let mut tenant = shared.sensors.lock();
    let body = match target.op {
        Op::Package => json!({
            "@odata.context": context(shared, target),
            "value": {
                "@odata.type": format!("#{PACKAGE_TYPE}"),
                "downloadUrl": tenant.package.download_url,
                "version": tenant.package.version,
            },
        }),
        Op::List => {
            let skip = match identities::skip_token(req.query.as_deref()) {
                Some(skip) => skip,
                None => return Err("Invalid $skiptoken."),
            };
            let end = skip.saturating_add(tenant.page_size).min(tenant.sensors.len());
            let schema = contract::schema(shared.fixed.cloud, &target.version);
            let served = tenant.sensors.get_mut(skip..end).unwrap_or_default();
            let page: Vec<Value> = served.iter().map(|sensor| sensor.to_json(schema)).collect();
            // An initialising sensor comes one read closer to running each time it is served.
            for sensor in served {
                sensor.stopped_for_reads = sensor.stopped_for_reads.saturating_sub(1);
            }
            let mut body = json!({ "@odata.context": context(shared, target), "value": page });
            if end < tenant.sensors.len() {
                let root = tenant.next_link_root.as_deref().unwrap_or(&shared.base_url);
                body["@odata.nextLink"] = Value::from(format!(
                    "{root}/{}/security/identities/sensors?$skiptoken={end}",
                    target.version
                ));
            }
            body
        }
    };
    Ok(body.to_string())
}
