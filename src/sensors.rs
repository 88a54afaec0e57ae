//! The sensors: the installer package, the install bundle an automated deployment needs (the key,
//! the package and the installer's command line that uses both), the tenant's sensors, and a
//! verdict on each sensor that an install pipeline can poll.
//!
//! Knows nothing of Lambda, HTTP or terminals; speaks to Graph through [`SensorSource`] (and
//! [`KeySource`] for the key). The inputs that end up on a command line or in a filter are
//! validated here, so the HTTP routes and the CLI accept and refuse exactly the same values.

use std::future::Future;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::deadline::Deadline;
use crate::graph::{GraphError, Upstream, UpstreamIds};
use crate::keys::{AccessKey, KeySource};

/// The installer's file name inside Microsoft's package.
pub const INSTALLER: &str = "Azure ATP sensor Setup.exe";

/// Longer proxy URLs are not proxy URLs.
const MAX_PROXY_URL: usize = 2048;
/// A DNS name's limit.
const MAX_HOST_NAME: usize = 255;

/// Where the sensor installer can be downloaded, and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentPackage {
    pub download_url: String,
    pub version: String,
}

/// The package as Graph gave it, with Graph's request id for the audit log.
#[derive(Debug, Clone)]
pub struct PackageAnswer {
    pub package: DeploymentPackage,
    pub graph_request_id: Option<String>,
}

/// One MDI sensor (Graph's `microsoft.graph.security.sensor`). The status fields are Graph's
/// enum values as Graph spelt them: values we do not know yet (`unknownFutureValue` and whatever
/// follows it) pass through untouched rather than failing the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sensor {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub domain_name: Option<String>,
    pub sensor_type: Option<String>,
    pub version: Option<String>,
    pub deployment_status: Option<String>,
    pub health_status: Option<String>,
    pub service_status: Option<String>,
}

/// Every sensor of the tenant (all pages), with the first page's request id.
#[derive(Debug, Clone, Default)]
pub struct SensorsAnswer {
    pub sensors: Vec<Sensor>,
    pub graph_request_id: Option<String>,
}

/// Graph's sensor endpoints, as the domain sees them.
pub trait SensorSource: Send + Sync {
    fn deployment_package(&self, deadline: Deadline) -> impl Future<Output = Result<PackageAnswer, GraphError>> + Send;
    /// Every sensor, following Graph's paging to the end.
    fn sensors(&self, deadline: Deadline) -> impl Future<Output = Result<SensorsAnswer, GraphError>> + Send;
}

/// What an install pipeline needs to know about a sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Up to date, running and healthy.
    Healthy,
    /// Still onboarding, starting, updating or syncing: poll again.
    Installing,
    /// Anything else, including statuses we do not know.
    Unhealthy,
    /// No sensor of that name (yet).
    Missing,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Installing => "installing",
            Verdict::Unhealthy => "unhealthy",
            Verdict::Missing => "missing",
        }
    }

    /// How good the news is, to choose among sensors that share a name.
    fn rank(self) -> u8 {
        match self {
            Verdict::Healthy => 3,
            Verdict::Installing => 2,
            Verdict::Unhealthy => 1,
            Verdict::Missing => 0,
        }
    }
}

impl Sensor {
    pub fn verdict(&self) -> Verdict {
        // Graph spells its enum values in camelCase; a case change is not a new value.
        let is = |field: &Option<String>, values: &[&str]| {
            field
                .as_deref()
                .is_some_and(|value| values.iter().any(|known| value.eq_ignore_ascii_case(known)))
        };
        if is(&self.deployment_status, &["upToDate"])
            && is(&self.service_status, &["running"])
            && is(&self.health_status, &["healthy"])
        {
            Verdict::Healthy
        } else if is(&self.service_status, &["onboarding", "starting"])
            || is(&self.deployment_status, &["updating", "syncing"])
        {
            Verdict::Installing
        } else {
            Verdict::Unhealthy
        }
    }
}

