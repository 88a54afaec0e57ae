//! Where the CLI's calls go and whose credentials they carry: the flags and the environment,
//! validated once. The endpoint rules are the Lambda's own ([`Config::from_lookup`]), fed from
//! the flags, so the CLI and the function accept and refuse the same clouds and URLs.
//!
//! Errors name the flag or variable at fault, never its value.

use std::sync::Arc;
use std::time::Duration;

use mdi_sensor_key::bounded_file::{BoundedReadError, read_bounded};
use mdi_sensor_key::certificate::ClientCertificate;
use mdi_sensor_key::cloud::GraphEndpoints;
use mdi_sensor_key::config::{Config, ConfigError};
use mdi_sensor_key::credentials::{
    ClientCredential, CredentialsCache, CredentialsError, CredentialsProvider, GraphCredentials, StaticCredentials,
    tenant_id_is_path_safe,
};
use mdi_sensor_key::deadline::Deadline;
use mdi_sensor_key::federation::FederatedTokenFile;
use mdi_sensor_key::secrets::AwsSecretStore;
use secrecy::SecretString;

use super::args::Global;
use super::exit::Failure;

/// A certificate file larger than this is not a PEM certificate with its key and chain.
const MAX_CERTIFICATE_FILE_BYTES: u64 = 256 * 1024;

/// Development only: lets the Graph endpoint and the Entra authority be `http://`, for a local
/// simulator. Without it the CLI refuses them before anything is sent: over http the client
/// secret, the client assertion and the bearer token would travel in clear text (Azure Identity
/// refuses such an authority too).
pub const INSECURE_HTTP: &str = "MDI_SENSOR_KEY_INSECURE_HTTP";

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
            // Unset: the function's default.
            "GRAPH_API_VERSION" => global.api_version.map(|version| version.name().to_owned()),
            "GRAPH_ENDPOINT" => global.graph_endpoint.clone(),
            "AUTHORITY_HOST" => authority_host.clone(),
            "SENSOR_KEY_SECRET_ID" => global.key_secret.clone(),
            _ => None,
        })
        .map_err(|error| config_failure(&error, global.authority_host.is_some()))?;
        require_tls(&config, global.authority_host.is_some(), &get)?;
        Ok(Settings {
            endpoints: config.graph_endpoints(),
            credentials,
            key_secret: config.key_secret_id,
            credentials_ttl: config.credentials_ttl,
        })
    }
}

/// The Azure SDKs' `EnvironmentCredential` variables: a client secret or, failing that, a PEM
/// file holding the certificate and its private key (the SDKs' precedence); failing both, the
/// workload identity convention's `AZURE_FEDERATED_TOKEN_FILE` (`WorkloadIdentityCredential`).
fn environment_credentials(get: &impl Fn(&str) -> Option<String>) -> Result<GraphCredentials, Failure> {
    let tenant_id = get("AZURE_TENANT_ID");
    let client_id = get("AZURE_CLIENT_ID");
    let client_secret = get("AZURE_CLIENT_SECRET");
    let certificate_path = get("AZURE_CLIENT_CERTIFICATE_PATH");
    let token_file = get("AZURE_FEDERATED_TOKEN_FILE");
    if tenant_id.is_none()
        && client_id.is_none()
        && client_secret.is_none()
        && certificate_path.is_none()
        && token_file.is_none()
    {
        return Err(Failure::Config(
            "no credentials: pass --credentials-secret ID, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE".into(),
        ));
    }
    let tenant_id = tenant_id.ok_or_else(|| Failure::Config("AZURE_TENANT_ID is not set or empty".into()))?;
    let client_id = client_id.ok_or_else(|| Failure::Config("AZURE_CLIENT_ID is not set or empty".into()))?;
    // The tenant goes into the token URL's path, as for the credentials secret.
    if !tenant_id_is_path_safe(&tenant_id) {
        return Err(Failure::Config(
            "AZURE_TENANT_ID is not a tenant GUID or domain name".into(),
        ));
    }
    let credential = match (client_secret, certificate_path, token_file) {
        (Some(secret), _, _) => ClientCredential::Secret(SecretString::from(secret)),
        (None, Some(path), _) => ClientCredential::Certificate(std::sync::Arc::new(certificate_file(&path, get)?)),
        (None, None, Some(path)) => ClientCredential::Federated(Arc::new(FederatedTokenFile::new(path))),
        (None, None, None) => {
            return Err(Failure::Config(
                "AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH and AZURE_FEDERATED_TOKEN_FILE are not set or empty: set one".into(),
            ));
        }
    };
    Ok(GraphCredentials {
        tenant_id,
        client_id,
        credential,
    })
}

