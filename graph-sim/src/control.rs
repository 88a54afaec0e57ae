//! `/_sim/*`: the simulator's own control routes, so that another process
//! (the benchmark, the local demo) can steer it as tests do through
//! [`crate::SimHandle`].
//!
//! These routes are for loopback tests only. They have no authentication and
//! can replace the key, fault every request and read back recorded
//! requests including client secrets; that is acceptable only because the
//! simulator refuses to bind anything but a loopback address. Requests to
//! them are not recorded, not counted and not delayed.
//!
//! | route | body | effect |
//! |---|---|---|
//! | `GET /_sim/stats` | | `{"calls":{"token":n,"getKey":n,"regenerateKey":n,"openIdConfiguration":n,"webIdentityToken":n,"issuerMetadata":n},"key":"…","keysGenerated":n}` |
//! | `GET /_sim/requests` | | recorded requests, oldest first |
//! | `POST /_sim/reset` | | [`crate::SimHandle::reset`] |
//! | `POST /_sim/faults` | `{"endpoint":"getKey","fault":{"type":"status","status":503},"times":1}` | queue a fault (`times` optional) |
//! | `POST /_sim/fault-rate` | `{"endpoint":"getKey","percent":10,"fault":{…}}` | random faults; percent 0 disables |
//! | `POST /_sim/latency` | `{"millis":n}` | [`crate::SimHandle::set_latency`] |
//! | `POST /_sim/key` | `{"key":"…"}` | [`crate::SimHandle::set_key`] |
//! | `POST /_sim/key-shape` | `{"shape":"bare"}` | [`crate::SimHandle::set_key_shape`] |
//! | `POST /_sim/client-secret` | `{"secret":"…"}` | [`crate::SimHandle::set_client_secret`] |
//! | `POST /_sim/roles` | `{"roles":["…"]}` | [`crate::SimHandle::set_roles`] |
//! | `POST /_sim/revoke-tokens` | | [`crate::SimHandle::revoke_tokens`] |
//! | `POST /_sim/certificates` | `{"certificatePem":"-----BEGIN CERTIFICATE-----…"}` | [`crate::SimHandle::register_certificate`]; 422 if not an RSA certificate |
//! | `DELETE /_sim/certificates` | | [`crate::SimHandle::remove_certificates`] |
//! | `POST /_sim/federated-credentials` | `{"issuer":"…","subject":"…","audiences":["…"]}` | [`crate::SimHandle::register_federated_credential`] |
//! | `DELETE /_sim/federated-credentials` | | [`crate::SimHandle::remove_federated_credentials`] |
//! | `POST /_sim/sts` | `{"federationEnabled":false,"allowed":true}` (either optional) | [`crate::SimHandle::set_outbound_federation`], [`crate::SimHandle::set_web_identity_allowed`] |
//!
//! Changes answer `204 No Content`; a body that does not parse gets axum's
//! 4xx rejection.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::certificate::RegisteredCertificate;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fault::{Endpoint, Fault, KeyShape};
use crate::state::{RecordedRequest, Shared};

type Sim = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/stats", get(stats))
        .route("/requests", get(requests))
        .route("/reset", post(reset))
        .route("/faults", post(faults))
        .route("/fault-rate", post(fault_rate))
        .route("/latency", post(latency))
        .route("/key", post(key))
        .route("/key-shape", post(key_shape))
        .route("/client-secret", post(client_secret))
        .route("/roles", post(roles))
        .route("/revoke-tokens", post(revoke_tokens))
        .route("/certificates", post(register_certificate).delete(remove_certificates))
        .route("/sts", post(sts))
        .route(
            "/federated-credentials",
            post(register_federated_credential).delete(remove_federated_credentials),
        )
}

