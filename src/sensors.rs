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

use crate::candidates::{ActivationMode, ActivationModeAnswer, CandidateList, ServerIds};
use crate::deadline::Deadline;
use crate::health::{Explanation, HealthIssuesAnswer, HostHealthIssues};
use crate::keys::{AccessKey, KeySource};
use crate::upstream::{GraphError, Upstream, UpstreamIds};

/// The installer's file name inside Microsoft's package.
pub const INSTALLER: &str = "Azure ATP sensor Setup.exe";

/// Longer proxy URLs are not proxy URLs.
const MAX_PROXY_URL: usize = 2048;
/// A DNS name's limit.
const MAX_HOST_NAME: usize = 255;
/// Windows' classic path limit; the installer is a Windows program.
const MAX_KEY_FILE_PATH: usize = 260;

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
///
/// Every field is optional because the schema differs by cloud and version (tests/contract): the
/// US Government schema has no `serviceStatus` at all, so nothing may depend on its presence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sensor {
    pub id: Option<String>,
    /// The server's short (NetBIOS) name, e.g. `DC1`.
    pub display_name: Option<String>,
    pub domain_name: Option<String>,
    pub sensor_type: Option<String>,
    pub version: Option<String>,
    pub deployment_status: Option<String>,
    pub health_status: Option<String>,
    /// Absent in the US Government clouds.
    pub service_status: Option<String>,
    pub open_health_issues_count: Option<u64>,
    /// `settings.domainControllerDnsNames`: the server's fully qualified names.
    pub domain_controller_dns_names: Vec<String>,
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
    /// Every health issue of the tenant, following Graph's paging to the end.
    fn health_issues(&self, deadline: Deadline) -> impl Future<Output = Result<HealthIssuesAnswer, GraphError>> + Send;
    /// The tenant's open health issues (`status` `open`), following Graph's paging to the end:
    /// what a verdict's explanation reads. Never a closed or suppressed issue. By default every
    /// issue is read and the others dropped; the Graph adapter asks Graph for the open ones only.
    fn open_health_issues(
        &self,
        deadline: Deadline,
    ) -> impl Future<Output = Result<HealthIssuesAnswer, GraphError>> + Send {
        async move {
            let mut answer = self.health_issues(deadline).await?;
            answer.issues.retain(crate::health::HealthIssue::is_open);
            Ok(answer)
        }
    }
    /// Every sensor candidate, following Graph's paging to the end.
    fn sensor_candidates(&self, deadline: Deadline) -> impl Future<Output = Result<CandidateList, GraphError>> + Send;
    fn activation_mode(
        &self,
        deadline: Deadline,
    ) -> impl Future<Output = Result<ActivationModeAnswer, GraphError>> + Send;
    /// Asks Graph to activate the sensor on `servers`; `Ok` is Graph's request id.
    fn activate(
        &self,
        servers: &ServerIds,
        deadline: Deadline,
    ) -> impl Future<Output = Result<Option<String>, GraphError>> + Send;
    fn set_activation_mode(
        &self,
        mode: ActivationMode,
        deadline: Deadline,
    ) -> impl Future<Output = Result<ActivationModeAnswer, GraphError>> + Send;
}

impl<T: SensorSource + ?Sized> SensorSource for std::sync::Arc<T> {
    fn deployment_package(&self, deadline: Deadline) -> impl Future<Output = Result<PackageAnswer, GraphError>> + Send {
        (**self).deployment_package(deadline)
    }

    fn sensors(&self, deadline: Deadline) -> impl Future<Output = Result<SensorsAnswer, GraphError>> + Send {
        (**self).sensors(deadline)
    }

    fn health_issues(&self, deadline: Deadline) -> impl Future<Output = Result<HealthIssuesAnswer, GraphError>> + Send {
        (**self).health_issues(deadline)
    }

    fn open_health_issues(
        &self,
        deadline: Deadline,
    ) -> impl Future<Output = Result<HealthIssuesAnswer, GraphError>> + Send {
        (**self).open_health_issues(deadline)
    }

    fn sensor_candidates(&self, deadline: Deadline) -> impl Future<Output = Result<CandidateList, GraphError>> + Send {
        (**self).sensor_candidates(deadline)
    }

    fn activation_mode(
        &self,
        deadline: Deadline,
    ) -> impl Future<Output = Result<ActivationModeAnswer, GraphError>> + Send {
        (**self).activation_mode(deadline)
    }

    fn activate(
        &self,
        servers: &ServerIds,
        deadline: Deadline,
    ) -> impl Future<Output = Result<Option<String>, GraphError>> + Send {
        (**self).activate(servers, deadline)
    }