/// The certificate and key from the PEM file at `path` (its text kept in zeroizing buffers only),
/// with `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`.
fn certificate_file(path: &str, get: &impl Fn(&str) -> Option<String>) -> Result<ClientCertificate, Failure> {
    if get("AZURE_CLIENT_CERTIFICATE_PASSWORD").is_some() {
        return Err(Failure::Config(
            "AZURE_CLIENT_CERTIFICATE_PASSWORD is set, but only unencrypted PEM files are supported: export the certificate and key without a password (openssl pkcs12 -in app.pfx -out app.pem -nodes) and keep the file private".into(),
        ));
    }
    let send_chain = match get("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => {
            return Err(Failure::Config(
                "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN is invalid: expected true, false, 1 or 0".into(),
            ));
        }
    };
    // Bounded on the read itself: a FIFO, /dev/zero or a file swapped after a size check cannot
    // make it read more.
    let bytes = read_bounded(std::path::Path::new(path), MAX_CERTIFICATE_FILE_BYTES).map_err(|error| match error {
        BoundedReadError::Io(error) => {
            Failure::Config(format!("AZURE_CLIENT_CERTIFICATE_PATH could not be read: {error}"))
        }
        BoundedReadError::TooLarge { .. } => Failure::Config(format!(
            "AZURE_CLIENT_CERTIFICATE_PATH could not be read: {error}; a PEM certificate with its key and chain is a few KiB"
        )),
    })?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => SecretString::from(text),
        Err(_) => {
            return Err(Failure::Config(
                "AZURE_CLIENT_CERTIFICATE_PATH is not a PEM text file (a .pfx? convert it: openssl pkcs12 -in app.pfx -out app.pem -nodes)".into(),
            ));
        }
    };
    ClientCertificate::from_combined_pem(&text, send_chain)
        .map_err(|error| Failure::Config(format!("AZURE_CLIENT_CERTIFICATE_PATH's file {error}")))
}