async fn stats(State(sim): Sim) -> Json<Value> {
    Json(json!({
        "calls": {
            "token": sim.calls(Endpoint::Token),
            "getKey": sim.calls(Endpoint::GetKey),
            "regenerateKey": sim.calls(Endpoint::RegenerateKey),
            "openIdConfiguration": sim.calls(Endpoint::OpenIdConfiguration),
            // STS GetWebIdentityToken, and the simulated Entra's fetches of the AWS issuer's
            // discovery document and JWKS (two per federated assertion: it caches nothing).
            "webIdentityToken": sim.calls(Endpoint::WebIdentityToken),
            "issuerMetadata": sim.calls(Endpoint::IssuerMetadata),
        },
        "key": sim.current_key(),
        "keysGenerated": sim.keys_generated(),
    }))
}

async fn requests(State(sim): Sim) -> Json<Vec<RecordedRequest>> {
    Json(sim.requests())
}

async fn reset(State(sim): Sim) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    endpoint: Endpoint,
    fault: Fault,
    #[serde(default = "one")]
    times: usize,
}

fn one() -> usize {
    1
}

/// More queued faults than any test could consume is a typo, not a plan.
const MAX_TIMES: usize = 100_000;

async fn faults(State(sim): Sim, Json(req): Json<FaultRequest>) -> StatusCode {
    if req.times > MAX_TIMES {
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    for _ in 0..req.times {
        sim.inject(req.endpoint, req.fault.clone());
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRateRequest {
    endpoint: Endpoint,
    percent: u8,
    fault: Fault,
}

async fn fault_rate(State(sim): Sim, Json(req): Json<FaultRateRequest>) -> StatusCode {
    if req.percent > 100 {
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    sim.set_fault_rate(req.endpoint, req.percent, req.fault);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyRequest {
    millis: u64,
}

async fn latency(State(sim): Sim, Json(req): Json<LatencyRequest>) -> StatusCode {
    sim.set_latency(Duration::from_millis(req.millis));
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRequest {
    key: String,
}

async fn key(State(sim): Sim, Json(req): Json<KeyRequest>) -> StatusCode {
    sim.set_key(&req.key);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyShapeRequest {
    shape: KeyShape,
}

async fn key_shape(State(sim): Sim, Json(req): Json<KeyShapeRequest>) -> StatusCode {
    sim.set_key_shape(req.shape);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretRequest {
    secret: String,
}

async fn client_secret(State(sim): Sim, Json(req): Json<SecretRequest>) -> StatusCode {
    sim.set_client_secret(&req.secret);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesRequest {
    roles: Vec<String>,
}

async fn roles(State(sim): Sim, Json(req): Json<RolesRequest>) -> StatusCode {
    sim.set_roles(req.roles);
    StatusCode::NO_CONTENT
}

async fn revoke_tokens(State(sim): Sim) -> StatusCode {
    sim.revoke_all_tokens();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CertificateRequest {
    certificate_pem: String,
}

async fn register_certificate(State(sim): Sim, Json(req): Json<CertificateRequest>) -> StatusCode {
    match RegisteredCertificate::from_pem(&req.certificate_pem) {
        Ok(certificate) => {
            sim.register_certificate(certificate);
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn remove_certificates(State(sim): Sim) -> StatusCode {
    sim.remove_certificates();
    StatusCode::NO_CONTENT
}

async fn register_federated_credential(
    State(sim): Sim,
    Json(credential): Json<crate::config::FederatedCredential>,
) -> StatusCode {
    sim.register_federated_credential(credential);
    StatusCode::NO_CONTENT
}

async fn remove_federated_credentials(State(sim): Sim) -> StatusCode {
    sim.remove_federated_credentials();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StsRequest {
    federation_enabled: Option<bool>,
    allowed: Option<bool>,
}

async fn sts(State(sim): Sim, Json(req): Json<StsRequest>) -> StatusCode {
    let current = sim.sts_settings();
    sim.set_sts_settings(crate::state::StsSettings {
        federation_enabled: req.federation_enabled.unwrap_or(current.federation_enabled),
        allowed: req.allowed.unwrap_or(current.allowed),
    });
    StatusCode::NO_CONTENT
}
