//! Configuration: the environment, read once at cold start into a typed [`Config`].
//!
//! Errors name the variable at fault and never echo its value: an operator may have pasted a
//! secret into the wrong variable.

use std::time::Duration;

use crate::access::AllowList;
use crate::cloud::{ApiVersion, Cloud, CloudChoice, GraphEndpoints};
use crate::door::{self, Door};

/// `GRAPH_AUTH`: how the function proves itself to Entra ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphAuth {
    /// `secret` (the default): a client secret or certificate read from
    /// `GRAPH_CREDENTIALS_SECRET_ID`.
    Secret { credentials_secret_id: String },
    /// `aws-federation`: no stored credential; the function's own IAM role gets a JWT from STS
    /// `GetWebIdentityToken` for each token request, which Entra accepts through a federated
    /// identity credential on the app. Tenant and app come from `GRAPH_TENANT_ID` and
    /// `GRAPH_CLIENT_ID`, which are identifiers, not secrets.
    AwsFederation { tenant_id: String, client_id: String },
}

/// Everything the function needs from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub graph_auth: GraphAuth,
    pub key_secret_id: Option<String>,
    /// `ROTATION_CLAIMS_SECRET_ID`: the claim store, where a rotation claims its occurrence before
    /// it regenerates (src/rotation/claim.rs); unset, concurrent deliveries may each regenerate.
    pub rotation_claims_secret_id: Option<String>,
    pub cloud: CloudChoice,
    pub api_version: ApiVersion,
    /// `GRAPH_ENDPOINT`: where Graph requests go instead of the cloud's Graph root.
    pub graph_endpoint: Option<String>,
    /// `AUTHORITY_HOST`: where token and discovery requests go instead of the cloud's authority.
    pub authority_host: Option<String>,
    pub readers: AllowList,
    pub rotators: AllowList,
    /// `SENSOR_ACTIVATORS`: who may activate sensor candidates and set the activation mode.
    pub activators: AllowList,
    pub credentials_ttl: Duration,
    /// `FUNCTION_DOOR`: which invocations this function serves. Not a [`ConfigError`] when unset
    /// or unknown: every invocation is then refused and counted, so the alarm sees it.
    pub door: Door,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but missing or empty")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(
        "GRAPH_CLOUD=china is not supported: the MDI sensor deployment key API does not exist in the China cloud (21Vianet)"
    )]
    ChinaUnsupported,
}

impl Config {
    /// Where Graph calls go before the tenant's cloud is known.
    pub fn graph_endpoints(&self) -> GraphEndpoints {
        GraphEndpoints {
            cloud: self.cloud,
            api_version: self.api_version,
            graph_override: self.graph_endpoint.clone(),
            authority_override: self.authority_host.clone(),
        }
    }
}

impl ConfigError {
    /// The environment variable at fault, for the problem response.
    pub fn variable(&self) -> &'static str {
        match self {
            ConfigError::Missing(name) | ConfigError::Invalid { name, .. } => name,
            ConfigError::ChinaUnsupported => "GRAPH_CLOUD",
        }
    }
}

const DEFAULT_CREDENTIALS_TTL: Duration = Duration::from_secs(300);