/// Refuses an `http://` Graph endpoint or authority unless [`INSECURE_HTTP`] is on. A value other
/// than on or off is refused too, so a typo never quietly allows clear text.
fn require_tls(config: &Config, authority_flag: bool, get: &impl Fn(&str) -> Option<String>) -> Result<(), Failure> {
    let insecure = match get(INSECURE_HTTP).map(|value| value.to_ascii_lowercase()).as_deref() {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(_) => {
            return Err(Failure::Config(format!(
                "{INSECURE_HTTP} is invalid: expected 1 or true (development only), 0 or false"
            )));
        }
    };
    let authority = if authority_flag {
        "--authority-host (AUTHORITY_HOST)"
    } else {
        "AZURE_AUTHORITY_HOST"
    };
    for (source, url) in [
        ("--graph-endpoint (GRAPH_ENDPOINT)", &config.graph_endpoint),
        (authority, &config.authority_host),
    ] {
        let clear = url.as_deref().is_some_and(|url| {
            !url.get(..8)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        });
        if clear && !insecure {
            return Err(Failure::Config(format!(
                "{source} must be an https:// URL: over http the client secret, the client assertion or the bearer token would travel in clear text (for a local simulator only, set {INSECURE_HTTP}=1)"
            )));
        }
    }
    Ok(())
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
    use crate::args::Cli;

    use mdi_sensor_key::cloud::Cloud;

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
        let settings = settings(&["get", "--cloud", "global"], &AZURE).unwrap();
        let CredentialsSource::Environment(credentials) = settings.credentials else {
            panic!("environment credentials expected");
        };
        assert_eq!(credentials.tenant_id, "contoso.onmicrosoft.com");
        let ClientCredential::Secret(secret) = &credentials.credential else {
            panic!("a client secret was expected");
        };
        assert_eq!(secret.expose_secret(), "hunter2-client-secret");
        let at = settings.endpoints.fixed().unwrap();
        assert_eq!(at.graph_base, "https://graph.microsoft.com/v1.0", "v1.0 by default");
        assert_eq!(at.scope, "https://graph.microsoft.com/.default");
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

    /// A PEM file in the temporary directory, removed when dropped.
    struct TempPem(std::path::PathBuf);

    impl TempPem {
        fn new(contents: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("mdi-sensor-key-test-{}.pem", uuid::Uuid::new_v4()));
            std::fs::write(&path, contents).unwrap();
            TempPem(path)
        }

        fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }

    impl Drop for TempPem {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn certificate_env(path: &str) -> Vec<(&str, &str)> {
        vec![
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "a"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", path),
        ]
    }

    #[test]
    fn a_certificate_file_holding_the_certificate_and_its_key_is_read_as_azures_sdks_read_it() {
        let certificate = graph_sim::TestCertificate::generate("cli-settings");
        let file = TempPem::new(certificate.combined_pem().as_bytes());
        let settings = settings(&["get"], &certificate_env(file.path())).unwrap();
        let CredentialsSource::Environment(credentials) = settings.credentials else {
            panic!("environment credentials expected");
        };
        let ClientCredential::Certificate(loaded) = &credentials.credential else {
            panic!("a certificate was expected");
        };
        assert_eq!(loaded.thumbprint_sha256(), certificate.thumbprint_sha256());
    }

    #[test]
    fn a_client_secret_wins_over_a_certificate_as_in_azures_sdks() {
        let mut env = certificate_env("/nonexistent.pem");
        env.push(("AZURE_CLIENT_SECRET", "s"));
        let settings = settings(&["get"], &env).unwrap();
        let CredentialsSource::Environment(credentials) = settings.credentials else {
            panic!("environment credentials expected");
        };
        assert!(matches!(credentials.credential, ClientCredential::Secret(_)));
    }

    #[test]
    fn an_unusable_certificate_file_is_a_configuration_error_naming_the_variable_not_the_file() {
        let certificate = graph_sim::TestCertificate::generate("cli-settings");
        let key_only = TempPem::new(certificate.private_key_pem().as_bytes());
        let binary = TempPem::new(&[0x30, 0x82, 0xff, 0xfe, 0x00]);
        let cases = [
            (certificate_env("/nonexistent/app.pem"), "could not be read"),
            (certificate_env(key_only.path()), "no CERTIFICATE"),
            (certificate_env(binary.path()), "not a PEM text file"),
        ];
        for (env, says) in cases {
            let failure = settings(&["get"], &env).unwrap_err();
            assert_eq!(failure.code(), 3);
            assert!(
                failure.message().starts_with("AZURE_CLIENT_CERTIFICATE_PATH"),
                "{}",
                failure.message()
            );
            assert!(failure.message().contains(says), "{}", failure.message());
            assert!(!failure.message().contains("/nonexistent") && !failure.message().contains("MII"));
        }
        let file = TempPem::new(certificate.combined_pem().as_bytes());
        let mut env = certificate_env(file.path());
        env.push(("AZURE_CLIENT_CERTIFICATE_PASSWORD", "hunter2"));
        let failure = settings(&["get"], &env).unwrap_err();
        assert!(failure.message().contains("unencrypted PEM"), "{}", failure.message());
        assert!(!failure.message().contains("hunter2"));
        let mut env = certificate_env(file.path());
        env.push(("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "maybe"));
        let failure = settings(&["get"], &env).unwrap_err();
        assert!(
            failure.message().starts_with("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"),
            "{}",
            failure.message()
        );
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
        env.push((INSECURE_HTTP, "1"));
        let settings = settings(
            &[
                "get",
                "--cloud",
                "dod",
                "--graph-endpoint",
                "http://127.0.0.1:8",
                "--api-version",
                "beta",
            ],
            &env,
        )
        .unwrap();
        let at = settings.endpoints.fixed().unwrap();
        assert_eq!(at.cloud, Cloud::Dod);
        assert_eq!(at.graph_base, "http://127.0.0.1:8/beta");
        assert_eq!(at.authority, "http://127.0.0.1:9");
        assert_eq!(at.scope, "https://dod-graph.microsoft.us/.default");
        let auto = super::Settings::new(
            &crate::args::Cli::try_parse_from(["mdi-sensor-key", "get"])
                .unwrap()
                .global,
            |name| AZURE.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()),
        )
        .unwrap();
        assert_eq!(
            auto.endpoints.fixed(),
            None,
            "the CLI's default cloud is auto, which waits for discovery"
        );
    }

    #[test]
    fn an_http_graph_endpoint_or_authority_is_refused_unless_the_development_switch_is_on() {
        let graph = ["get", "--graph-endpoint", "http://127.0.0.1:8"];
        let authority_flag = ["get", "--authority-host", "http://127.0.0.1:9"];
        let mut variable = AZURE.to_vec();
        variable.push(("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9/"));
        /// The arguments, the environment and the refusal's start.
        type Case<'a> = (&'a [&'a str], Vec<(&'a str, &'a str)>, &'a str);
        let cases: [Case; 3] = [
            (
                &graph,
                AZURE.to_vec(),
                "--graph-endpoint (GRAPH_ENDPOINT) must be an https:// URL",
            ),
            (
                &authority_flag,
                AZURE.to_vec(),
                "--authority-host (AUTHORITY_HOST) must be an https:// URL",
            ),
            (&["get"], variable, "AZURE_AUTHORITY_HOST must be an https:// URL"),
        ];
        for (args, env, refusal) in cases {
            for off in [None, Some("0"), Some("false")] {
                let mut env = env.clone();
                env.extend(off.map(|off| (INSECURE_HTTP, off)));
                let failure = settings(args, &env).unwrap_err();
                assert_eq!(failure.code(), 3);
                assert!(failure.message().starts_with(refusal), "{}", failure.message());
                assert!(failure.message().contains(INSECURE_HTTP), "{}", failure.message());
            }
            for on in ["1", "true", "TRUE"] {
                let mut env = env.clone();
                env.push((INSECURE_HTTP, on));
                assert!(settings(args, &env).is_ok(), "{args:?} with {on}");
            }
            let mut env = env.clone();
            env.push((INSECURE_HTTP, "yes please"));
            let failure = settings(args, &env).unwrap_err();
            assert!(failure.message().starts_with(INSECURE_HTTP), "{}", failure.message());
        }
        let https = [
            "get",
            "--graph-endpoint",
            "https://127.0.0.1:8",
            "--authority-host",
            "https://127.0.0.1:9",
        ];
        assert!(settings(&https, &AZURE).is_ok(), "https needs no switch");
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
