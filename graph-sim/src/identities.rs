//! What the newer `/security/identities/...` services (health issues, sensor candidates) share:
//! the request checks Graph makes before any of them looks at a request (bearer token, method,
//! one of the application roles Microsoft's permission map names), and server-side paging with
//! an absolute `@odata.nextLink` carrying a `$skiptoken`. They answer as the sensor list does
//! (`crate::sensors`), as Graph operations ([`crate::graph`]), so the usual faults apply
//! ([`crate::injection`]).

use axum::http::header::HeaderValue;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::graph::GraphRequest;

/// Graph's checks, in its order: a well-formed, valid token; an allowed method (`allowed`); one of
/// the application `roles` the permission map lists (least privileged first). `Ok` when all pass.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
)]
pub(crate) fn check(graph: &GraphRequest<'_>, allowed: &[Method], roles: &[&str]) -> Result<(), Response> {
    let held = graph.roles("IDX14100: JWT is not well formed, there are no dots (.).")?;
    if !allowed.contains(&graph.req.method) {
        let mut response = graph.reply.error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            &format!(
                "The request method '{}' is not allowed for the resource.",
                graph.req.method
            ),
        );
        let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
            response.headers_mut().insert("allow", value);
        }
        return Err(response);
    }
    graph.require_any(roles, &held)
}

/// One page of `members` as Graph pages a collection: `page_size` from the `$skiptoken`'s
/// offset, and an absolute `@odata.nextLink` to `link_base` while more remain, carrying the
/// query options in `carried` (a filter) on. `Err` for a `$skiptoken` that is not ours.
pub(crate) fn page(
    context: &str,
    members: &[Value],
    page_size: usize,
    query: Option<&str>,
    link_base: &str,
    carried: &[(String, String)],
) -> Result<String, &'static str> {
    let skip = skip_token(query).ok_or("Invalid $skiptoken.")?;
    let end = skip.saturating_add(page_size.max(1)).min(members.len());
    let value: Vec<Value> = members.get(skip..end).unwrap_or_default().to_vec();
    let mut body = json!({ "@odata.context": context, "value": value });
    if end < members.len() {
        let mut link = format!("{link_base}?$skiptoken={end}");
        if !carried.is_empty() {
            link.push('&');
            link.push_str(&serde_urlencoded::to_string(carried).unwrap_or_default());
        }
        body["@odata.nextLink"] = Value::from(link);
    }
    Ok(body.to_string())
}

/// How many members the `$skiptoken` skips: 0 without one, `None` when it is not ours.
pub(crate) fn skip_token(query: Option<&str>) -> Option<usize> {
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
