//! The Entra ID v2.0 token endpoint, client-credentials grant only, with a
//! client secret, a certificate's signed assertion (checked in `assertion`) or a
//! federated assertion from an external issuer (checked in `federated`).
//!
//! Requests are checked in the order Entra reports problems (method, tenant,
//! grant, client, credential, scope) and refused with Entra's error JSON
//! ([`crate::reply::entra`]).

use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::injection::{Answers, Call, Service, Shape};
use crate::reply::Dialect;
use crate::reply::entra::EntraReply;
use crate::request::Incoming;
use crate::state::Shared;
use crate::{clock, federated};

/// Graph's well-known application id; Entra accepts it in place of the
/// resource URI in a scope.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

fn success_body(token: &str, lifetime: u64, with_expiry: bool) -> String {
    let mut body = json!({ "token_type": "Bearer" });
    if with_expiry {
        body["expires_in"] = Value::from(lifetime);
        body["ext_expires_in"] = Value::from(lifetime);
    }
    body["access_token"] = Value::from(token);
    body.to_string()
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) struct Token {
    pub tenant: String,
}

impl Service for Token {
    type Dialect = EntraReply;
    const ANSWERS: Answers = Answers::EVERY;

    fn dialect(&self, shared: &Shared, req: &Incoming) -> EntraReply {
        EntraReply::new(req, &shared.fixed.client_id)
    }

    /// Checks the request, then issues a token.
    async fn work(&self, call: &Call<'_, EntraReply>, shape: Shape) -> Result<Response, Response> {
        check(call.shared, call.req, &self.tenant, &call.reply).await?;
        let lifetime = shape.expires_in.unwrap_or(call.shared.fixed.token_lifetime_secs);
        let body = success_body(&call.shared.issue_token(), lifetime, !shape.without_expires_in);
        Ok(call.reply.respond(StatusCode::OK, body))
    }

    /// A token shaped like a real one but unknown to Graph: the half body is never usable.
    fn success_body(&self, call: &Call<'_, EntraReply>) -> Option<String> {
        let lifetime = call.shared.fixed.token_lifetime_secs;
        Some(success_body(&call.shared.unregistered_token(), lifetime, true))
    }

    fn unexpected_shape(&self, call: &Call<'_, EntraReply>) -> Option<String> {
        let lifetime = call.shared.fixed.token_lifetime_secs;
        Some(json!({ "token_type": "Bearer", "expires_in": lifetime, "somethingElse": 1 }).to_string())
    }

    fn invalid_client(&self, call: &Call<'_, EntraReply>) -> Option<Response> {
        Some(call.reply.invalid_client_secret(&call.shared.fixed.client_id))
    }
}

/// The client credentials from the form, or from HTTP Basic auth
/// (`client_secret_basic`), which Entra also accepts.
fn credentials(req: &Incoming) -> (Option<String>, Option<String>) {
    let basic = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        });
    let id = req
        .form_field("client_id")
        .map(str::to_owned)
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()));
    let secret = req
        .form_field("client_secret")
        .map(str::to_owned)
        .or_else(|| basic.map(|(_, secret)| secret));
    (id, secret)
}

async fn check(shared: &Shared, req: &Incoming, tenant: &str, ctx: &EntraReply) -> Result<(), Response> {
    let fixed = &shared.fixed;
    if req.method != Method::POST {
        return Err(ctx.error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900561,
            &format!(
                "The endpoint only accepts POST, OPTIONS requests. Received a {} request.",
                req.method
            ),
        ));
    }
    if ["common", "consumers", "organizations"]
        .iter()
        .any(|t| tenant.eq_ignore_ascii_case(t))
    {
        return Err(ctx.error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            9001023,
            "The grant type is not supported over the /common or /consumers endpoints. \
             Please use the /organizations or tenant-specific endpoint.",
        ));
    }
    if !tenant.eq_ignore_ascii_case(&fixed.tenant_id) {
        return Err(ctx.unknown_tenant(tenant));
    }
    // A body that is not a form reads, to Entra, as a form without fields.
    let Some(grant_type) = req.form_field("grant_type") else {
        return Err(ctx.missing_parameter("grant_type"));
    };
    if grant_type != "client_credentials" {
        return Err(ctx.error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let (client_id, secret) = credentials(req);
    let Some(client_id) = client_id else {
        return Err(ctx.missing_parameter("client_id"));
    };
    if !client_id.eq_ignore_ascii_case(&fixed.client_id) {
        return Err(ctx.error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen \
                 if the application has not been installed by the administrator of the tenant or consented to by any \
                 user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        ));
    }
    match secret {
        Some(secret) if shared.client_secret_matches(&secret) => {}
        Some(_) => return Err(ctx.invalid_client_secret(&client_id)),
        None => {
            if let Some(assertion) = req.form_field("client_assertion") {
                // The audience Entra expects is the token endpoint the assertion was sent to.
                let audience = format!("{}/{tenant}/oauth2/v2.0/token", shared.base_url);
                let assertion_type = req.form_field("client_assertion_type");
                let verdict = if federated::is_federated(assertion, &client_id) {
                    federated::verify(
                        &shared.federated_credentials(),
                        assertion_type,
                        assertion,
                        clock::unix_now(),
                    )
                    .await
                } else {
                    shared.accept_assertion(assertion_type, assertion, &audience, &client_id)
                };
                if let Err(refusal) = verdict {
                    let (status, error, code, message) = refusal.answer(&client_id);
                    return Err(ctx.error(status, error, code, &message));
                }
            } else {
                return Err(ctx.error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                ));
            }
        }
    }
    let Some(scope) = req.form_field("scope") else {
        return Err(ctx.missing_parameter("scope"));
    };
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let [single] = scopes.as_slice() else {
        return Err(ctx.error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input \
                 parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        ));
    };
    let Some(resource) = single.strip_suffix("/.default") else {
        return Err(ctx.error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {single} is not valid. Client credential flows must have a scope value \
                 with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    let resource_trimmed = resource.trim_end_matches('/');
    let known = resource_trimmed.eq_ignore_ascii_case(fixed.graph_root.trim_end_matches('/'))
        || resource_trimmed.eq_ignore_ascii_case(GRAPH_APP_ID);
    if !known {
        return Err(ctx.error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            &format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen \
                 if the application has not been installed by the administrator of the tenant or consented to by any \
                 user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        ));
    }
    Ok(())
}
