//! Microsoft Graph's MDI health issues, `GET /{version}/security/identities/healthIssues`
//! (API page `security-identitycontainer-list-healthissues.md`; the CSDL's
//! `microsoft.graph.security.healthIssue`, in v1.0 and beta, global and US Government alike:
//! tests/contract/graph-schema.json).
//!
//! The role is the one Microsoft's permission map names as least privileged,
//! `SecurityIdentitiesHealth.Read.All`; the map also lists `SecurityIdentitiesHealth.ReadWrite.All`
//! for it, and both are admitted (tests/contract/graph-permissions.json). Paged on the server like
//! the sensor list; the usual [`Fault`]s apply ([`crate::identities`]).

use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::contract::{self, Schema};
use crate::fault::{Endpoint, Fault};
use crate::graph::Ctx;
use crate::identities;
use crate::server::Incoming;
use crate::state::Shared;

/// The permission map's least privileged application permission for the health issues.
pub const HEALTH_READ_ROLE: &str = "SecurityIdentitiesHealth.Read.All";
/// The map's higher option for the same read.
pub const HEALTH_READ_WRITE_ROLE: &str = "SecurityIdentitiesHealth.ReadWrite.All";

/// One health issue as Graph describes it. Enum values are free strings so tests can serve
/// members a client does not know; which properties are sent depends on the cloud and version
/// ([`crate::contract`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimHealthIssue {
    pub id: String,
    pub display_name: String,
    pub description: String,
    /// `sensor`, `global`, `unknownFutureValue`.
    pub health_issue_type: String,
    /// `low`, `medium`, `high`, `unknownFutureValue`.
    pub severity: String,
    /// `open`, `closed`, `suppressed`, `unknownFutureValue`.
    pub status: String,
    pub issue_type_id: String,
    #[serde(rename = "sensorDNSNames")]
    pub sensor_dns_names: Vec<String>,
    pub domain_names: Vec<String>,
    pub recommendations: Vec<String>,
    pub recommended_action_commands: Vec<String>,
    pub additional_information: Vec<String>,
    pub created_date_time: String,
    pub last_modified_date_time: String,
}

impl SimHealthIssue {
    /// An open, high-severity sensor issue on `dns_name` (e.g. `dc1.contoso.com`), worded after
    /// the API page's example.
    pub fn open_on(dns_name: &str) -> Self {
        let domain = dns_name.split_once('.').map_or("", |(_, domain)| domain);
        SimHealthIssue {
            id: Uuid::new_v4().to_string(),
            display_name: "Sensor stopped communicating".to_owned(),
            description: format!("The sensor on {dns_name} has not communicated with the cloud service."),
            health_issue_type: "sensor".to_owned(),
            severity: "high".to_owned(),
            status: "open".to_owned(),
            issue_type_id: "1031".to_owned(),
            sensor_dns_names: vec![dns_name.to_owned()],
            domain_names: vec![domain.to_owned()],
            recommendations: vec![
                "Check that the sensor service is running and can reach the cloud service.".to_owned(),
            ],
            recommended_action_commands: vec!["Get-Service AATPSensor".to_owned()],
            additional_information: Vec::new(),
            created_date_time: "2026-01-15T09:30:00.1234567Z".to_owned(),
            last_modified_date_time: "2026-01-15T10:30:00.1234567Z".to_owned(),
        }
    }

    /// The same issue with another status and severity.
    pub fn with(mut self, status: &str, severity: &str) -> Self {
        status.clone_into(&mut self.status);
        severity.clone_into(&mut self.severity);
        self
    }

    /// The issue as `schema` publishes it: every property it has, and no other.
    pub fn to_json(&self, schema: &Schema) -> Value {
        let every = json!({
            "id": self.id,
            "displayName": self.display_name,
            "description": self.description,
            "healthIssueType": self.health_issue_type,
            "severity": self.severity,
            "status": self.status,
            "issueTypeId": self.issue_type_id,
            "sensorDNSNames": self.sensor_dns_names,
            "domainNames": self.domain_names,
            "recommendations": self.recommendations,
            "recommendedActionCommands": self.recommended_action_commands,
            "additionalInformation": self.additional_information,
            "createdDateTime": self.created_date_time,
            "lastModifiedDateTime": self.last_modified_date_time,
        });
        match every {
            Value::Object(mut members) => {
                members.retain(|name, _| schema.health_issue.iter().any(|published| published == name));
                Value::Object(members)
            }
            other => other,
        }
    }
}

struct Issues {
    issues: Vec<SimHealthIssue>,
    page_size: usize,
}

/// The tenant's health issues, behind their own lock.
pub(crate) struct HealthState {
    inner: Mutex<Issues>,
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState {
            inner: Mutex::new(Issues {
                issues: Vec::new(),
                page_size: crate::sensors::DEFAULT_PAGE_SIZE,
            }),
        }
    }
}

impl HealthState {
    fn lock(&self) -> MutexGuard<'_, Issues> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_issues(&self, issues: Vec<SimHealthIssue>) {
        self.lock().issues = issues;
    }

    /// At least one: a page of nothing would never end.
    pub(crate) fn set_page_size(&self, size: usize) {
        self.lock().page_size = size.max(1);
    }
}

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

pub(crate) async fn answer(shared: &Shared, req: &Incoming, target: &Target, fault: Option<Fault>) -> Response {
    let ctx = Ctx::new(req);
    let success = || body(shared, req, target).unwrap_or_default();
    if let Some(early) = identities::before(shared, req, &ctx, &fault, success).await {
        return early;
    }
    let roles = [HEALTH_READ_ROLE, HEALTH_READ_WRITE_ROLE];
    let checked = match identities::check(shared, req, &ctx, &[Method::GET], &roles) {
        Err(refusal) => Err(refusal),
        Ok(()) => match body(shared, req, target) {
            Ok(body) => Ok(ctx.respond(StatusCode::OK, body)),
            Err(message) => Err(ctx.error(StatusCode::BAD_REQUEST, "BadRequest", message)),
        },
    };
    identities::after(fault, &ctx, checked)
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
