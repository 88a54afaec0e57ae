//! Where the CLI's calls go and whose credentials they carry: the flags and the environment,
//! validated once. The endpoint rules are the Lambda's own ([`Config::from_lookup`]), fed from
//! the flags, so the CLI and the function accept and refuse the same clouds and URLs.
//!
//! Errors name the flag or variable at fault, never its value.

use std::sync::Arc;
use std::time::Duration;

use mdi_sensor_key::config::{Config, ConfigError};
use mdi_sensor_key::credentials::{
    CredentialsCache, CredentialsError, CredentialsProvider, GraphCredentials, StaticCredentials,
};
use mdi_sensor_key::deadline::Deadline;
use mdi_sensor_key::graph::GraphEndpoints;
use mdi_sensor_key::secrets::AwsSecretStore;
use secrecy::SecretString;

use super::args::Global;
use super::exit::Failure;

/// Where the Graph app's credentials come from.
#[derive(Debug)]
pub enum CredentialsSource {
    /// A Secrets Manager secret, by name or ARN.
    Secret(String),
    /// The `AZURE_*` environment variables.
    Environment(GraphCredentials),
}

#[derive(Debug)]
pub struct Settings {
    pub endpoints: GraphEndpoints,
    pub credentials: CredentialsSource,
    pub key_secret: Option<String>,
    pub credentials_ttl: Duration,
}

impl Settings {
    /// From the flags and `lookup` (the process environment, or a map in tests).
    pub fn new(global: &Global, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Failure> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let credentials = match &global.credentials_secret {
            Some(secret_id) => CredentialsSource::Secret(secret_id.clone()),
            None => CredentialsSource::Environment(environment_credentials(&get)?),
        };
        let authority_host = global.authority_host.clone().or_else(|| get("AZURE_AUTHORITY_HOST"));
        let config = Config::from_lookup(|name| match name {
            // Config insists on a credentials secret; with the environment's credentials its
            // value is never used, so any non-empty text will do.
            "GRAPH_CREDENTIALS_SECRET_ID" => Some(global.credentials_secret.clone().unwrap_or_else(|| "-".to_owned())),
            "GRAPH_CLOUD" => Some(global.cloud.name().to_owned()),
            "GRAPH_API_VERSION" => Some(global.api_version.name().to_owned()),
            "GRAPH_ENDPOINT" => global.graph_endpoint.clone(),
            "AUTHORITY_HOST" => authority_host.clone(),
            "SENSOR_KEY_SECRET_ID" => global.key_secret.clone(),
            _ => None,
        })
        .map_err(|error| config_failure(&error, global.authority_host.is_some()))?;
        Ok(Settings {
            endpoints: GraphEndpoints::from_config(&config),
            credentials,
            key_secret: config.key_secret_id,
            credentials_ttl: config.credentials_ttl,
        })
    }
}

/// The Azure SDKs' `EnvironmentCredential` variables, client secret flavour.
fn environment_credentials(get: &impl Fn(&str) -> Option<String>) -> Result<GraphCredentials, Failure> {
    let tenant_id = get("AZURE_TENANT_ID");
    let client_id = get("AZURE_CLIENT_ID");
    let client_secret = get("AZURE_CLIENT_SECRET");
    if tenant_id.is_none()
        && client_id.is_none()
        && client_secret.is_none()
        && get("AZURE_CLIENT_CERTIFICATE_PATH").is_none()
    {
        return Err(Failure::Config(
            "no credentials: pass --credentials-secret ID, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET".into(),
        ));
    }
    let Some(client_secret) = client_secret else {
        if get("AZURE_CLIENT_CERTIFICATE_PATH").is_some() {
            return Err(Failure::Config(
                "certificate credentials (AZURE_CLIENT_CERTIFICATE_PATH) are not supported yet: set AZURE_CLIENT_SECRET, or pass --credentials-secret ID".into(),
            ));
        }
        return Err(Failure::Config("AZURE_CLIENT_SECRET is not set or empty".into()));
    };
    let tenant_id = tenant_id.ok_or_else(|| Failure::Config("AZURE_TENANT_ID is not set or empty".into()))?;
    let client_id = client_id.ok_or_else(|| Failure::Config("AZURE_CLIENT_ID is not set or empty".into()))?;
    // The tenant goes into the token URL's path, as for the credentials secret.
    if !tenant_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(Failure::Config(
            "AZURE_TENANT_ID is not a tenant GUID or domain name".into(),
        ));
    }
    Ok(GraphCredentials {
        tenant_id,
        client_id,
        client_secret: SecretString::from(client_secret),
    })
}

/// Config's errors speak of the Lambda's variables; say which flag (or variable) that was.
fn config_failure(error: &ConfigError, authority_flag: bool) -> Failure {
    let source = match error.variable() {
        "GRAPH_ENDPOINT" => "--graph-endpoint",
        "AUTHORITY_HOST" if authority_flag => "--authority-host",
        "AUTHORITY_HOST" => "AZURE_AUTHORITY_HOST",
        _ => return Failure::Config(error.to_string()),
    };
    match error {
        ConfigError::Invalid { reason, .. } => Failure::Config(format!("{source} is invalid: {reason}")),
        other => Failure::Config(other.to_string()),
    }
}