    fn set_activation_mode(
        &self,
        mode: ActivationMode,
        deadline: Deadline,
    ) -> impl Future<Output = Result<ActivationModeAnswer, GraphError>> + Send {
        (**self).set_activation_mode(mode, deadline)
    }
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
    /// Decided from the properties the sensor has, so that every cloud and version can give every
    /// verdict (docs/sensors.md has the table): `healthy` needs `deploymentStatus` up to date and
    /// `healthStatus` healthy, plus `serviceStatus` running and no open health issue where the
    /// schema has those properties; a missing `deploymentStatus` or `healthStatus` is never healthy.
    pub fn verdict(&self) -> Verdict {
        // Graph spells its enum values in camelCase; a case change is not a new value.
        let is = |field: &Option<String>, values: &[&str]| {
            field
                .as_deref()
                .is_some_and(|value| values.iter().any(|known| value.eq_ignore_ascii_case(known)))
        };
        let service_running = self.service_status.is_none() || is(&self.service_status, &["running"]);
        let no_open_issue = self.open_health_issues_count.is_none_or(|count| count == 0);
        if is(&self.deployment_status, &["upToDate"])
            && is(&self.health_status, &["healthy"])
            && service_running
            && no_open_issue
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
    /// For an `unhealthy` verdict only: the sensor's open health issues, or why they could not be
    /// read (`healthIssues` or `healthIssuesUnavailable`).
    #[serde(flatten)]
    pub explanation: Option<Explanation>,
    #[serde(skip)]
    pub graph_request_id: Option<String>,
}

/// What an installer needs. `Debug` shows neither the key nor the commands (secrets).
#[derive(Debug, Clone)]
pub struct InstallBundle {
    pub key: AccessKey,
    pub package: DeploymentPackage,
    /// The installer's command line for cmd.exe; it holds the key unless a key file is used.
    pub install_command: SecretString,
    /// The same for PowerShell.
    pub install_command_powershell: SecretString,
    /// The key read's request id.
    pub graph_request_id: Option<String>,
}

/// Failures of the sensor operations: Graph's, or an answer that cannot be given without a guess.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(
        "the short name {host} matches sensors in {} domains ({}); ask for the fully qualified name, e.g. {host}.{}",
        domains.len(),
        domains.join(", "),
        domains.first().map_or("", String::as_str)
    )]
    AmbiguousHost {
        host: String,
        domains: Vec<String>,
        graph_request_id: Option<String>,
    },
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
    #[error(
        "the access key file must be an absolute Windows path (C:\\dir\\key.txt or \\\\server\\share\\key.txt) of at most 260 letters, digits, spaces and \\ : . _ -, not ending in \\"
    )]
    KeyFile,
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

    /// `dc1.contoso.com` rather than `DC1`.
    pub fn is_qualified(&self) -> bool {
        self.0.contains('.')
    }

    /// Whether `sensor` runs on this host, ignoring ASCII case: Graph's `displayName` is the
    /// server's short name (`DC1`) and its fully qualified names are in
    /// `settings.domainControllerDnsNames`, so a name matches either, and a short name also
    /// matches the first label of a DNS name.
    pub fn matches(&self, sensor: &Sensor) -> bool {
        let wanted = self.0.as_str();
        let same = |name: &str| name.eq_ignore_ascii_case(wanted);
        sensor.display_name.as_deref().is_some_and(same)
            || sensor
                .domain_controller_dns_names
                .iter()
                .any(|dns| same(dns) || (!self.is_qualified() && dns.split('.').next().is_some_and(same)))
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

/// Where the installer reads the key from instead of its command line (`AccessKeyFile`, sensor
/// 2.207 and later): an absolute Windows path that is safe between double quotes in cmd.exe and
/// PowerShell, and that does not end in a backslash (which would escape the closing quote for the
/// installer's own argument parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilePath(String);

impl KeyFilePath {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '\\' | ':' | '.' | '_' | '-');
        let bytes = text.as_bytes();
        let drive = bytes.len() > 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\';
        let unc = text.starts_with("\\\\") && text.len() > 2 && !text[2..].starts_with('\\');
        if text.len() > MAX_KEY_FILE_PATH
            || !text.chars().all(allowed)
            || !(drive || unc)
            || text.ends_with('\\')
            || text.ends_with(' ')
            || text[2..].contains(':')
        {
            return Err(InputError::KeyFile);
        }
        Ok(KeyFilePath(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyFilePath {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, InputError> {
        KeyFilePath::parse(text)
    }
}

/// The installer's optional switches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallOptions {
    pub delayed_update: bool,
    pub proxy_url: Option<ProxyUrl>,
    /// Name a key file on the command line instead of the key itself.
    pub access_key_file: Option<KeyFilePath>,
}

/// Which sensors to list: the domain must match exactly and the host as [`HostName::matches`]
/// says, both ignoring ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensorFilter {
    pub domain_name: Option<String>,
    pub host: Option<HostName>,
}

impl SensorFilter {
    pub fn matches(&self, sensor: &Sensor) -> bool {
        let domain_matches = self.domain_name.as_deref().is_none_or(|wanted| {
            sensor
                .domain_name
                .as_deref()
                .is_some_and(|actual| actual.eq_ignore_ascii_case(wanted))
        });
        domain_matches && self.host.as_ref().is_none_or(|host| host.matches(sensor))
    }
}

/// The shell an install command is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Cmd,
    PowerShell,
}

