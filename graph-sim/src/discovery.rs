//! Entra's OpenID Connect discovery document,
//! `GET /{tenant}/v2.0/.well-known/openid-configuration`, for the simulated
//! tenant: the endpoints under the simulator's own URL, and the fields that
//! tell a client which national cloud the tenant lives in
//! (`cloud_instance_name`, `msgraph_host`, `tenant_region_scope` and, for
//! government tenants, `tenant_region_sub_scope`). Unknown tenants get
//! Entra's 400 with AADSTS90002, as from the token endpoint.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::entra::{self, Ctx};
use crate::fault::Fault;
use crate::server::{self, Incoming};
use crate::state::Shared;

/// Tenants every Entra serves a document for, with `{tenantid}` left as a placeholder.
const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

pub(crate) async fn answer(shared: &Shared, req: &Incoming, tenant: &str, fault: Option<Fault>) -> Response {
    let ctx = Ctx::new(req);
    match &fault {
        Some(Fault::TooManyRequests { retry_after }) => return ctx.throttled(*retry_after),
        Some(Fault::Status(code)) => return ctx.status(*code, &shared.fixed.client_id),
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::MalformedBody) => return ctx.respond(StatusCode::OK, server::MALFORMED_BODY.to_owned()),
        Some(Fault::TruncatedBody) => {
            return ctx.respond(StatusCode::OK, server::truncated(&document(shared, tenant).to_string()));
        }
        Some(Fault::HtmlErrorPage(code)) => return server::html_error_page(*code),
        Some(Fault::UnexpectedShape) => {
            let body = json!({ "issuer": format!("{}/{tenant}/v2.0", shared.base_url) });
            return ctx.respond(StatusCode::OK, body.to_string());
        }
        Some(Fault::ProcessThenDrop) => return server::dropped_connection(),
        _ => {}
    }
    if req.method != Method::GET && req.method != Method::HEAD {
        return ctx.error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900561,
            &format!(
                "The endpoint only accepts GET, OPTIONS requests. Received a {} request.",
                req.method
            ),
        );
    }
    let known = tenant.eq_ignore_ascii_case(&shared.fixed.tenant_id)
        || MULTI_TENANT.iter().any(|t| tenant.eq_ignore_ascii_case(t));
    if !known {
        return entra::unknown_tenant(&ctx, tenant);
    }
    ctx.respond(StatusCode::OK, document(shared, tenant).to_string())
}

fn document(shared: &Shared, tenant: &str) -> Value {
    let cloud = shared.fixed.cloud;
    let tenant_id = if MULTI_TENANT.iter().any(|t| tenant.eq_ignore_ascii_case(t)) {
        "{tenantid}"
    } else {
        shared.fixed.tenant_id.as_str()
    };
    let base = &shared.base_url;
    let mut doc = json!({
        "token_endpoint": format!("{base}/{tenant_id}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant_id}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{tenant_id}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{}/oidc/userinfo", cloud.graph_root()),
        "authorization_endpoint": format!("{base}/{tenant_id}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant_id}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tenant_id}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "tid", "ver", "oid"],
        "kerberos_endpoint": format!("{base}/{tenant_id}/kerberos"),
        "tenant_region_scope": cloud.region_scope(),
        "cloud_instance_name": cloud.instance_name(),
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": cloud.msgraph_host(),
        "rbac_url": "https://pas.windows.net",
    });
    if let Some(sub_scope) = cloud.region_sub_scope() {
        doc["tenant_region_sub_scope"] = Value::from(sub_scope);
    }
    doc
}
