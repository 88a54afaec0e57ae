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

use crate::injection::{Answers, Call, Service, Shape};
use crate::reply::Dialect;
use crate::reply::entra::EntraReply;
use crate::request::Incoming;
use crate::state::Shared;

/// Tenants every Entra serves a document for, with `{tenantid}` left as a placeholder.
const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) struct Discovery {
    pub tenant: String,
}

impl Service for Discovery {
    type Dialect = EntraReply;
    const ANSWERS: Answers = Answers::EVERY_READ_ONLY;

    fn dialect(&self, shared: &Shared, req: &Incoming) -> EntraReply {
        EntraReply::new(req, &shared.fixed.client_id)
    }

    async fn work(&self, call: &Call<'_, EntraReply>, _shape: Shape) -> Result<Response, Response> {
        Ok(serve(call.shared, call.req, &self.tenant, &call.reply))
    }

    fn success_body(&self, call: &Call<'_, EntraReply>) -> Option<String> {
        Some(document(call.shared, &self.tenant).to_string())
    }

    fn unexpected_shape(&self, call: &Call<'_, EntraReply>) -> Option<String> {
        Some(json!({ "issuer": format!("{}/{}/v2.0", call.shared.base_url, self.tenant) }).to_string())
    }
}

fn serve(shared: &Shared, req: &Incoming, tenant: &str, ctx: &EntraReply) -> Response {
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
        return ctx.unknown_tenant(tenant);
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
