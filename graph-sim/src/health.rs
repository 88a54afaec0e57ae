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
//!
//! `$filter` is honoured in exactly the grammar the API page's examples use (v1.0 and beta alike),
//! and nothing more, so a client cannot come to depend on a filter Microsoft does not document:
//! clauses joined by `and`, each one of
//! - `status eq '<member>'`, `healthIssueType eq '<member>'`, `severity eq '<member>'` (the page
//!   writes `Status`: property names match ignoring case, as that example shows the service does;
//!   members too, as its response example spells the member `global` as `Global`);
//! - `domainNames/any(s:endswith(s,'<suffix>'))`, `sensorDNSNames/any(s:endswith(s,'<suffix>'))`
//!   (ignoring case: DNS names).
//!
//! `$top=n` keeps the first n matches (the page's "top five open health alerts"). Anything else in
//! `$filter` is refused with `400 BadRequest`, as Graph refuses a filter it cannot apply; the
//! other query options the page lists (`$count`, `$skip`, `$select`) are ignored. Next links carry
//! the filter and `$top` on, as Graph's do.

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
use crate::tenant::SimHealthIssue;

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
    let query = Query::parse(req.query.as_deref())?;
    let state = shared.health.lock();
    let schema = contract::schema(shared.fixed.cloud, &target.version);
    let members: Vec<Value> = state
        .issues
        .iter()
        .filter(|issue| query.filter.iter().all(|clause| clause.admits(issue)))
        .take(query.top.unwrap_or(usize::MAX))
        .map(|issue| issue.to_json(schema))
        .collect();
    let collection = format!(
        "{}/{}/security/identities/healthIssues",
        shared.base_url, target.version
    );
    let context = format!(
        "{}/{}/$metadata#security/identities/healthIssues",
        shared.base_url, target.version
    );
    identities::page(
        &context,
        &members,
        state.page_size,
        req.query.as_deref(),
        &collection,
        &query.carried,
    )
}

/// Why a `$filter` is refused.
const INVALID_FILTER: &str = "Invalid filter clause: graph-sim serves only the $filter grammar the List healthIssues \
     page documents (status, healthIssueType or severity eq '<value>'; domainNames/any or sensorDNSNames/any \
     (s:endswith(s,'<suffix>')); joined by 'and').";

/// The query options of a list request that shape its answer.
#[derive(Debug, Default)]
struct Query {
    filter: Vec<Clause>,
    top: Option<usize>,
    /// `$filter` and `$top` as received, for the next links.
    carried: Vec<(String, String)>,
}

impl Query {
    fn parse(query: Option<&str>) -> Result<Query, &'static str> {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
            .map_err(|_| "The query specified in the URI is not valid.")?;
        let mut parsed = Query::default();
        for (name, value) in pairs {
            if name.eq_ignore_ascii_case("$filter") {
                parsed.filter = value
                    .split(" and ")
                    .map(Clause::parse)
                    .collect::<Option<Vec<_>>>()
                    .ok_or(INVALID_FILTER)?;
            } else if name.eq_ignore_ascii_case("$top") {
                parsed.top = Some(value.parse().map_err(|_| "Invalid $top value.")?);
            } else {
                continue;
            }
            parsed.carried.push((name, value));
        }
        Ok(parsed)
    }
}

/// One clause of the documented `$filter` grammar.
#[derive(Debug, PartialEq, Eq)]
enum Clause {
    Status(String),
    Type(String),
    Severity(String),
    DomainNameEndsWith(String),
    SensorDnsNameEndsWith(String),
}