impl Config {
    /// The allow-lists, by the variable each is read from.
    pub fn allow_lists(&self) -> [(&'static str, &AllowList); 3] {
        [
            ("KEY_READERS", &self.readers),
            ("KEY_ROTATORS", &self.rotators),
            ("SENSOR_ACTIVATORS", &self.activators),
        ]
    }

    /// Logs, once at cold start, what the configuration keeps and what it refuses: one ERROR line
    /// per malformed allow-list entry (the variable and the entry's position, never its value,
    /// with the count kept), the count each list keeps, and an ERROR when `FUNCTION_DOOR` is not a
    /// door.
    pub fn log_cold_start(&self) {
        for (variable, list) in self.allow_lists() {
            for position in list.dropped() {
                tracing::error!(
                    variable,
                    position,
                    kept = list.len(),
                    "a malformed allow-list entry was dropped: it admits nobody (docs/security.md, \"Allow-lists and session names\")"
                );
            }
            tracing::info!(
                variable,
                kept = list.len(),
                dropped = list.dropped().len(),
                "allow-list read"
            );
        }
        if self.door == Door::NotADoor {
            tracing::error!(
                variable = door::VARIABLE,
                "FUNCTION_DOOR is unset or not a door (http, events or local): every invocation is refused"
            );
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let graph_auth = match get("GRAPH_AUTH").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("secret") => GraphAuth::Secret {
                credentials_secret_id: required("GRAPH_CREDENTIALS_SECRET_ID")?,
            },
            // GRAPH_CREDENTIALS_SECRET_ID is deliberately not read: nothing is stored.
            Some("aws-federation") => GraphAuth::AwsFederation {
                tenant_id: identifier("GRAPH_TENANT_ID", required("GRAPH_TENANT_ID")?)?,
                client_id: identifier("GRAPH_CLIENT_ID", required("GRAPH_CLIENT_ID")?)?,
            },
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "GRAPH_AUTH",
                    reason: "expected secret or aws-federation".into(),
                });
            }
        };
        let cloud = match get("GRAPH_CLOUD").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("global") => CloudChoice::Fixed(Cloud::Global),
            Some("usgov") => CloudChoice::Fixed(Cloud::UsGov),
            Some("dod") => CloudChoice::Fixed(Cloud::Dod),
            Some("auto") => CloudChoice::Auto,
            Some("china") => return Err(ConfigError::ChinaUnsupported),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "GRAPH_CLOUD",
                    reason: "expected one of global, usgov, dod, auto".into(),
                });
            }
        };
        let api_version = match get("GRAPH_API_VERSION").as_deref() {
            // v1.0 has the key, package, sensor and health endpoints in the global cloud and in US
            // Government (the v3 candidates only in the global cloud); Microsoft does not support
            // beta in production.
            None | Some("v1.0") => ApiVersion::V1,
            Some("beta") => ApiVersion::Beta,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "GRAPH_API_VERSION",
                    reason: "expected v1.0 or beta".into(),
                });
            }
        };
        let graph_endpoint = get("GRAPH_ENDPOINT")
            .map(|url| checked_base_url("GRAPH_ENDPOINT", &url))
            .transpose()?;
        let authority_host = get("AUTHORITY_HOST")
            .map(|url| checked_base_url("AUTHORITY_HOST", &url))
            .transpose()?;
        let credentials_ttl = match get("CREDENTIALS_CACHE_TTL_SECONDS") {
            None => DEFAULT_CREDENTIALS_TTL,
            Some(text) => text
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| ConfigError::Invalid {
                    name: "CREDENTIALS_CACHE_TTL_SECONDS",
                    reason: "expected a whole number of seconds".into(),
                })?,
        };
        Ok(Config {
            graph_auth,
            key_secret_id: get("SENSOR_KEY_SECRET_ID"),
            rotation_claims_secret_id: get("ROTATION_CLAIMS_SECRET_ID"),
            cloud,
            api_version,
            graph_endpoint,
            authority_host,
            readers: AllowList::parse(get("KEY_READERS").as_deref().unwrap_or("")),
            rotators: AllowList::parse(get("KEY_ROTATORS").as_deref().unwrap_or("")),
            activators: AllowList::parse(get("SENSOR_ACTIVATORS").as_deref().unwrap_or("")),
            credentials_ttl,
            door: Door::parse(lookup(door::VARIABLE).as_deref()),
        })
    }
}

/// A tenant or app identifier: it goes into the token URL's path (the tenant) and into the
/// `az` commands an error prints, so only GUID- and domain-name characters are accepted.
fn identifier(name: &'static str, value: String) -> Result<String, ConfigError> {
    if crate::credentials::tenant_id_is_path_safe(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name,
            reason: "expected a GUID or domain name".into(),
        })
    }
}

