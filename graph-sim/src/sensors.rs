//! Microsoft Graph's MDI sensor list, `GET /{version}/security/identities/sensors`, paged on the
//! server with an absolute `@odata.nextLink` carrying a `$skiptoken`, and the sensor deployment
//! package, `GET /{version}/security/identities/sensors/getDeploymentPackageUri`.
//!
//! Requests are checked as the key endpoints check them (API version, bearer token, method,
//! application role). The role is the one Microsoft's permission map names for these endpoints,
//! `SecurityIdentitiesSensors.Read.All`, and only it: the map does not list ReadWrite.All for them
//! (tests/contract/graph-permissions.json). A sensor has the properties its cloud and the API
//! version publish ([`crate::contract`]). The same [`Fault`]s apply, and answers carry Graph's
//! `request-id`, `client-request-id` and `Date` headers and its error shape.

use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::header::HeaderValue;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::READ_ROLE;
use crate::contract::{self, Schema};
use crate::fault::{Endpoint, Fault};
use crate::graph::{Ctx, bearer};
use crate::server::{self, Incoming};
use crate::state::{Shared, TokenCheck};

/// Sensors per page unless a test sets another size.
pub const DEFAULT_PAGE_SIZE: usize = 100;

const PACKAGE_TYPE: &str = "microsoft.graph.security.sensorDeploymentPackage";
const PACKAGE_FUNCTION: &str = "getDeploymentPackageUri";
const NAMESPACE: &str = "microsoft.graph.security.";
const EXPIRED: &str = "Access token has expired or is not yet valid.";

/// One MDI sensor as Graph describes it (`microsoft.graph.security.sensor`; the enum members
/// below are the published ones, tests/contract). Statuses are free strings so tests can serve
/// values a client does not know (`unknownFutureValue`, or one Microsoft adds later). Which of the
/// fields are sent depends on the cloud and version ([`crate::contract`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimSensor {
    pub id: String,
    /// The server's short (NetBIOS) name, as in Microsoft's example (`DC1`).
    pub display_name: String,
    pub domain_name: String,
    /// `adConnectIntegrated`, `adcsIntegrated`, `adfsIntegrated`, `domainControllerIntegrated`,
    /// `domainControllerStandalone`, `unknownFutureValue`.
    pub sensor_type: String,
    /// `upToDate`, `outdated`, `updating`, `updateFailed`, `notConfigured`, `unreachable`,
    /// `disconnected`, `startFailure`, `syncing`, `unknownFutureValue`.
    pub deployment_status: String,
    /// `healthy`, `notHealthyLow`, `notHealthyMedium`, `notHealthyHigh`, `unknownFutureValue`.
    pub health_status: String,
    /// `stopped`, `starting`, `running`, `disabled`, `onboarding`, `unknown`, `unknownFutureValue`
    /// (global cloud only).
    pub service_status: String,
    pub version: String,
    pub created_date_time: String,
    #[serde(default)]
    pub open_health_issues_count: u64,
    /// `settings.domainControllerDnsNames`: the server's fully qualified names.
    #[serde(default)]
    pub domain_controller_dns_names: Vec<String>,
    /// `settings.isDelayedDeploymentEnabled`.
    #[serde(default)]
    pub is_delayed_deployment_enabled: bool,
    /// `migrationState` (beta, global cloud only): `readyForMigration`, `notReadyForMigration`,
    /// `upToDate`, `migrationFailed`, `migrating`, `unknownFutureValue`.
    #[serde(default = "not_ready_for_migration")]
    pub migration_state: String,
}

fn not_ready_for_migration() -> String {
    "notReadyForMigration".to_owned()
}

impl SimSensor {
    /// An up-to-date, running, healthy domain controller sensor with no open health issue. A
    /// short name (`DC1`) gets the DNS name `dc1.<domain>`; a name with a dot is taken as the DNS
    /// name already.
    pub fn healthy(display_name: &str, domain_name: &str) -> Self {
        let dns_name = if display_name.contains('.') {
            display_name.to_ascii_lowercase()
        } else {
            format!("{}.{domain_name}", display_name.to_ascii_lowercase())
        };
        SimSensor {
            id: Uuid::new_v4().to_string(),
            display_name: display_name.to_owned(),
            domain_name: domain_name.to_owned(),
            sensor_type: "domainControllerIntegrated".to_owned(),
            deployment_status: "upToDate".to_owned(),
            health_status: "healthy".to_owned(),
            service_status: "running".to_owned(),
            version: "2.241.18000.0".to_owned(),
            created_date_time: "2026-01-15T09:30:00.1234567Z".to_owned(),
            open_health_issues_count: 0,
            domain_controller_dns_names: vec![dns_name],
            is_delayed_deployment_enabled: false,
            migration_state: not_ready_for_migration(),
        }
    }

    /// The same sensor with its deployment, service and health statuses replaced.
    pub fn with_status(mut self, deployment: &str, service: &str, health: &str) -> Self {
        deployment.clone_into(&mut self.deployment_status);
        service.clone_into(&mut self.service_status);
        health.clone_into(&mut self.health_status);
        self
    }