impl Clause {
    fn parse(text: &str) -> Option<Clause> {
        let text = text.trim();
        if let Some((property, value)) = text.split_once(" eq ") {
            let value = quoted(value.trim())?.to_owned();
            let property = property.trim();
            let is = |name: &str| property.eq_ignore_ascii_case(name);
            return if is("status") {
                Some(Clause::Status(value))
            } else if is("healthIssueType") {
                Some(Clause::Type(value))
            } else if is("severity") {
                Some(Clause::Severity(value))
            } else {
                None
            };
        }
        let (collection, lambda) = text.split_once("/any(")?;
        let lambda = lambda.strip_suffix(')')?;
        let (variable, body) = lambda.split_once(':')?;
        let argument = body
            .trim()
            .strip_prefix("endswith(")?
            .strip_suffix(')')?
            .strip_prefix(variable.trim())?
            .trim_start()
            .strip_prefix(',')?;
        let suffix = quoted(argument.trim())?.to_owned();
        if collection.eq_ignore_ascii_case("domainNames") {
            Some(Clause::DomainNameEndsWith(suffix))
        } else if collection.eq_ignore_ascii_case("sensorDNSNames") {
            Some(Clause::SensorDnsNameEndsWith(suffix))
        } else {
            None
        }
    }

    fn admits(&self, issue: &SimHealthIssue) -> bool {
        let ends_with = |names: &[String], suffix: &str| {
            let suffix = suffix.to_ascii_lowercase();
            names.iter().any(|name| name.to_ascii_lowercase().ends_with(&suffix))
        };
        match self {
            Clause::Status(value) => issue.status.eq_ignore_ascii_case(value),
            Clause::Type(value) => issue.health_issue_type.eq_ignore_ascii_case(value),
            Clause::Severity(value) => issue.severity.eq_ignore_ascii_case(value),
            Clause::DomainNameEndsWith(suffix) => ends_with(&issue.domain_names, suffix),
            Clause::SensorDnsNameEndsWith(suffix) => ends_with(&issue.sensor_dns_names, suffix),
        }
    }
}

/// The text of an OData string literal, `'...'` (no embedded quote: the documented values have none).
fn quoted(literal: &str) -> Option<&str> {
    literal
        .strip_prefix('\'')?
        .strip_suffix('\'')
        .filter(|text| !text.contains('\''))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_the_api_page_shows_parses() {
        for filter in [
            "Status eq 'open'",
            "Status eq 'open' and healthIssueType eq 'global'",
            "Status eq 'open' and healthIssueType eq 'sensor'",
            "Status eq 'open' and severity eq 'medium'",
            "Status eq 'open' and healthIssueType eq 'global' and domainNames/any(s:endswith(s,'contoso.com'))",
            "Status eq 'open' and healthIssueType eq 'global' and sensorDNSNames/any(s:endswith(s,'contoso.com'))",
            "status eq 'open'",
        ] {
            let query = format!("$filter={}", filter.replace(' ', "%20"));
            assert!(Query::parse(Some(&query)).is_ok(), "{filter}");
        }
    }

    #[test]
    fn anything_else_in_a_filter_is_refused() {
        for filter in [
            "displayName eq 'x'",
            "status ne 'open'",
            "status eq open",
            "status eq 'open' or severity eq 'low'",
            "sensorDNSNames/any(s:startswith(s,'dc1'))",
            "recommendations/any(s:endswith(s,'x'))",
            "status eq 'it''s'",
        ] {
            let query = format!("$filter={}", filter.replace(' ', "%20"));
            assert_eq!(Query::parse(Some(&query)).unwrap_err(), INVALID_FILTER, "{filter}");
        }
    }

    #[test]
    fn a_clause_admits_by_value_ignoring_case() {
        let issue = SimHealthIssue::open_on("DC1.contoso.com");
        assert!(Clause::parse("Status eq 'Open'").unwrap().admits(&issue));
        assert!(!Clause::parse("status eq 'closed'").unwrap().admits(&issue));
        assert!(
            Clause::parse("sensorDNSNames/any(s:endswith(s,'dc1.CONTOSO.com'))")
                .unwrap()
                .admits(&issue)
        );
        assert!(
            !Clause::parse("domainNames/any(d:endswith(d,'fabrikam.com'))")
                .unwrap()
                .admits(&issue)
        );
    }
}
