//! Microsoft Graph's MDI health issues, `GET /{version}/security/identities/healthIssues`
//! (API page `security-identitycontainer-list-healthissues.md`; the CSDL's
//! `microsoft.graph.security.healthIssue`, in v1.0 and beta, global and US Government alike:
//! tests/contract/graph-schema.json).
//!
//! The role is the one Microsoft's permission map names as least privileged,
//! `SecurityIdentitiesHealth.Read.All`; the map also lists `SecurityIdentitiesHealth.ReadWrite.All`
//! for it, and both are admitted (tests/contract/graph-permissions.json). Paged on the server like
//! the sensor list; the usual faults apply, as for every Graph operation ([`crate::graph`]). The
//! issues themselves are the tenant's ([`crate::tenant`]).

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::config::{HEALTH_READ_ROLE, HEALTH_READ_WRITE_ROLE};
use crate::contract;
use crate::fault::Endpoint;
use crate::graph::{GraphOperation, GraphRequest};
use crate::identities;
use crate::reply::Dialect;
use crate::request::Incoming;
use crate::state::Shared;

/// `GET /{version}/security/identities/healthIssues`.
pub(crate) struct Target {
    version: String,
}

impl Target {
    pub(crate) fn parse(segments: &[&str]) -> Option<Target> {
        let (version, rest) = identities::under_identities(segments)?;
        match rest {
            [collection] if collection.eq_ignore_ascii_case("healthIssues") => Some(Target { version }),
            _ => None,
        }
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        Endpoint::ListHealthIssues
    }
}

impl GraphOperation for Target {
    fn success_body(&self, graph: &GraphRequest<'_>) -> String {
        body(graph.shared, graph.req, self).unwrap_or_default()
    }

    fn unexpected_shape(&self, _graph: &GraphRequest<'_>) -> String {
        // Not a collection: `value` is an object.
        json!({ "value": { "somethingElse": 1 } }).to_string()
    }

    fn work(&self, graph: &GraphRequest<'_>) -> Result<Response, Response> {
        let reply = &graph.reply;
        identities::check(graph, &[Method::GET], &[HEALTH_READ_ROLE, HEALTH_READ_WRITE_ROLE])?;
        match body(graph.shared, graph.req, self) {
            Ok(body) => Ok(reply.respond(StatusCode::OK, body)),
            Err(message) => Err(reply.error(StatusCode::BAD_REQUEST, "BadRequest", message)),
        }
    }
}

fn body(shared: &Shared, req: &Incoming, target: &Target) -> Result<String, &'static str> {
    let state = shared.health.lock();
    let schema = contract::schema(shared.fixed.cloud, &target.version);
    let members: Vec<Value> = state.issues.iter().map(|issue| issue.to_json(schema)).collect();
    let collection = format!(
        "{}/{}/security/identities/healthIssues",
        shared.base_url, target.version
    );
    let context = format!(
        "{}/{}/$metadata#security/identities/healthIssues",
        shared.base_url, target.version
    );
    identities::page(&context, &members, state.page_size, req.query.as_deref(), &collection)
}
