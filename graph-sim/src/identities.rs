//! What the newer `/security/identities/...` services (health issues, sensor candidates) share:
//! the request checks Graph makes before any of them looks at a request (bearer token, method,
//! the application role Microsoft's permission map names), the usual [`Fault`]s, and
//! server-side paging with an absolute `@odata.nextLink` carrying a `$skiptoken`. They answer as
//! the sensor list does (`crate::sensors`), in Graph's error shape and headers.

use axum::http::header::HeaderValue;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::fault::Fault;
use crate::graph::{Ctx, bearer};
use crate::server::{self, Incoming};
use crate::state::{Shared, TokenCheck};

const EXPIRED: &str = "Access token has expired or is not yet valid.";

/// The answer a fault makes before the request is looked at, or `None` to go on (a `Delay` has
/// been slept by then). `body` is the success body, for the truncated-body fault.
pub(crate) async fn before(
    shared: &Shared,
    req: &Incoming,
    ctx: &Ctx,
    fault: &Option<Fault>,
    body: impl Fn() -> String,
) -> Option<Response> {
    Some(match fault {
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut response = ctx.error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests.");
            if let Some(value) = retry_after.and_then(|r| HeaderValue::from_str(&r.header_value()).ok()) {
                response.headers_mut().insert("retry-after", value);
            }
            response
        }
        Some(Fault::Status(code)) => ctx.status(*code),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(*delay).await;
            return None;
        }
        Some(Fault::MalformedBody) => ctx.respond(StatusCode::OK, server::MALFORMED_BODY.to_owned()),
        Some(Fault::TruncatedBody) => ctx.respond(StatusCode::OK, server::truncated(&body())),
        Some(Fault::HtmlErrorPage(code)) => ctx.stamp(server::html_error_page(*code)),
        // Not a collection: `value` is an object.
        Some(Fault::UnexpectedShape) => {
            ctx.respond(StatusCode::OK, json!({ "value": { "somethingElse": 1 } }).to_string())
        }
        Some(Fault::TokenRevoked) => {
            if let Some(token) = bearer(req) {
                shared.revoke_token(token);
            }
            ctx.unauthenticated(EXPIRED)
        }
        Some(Fault::Forbidden { message }) => ctx.error(StatusCode::FORBIDDEN, "Forbidden", message),
        _ => return None,
    })
}

/// The answer to a request that passed `checks`, with the faults that act after processing.
pub(crate) fn after(fault: Option<Fault>, ctx: &Ctx, checked: Result<Response, Response>) -> Response {
    match (fault, checked) {
        (_, Err(refusal)) => refusal,
        (Some(Fault::ProcessThenStatus(code)), Ok(_)) => ctx.status(code),
        (Some(Fault::ProcessThenDrop), Ok(_)) => server::dropped_connection(),
        (_, Ok(success)) => success,
    }
}

/// Graph's checks, in its order: a well-formed, valid token; an allowed method (`allowed`); one of
/// the application `roles` the permission map lists (least privileged first). `Ok` when all pass.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
)]
pub(crate) fn check(
    shared: &Shared,
    req: &Incoming,
    ctx: &Ctx,
    allowed: &[Method],
    roles: &[&str],
) -> Result<(), Response> {
    let unauthenticated = |message: &str| ctx.unauthenticated(message);
    let Some(token) = bearer(req) else {
        return Err(unauthenticated("Access token is empty."));
    };
    if token.split('.').count() != 3 {
        return Err(unauthenticated(
            "IDX14100: JWT is not well formed, there are no dots (.).",
        ));
    }
    let held = match shared.check_token(token) {
        TokenCheck::Valid { roles } => roles,
        TokenCheck::NotIssuedHere => return Err(unauthenticated("Access token validation failure.")),
        TokenCheck::Expired | TokenCheck::Revoked => return Err(unauthenticated(EXPIRED)),
    };
    if !allowed.contains(&req.method) {
        let mut response = ctx.error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            &format!("The request method '{}' is not allowed for the resource.", req.method),
        );
        let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
            response.headers_mut().insert("allow", value);
        }
        return Err(response);
    }
    if !held.iter().any(|role| roles.contains(&role.as_str())) {
        return Err(ctx.error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "Missing application roles. API required roles: {}. API acceptable roles: {}. \
                 Application roles: {}.",
                roles.first().copied().unwrap_or_default(),
                roles.join(","),
                held.join(",")
            ),
        ));
    }
    Ok(())
}

/// One page of `members` as Graph pages a collection: `page_size` from the `$skiptoken`'s
/// offset, and an absolute `@odata.nextLink` to `link_base` while more remain. `Err` for a
/// `$skiptoken` that is not ours.
pub(crate) fn page(
    context: &str,
    members: &[Value],
    page_size: usize,
    query: Option<&str>,
    link_base: &str,
) -> Result<String, &'static str> {
    let skip = skip_token(query).ok_or("Invalid $skiptoken.")?;
    let end = skip.saturating_add(page_size.max(1)).min(members.len());
    let value: Vec<Value> = members.get(skip..end).unwrap_or_default().to_vec();
    let mut body = json!({ "@odata.context": context, "value": value });
    if end < members.len() {
        body["@odata.nextLink"] = Value::from(format!("{link_base}?$skiptoken={end}"));
    }
    Ok(body.to_string())
}

/// How many members the `$skiptoken` skips: 0 without one, `None` when it is not ours.
fn skip_token(query: Option<&str>) -> Option<usize> {
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or("")).ok()?;
    match pairs.iter().find(|(name, _)| name.eq_ignore_ascii_case("$skiptoken")) {
        None => Some(0),
        Some((_, value)) => value.parse().ok(),
    }
}

/// `segments` (after the host) as `{version}/security/identities/{rest...}`: the version
/// (`v1.0` or `beta`, lower-cased) and the rest; Graph matches segments ignoring case.
pub(crate) fn under_identities<'a>(segments: &'a [&'a str]) -> Option<(String, &'a [&'a str])> {
    let (version, rest) = segments.split_first()?;
    let version = version.to_ascii_lowercase();
    if version != "beta" && version != "v1.0" {
        return None;
    }
    let parent = ["security", "identities"];
    if rest.len() <= parent.len()
        || !parent
            .iter()
            .zip(rest)
            .all(|(want, got)| got.eq_ignore_ascii_case(want))
    {
        return None;
    }
    Some((version, &rest[parent.len()..]))
}