/// A sensor with its verdict, as the routes and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SensorReport {
    #[serde(flatten)]
    pub sensor: Sensor,
    pub verdict: Verdict,
}

impl From<Sensor> for SensorReport {
    fn from(sensor: Sensor) -> Self {
        let verdict = sensor.verdict();
        SensorReport { sensor, verdict }
    }
}

/// The answer to `GET /sensors`.
#[derive(Debug, Clone, Serialize)]
pub struct SensorList {
    pub sensors: Vec<SensorReport>,
    #[serde(skip)]
    pub graph_request_id: Option<String>,
}

/// The answer to `GET /sensors/{displayName}/verdict`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostVerdict {
    pub display_name: String,
    pub verdict: Verdict,
    pub sensor: Option<SensorReport>,
    #[serde(skip)]
    pub graph_request_id: Option<String>,
}

/// What an installer needs. `Debug` shows neither the key nor the command (both are secrets).
#[derive(Debug, Clone)]
pub struct InstallBundle {
    pub key: AccessKey,
    pub package: DeploymentPackage,
    /// The installer's command line; it holds the key.
    pub install_command: SecretString,
    /// The key read's request id.
    pub graph_request_id: Option<String>,
}

/// Input refused before anything upstream is asked. Messages never quote the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("delayedUpdate must be true or false")]
    DelayedUpdate,
    #[error(
        "the proxy URL must be an http:// or https:// URL of at most 2048 letters, digits and - . _ ~ : / [ ], with a host and no credentials, query, quotes, spaces or shell metacharacters"
    )]
    ProxyUrl,
    #[error("the sensor name must be a host name: 1 to 255 letters, digits, '-' or '.'")]
    HostName,
    #[error("the query parameter {0} is given more than once")]
    Repeated(&'static str),
    #[error("the query parameter {0} must not be empty")]
    Empty(&'static str),
}

/// A proxy URL that is safe to put between double quotes on a Windows command line (cmd.exe or
/// PowerShell): an allow-list of characters rules out quotes, spaces, `%`, `!`, `$`, backticks,
/// `^`, `&`, `|`, `;`, `<`, `>` and the rest, whatever shell runs the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUrl(String);

impl ProxyUrl {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':' | '/' | '[' | ']');
        if text.is_empty() || text.len() > MAX_PROXY_URL || !text.chars().all(allowed) {
            return Err(InputError::ProxyUrl);
        }
        let url = reqwest::Url::parse(text).map_err(|_| InputError::ProxyUrl)?;
        let plain = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|host| !host.is_empty())
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none()
            // The URL parser accepts `http:host`; the installer wants the `//`.
            && text.split_once("://").is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case(url.scheme()));
        if !plain {
            return Err(InputError::ProxyUrl);
        }
        Ok(ProxyUrl(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProxyUrl {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, InputError> {
        ProxyUrl::parse(text)
    }
}

/// A sensor's display name: a host name (`DC1`, `dc1.contoso.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostName(String);

impl HostName {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.');
        if text.is_empty() || text.len() > MAX_HOST_NAME || !text.chars().all(allowed) {
            return Err(InputError::HostName);
        }
        Ok(HostName(text.to_owned()))
    }

    /// From a URL path segment, percent-decoded first.
    pub fn from_path_segment(segment: &str) -> Result<Self, InputError> {
        HostName::parse(&percent_decode(segment).ok_or(InputError::HostName)?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for HostName {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, InputError> {
        HostName::parse(text)
    }
}

/// `%XX` escapes decoded; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// The installer's optional switches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallOptions {
    pub delayed_update: bool,
    pub proxy_url: Option<ProxyUrl>,
}

impl InstallOptions {
    /// From query parameters (`values` gives every value of a name); names other than
    /// `delayedUpdate` and `proxyUrl` are ignored.
    pub fn from_query<'a>(values: impl Fn(&str) -> Vec<&'a str>) -> Result<Self, InputError> {
        let delayed_update = match single(&values, "delayedUpdate")? {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(InputError::DelayedUpdate),
        };
        let proxy_url = single(&values, "proxyUrl")?.map(ProxyUrl::parse).transpose()?;
        Ok(InstallOptions {
            delayed_update,
            proxy_url,
        })
    }
}

/// Which sensors to list; each given value must match exactly, ignoring ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensorFilter {
    pub domain_name: Option<String>,
    pub display_name: Option<String>,
}

impl SensorFilter {
    /// From query parameters; names other than `domainName` and `displayName` are ignored.
    pub fn from_query<'a>(values: impl Fn(&str) -> Vec<&'a str>) -> Result<Self, InputError> {
        let text = |name: &'static str| match single(&values, name)? {
            Some("") => Err(InputError::Empty(name)),
            other => Ok(other.map(str::to_owned)),
        };
        Ok(SensorFilter {
            domain_name: text("domainName")?,
            display_name: text("displayName")?,
        })
    }

    pub fn matches(&self, sensor: &Sensor) -> bool {
        let matches = |wanted: &Option<String>, actual: &Option<String>| match wanted {
            None => true,
            Some(wanted) => actual
                .as_deref()
                .is_some_and(|actual| actual.eq_ignore_ascii_case(wanted)),
        };
        matches(&self.domain_name, &sensor.domain_name) && matches(&self.display_name, &sensor.display_name)
    }
}