    /// The sensor as `schema` publishes it: every property it has, and no other.
    pub fn to_json(&self, schema: &Schema) -> Value {
        let every = json!({
            "id": self.id,
            "displayName": self.display_name,
            "domainName": self.domain_name,
            "sensorType": self.sensor_type,
            "deploymentStatus": self.deployment_status,
            "healthStatus": self.health_status,
            "serviceStatus": self.service_status,
            "version": self.version,
            "createdDateTime": self.created_date_time,
            "openHealthIssuesCount": self.open_health_issues_count,
            "migrationState": self.migration_state,
            "settings": only(&schema.settings, json!({
                "description": "",
                "domainControllerDnsNames": self.domain_controller_dns_names,
                "isDelayedDeploymentEnabled": self.is_delayed_deployment_enabled,
            })),
        });
        only(&schema.sensor, every)
    }
}

/// `object` with only the members named in `names`.
fn only(names: &[String], object: Value) -> Value {
    match object {
        Value::Object(mut members) => {
            members.retain(|name, _| names.iter().any(|wanted| wanted == name));
            Value::Object(members)
        }
        other => other,
    }
}

/// What `getDeploymentPackageUri` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimPackage {
    pub download_url: String,
    pub version: String,
}

impl Default for SimPackage {
    fn default() -> Self {
        SimPackage {
            // `.invalid` never resolves: nothing can download from the simulator by accident.
            download_url: "https://sensor-package.sim.invalid/Azure%20ATP%20Sensor%20Setup.zip".to_owned(),
            version: "2.241.18000.0".to_owned(),
        }
    }
}

struct Tenant {
    sensors: Vec<SimSensor>,
    page_size: usize,
    package: SimPackage,
    /// Where next links point instead of the simulator itself, to test clients that must refuse
    /// a link leaving Graph.
    next_link_root: Option<String>,
}

/// The sensors and the package, behind their own lock.
pub(crate) struct SensorState {
    tenant: Mutex<Tenant>,
}

impl Default for SensorState {
    fn default() -> Self {
        SensorState {
            tenant: Mutex::new(Tenant {
                sensors: Vec::new(),
                page_size: DEFAULT_PAGE_SIZE,
                package: SimPackage::default(),
                next_link_root: None,
            }),
        }
    }
}

impl SensorState {
    fn lock(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_sensors(&self, sensors: Vec<SimSensor>) {
        self.lock().sensors = sensors;
    }

    pub(crate) fn sensors(&self) -> Vec<SimSensor> {
        self.lock().sensors.clone()
    }

    /// At least one: a page of nothing would never end.
    pub(crate) fn set_page_size(&self, size: usize) {
        self.lock().page_size = size.max(1);
    }

    pub(crate) fn set_package(&self, package: SimPackage) {
        self.lock().package = package;
    }

    pub(crate) fn package(&self) -> SimPackage {
        self.lock().package.clone()
    }

    pub(crate) fn set_next_link_root(&self, root: Option<String>) {
        self.lock().next_link_root = root;
    }
}

/// Which of the two operations a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Package,
    List,
}

pub(crate) struct Target {
    version: String,
    op: Op,
}

impl Target {
    /// `Some` for the two sensor paths under a known API version; anything else is left to the
    /// key endpoints' parser, which answers it in Graph's words.
    pub(crate) fn parse(segments: &[&str]) -> Option<Target> {
        let (version, rest) = segments.split_first()?;
        let version = version.to_ascii_lowercase();
        if version != "beta" && version != "v1.0" {
            return None;
        }
        let parent = ["security", "identities", "sensors"];
        if rest.len() < parent.len()
            || !parent
                .iter()
                .zip(rest)
                .all(|(want, got)| got.eq_ignore_ascii_case(want))
        {
            return None;
        }
        let op = match &rest[parent.len()..] {
            [] => Op::List,
            [function] => {
                // As Graph does: an optional namespace and optional empty parentheses.
                let bare = function.strip_suffix("()").unwrap_or(function);
                let bare = bare
                    .get(..NAMESPACE.len())
                    .filter(|prefix| prefix.eq_ignore_ascii_case(NAMESPACE))
                    .map_or(bare, |_| &bare[NAMESPACE.len()..]);
                if !bare.eq_ignore_ascii_case(PACKAGE_FUNCTION) {
                    return None;
                }
                Op::Package
            }
            _ => return None,
        };
        Some(Target { version, op })
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        match self.op {
            Op::Package => Endpoint::GetPackage,
            Op::List => Endpoint::ListSensors,
        }
    }
}