/// The installer's silent command line as Microsoft's "Install the sensor" page writes it for
/// `shell`: `"Azure ATP sensor Setup.exe" /quiet NetFrameworkCommandLineArguments="/q"
/// AccessKey="<key>"` for cmd.exe, and the same after `.\` for PowerShell (without it PowerShell
/// takes the quoted path for a string, not a command). Then `AccessKeyFile="<path>"` instead of the
/// key when a key file is asked for, and the optional switches. `Err` when the key holds a
/// character that cannot sit between double quotes safely (Graph's keys are base64, so this means
/// Graph sent something else). Every value was checked against an allow-list that holds none of
/// either shell's special characters, so no value can end its argument (see the tests).
pub fn install_command(key: &AccessKey, options: &InstallOptions, shell: Shell) -> Result<SecretString, &'static str> {
    let key = key.expose().expose_secret();
    let quotable = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    if key.is_empty() || !key.chars().all(quotable) {
        return Err("the key holds characters that cannot be quoted on the installer's command line");
    }
    let invoke = match shell {
        Shell::Cmd => "",
        Shell::PowerShell => ".\\",
    };
    let mut command = format!("{invoke}\"{INSTALLER}\" /quiet NetFrameworkCommandLineArguments=\"/q\"");
    match &options.access_key_file {
        Some(path) => command.push_str(&format!(" AccessKeyFile=\"{}\"", path.as_str())),
        None => command.push_str(&format!(" AccessKey=\"{key}\"")),
    }
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
    let command = |shell| {
        install_command(&key.key, options, shell).map_err(|reason| GraphError::BadResponse {
            upstream: Upstream::Graph,
            reason,
            ids: UpstreamIds {
                request_id: key.graph_request_id.clone(),
                ..UpstreamIds::default()
            },
        })
    };
    let (install_command, install_command_powershell) = (command(Shell::Cmd)?, command(Shell::PowerShell)?);
    Ok(InstallBundle {
        key: key.key,
        package: package.package,
        install_command,
        install_command_powershell,
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

/// The verdict on the sensor of `host` (a short or a fully qualified name, see
/// [`HostName::matches`]). A reinstalled server can leave its old sensor behind under the same
/// name, so when several match in one domain, the one with the best verdict counts; a short name
/// that matches sensors in two domains is two servers, and answering for either would be a guess.
pub async fn verdict<G: SensorSource>(
    graph: &G,
    host: &HostName,
    deadline: Deadline,
) -> Result<HostVerdict, SensorError> {
    let answer = graph.sensors(deadline).await?;
    let matching: Vec<Sensor> = answer
        .sensors
        .into_iter()
        .filter(|sensor| host.matches(sensor))
        .collect();
    let mut domains: Vec<String> = Vec::new();
    for domain in matching.iter().filter_map(|sensor| sensor.domain_name.as_deref()) {
        if !domains.iter().any(|known| known.eq_ignore_ascii_case(domain)) {
            domains.push(domain.to_owned());
        }
    }
    if domains.len() > 1 && !host.is_qualified() {
        domains.sort_by_key(|domain| domain.to_ascii_lowercase());
        return Err(SensorError::AmbiguousHost {
            host: host.as_str().to_owned(),
            domains,
            graph_request_id: answer.graph_request_id,
        });
    }
    let best = matching
        .into_iter()
        .map(SensorReport::from)
        // max_by_key keeps the last of equals; reversing first keeps Graph's first instead.
        .rev()
        .max_by_key(|report| report.verdict.rank());
    let verdict = best.as_ref().map_or(Verdict::Missing, |report| report.verdict);
    // Only an unhealthy sensor needs explaining, and a failure to explain it does not fail the
    // verdict: the health issues need a permission of their own that the app may lack.
    let explanation = match &best {
        Some(report) if verdict == Verdict::Unhealthy => Some(Explanation::from_read(
            graph.open_health_issues(deadline).await,
            &report.sensor,
        )),
        _ => None,
    };
    Ok(HostVerdict {
        display_name: host.as_str().to_owned(),
        verdict,
        sensor: best,
        explanation,
        graph_request_id: answer.graph_request_id,
    })
}

/// Every health issue (of any status) that names `host` among its sensors' DNS names, in
/// Graph's order.
pub async fn host_health_issues<G: SensorSource>(
    graph: &G,
    host: &HostName,
    deadline: Deadline,
) -> Result<HostHealthIssues, GraphError> {
    let answer = graph.health_issues(deadline).await?;
    Ok(HostHealthIssues {
        display_name: host.as_str().to_owned(),
        health_issues: answer.issues.into_iter().filter(|issue| issue.concerns(host)).collect(),
        graph_request_id: answer.graph_request_id,
    })
}

#[cfg(test)]
pub(crate) mod fake {
    //! A scripted [`SensorSource`] (and [`KeySource`]) for unit tests.
    use std::sync::Mutex;

    use super::*;
    use crate::health::HealthIssue;
    use crate::keys::KeyAnswer;

    #[derive(Default)]
    pub struct FakeSensors {
        pub key: String,
        pub sensors: Vec<Sensor>,
        pub issues: Vec<HealthIssue>,
        /// Answer the health issues read with this instead.
        pub issues_error: Option<fn() -> GraphError>,
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

        async fn health_issues(&self, _: Deadline) -> Result<HealthIssuesAnswer, GraphError> {
            self.calls.lock().unwrap().push("health");
            if let Some(error) = self.issues_error {
                return Err(error());
            }
            Ok(HealthIssuesAnswer {
                issues: self.issues.clone(),
                graph_request_id: Some("health-req".into()),
            })
        }

        async fn sensor_candidates(&self, _: Deadline) -> Result<CandidateList, GraphError> {
            self.calls.lock().unwrap().push("candidates");
            Ok(CandidateList::default())
        }

        async fn activation_mode(&self, _: Deadline) -> Result<ActivationModeAnswer, GraphError> {
            self.calls.lock().unwrap().push("activation-mode");
            Ok(ActivationModeAnswer {
                activation_mode: Some("manual".into()),
                graph_request_id: None,
            })
        }

        async fn activate(&self, _: &ServerIds, _: Deadline) -> Result<Option<String>, GraphError> {
            self.calls.lock().unwrap().push("activate");
            Ok(Some("activate-req".into()))
        }

        async fn set_activation_mode(
            &self,
            mode: ActivationMode,
            _: Deadline,
        ) -> Result<ActivationModeAnswer, GraphError> {
            self.calls.lock().unwrap().push("set-activation-mode");
            Ok(ActivationModeAnswer {
                activation_mode: Some(mode.name().into()),
                graph_request_id: None,
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
            open_health_issues_count: Some(0),
            domain_controller_dns_names: vec![format!("{}.contoso.com", name.to_ascii_lowercase())],
        }
    }

    /// A sensor as the US Government schema has it: no `serviceStatus` (tests/contract).
    fn fairfax_sensor(name: &str, domain: &str, deployment: &str, health: &str, open_issues: u64) -> Sensor {
        Sensor {
            domain_name: Some(domain.to_owned()),
            service_status: None,
            open_health_issues_count: Some(open_issues),
            domain_controller_dns_names: vec![format!("{}.{domain}", name.to_ascii_lowercase())],
            ..sensor(name, deployment, "unused", health)
        }
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
    fn a_sensor_without_service_status_as_in_the_us_government_schema_can_be_healthy() {
        assert_eq!(
            fairfax_sensor("DC1", "contoso.us", "upToDate", "healthy", 0).verdict(),
            Verdict::Healthy
        );
        assert_eq!(
            fairfax_sensor("DC1", "contoso.us", "updating", "healthy", 0).verdict(),
            Verdict::Installing
        );
        assert_eq!(
            fairfax_sensor("DC1", "contoso.us", "upToDate", "notHealthyLow", 1).verdict(),
            Verdict::Unhealthy
        );
    }

    #[test]
    fn open_health_issues_or_a_missing_status_keep_a_sensor_from_being_healthy() {
        let with_issue = Sensor {
            open_health_issues_count: Some(2),
            ..sensor("a", "upToDate", "running", "healthy")
        };
        assert_eq!(with_issue.verdict(), Verdict::Unhealthy);
        let count_unknown = Sensor {
            open_health_issues_count: None,
            ..sensor("a", "upToDate", "running", "healthy")
        };
        assert_eq!(count_unknown.verdict(), Verdict::Healthy, "a schema without the count");
        for missing in [
            Sensor {
                deployment_status: None,
                ..sensor("a", "upToDate", "running", "healthy")
            },
            Sensor {
                health_status: None,
                ..sensor("a", "upToDate", "running", "healthy")
            },
        ] {
            assert_eq!(missing.verdict(), Verdict::Unhealthy);
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
    fn the_install_commands_are_microsofts_for_each_shell_with_the_switches_in_order() {
        let cmd = install_command(&key(), &InstallOptions::default(), Shell::Cmd).unwrap();
        assert_eq!(
            cmd.expose_secret(),
            format!(
                "\"Azure ATP sensor Setup.exe\" /quiet NetFrameworkCommandLineArguments=\"/q\" AccessKey=\"{KEY}\""
            )
        );
        let powershell = install_command(&key(), &InstallOptions::default(), Shell::PowerShell).unwrap();
        assert_eq!(
            powershell.expose_secret(),
            format!(".\\{}", cmd.expose_secret()),
            "PowerShell runs a quoted path only after .\\"
        );
        let options = InstallOptions {
            delayed_update: true,
            proxy_url: Some(ProxyUrl::parse("http://proxy.contoso.com:8080").unwrap()),
            access_key_file: None,
        };
        let full = install_command(&key(), &options, Shell::Cmd).unwrap();
        assert!(full.expose_secret().ends_with(&format!(
            "AccessKey=\"{KEY}\" DelayedUpdate=true ProxyUrl=\"http://proxy.contoso.com:8080\""
        )));
    }

    #[test]
    fn with_a_key_file_the_commands_name_the_file_and_hold_no_key() {
        let options = InstallOptions {
            access_key_file: Some(KeyFilePath::parse(r"C:\Deploy\MDI key.txt").unwrap()),
            ..InstallOptions::default()
        };
        for shell in [Shell::Cmd, Shell::PowerShell] {
            let command = install_command(&key(), &options, shell).unwrap();
            let command = command.expose_secret();
            assert!(
                command.ends_with(r#"AccessKeyFile="C:\Deploy\MDI key.txt""#),
                "{command}"
            );
            assert!(!command.contains(KEY) && !command.contains("AccessKey="), "{command}");
        }
    }

    #[test]
    fn key_file_paths_are_absolute_windows_paths_safe_to_quote() {
        for good in [r"C:\key.txt", r"d:\MDI\Access Key.txt", r"\\fileserver\deploy\key.txt"] {
            assert_eq!(KeyFilePath::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "key.txt",
            r"..\key.txt",
            r"C:key.txt",
            r"C:\",
            r"C:\dir\",
            r"C:\dir\key.txt ",
            r"\\",
            r"\\\server",
            r"C:\a:b",
            "C:\\a\"b",
            r"C:\%TEMP%\key.txt",
            r"C:\$env:TEMP\key.txt",
            r"C:\a&b",
            r"C:\a`b",
            "C:\\a\nb",
            "/tmp/key.txt",
            &format!(r"C:\{}", "a".repeat(MAX_KEY_FILE_PATH)),
        ] {
            assert_eq!(KeyFilePath::parse(bad), Err(InputError::KeyFile), "{bad:?}");
        }
    }

    #[test]
    fn a_key_that_cannot_be_quoted_safely_is_refused_without_being_quoted() {
        for bad in ["", "abc\"def", "a b", "a%PATH%", "k$(x)", "a`b", "a\u{201d}b"] {
            for shell in [Shell::Cmd, Shell::PowerShell] {
                let error = install_command(
                    &AccessKey::new(SecretString::from(bad)),
                    &InstallOptions::default(),
                    shell,
                )
                .unwrap_err();
                assert!(bad.is_empty() || !error.contains(bad), "{error}");
            }
        }
    }

    /// Every character the allow-lists let through, in one key, one proxy URL and one path.
    fn every_allowed_character() -> InstallOptions {
        InstallOptions {
            delayed_update: true,
            proxy_url: Some(ProxyUrl::parse("http://[::1]:8080/a-b.c_d~e/").unwrap()),
            access_key_file: None,
        }
    }

    const EVERY_KEY_CHARACTER: &str = "ABCXYZabcxyz0189+/=-_==";

    #[test]
    fn cmd_reads_the_command_as_the_installer_and_its_arguments_whatever_the_values() {
        let key = AccessKey::new(SecretString::from(EVERY_KEY_CHARACTER));
        for options in [every_allowed_character(), InstallOptions::default()] {
            let command = install_command(&key, &options, Shell::Cmd).unwrap();
            let argv = shells::cmd(command.expose_secret()).expect("cmd.exe runs it as one command");
            assert_eq!(argv[0], INSTALLER);
            assert_eq!(argv[3], format!("AccessKey={EVERY_KEY_CHARACTER}"));
            assert_eq!(argv.len(), 4 + 2 * usize::from(options.delayed_update));
            if options.delayed_update {
                assert_eq!(argv[5], "ProxyUrl=http://[::1]:8080/a-b.c_d~e/");
            }
        }
        let options = InstallOptions {
            access_key_file: Some(KeyFilePath::parse(r"C:\Deploy Files\key-1_a.txt").unwrap()),
            ..InstallOptions::default()
        };
        let argv = shells::cmd(install_command(&key, &options, Shell::Cmd).unwrap().expose_secret()).unwrap();
        assert_eq!(argv[3], r"AccessKeyFile=C:\Deploy Files\key-1_a.txt");
    }

    #[test]
    fn powershell_reads_the_command_as_the_installer_and_its_arguments_whatever_the_values() {
        let key = AccessKey::new(SecretString::from(EVERY_KEY_CHARACTER));
        let command = install_command(&key, &every_allowed_character(), Shell::PowerShell).unwrap();
        let argv = shells::powershell(command.expose_secret()).expect("PowerShell runs it as one command");
        assert_eq!(argv[0], format!(".\\{INSTALLER}"));
        assert_eq!(
            argv[1..],
            [
                "/quiet".to_owned(),
                "NetFrameworkCommandLineArguments=/q".to_owned(),
                format!("AccessKey={EVERY_KEY_CHARACTER}"),
                "DelayedUpdate=true".to_owned(),
                "ProxyUrl=http://[::1]:8080/a-b.c_d~e/".to_owned(),
            ]
        );
        let bare = format!("\"{INSTALLER}\" /quiet");
        assert!(
            shells::powershell(&bare).is_err(),
            "a quoted path alone is a string, not a command"
        );
    }

    proptest::proptest! {
        #[test]
        fn no_base64_key_can_end_its_argument_in_either_shell(key in "[A-Za-z0-9+/=_-]{1,120}") {
            let access_key = AccessKey::new(SecretString::from(key.clone()));
            let cmd = install_command(&access_key, &InstallOptions::default(), Shell::Cmd).unwrap();
            let argv = shells::cmd(cmd.expose_secret()).unwrap();
            proptest::prop_assert_eq!(&argv[3], &format!("AccessKey={key}"));
            let ps = install_command(&access_key, &InstallOptions::default(), Shell::PowerShell).unwrap();
            let argv = shells::powershell(ps.expose_secret()).unwrap();
            proptest::prop_assert_eq!(&argv[3], &format!("AccessKey={key}"));
        }

        #[test]
        fn no_accepted_proxy_url_can_end_its_argument_in_either_shell(url in "https?://[A-Za-z0-9.-]{1,40}(:[0-9]{1,5})?(/[A-Za-z0-9._~:/-]{0,40})?") {
            let Ok(proxy) = ProxyUrl::parse(&url) else { return Ok(()) };
            let options = InstallOptions { proxy_url: Some(proxy), ..InstallOptions::default() };
            for (shell, parse) in [(Shell::Cmd, shells::cmd as fn(&str) -> Result<Vec<String>, String>), (Shell::PowerShell, shells::powershell)] {
                let command = install_command(&key(), &options, shell).unwrap();
                let argv = parse(command.expose_secret()).unwrap();
                proptest::prop_assert_eq!(argv.last().unwrap(), &format!("ProxyUrl={url}"));
            }
        }
    }

    /// How each shell splits a command line, as far as these commands need: enough to show that
    /// no accepted value ends its argument or reaches a special character, and strict about the
    /// rest (anything these parsers do not model is an `Err`).
    mod shells {
        /// cmd.exe: `%` expands even between quotes and `!` with delayed expansion; outside quotes
        /// `& | < > ^ ( )` are operators. The program then splits its command line by the MSVC
        /// rules (CommandLineToArgvW): whitespace separates outside quotes, `"` toggles, and a
        /// backslash before `"` escapes it.
        pub fn cmd(line: &str) -> Result<Vec<String>, String> {
            if line.contains(['%', '!', '\n', '\r']) {
                return Err("cmd.exe expands or ends the line here".into());
            }
            let mut quoted = false;
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    '&' | '|' | '<' | '>' | '^' | '(' | ')' if !quoted => return Err(format!("operator {c}")),
                    _ => {}
                }
            }
            if line.contains("\\\"") {
                return Err("a backslash escapes a quote for the installer".into());
            }
            Ok(split(line))
        }

        /// PowerShell: a command starts with a bareword (`.\"x"` is one; a leading `"x"` is a
        /// string expression). Within double quotes `` ` `` and `$` are special and the typographic
        /// quotes count as quotes; outside them `; | & ( ) { } < > , @ # '` are.
        pub fn powershell(line: &str) -> Result<Vec<String>, String> {
            if line.starts_with('"') || line.starts_with('\'') {
                return Err("an expression, not a command".into());
            }
            if line.contains(['`', '$', '\u{201c}', '\u{201d}', '\u{201e}', '\n', '\r']) {
                return Err("escape, variable or typographic quote".into());
            }
            let mut quoted = false;
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ';' | '|' | '&' | '(' | ')' | '{' | '}' | '<' | '>' | ',' | '@' | '#' | '\'' if !quoted => {
                        return Err(format!("operator {c}"));
                    }
                    _ => {}
                }
            }
            Ok(split(line))
        }

        /// Splits at whitespace outside double quotes and drops the quotes.
        fn split(line: &str) -> Vec<String> {
            let mut args = Vec::new();
            let mut current = String::new();
            let mut quoted = false;
            let mut started = false;
            for c in line.chars() {
                match c {
                    '"' => {
                        quoted = !quoted;
                        started = true;
                    }
                    ' ' | '\t' if !quoted => {
                        if started {
                            args.push(std::mem::take(&mut current));
                            started = false;
                        }
                    }
                    other => {
                        current.push(other);
                        started = true;
                    }
                }
            }
            if started {
                args.push(current);
            }
            args
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
    fn the_filter_matches_exactly_ignoring_case() {
        let dc1 = sensor("DC1", "upToDate", "running", "healthy");
        let filter = SensorFilter {
            domain_name: Some("CONTOSO.com".into()),
            host: Some(HostName::parse("dc1").unwrap()),
        };
        assert!(filter.matches(&dc1));
        assert!(SensorFilter::default().matches(&dc1));
        let other = SensorFilter {
            host: Some(HostName::parse("DC").unwrap()),
            ..SensorFilter::default()
        };
        assert!(!other.matches(&dc1), "no prefix matches");
        assert!(!filter.matches(&Sensor::default()));
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
            host: None,
        };
        let fabrikam = list(&graph, &filter, soon()).await.unwrap();
        assert_eq!(fabrikam.sensors.len(), 1);
        assert_eq!(fabrikam.sensors[0].sensor.display_name.as_deref(), Some("DC2"));
        assert_eq!(
            serde_json::to_value(&fabrikam).unwrap()["sensors"][0]["verdict"],
            "installing"
        );
    }

    #[test]
    fn a_host_matches_the_display_name_or_a_dns_name_short_or_qualified_ignoring_case() {
        let dc1 = Sensor {
            display_name: Some("DC1".into()),
            domain_controller_dns_names: vec!["dc1.corp.contoso.com".into(), "dc1-alias.contoso.com".into()],
            ..Sensor::default()
        };
        for name in [
            "DC1",
            "dc1",
            "dc1.corp.contoso.com",
            "DC1.CORP.CONTOSO.COM",
            "dc1-alias.contoso.com",
            "DC1-ALIAS",
        ] {
            assert!(HostName::parse(name).unwrap().matches(&dc1), "{name}");
        }
        for name in ["dc", "dc1.contoso.com", "corp", "dc1.corp", "contoso.com", "dc2"] {
            assert!(!HostName::parse(name).unwrap().matches(&dc1), "{name}");
        }
        let filter = SensorFilter {
            host: Some(HostName::parse("dc1.corp.contoso.com").unwrap()),
            ..SensorFilter::default()
        };
        assert!(filter.matches(&dc1));
    }

    #[tokio::test]
    async fn a_verdict_by_dns_name_finds_the_sensor_whose_display_name_is_short() {
        let graph = FakeSensors {
            sensors: vec![sensor("DC1", "upToDate", "running", "healthy")],
            ..FakeSensors::default()
        };
        let answer = verdict(&graph, &HostName::parse("dc1.contoso.com").unwrap(), soon())
            .await
            .unwrap();
        assert_eq!(answer.verdict, Verdict::Healthy);
        assert_eq!(answer.sensor.unwrap().sensor.display_name.as_deref(), Some("DC1"));
    }

    #[tokio::test]
    async fn a_short_name_in_two_domains_is_refused_listing_them_and_the_full_name_decides() {
        let graph = FakeSensors {
            sensors: vec![
                fairfax_sensor("DC1", "fabrikam.com", "upToDate", "healthy", 0),
                fairfax_sensor("DC1", "Contoso.com", "disconnected", "notHealthyHigh", 3),
                fairfax_sensor("dc1", "contoso.com", "updating", "healthy", 0),
            ],
            ..FakeSensors::default()
        };
        let error = verdict(&graph, &HostName::parse("dc1").unwrap(), soon())
            .await
            .unwrap_err();
        let SensorError::AmbiguousHost {
            host,
            domains,
            graph_request_id,
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(host, "dc1");
        assert_eq!(domains, &["Contoso.com", "fabrikam.com"], "each domain once, sorted");
        assert_eq!(graph_request_id.as_deref(), Some("sensors-req"));
        assert!(error.to_string().contains("fully qualified"), "{error}");
        let contoso = verdict(&graph, &HostName::parse("DC1.contoso.com").unwrap(), soon())
            .await
            .unwrap();
        assert_eq!(contoso.verdict, Verdict::Installing, "the better of contoso's two");
        let fabrikam = verdict(&graph, &HostName::parse("dc1.fabrikam.com").unwrap(), soon())
            .await
            .unwrap();
        assert_eq!(fabrikam.verdict, Verdict::Healthy);
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

    fn open_issue(dns: &str) -> crate::health::HealthIssue {
        crate::health::HealthIssue {
            display_name: Some("Sensor stopped communicating".into()),
            severity: Some("high".into()),
            status: Some("open".into()),
            sensor_dns_names: vec![dns.to_owned()],
            recommendations: vec!["Start the sensor service".into()],
            ..crate::health::HealthIssue::default()
        }
    }

    #[tokio::test]
    async fn an_unhealthy_verdict_carries_the_sensors_open_issues_and_a_healthy_one_reads_none() {
        let graph = FakeSensors {
            sensors: vec![
                sensor("DC1", "disconnected", "stopped", "notHealthyHigh"),
                sensor("DC2", "upToDate", "running", "healthy"),
            ],
            issues: vec![open_issue("dc1.contoso.com"), open_issue("dc2.contoso.com")],
            ..FakeSensors::default()
        };
        let dc1 = verdict(&graph, &HostName::parse("DC1").unwrap(), soon()).await.unwrap();
        let json = serde_json::to_value(&dc1).unwrap();
        assert_eq!(json["verdict"], "unhealthy");
        assert_eq!(
            json["healthIssues"],
            serde_json::json!([{"displayName": "Sensor stopped communicating", "severity": "high", "recommendations": ["Start the sensor service"]}])
        );
        graph.calls.lock().unwrap().clear();
        let dc2 = verdict(&graph, &HostName::parse("DC2").unwrap(), soon()).await.unwrap();
        let json = serde_json::to_value(&dc2).unwrap();
        assert!(
            json.get("healthIssues").is_none() && json.get("healthIssuesUnavailable").is_none(),
            "{json}"
        );
        assert_eq!(
            *graph.calls.lock().unwrap(),
            ["sensors"],
            "a healthy sensor needs no explaining"
        );
    }

    #[tokio::test]
    async fn without_the_health_permission_the_unhealthy_verdict_still_answers_and_names_it() {
        let graph = FakeSensors {
            sensors: vec![sensor("DC1", "disconnected", "stopped", "notHealthyHigh")],
            issues_error: Some(|| GraphError::Forbidden {
                reason: crate::upstream::Forbidden::MissingPermission {
                    role: "SecurityIdentitiesHealth.Read.All",
                    accepted: &["SecurityIdentitiesHealth.Read.All"],
                },
                code: "Forbidden".into(),
                ids: UpstreamIds::default(),
            }),
            ..FakeSensors::default()
        };
        let dc1 = verdict(&graph, &HostName::parse("DC1").unwrap(), soon()).await.unwrap();
        assert_eq!(dc1.verdict, Verdict::Unhealthy);
        let json = serde_json::to_value(&dc1).unwrap();
        assert!(
            json["healthIssuesUnavailable"]
                .as_str()
                .unwrap()
                .contains("SecurityIdentitiesHealth.Read.All"),
            "{json}"
        );
    }

    #[tokio::test]
    async fn a_hosts_health_issues_are_every_status_that_names_it() {
        let mut closed = open_issue("dc1.contoso.com");
        closed.status = Some("closed".into());
        let graph = FakeSensors {
            issues: vec![open_issue("dc1.contoso.com"), open_issue("dc2.contoso.com"), closed],
            ..FakeSensors::default()
        };
        let found = host_health_issues(&graph, &HostName::parse("dc1").unwrap(), soon())
            .await
            .unwrap();
        assert_eq!(found.health_issues.len(), 2);
        assert_eq!(found.graph_request_id.as_deref(), Some("health-req"));
    }
}