/// The one value of a query parameter: a parameter given twice is ambiguous, so refused.
fn single<'a>(values: &impl Fn(&str) -> Vec<&'a str>, name: &'static str) -> Result<Option<&'a str>, InputError> {
    match values(name).as_slice() {
        [] => Ok(None),
        [value] => Ok(Some(value)),
        _ => Err(InputError::Repeated(name)),
    }
}

/// `"Azure ATP sensor Setup.exe" /quiet NetFrameworkCommandLineArguments="/q" AccessKey="<key>"`
/// and the optional switches. `Err` when the key holds a character that cannot sit between
/// double quotes safely (Graph's keys are base64, so this means Graph sent something else).
pub fn install_command(key: &AccessKey, options: &InstallOptions) -> Result<SecretString, &'static str> {
    let key = key.expose().expose_secret();
    let quotable = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    if key.is_empty() || !key.chars().all(quotable) {
        return Err("the key holds characters that cannot be quoted on the installer's command line");
    }
    let mut command = format!("\"{INSTALLER}\" /quiet NetFrameworkCommandLineArguments=\"/q\" AccessKey=\"{key}\"");
    if options.delayed_update {
        command.push_str(" DelayedUpdate=true");
    }
    if let Some(proxy) = &options.proxy_url {
        command.push_str(&format!(" ProxyUrl=\"{}\"", proxy.as_str()));
    }
    Ok(SecretString::from(command))
}

/// The key and the package, read from Graph at the same time, and the command that uses both.
pub async fn install_bundle<G: KeySource + SensorSource>(
    graph: &G,
    options: &InstallOptions,
    deadline: Deadline,
) -> Result<InstallBundle, GraphError> {
    let (key, package) = tokio::join!(graph.current_key(deadline), graph.deployment_package(deadline));
    let (key, package) = (key?, package?);
    let install_command = install_command(&key.key, options).map_err(|reason| GraphError::BadResponse {
        upstream: Upstream::Graph,
        reason,
        ids: UpstreamIds {
            request_id: key.graph_request_id.clone(),
            ..UpstreamIds::default()
        },
    })?;
    Ok(InstallBundle {
        key: key.key,
        package: package.package,
        install_command,
        graph_request_id: key.graph_request_id,
    })
}