pub(crate) async fn answer(shared: &Shared, req: &Incoming, target: &Target, fault: Option<Fault>) -> Response {
    let ctx = Ctx::new(req);
    match &fault {
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut response = ctx.error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests.");
            if let Some(value) = retry_after.and_then(|r| HeaderValue::from_str(&r.header_value()).ok()) {
                response.headers_mut().insert("retry-after", value);
            }
            return response;
        }
        Some(Fault::Status(code)) => return ctx.status(*code),
        Some(Fault::Delay(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::MalformedBody) => return ctx.respond(StatusCode::OK, server::MALFORMED_BODY.to_owned()),
        Some(Fault::TruncatedBody) => {
            let body = body(shared, req, target).unwrap_or_default();
            return ctx.respond(StatusCode::OK, server::truncated(&body));
        }
        Some(Fault::HtmlErrorPage(code)) => return ctx.stamp(server::html_error_page(*code)),
        Some(Fault::UnexpectedShape) => {
            // Neither a package nor a collection: `value` is an object without a download URL.
            let body = json!({ "@odata.context": context(shared, target), "value": { "somethingElse": 1 } });
            return ctx.respond(StatusCode::OK, body.to_string());
        }
        Some(Fault::TokenRevoked) => {
            if let Some(token) = bearer(req) {
                shared.revoke_token(token);
            }
            return ctx.unauthenticated(EXPIRED);
        }
        Some(Fault::Forbidden { message }) => return ctx.error(StatusCode::FORBIDDEN, "Forbidden", message),
        _ => {}
    }
    match (fault, process(shared, req, target, &ctx)) {
        (_, Err(refusal)) => refusal,
        (Some(Fault::ProcessThenStatus(code)), Ok(_)) => ctx.status(code),
        (Some(Fault::ProcessThenDrop), Ok(_)) => server::dropped_connection(),
        (_, Ok(success)) => success,
    }
}

#[expect(
    clippy::result_large_err,
    reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
)]
fn process(shared: &Shared, req: &Incoming, target: &Target, ctx: &Ctx) -> Result<Response, Response> {
    let unauthenticated = |message: &str| ctx.unauthenticated(message);
    let Some(token) = bearer(req) else {
        return Err(unauthenticated("Access token is empty."));
    };
    if token.split('.').count() != 3 {
        return Err(unauthenticated(
            "IDX14100: JWT is not well formed, there are no dots (.).",
        ));
    }
    let roles = match shared.check_token(token) {
        TokenCheck::Valid { roles } => roles,
        TokenCheck::NotIssuedHere => return Err(unauthenticated("Access token validation failure.")),
        TokenCheck::Expired | TokenCheck::Revoked => return Err(unauthenticated(EXPIRED)),
    };
    if req.method != Method::GET {
        let mut response = ctx.error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            &format!("The request method '{}' is not allowed for the resource.", req.method),
        );
        response.headers_mut().insert("allow", HeaderValue::from_static("GET"));
        return Err(response);
    }
    if !roles.iter().any(|role| role == READ_ROLE) {
        return Err(ctx.error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "Missing application roles. API required roles: {READ_ROLE}. API acceptable roles: {READ_ROLE}. \
                 Application roles: {}.",
                roles.join(",")
            ),
        ));
    }
    match body(shared, req, target) {
        Ok(body) => Ok(ctx.respond(StatusCode::OK, body)),
        Err(message) => Err(ctx.error(StatusCode::BAD_REQUEST, "BadRequest", message)),
    }
}

fn context(shared: &Shared, target: &Target) -> String {
    match target.op {
        Op::Package => format!("{}/{}/$metadata#{PACKAGE_TYPE}", shared.base_url, target.version),
        Op::List => format!(
            "{}/{}/$metadata#security/identities/sensors",
            shared.base_url, target.version
        ),
    }
}

/// The successful answer's body, or why the query is refused.
fn body(shared: &Shared, req: &Incoming, target: &Target) -> Result<String, &'static str> {
    let tenant = shared.sensors.lock();
    let body = match target.op {
        Op::Package => json!({
            "@odata.context": context(shared, target),
            "value": {
                "@odata.type": format!("#{PACKAGE_TYPE}"),
                "downloadUrl": tenant.package.download_url,
                "version": tenant.package.version,
            },
        }),
        Op::List => {
            let skip = match skip_token(req.query.as_deref()) {
                Some(skip) => skip,
                None => return Err("Invalid $skiptoken."),
            };
            let end = skip.saturating_add(tenant.page_size).min(tenant.sensors.len());
            let schema = contract::schema(shared.fixed.cloud, &target.version);
            let page: Vec<Value> = tenant
                .sensors
                .get(skip..end)
                .unwrap_or_default()
                .iter()
                .map(|sensor| sensor.to_json(schema))
                .collect();
            let mut body = json!({ "@odata.context": context(shared, target), "value": page });
            if end < tenant.sensors.len() {
                let root = tenant.next_link_root.as_deref().unwrap_or(&shared.base_url);
                body["@odata.nextLink"] = Value::from(format!(
                    "{root}/{}/security/identities/sensors?$skiptoken={end}",
                    target.version
                ));
            }
            body
        }
    };
    Ok(body.to_string())
}

/// How many sensors the `$skiptoken` skips: 0 without one, `None` when it is not ours.
fn skip_token(query: Option<&str>) -> Option<usize> {
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or("")).ok()?;
    match pairs.iter().find(|(name, _)| name.eq_ignore_ascii_case("$skiptoken")) {
        None => Some(0),
        Some((_, value)) => value.parse().ok(),
    }
}
