//! Microsoft Graph's MDI sensor candidates and their activation:
//!
//! - `GET /{version}/security/identities/sensorCandidates` (API page
//!   `security-identitycontainer-list-sensorcandidates.md`), paged;
//! - `POST /{version}/security/identities/sensorCandidates/activate` with `{"serverIds": [...]}`,
//!   answering `200 OK` with no body (API page `security-sensorcandidate-activate.md`; the CSDL's
//!   bound action `activate(serverIds: Collection(Edm.String))`);
//! - `GET` and the update of `/{version}/security/identities/sensorCandidateActivationConfiguration`
//!   (`activationMode`: `manual`, `automated`, `unknownFutureValue`). The sources disagree on the
//!   update's verb, so the simulator serves each reading ([`ActivationUpdate`], both at start):
//!   `PATCH` answers `204 No Content`, `POST` `200 OK` with the configuration.
//!
//! They exist where the contract snapshot says the identity container has them: v1.0 in the global
//! cloud, beta in the global and US Government clouds; elsewhere the path is left to the key
//! endpoints' parser, which answers Graph's `400 Resource not found for the segment`. Roles are the
//! permission map's: the reads admit `SecurityIdentitiesSensors.Read.All` or `.ReadWrite.All`,
//! the writes `.ReadWrite.All` only.
//!
//! What happens after an activation is not documented. The simulator's model, for tests of a whole
//! pipeline: the candidate leaves the list and a sensor of its name appears, `onboarding`. What
//! Graph does with an id that names no candidate is not documented either (the API page documents
//! no per-server result): ignored at start, refused with a 400 or a 404 when a test says so
//! ([`UnknownServerIds`]). The candidates and the mode are the tenant's ([`crate::tenant`]); the
//! usual faults apply, as for every Graph operation ([`crate::graph`]).

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{READ_ROLE, REQUIRED_ROLE};
use crate::contract;
use crate::fault::{ActivationUpdate, Endpoint, UnknownServerIds};
use crate::graph::{GraphOperation, GraphRequest};
use crate::identities;
use crate::reply::{Dialect, raw};
use crate::request::Incoming;
use crate::state::Shared;
use crate::tenant::{SimCandidate, SimSensor};

const CANDIDATES: &str = "sensorCandidates";
const CONFIGURATION: &str = "sensorCandidateActivationConfiguration";
const CONFIGURATION_TYPE: &str = "#microsoft.graph.security.sensorCandidateActivationConfiguration";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    List,
    Activate,
    Configuration,
}

pub(crate) struct Target {
    version: String,
    op: Op,
}

impl Target {
    /// `Some` for the three paths under a known version, in a cloud and version whose schema
    /// publishes them (`cloud_has` answers that for a navigation property's name).
    pub(crate) fn parse(segments: &[&str], cloud_has: impl Fn(&str, &str) -> bool) -> Option<Target> {
        let (version, rest) = identities::under_identities(segments)?;
        let is = |segment: &str, name: &str| segment.eq_ignore_ascii_case(name);
        let (navigation, op) = match rest {
            [list] if is(list, CANDIDATES) => (CANDIDATES, Op::List),
            [list, action] if is(list, CANDIDATES) => {
                // As Graph does: an optional namespace before a bound action's name.
                let bare = action
                    .rsplit_once('.')
                    .filter(|(namespace, _)| is(namespace, "microsoft.graph.security"))
                    .map_or(*action, |(_, name)| name);
                if !is(bare, "activate") {
                    return None;
                }
                (CANDIDATES, Op::Activate)
            }
            [configuration] if is(configuration, CONFIGURATION) => (CONFIGURATION, Op::Configuration),
            _ => return None,
        };
        cloud_has(&version, navigation).then_some(Target { version, op })
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        match self.op {
            Op::List => Endpoint::ListSensorCandidates,
            Op::Activate => Endpoint::ActivateSensors,
            Op::Configuration => Endpoint::ActivationConfiguration,
        }
    }
}

/// Whether `cloud`'s schema at `version` has the identity container's navigation property `name`.
pub(crate) fn published(cloud: crate::config::SimCloud, version: &str, name: &str) -> bool {
    contract::schema(cloud, version)
        .identities
        .iter()
        .any(|nav| nav == name)
}

impl GraphOperation for Target {
    fn success_body(&self, graph: &GraphRequest<'_>) -> String {
        match self.op {
            Op::List => list(graph.shared, graph.req, self).unwrap_or_default(),
            _ => configuration(graph.shared, self).to_string(),
        }
    }

    fn unexpected_shape(&self, _graph: &GraphRequest<'_>) -> String {
        // Not a collection: `value` is an object.
        json!({ "value": { "somethingElse": 1 } }).to_string()
    }