/// Accepts an http(s) URL without a path suffix we would double, and trims a trailing slash.
fn checked_base_url(name: &'static str, url: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        name,
        reason: reason.into(),
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| invalid("expected an http:// or https:// URL"))?;
    if rest.is_empty() || rest.contains(['?', '#', ' ', '@']) {
        return Err(invalid("expected a base URL without credentials, query or fragment"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    /// The JSON lines `run` logs, at every level.
    fn logs_of(run: impl FnOnce()) -> Vec<serde_json::Value> {
        use std::sync::{Arc, Mutex};
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Capture(writer.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_malformed_allow_list_entry_is_an_error_line_naming_the_variable_and_position_not_the_value() {
        let config = config_from(&[
            ("GRAPH_CREDENTIALS_SECRET_ID", "c"),
            ("FUNCTION_DOOR", "http"),
            (
                "KEY_ROTATORS",
                "arn:aws:iam::123456789012:user/bob,arn:aws:iam::12345678901*,arn:aws:iam::123456789012:role/ops",
            ),
        ])
        .unwrap();

        let lines = logs_of(|| config.log_cold_start());

        let errors: Vec<_> = lines.iter().filter(|line| line["level"] == "ERROR").collect();
        assert_eq!(errors.len(), 1, "{lines:?}");
        assert_eq!(errors[0]["fields"]["variable"], "KEY_ROTATORS");
        assert_eq!(errors[0]["fields"]["position"], 2);
        assert_eq!(errors[0]["fields"]["kept"], 2);
        let text = serde_json::to_string(&lines).unwrap();
        assert!(
            !text.contains("12345678901*"),
            "the entry's value is never logged: {text}"
        );
        let kept: Vec<_> = lines
            .iter()
            .filter(|line| line["fields"]["message"] == "allow-list read")
            .map(|line| (line["fields"]["variable"].clone(), line["fields"]["kept"].clone()))
            .collect();
        assert_eq!(
            kept,
            [
                ("KEY_READERS".into(), 0.into()),
                ("KEY_ROTATORS".into(), 2.into()),
                ("SENSOR_ACTIVATORS".into(), 0.into())
            ]
        );
    }

    #[test]
    fn the_door_is_read_from_function_door_and_an_unset_one_is_an_error_at_cold_start() {
        let http = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "c"), ("FUNCTION_DOOR", "http")]).unwrap();
        assert_eq!(http.door, Door::Http);
        assert!(
            logs_of(|| http.log_cold_start())
                .iter()
                .all(|line| line["level"] != "ERROR")
        );

        let unset = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "c")]).unwrap();
        assert_eq!(unset.door, Door::NotADoor);
        let lines = logs_of(|| unset.log_cold_start());
        let errors: Vec<_> = lines.iter().filter(|line| line["level"] == "ERROR").collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0]["fields"]["variable"], "FUNCTION_DOOR");
    }

    #[test]
    fn the_credentials_secret_is_required() {
        assert_eq!(
            config_from(&[]).unwrap_err(),
            ConfigError::Missing("GRAPH_CREDENTIALS_SECRET_ID")
        );
        assert_eq!(
            config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "  ")]).unwrap_err(),
            ConfigError::Missing("GRAPH_CREDENTIALS_SECRET_ID")
        );
    }

    #[test]
    fn defaults_are_the_global_cloud_on_v1_with_nobody_allowed() {
        let config = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "creds")]).unwrap();
        assert_eq!(config.cloud, CloudChoice::Fixed(Cloud::Global));
        assert_eq!(config.api_version, ApiVersion::V1);
        assert_eq!(config.graph_endpoint, None);
        assert_eq!(config.authority_host, None);
        assert_eq!(config.credentials_ttl, Duration::from_secs(300));
        assert!(config.key_secret_id.is_none());
        assert!(config.rotation_claims_secret_id.is_none());
        assert!(!config.readers.admits("arn:aws:iam::123456789012:user/alice"));
        let claiming = config_from(&[
            ("GRAPH_CREDENTIALS_SECRET_ID", "creds"),
            ("ROTATION_CLAIMS_SECRET_ID", "claims"),
        ])
        .unwrap();
        assert_eq!(claiming.rotation_claims_secret_id.as_deref(), Some("claims"));
    }

    #[test]
    fn each_cloud_and_auto_are_read_and_overrides_lose_their_trailing_slash() {
        let config = config_from(&[
            ("GRAPH_CREDENTIALS_SECRET_ID", "creds"),
            ("GRAPH_CLOUD", "DoD"),
            ("GRAPH_ENDPOINT", "http://127.0.0.1:9000/"),
        ])
        .unwrap();
        assert_eq!(config.cloud, CloudChoice::Fixed(Cloud::Dod));
        assert_eq!(config.graph_endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(config.authority_host, None);
        let usgov = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "c"), ("GRAPH_CLOUD", "usgov")]).unwrap();
        assert_eq!(usgov.cloud, CloudChoice::Fixed(Cloud::UsGov));
        let auto = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "c"), ("GRAPH_CLOUD", "auto")]).unwrap();
        assert_eq!(auto.cloud, CloudChoice::Auto);
    }

    #[test]
    fn federation_needs_the_tenant_and_app_and_never_reads_the_credentials_secret() {
        let config = config_from(&[
            ("GRAPH_AUTH", "aws-federation"),
            ("GRAPH_TENANT_ID", "contoso.onmicrosoft.com"),
            ("GRAPH_CLIENT_ID", "22222222-2222-2222-2222-222222222222"),
        ])
        .unwrap();
        assert_eq!(
            config.graph_auth,
            GraphAuth::AwsFederation {
                tenant_id: "contoso.onmicrosoft.com".into(),
                client_id: "22222222-2222-2222-2222-222222222222".into(),
            }
        );
        for (missing, pairs) in [
            (
                "GRAPH_TENANT_ID",
                [("GRAPH_AUTH", "aws-federation"), ("GRAPH_CLIENT_ID", "app")],
            ),
            (
                "GRAPH_CLIENT_ID",
                [("GRAPH_AUTH", "aws-federation"), ("GRAPH_TENANT_ID", "t")],
            ),
        ] {
            assert_eq!(config_from(&pairs).unwrap_err(), ConfigError::Missing(missing));
        }
        let err = config_from(&[
            ("GRAPH_AUTH", "aws-federation"),
            ("GRAPH_TENANT_ID", "../evil?"),
            ("GRAPH_CLIENT_ID", "app"),
        ])
        .unwrap_err();
        assert_eq!(err.variable(), "GRAPH_TENANT_ID");
        assert!(!err.to_string().contains("evil"));
    }

    #[test]
    fn the_auth_mode_defaults_to_the_secret_and_an_unknown_one_is_named() {
        let config = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "creds")]).unwrap();
        assert_eq!(
            config.graph_auth,
            GraphAuth::Secret {
                credentials_secret_id: "creds".into()
            }
        );
        let err = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "c"), ("GRAPH_AUTH", "oidc")]).unwrap_err();
        assert_eq!(err.variable(), "GRAPH_AUTH");
    }

    #[test]
    fn each_cloud_has_its_own_token_exchange_audience() {
        assert_eq!(Cloud::Global.token_exchange_audience(), "api://AzureADTokenExchange");
        assert_eq!(
            Cloud::UsGov.token_exchange_audience(),
            "api://AzureADTokenExchangeUSGov"
        );
        assert_eq!(Cloud::Dod.token_exchange_audience(), "api://AzureADTokenExchangeUSGov");
    }

    #[test]
    fn each_cloud_has_its_own_graph_root_and_authority() {
        assert_eq!(Cloud::Global.graph_root(), "https://graph.microsoft.com");
        assert_eq!(Cloud::UsGov.graph_root(), "https://graph.microsoft.us");
        assert_eq!(Cloud::Dod.graph_root(), "https://dod-graph.microsoft.us");
        assert_eq!(Cloud::Global.authority(), "https://login.microsoftonline.com");
        assert_eq!(Cloud::UsGov.authority(), "https://login.microsoftonline.us");
        assert_eq!(Cloud::Dod.authority(), "https://login.microsoftonline.us");
        assert!(Cloud::Dod.is_government() && !Cloud::Global.is_government());
    }

    #[test]
    fn china_is_refused_with_a_reason() {
        let err = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "c"), ("GRAPH_CLOUD", "china")]).unwrap_err();
        assert_eq!(err, ConfigError::ChinaUnsupported);
        assert!(err.to_string().contains("does not exist in the China cloud"));
    }

    #[test]
    fn an_invalid_value_is_named_by_its_variable_but_not_echoed() {
        let err = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "c"), ("GRAPH_CLOUD", "s3cr3t-value")]).unwrap_err();
        assert_eq!(err.variable(), "GRAPH_CLOUD");
        assert!(!err.to_string().contains("s3cr3t-value"));
        let err = config_from(&[
            ("GRAPH_CREDENTIALS_SECRET_ID", "c"),
            ("CREDENTIALS_CACHE_TTL_SECONDS", "soon"),
        ])
        .unwrap_err();
        assert_eq!(err.variable(), "CREDENTIALS_CACHE_TTL_SECONDS");
        let err = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "c"), ("GRAPH_ENDPOINT", "ftp://x")]).unwrap_err();
        assert_eq!(err.variable(), "GRAPH_ENDPOINT");
        let err = config_from(&[("GRAPH_CREDENTIALS_SECRET_ID", "c"), ("GRAPH_API_VERSION", "v2")]).unwrap_err();
        assert_eq!(err.variable(), "GRAPH_API_VERSION");
    }
}