/// The tenant's sensors that pass `filter`, each with its verdict, in Graph's order.
pub async fn list<G: SensorSource>(
    graph: &G,
    filter: &SensorFilter,
    deadline: Deadline,
) -> Result<SensorList, GraphError> {
    let answer = graph.sensors(deadline).await?;
    Ok(SensorList {
        sensors: answer
            .sensors
            .into_iter()
            .filter(|sensor| filter.matches(sensor))
            .map(SensorReport::from)
            .collect(),
        graph_request_id: answer.graph_request_id,
    })
}

/// The verdict on the sensor named `host`. A reinstalled server can leave its old sensor behind
/// under the same name, so when several match, the one with the best verdict counts.
pub async fn verdict<G: SensorSource>(
    graph: &G,
    host: &HostName,
    deadline: Deadline,
) -> Result<HostVerdict, GraphError> {
    let answer = graph.sensors(deadline).await?;
    let filter = SensorFilter {
        domain_name: None,
        display_name: Some(host.as_str().to_owned()),
    };
    let best = answer
        .sensors
        .into_iter()
        .filter(|sensor| filter.matches(sensor))
        .map(SensorReport::from)
        // max_by_key keeps the last of equals; reversing first keeps Graph's first instead.
        .rev()
        .max_by_key(|report| report.verdict.rank());
    Ok(HostVerdict {
        display_name: host.as_str().to_owned(),
        verdict: best.as_ref().map_or(Verdict::Missing, |report| report.verdict),
        sensor: best,
        graph_request_id: answer.graph_request_id,
    })
}

#[cfg(test)]
pub(crate) mod fake {
    //! A scripted [`SensorSource`] (and [`KeySource`]) for unit tests.
    use std::sync::Mutex;

    use super::*;
    use crate::keys::KeyAnswer;

    #[derive(Default)]
    pub struct FakeSensors {
        pub key: String,
        pub sensors: Vec<Sensor>,
        pub calls: Mutex<Vec<&'static str>>,
    }

    impl KeySource for FakeSensors {
        async fn current_key(&self, _: Deadline) -> Result<KeyAnswer, GraphError> {
            self.calls.lock().unwrap().push("key");
            Ok(KeyAnswer {
                key: AccessKey::new(SecretString::from(self.key.clone())),
                graph_request_id: Some("key-req".into()),
            })
        }

        async fn regenerate_key(&self, deadline: Deadline) -> Result<KeyAnswer, GraphError> {
            self.current_key(deadline).await
        }
    }

    impl SensorSource for FakeSensors {
        async fn deployment_package(&self, _: Deadline) -> Result<PackageAnswer, GraphError> {
            self.calls.lock().unwrap().push("package");
            Ok(PackageAnswer {
                package: DeploymentPackage {
                    download_url: "https://download.example/sensor.zip".into(),
                    version: "2.241.18000.0".into(),
                },
                graph_request_id: Some("package-req".into()),
            })
        }