    fn work(&self, graph: &GraphRequest<'_>) -> Result<Response, Response> {
        let reply = &graph.reply;
        let update_verbs = graph.shared.candidates.lock().update_verbs;
        let (methods, roles): (&[Method], &[&str]) = match (self.op, update_verbs) {
            (Op::List, _) => (&[Method::GET], &[READ_ROLE, REQUIRED_ROLE]),
            (Op::Activate, _) => (&[Method::POST], &[REQUIRED_ROLE]),
            // The reads admit both roles, the update only ReadWrite.All: decided below.
            (Op::Configuration, ActivationUpdate::PatchOnly) => {
                (&[Method::GET, Method::PATCH], &[READ_ROLE, REQUIRED_ROLE])
            }
            (Op::Configuration, ActivationUpdate::PostOnly) => {
                (&[Method::GET, Method::POST], &[READ_ROLE, REQUIRED_ROLE])
            }
            (Op::Configuration, ActivationUpdate::Both) => {
                (&[Method::GET, Method::PATCH, Method::POST], &[READ_ROLE, REQUIRED_ROLE])
            }
        };
        identities::check(graph, methods, roles)?;
        match self.op {
            Op::Configuration if graph.req.method != Method::GET => {
                identities::check(graph, methods, &[REQUIRED_ROLE])?;
                update(graph, self)
            }
            Op::List => match list(graph.shared, graph.req, self) {
                Ok(body) => Ok(reply.respond(StatusCode::OK, body)),
                Err(message) => Err(reply.error(StatusCode::BAD_REQUEST, "BadRequest", message)),
            },
            Op::Activate => activate(graph),
            Op::Configuration => Ok(reply.respond(StatusCode::OK, configuration(graph.shared, self).to_string())),
        }
    }
}

fn list(shared: &Shared, req: &Incoming, target: &Target) -> Result<String, &'static str> {
    let state = shared.candidates.lock();
    let schema = contract::schema(shared.fixed.cloud, &target.version);
    let members: Vec<Value> = state
        .candidates
        .iter()
        .map(|candidate| candidate.to_json(schema))
        .collect();
    let collection = format!(
        "{}/{}/security/identities/{CANDIDATES}",
        shared.base_url, target.version
    );
    let context = format!(
        "{}/{}/$metadata#security/identities/{CANDIDATES}",
        shared.base_url, target.version
    );
    identities::page(
        &context,
        &members,
        state.page_size,
        req.query.as_deref(),
        &collection,
        &[],
    )
}

fn configuration(shared: &Shared, target: &Target) -> Value {
    json!({
        "@odata.context": format!("{}/{}/$metadata#security/identities/{CONFIGURATION}/$entity", shared.base_url, target.version),
        "@odata.type": CONFIGURATION_TYPE,
        "id": "sensorCandidateActivationConfiguration",
        "activationMode": shared.candidates.activation_mode(),
    })
}

#[expect(
    clippy::result_large_err,
    reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
)]
fn activate(graph: &GraphRequest<'_>) -> Result<Response, Response> {
    let (shared, req, reply) = (graph.shared, graph.req, &graph.reply);
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Parameters {
        server_ids: Vec<String>,
    }
    let Ok(parameters) = serde_json::from_slice::<Parameters>(&req.body) else {
        return Err(reply.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The parameter 'serverIds' in the request payload is not a valid parameter for the operation 'activate'.",
        ));
    };
    let mut state = shared.candidates.lock();
    state.activations.push(parameters.server_ids.clone());
    let unknown = parameters.server_ids.iter().find(|id| {
        !state
            .candidates
            .iter()
            .any(|candidate| candidate.id.eq_ignore_ascii_case(id))
    });
    let refusal = match (state.unknown_server_ids, unknown) {
        (_, None) | (UnknownServerIds::Ignored, _) => None,
        (UnknownServerIds::BadRequest, Some(id)) => Some((StatusCode::BAD_REQUEST, "BadRequest", id)),
        (UnknownServerIds::NotFound, Some(id)) => Some((StatusCode::NOT_FOUND, "NotFound", id)),
    };
    if let Some((status, code, id)) = refusal {
        // Graph documents no wording for this; the simulator's names the id, nothing else.
        return Err(reply.error(
            status,
            code,
            &format!("The server id '{id}' is not a sensor candidate of this tenant."),
        ));
    }
    let (activated, staying): (Vec<SimCandidate>, Vec<SimCandidate>) = std::mem::take(&mut state.candidates)
        .into_iter()
        .partition(|candidate| {
            parameters
                .server_ids
                .iter()
                .any(|id| id.eq_ignore_ascii_case(&candidate.id))
        });
    state.candidates = staying;
    drop(state);
    if !activated.is_empty() {
        let mut sensors = shared.sensors.sensors();
        for candidate in activated {
            let short = candidate.computer_dns_name.split('.').next().unwrap_or_default();
            let mut sensor = SimSensor::healthy(&short.to_ascii_uppercase(), &candidate.domain_name).with_status(
                "updating",
                "onboarding",
                "healthy",
            );
            sensor.domain_controller_dns_names = vec![candidate.computer_dns_name.clone()];
            sensors.push(sensor);
        }
        shared.sensors.set_sensors(sensors);
    }
    Ok(reply.respond(StatusCode::OK, String::new()))
}

#[expect(
    clippy::result_large_err,
    reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
)]
fn update(graph: &GraphRequest<'_>, target: &Target) -> Result<Response, Response> {
    let (shared, req, reply) = (graph.shared, graph.req, &graph.reply);
    let mode = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .and_then(|body| body["activationMode"].as_str().map(str::to_owned));
    let schema = contract::schema(shared.fixed.cloud, &target.version);
    let members = schema
        .enums
        .get("sensorCandidateActivationMode")
        .cloned()
        .unwrap_or_default();
    match mode {
        Some(mode) if mode != "unknownFutureValue" && members.contains(&mode) => {
            shared.candidates.lock().activation_mode = mode;
            if req.method == Method::PATCH {
                Ok(reply.dress(raw(StatusCode::NO_CONTENT, "application/json", "")))
            } else {
                Ok(reply.respond(StatusCode::OK, configuration(shared, target).to_string()))
            }
        }
        _ => Err(reply.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Cannot convert the literal to the expected type 'microsoft.graph.security.sensorCandidateActivationMode'.",
        )),
    }
}