/// The CLI's credentials: one session type whichever source was chosen.
pub enum CliCredentials {
    Secret(CredentialsCache<AwsSecretStore>),
    Environment(StaticCredentials),
}

impl CredentialsProvider for CliCredentials {
    async fn credentials(&self, refresh: bool, deadline: Deadline) -> Result<Arc<GraphCredentials>, CredentialsError> {
        match self {
            CliCredentials::Secret(cache) => cache.credentials(refresh, deadline).await,
            CliCredentials::Environment(fixed) => fixed.credentials(refresh, deadline).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clap::Parser;
    use secrecy::ExposeSecret;

    use super::*;
    use crate::cli::args::Cli;

    fn settings(args: &[&str], env: &[(&str, &str)]) -> Result<Settings, Failure> {
        let cli = Cli::try_parse_from(["mdi-sensor-key"].iter().chain(args)).unwrap();
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::new(&cli.global, |name| env.get(name).cloned())
    }

    const AZURE: [(&str, &str); 3] = [
        ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
        ("AZURE_CLIENT_ID", "app"),
        ("AZURE_CLIENT_SECRET", "hunter2-client-secret"),
    ];

    #[test]
    fn the_environment_credentials_are_read_as_azures_sdks_read_them() {
        let settings = settings(&["get"], &AZURE).unwrap();
        let CredentialsSource::Environment(credentials) = settings.credentials else {
            panic!("environment credentials expected");
        };
        assert_eq!(credentials.tenant_id, "contoso.onmicrosoft.com");
        assert_eq!(credentials.client_secret.expose_secret(), "hunter2-client-secret");
        assert_eq!(settings.endpoints.graph_base, "https://graph.microsoft.com/beta");
        assert_eq!(settings.endpoints.scope, "https://graph.microsoft.com/.default");
    }

    #[test]
    fn a_credentials_secret_wins_over_the_environment() {
        let settings = settings(&["get", "--credentials-secret", "creds"], &AZURE).unwrap();
        assert!(matches!(settings.credentials, CredentialsSource::Secret(ref id) if id == "creds"));
    }

    #[test]
    fn no_credentials_at_all_is_a_configuration_error_that_says_what_to_set() {
        let failure = settings(&["get"], &[]).unwrap_err();
        assert_eq!(failure.code(), 3);
        assert!(failure.message().contains("--credentials-secret"));
    }

    #[test]
    fn a_certificate_without_a_secret_is_not_supported_yet() {
        let failure = settings(
            &["get"],
            &[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "a"),
                ("AZURE_CLIENT_CERTIFICATE_PATH", "/etc/app.pem"),
            ],
        )
        .unwrap_err();
        assert_eq!(failure.code(), 3);
        assert!(failure.message().contains("not supported yet"), "{}", failure.message());
    }

    #[test]
    fn a_missing_variable_is_named() {
        let failure = settings(&["get"], &[("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_SECRET", "s")]).unwrap_err();
        assert!(failure.message().contains("AZURE_CLIENT_ID"));
        let failure = settings(
            &["get"],
            &[
                ("AZURE_TENANT_ID", "../x?"),
                ("AZURE_CLIENT_ID", "a"),
                ("AZURE_CLIENT_SECRET", "s"),
            ],
        )
        .unwrap_err();
        assert!(failure.message().contains("AZURE_TENANT_ID"));
        assert!(!failure.message().contains("../x?"));
    }

    #[test]
    fn the_cloud_the_endpoints_and_the_authority_variable_are_applied() {
        let mut env = AZURE.to_vec();
        env.push(("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9/"));
        let settings = settings(
            &[
                "get",
                "--cloud",
                "dod",
                "--graph-endpoint",
                "http://127.0.0.1:8",
                "--api-version",
                "v1.0",
            ],
            &env,
        )
        .unwrap();
        assert_eq!(settings.endpoints.graph_base, "http://127.0.0.1:8/v1.0");
        assert_eq!(settings.endpoints.authority, "http://127.0.0.1:9");
        assert_eq!(settings.endpoints.scope, "https://dod-graph.microsoft.us/.default");
    }

    #[test]
    fn an_invalid_endpoint_is_named_by_its_flag_or_variable() {
        let failure = settings(&["get", "--graph-endpoint", "ftp://x"], &AZURE).unwrap_err();
        assert_eq!(failure.code(), 3);
        assert!(
            failure.message().starts_with("--graph-endpoint is invalid"),
            "{}",
            failure.message()
        );
        let mut env = AZURE.to_vec();
        env.push(("AZURE_AUTHORITY_HOST", "not a url"));
        let failure = settings(&["get"], &env).unwrap_err();
        assert!(
            failure.message().starts_with("AZURE_AUTHORITY_HOST is invalid"),
            "{}",
            failure.message()
        );
    }
}