        async fn sensors(&self, _: Deadline) -> Result<SensorsAnswer, GraphError> {
            self.calls.lock().unwrap().push("sensors");
            Ok(SensorsAnswer {
                sensors: self.sensors.clone(),
                graph_request_id: Some("sensors-req".into()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::fake::FakeSensors;
    use super::*;

    const KEY: &str = "c2Vuc29yLWtleQ+/abc==";

    fn soon() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    fn sensor(name: &str, deployment: &str, service: &str, health: &str) -> Sensor {
        Sensor {
            id: Some(format!("{name}-id")),
            display_name: Some(name.to_owned()),
            domain_name: Some("contoso.com".into()),
            sensor_type: Some("domainController".into()),
            version: Some("2.241.18000.0".into()),
            deployment_status: Some(deployment.to_owned()),
            health_status: Some(health.to_owned()),
            service_status: Some(service.to_owned()),
        }
    }

    fn query<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Vec<&'a str> + 'a {
        move |name| pairs.iter().filter(|(n, _)| *n == name).map(|(_, v)| *v).collect()
    }

    fn key() -> AccessKey {
        AccessKey::new(SecretString::from(KEY))
    }

    #[test]
    fn a_sensor_is_healthy_only_when_up_to_date_running_and_healthy() {
        assert_eq!(
            sensor("a", "upToDate", "running", "healthy").verdict(),
            Verdict::Healthy
        );
        for (deployment, service, health) in [
            ("outdated", "running", "healthy"),
            ("upToDate", "stopped", "healthy"),
            ("upToDate", "running", "notHealthyLow"),
            ("upToDate", "running", "notHealthyMedium"),
            ("upToDate", "running", "notHealthyHigh"),
            ("updateFailed", "running", "healthy"),
            ("notConfigured", "disabled", "healthy"),
            ("unreachable", "unknown", "healthy"),
            ("disconnected", "running", "healthy"),
            ("startFailure", "stopped", "notHealthyHigh"),
        ] {
            assert_eq!(
                sensor("a", deployment, service, health).verdict(),
                Verdict::Unhealthy,
                "{deployment} {service} {health}"
            );
        }
    }

    #[test]
    fn a_sensor_that_is_onboarding_starting_updating_or_syncing_is_installing() {
        for (deployment, service, health) in [
            ("upToDate", "onboarding", "healthy"),
            ("notConfigured", "starting", "notHealthyHigh"),
            ("updating", "running", "healthy"),
            ("syncing", "stopped", "notHealthyLow"),
            ("updating", "onboarding", "unknownFutureValue"),
        ] {
            assert_eq!(
                sensor("a", deployment, service, health).verdict(),
                Verdict::Installing,
                "{deployment} {service} {health}"
            );
        }
    }

    #[test]
    fn unknown_or_missing_statuses_are_unhealthy_and_passed_through_as_they_came() {
        let odd = sensor("a", "quantumEntangled", "unknownFutureValue", "healthy");
        assert_eq!(odd.verdict(), Verdict::Unhealthy);
        let json = serde_json::to_value(SensorReport::from(odd)).unwrap();
        assert_eq!(json["deploymentStatus"], "quantumEntangled");
        assert_eq!(json["serviceStatus"], "unknownFutureValue");
        assert_eq!(json["verdict"], "unhealthy");
        assert_eq!(Sensor::default().verdict(), Verdict::Unhealthy);
    }

    #[test]
    fn a_report_serializes_the_documented_fields_and_the_verdict() {
        let json = serde_json::to_value(SensorReport::from(sensor("DC1", "upToDate", "running", "healthy"))).unwrap();
        for field in [
            "displayName",
            "domainName",
            "sensorType",
            "version",
            "deploymentStatus",
            "healthStatus",
            "serviceStatus",
        ] {
            assert!(json[field].is_string(), "{field}");
        }
        assert_eq!(json["verdict"], "healthy");
    }

    #[test]
    fn the_install_command_quotes_the_key_and_adds_the_switches_in_order() {
        let plain = install_command(&key(), &InstallOptions::default()).unwrap();
        assert_eq!(
            plain.expose_secret(),
            format!(
                "\"Azure ATP sensor Setup.exe\" /quiet NetFrameworkCommandLineArguments=\"/q\" AccessKey=\"{KEY}\""
            )
        );
        let options = InstallOptions {
            delayed_update: true,
            proxy_url: Some(ProxyUrl::parse("http://proxy.contoso.com:8080").unwrap()),
        };
        let full = install_command(&key(), &options).unwrap();
        assert!(full.expose_secret().ends_with(&format!(
            "AccessKey=\"{KEY}\" DelayedUpdate=true ProxyUrl=\"http://proxy.contoso.com:8080\""
        )));
    }

    #[test]
    fn a_key_that_cannot_be_quoted_safely_is_refused_without_being_quoted() {
        for bad in ["", "abc\"def", "a b", "a%PATH%", "k$(x)"] {
            let error =
                install_command(&AccessKey::new(SecretString::from(bad)), &InstallOptions::default()).unwrap_err();
            assert!(bad.is_empty() || !error.contains(bad), "{error}");
        }
    }

    #[test]
    fn plain_http_and_https_proxy_urls_are_accepted() {
        for good in [
            "http://proxy.contoso.com:8080",
            "https://proxy:3128/",
            "http://10.0.0.1:8080",
            "http://[2001:db8::1]:8080",
            "HTTP://Proxy.Contoso.com",
        ] {
            assert_eq!(ProxyUrl::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn proxy_urls_with_quotes_spaces_metacharacters_or_the_wrong_shape_are_refused() {
        for bad in [
            "",
            "proxy.contoso.com:8080",
            "ftp://proxy:21",
            "http://",
            "http:proxy",
            "http://proxy\" /evil",
            "http://proxy /x",
            "http://proxy&calc",
            "http://proxy|calc",
            "http://proxy;calc",
            "http://proxy$(calc)",
            "http://proxy`calc`",
            "http://%PATH%",
            "http://proxy!x!",
            "http://proxy^x",
            "http://proxy<x>",
            "http://user:pass@proxy",
            "http://proxy/?q=1",
            "http://proxy/#x",
            "http://proxy'x",
            "http://proxy\nx",
            "http://proxé.com",
            &format!("http://{}", "a".repeat(MAX_PROXY_URL)),
        ] {
            assert_eq!(ProxyUrl::parse(bad), Err(InputError::ProxyUrl), "{bad:?}");
        }
    }

    #[test]
    fn host_names_are_letters_digits_dashes_and_dots_up_to_255() {
        assert!(HostName::parse("DC1").is_ok());
        assert!(HostName::parse("dc-01.corp.contoso.com").is_ok());
        assert!(HostName::parse(&"a".repeat(255)).is_ok());
        for bad in ["", "dc 1", "dc_1", "dc1/..", "dc1\"", "dc1%", "dé", &"a".repeat(256)] {
            assert_eq!(HostName::parse(bad), Err(InputError::HostName), "{bad:?}");
        }
    }

    #[test]
    fn a_path_segment_is_percent_decoded_before_it_is_validated() {
        assert_eq!(
            HostName::from_path_segment("DC1%2Econtoso.com").unwrap().as_str(),
            "DC1.contoso.com"
        );
        for bad in ["dc%2F1", "dc%201", "dc%", "dc%zz", "dc%C3", "%00"] {
            assert_eq!(HostName::from_path_segment(bad), Err(InputError::HostName), "{bad}");
        }
    }

    #[test]
    fn install_options_come_from_the_query_and_other_parameters_are_ignored() {
        assert_eq!(
            InstallOptions::from_query(query(&[])).unwrap(),
            InstallOptions::default()
        );
        let options = InstallOptions::from_query(query(&[
            ("delayedUpdate", "true"),
            ("proxyUrl", "http://proxy:8080"),
            ("utm_source", "whatever\"; rm -rf"),
        ]))
        .unwrap();
        assert!(options.delayed_update);
        assert_eq!(options.proxy_url.unwrap().as_str(), "http://proxy:8080");
        assert!(
            !InstallOptions::from_query(query(&[("delayedUpdate", "false")]))
                .unwrap()
                .delayed_update
        );
    }

    #[test]
    fn bad_install_options_are_refused_by_name() {
        for value in ["TRUE", "1", "yes", ""] {
            assert_eq!(
                InstallOptions::from_query(query(&[("delayedUpdate", value)])),
                Err(InputError::DelayedUpdate),
                "{value}"
            );
        }
        assert_eq!(
            InstallOptions::from_query(query(&[("proxyUrl", "http://a b")])),
            Err(InputError::ProxyUrl)
        );
        assert_eq!(
            InstallOptions::from_query(query(&[("delayedUpdate", "true"), ("delayedUpdate", "false")])),
            Err(InputError::Repeated("delayedUpdate"))
        );
    }

    #[test]
    fn the_filter_matches_exactly_ignoring_case() {
        let dc1 = sensor("DC1", "upToDate", "running", "healthy");
        let filter = SensorFilter::from_query(query(&[("domainName", "CONTOSO.com"), ("displayName", "dc1")])).unwrap();
        assert!(filter.matches(&dc1));
        assert!(SensorFilter::default().matches(&dc1));
        let other = SensorFilter::from_query(query(&[("displayName", "DC")])).unwrap();
        assert!(!other.matches(&dc1), "no prefix matches");
        assert!(!filter.matches(&Sensor::default()));
        assert_eq!(
            SensorFilter::from_query(query(&[("domainName", "")])),
            Err(InputError::Empty("domainName"))
        );
    }

    #[test]
    fn input_errors_never_quote_the_input() {
        let error = ProxyUrl::parse("http://secret-looking-value\"").unwrap_err();
        assert!(!error.to_string().contains("secret-looking-value"));
    }

    #[tokio::test]
    async fn the_bundle_reads_the_key_and_the_package_and_builds_the_command() {
        let graph = FakeSensors {
            key: KEY.into(),
            ..FakeSensors::default()
        };
        let bundle = install_bundle(&graph, &InstallOptions::default(), soon())
            .await
            .unwrap();
        assert_eq!(bundle.key.expose().expose_secret(), KEY);
        assert_eq!(bundle.package.version, "2.241.18000.0");
        assert!(bundle.install_command.expose_secret().contains(KEY));
        assert_eq!(bundle.graph_request_id.as_deref(), Some("key-req"));
        let mut calls = graph.calls.lock().unwrap().clone();
        calls.sort();
        assert_eq!(calls, ["key", "package"]);
        assert!(
            !format!("{bundle:?}").contains(KEY),
            "Debug redacts the key and the command"
        );
    }

    #[tokio::test]
    async fn the_list_is_filtered_and_each_sensor_carries_its_verdict() {
        let graph = FakeSensors {
            sensors: vec![
                sensor("DC1", "upToDate", "running", "healthy"),
                Sensor {
                    domain_name: Some("fabrikam.com".into()),
                    ..sensor("DC2", "updating", "running", "healthy")
                },
            ],
            ..FakeSensors::default()
        };
        let all = list(&graph, &SensorFilter::default(), soon()).await.unwrap();
        assert_eq!(
            all.sensors.iter().map(|s| s.verdict).collect::<Vec<_>>(),
            [Verdict::Healthy, Verdict::Installing]
        );
        let filter = SensorFilter {
            domain_name: Some("Fabrikam.com".into()),
            display_name: None,
        };
        let fabrikam = list(&graph, &filter, soon()).await.unwrap();
        assert_eq!(fabrikam.sensors.len(), 1);
        assert_eq!(fabrikam.sensors[0].sensor.display_name.as_deref(), Some("DC2"));
        assert_eq!(
            serde_json::to_value(&fabrikam).unwrap()["sensors"][0]["verdict"],
            "installing"
        );
    }

    #[tokio::test]
    async fn a_verdict_is_missing_without_a_sensor_and_the_best_of_namesakes_otherwise() {
        let graph = FakeSensors {
            sensors: vec![
                sensor("DC1", "disconnected", "stopped", "notHealthyHigh"),
                sensor("dc1", "upToDate", "running", "healthy"),
                sensor("DC2", "updating", "starting", "healthy"),
            ],
            ..FakeSensors::default()
        };
        let dc1 = verdict(&graph, &HostName::parse("DC1").unwrap(), soon()).await.unwrap();
        assert_eq!(dc1.verdict, Verdict::Healthy);
        assert_eq!(dc1.sensor.unwrap().sensor.id.as_deref(), Some("dc1-id"));
        let dc9 = verdict(&graph, &HostName::parse("DC9").unwrap(), soon()).await.unwrap();
        assert_eq!(dc9.verdict, Verdict::Missing);
        let json = serde_json::to_value(&dc9).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"displayName": "DC9", "verdict": "missing", "sensor": null})
        );
    }
}
