//! The Entra ID v2.0 token endpoint, client-credentials grant only, with a
//! client secret, a certificate's signed assertion (checked in `assertion`) or a
//! federated assertion from an external issuer (checked in `federated`).
//!
//! Requests are checked in the order Entra reports problems (method, tenant,
//! grant, client, credential, scope) and refused with Entra's error JSON:
//! `error`, an `AADSTSnnnn:` description ending in trace id, correlation id
//! and timestamp, `error_codes`, and the ids again as fields. Like Entra,
//! the correlation id is the caller's `client-request-id` when it sent one.

use axum::http::header::{HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fault::{Fault, RetryAfter};
use crate::server::{self, Incoming};
use crate::state::Shared;
use crate::{clock, federated};

const JSON: &str = "application/json; charset=utf-8";

/// Graph's well-known application id; Entra accepts it in place of the
/// resource URI in a scope.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Per-request ids, shared by the error body and the headers.
pub(crate) struct Ctx {
    trace_id: String,
    correlation_id: String,
    client_request_id: Option<String>,
}

impl Ctx {
    pub(crate) fn new(req: &Incoming) -> Self {
        let client_request_id = req.header("client-request-id").map(str::to_owned);
        Ctx {
            trace_id: Uuid::new_v4().to_string(),
            correlation_id: client_request_id.clone().unwrap_or_else(|| Uuid::new_v4().to_string()),
            client_request_id,
        }
    }

    pub(crate) fn respond(&self, status: StatusCode, body: String) -> Response {
        let mut response = server::raw(status, JSON, body);
        let headers = response.headers_mut();
        headers.insert("cache-control", HeaderValue::from_static("no-store, no-cache"));
        headers.insert("pragma", HeaderValue::from_static("no-cache"));
        if let Ok(v) = HeaderValue::from_str(&self.trace_id) {
            headers.insert("x-ms-request-id", v);
        }
        if let Some(v) = self
            .client_request_id
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(HeaderName::from_static("client-request-id"), v);
        }
        response
    }

    pub(crate) fn error(&self, status: StatusCode, error: &str, code: u32, message: &str) -> Response {
        let timestamp = clock::entra_timestamp();
        let body = json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {message}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {timestamp}",
                self.trace_id, self.correlation_id
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": self.trace_id,
            "correlation_id": self.correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        });
        self.respond(status, body.to_string())
    }

    pub(crate) fn throttled(&self, retry_after: Option<RetryAfter>) -> Response {
        let mut response = self.error(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            90055,
            "TenantThrottlingError: There are too many incoming requests. Please try again later.",
        );
        if let Some(v) = retry_after.and_then(|r| HeaderValue::from_str(&r.header_value()).ok()) {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }

    fn missing_parameter(&self, name: &str) -> Response {
        self.error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    fn invalid_client_secret(&self, client_id: &str) -> Response {
        self.error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, \
                 not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    /// An arbitrary status dressed as Entra would dress it.
    pub(crate) fn status(&self, code: u16, client_id: &str) -> Response {
        let status = server::status(code);
        match status.as_u16() {
            429 => self.throttled(None),
            401 => self.invalid_client_secret(client_id),
            503 => self.error(
                status,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
            ),
            400..=499 => self.error(
                status,
                "invalid_request",
                90013,
                "Invalid input received from the user.",
            ),
            _ => self.error(
                status,
                "server_error",
                50000,
                "There was an error issuing a token or an issue with our sign-in service.",
            ),
        }
    }
}

fn success_body(token: &str, lifetime: u64, with_expiry: bool) -> String {
    let mut body = json!({ "token_type": "Bearer" });
    if with_expiry {
        body["expires_in"] = Value::from(lifetime);
        body["ext_expires_in"] = Value::from(lifetime);
    }
    body["access_token"] = Value::from(token);
    body.to_string()
}

pub(crate) async fn answer(shared: &Shared, req: &Incoming, tenant: &str, fault: Option<Fault>) -> Response {
    let ctx = Ctx::new(req);
    let lifetime = match &fault {
        Some(Fault::ExpiresIn(seconds)) => *seconds,
        _ => shared.fixed.token_lifetime_secs,
    };
    match &fault {
        Some(Fault::TooManyRequests { retry_after }) => return ctx.throttled(*retry_after),
        Some(Fault::Status(code)) => return ctx.status(*code, &shared.fixed.client_id),
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::MalformedBody) => return ctx.respond(StatusCode::OK, server::MALFORMED_BODY.to_owned()),
        Some(Fault::TruncatedBody) => {
            let body = success_body(&shared.unregistered_token(), lifetime, true);
            return ctx.respond(StatusCode::OK, server::truncated(&body));
        }
        Some(Fault::HtmlErrorPage(code)) => return server::html_error_page(*code),
        Some(Fault::UnexpectedShape) => {
            let body = json!({ "token_type": "Bearer", "expires_in": lifetime, "somethingElse": 1 });
            return ctx.respond(StatusCode::OK, body.to_string());
        }
        Some(Fault::InvalidClient) => return ctx.invalid_client_secret(&shared.fixed.client_id),
        _ => {}
    }
    let with_expiry = fault != Some(Fault::WithoutExpiresIn);
    match (fault, check(shared, req, tenant, &ctx).await) {
        (_, Err(refusal)) => refusal,
        (Some(Fault::ProcessThenStatus(code)), Ok(())) => {
            shared.issue_token();
            ctx.status(code, &shared.fixed.client_id)
        }
        (Some(Fault::ProcessThenDrop), Ok(())) => {
            shared.issue_token();
            server::dropped_connection()
        }
        (_, Ok(())) => ctx.respond(
            StatusCode::OK,
            success_body(&shared.issue_token(), lifetime, with_expiry),
        ),
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

fn looks_like_guid(s: &str) -> bool {
    Uuid::parse_str(s).is_ok()
}

/// Entra's answer to a tenant it does not serve: 90002 for a name that could
/// be a tenant, 900023 for one that could not.
pub(crate) fn unknown_tenant(ctx: &Ctx, tenant: &str) -> Response {
    if looks_like_guid(tenant) || tenant.contains('.') {
        ctx.error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into \
                 the correct cloud. Check with your subscription administrator, this may happen if there are no \
                 active subscriptions for the tenant."
            ),
        )
    } else {
        ctx.error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900023,
            &format!(
                "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."
            ),
        )
    }
}

async fn check(shared: &Shared, req: &Incoming, tenant: &str, ctx: &Ctx) -> Result<(), Response> {
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
        return Err(unknown_tenant(ctx, tenant));
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
