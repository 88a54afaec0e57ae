//! The command line, declared with clap's derive: every command has `--help`, and every value
//! that reaches Graph or an installer's command line is validated here by the library's own
//! parsers, so a bad value is a usage error (exit 2) before anything is sent. An operation's
//! command takes its name and help from the operation's declaration ([`mdi_sensor_key::operations`]);
//! this module adds its arguments and turns the command into the operation ([`Command::request`]).

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use mdi_sensor_key::candidates::{ActivationMode, ServerIds};
use mdi_sensor_key::keys::Trigger;
use mdi_sensor_key::operations::{
    Operation, activate_sensors, list_sensor_candidates, list_sensors, read_activation_mode, read_install_bundle,
    read_key, read_sensor_package, regenerate_key, sensor_health_issues, sensor_verdict,
};
use mdi_sensor_key::sensors::{HostName, InstallOptions, KeyFilePath, ProxyUrl, ProxyUserName, SensorFilter};

/// Shown under every command's `--help`, and in docs/cli.md.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other failure (an unreadable upstream answer, an unexpected error)
  2  usage: an unknown command or option, a missing or invalid value, a short host name
     that sensors in several domains have
  3  configuration: no or unusable credentials (AZURE_* variables, the credentials secret,
     AWS credentials), a key secret that is missing or unreadable, an invalid endpoint
  4  upstream refused: Entra ID or Graph said no (wrong client secret, unknown app or tenant,
     missing permission or admin consent, tenant not onboarded to Defender for Identity)
  5  upstream unavailable: throttled, unreachable or timed out; try again later
  verdict --wait only, by the last verdict: 0 healthy, 6 unhealthy, 7 still installing,
  8 missing, 10 still initialising (at the end of the wait), 9 needs configuration (at once:
  it does not clear by itself)";

/// `bundle --help`: what Microsoft says to know before running the command (docs/sensors.md).
const BUNDLE_ABOUT: &str = "\
Print what an installer needs: the key, the package and the install command line.

The install may restart the server. Microsoft: \"The Defender for Identity silent installation
for sensors is configured to automatically restart the server at the end of the installation, if
necessary. Schedule a silent installation only during a maintenance window. Because of a Windows
Installer bug, you can't reliably use the norestart flag to make sure the server doesn't
restart.\" Install .NET Framework 4.7 or later first, as a deployment of its own (it may restart
the server too); without it the setup installs it (learn.microsoft.com/defender-for-identity/
deploy/install-sensor). With --proxy-user-name the command reads the proxy password from the
server's environment variable MDI_PROXY_USER_PASSWORD: set it from your secret store.";

const CREDENTIALS: &str = "\
Credentials: with --credentials-secret, the Secrets Manager secret holding
{\"tenantId\", \"clientId\", \"clientSecret\"} or, for a certificate, {\"tenantId\", \"clientId\",
\"certificatePem\", \"privateKeyPem\"}, read with the usual AWS credentials and region: the
AWS_* variables or AWS_PROFILE's profile (IAM Identity Center, credential_process, aws login).
Otherwise the variables Azure's SDKs use: AZURE_TENANT_ID, AZURE_CLIENT_ID and either
AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH (an unencrypted PEM file holding the
certificate and its RSA private key; AZURE_CLIENT_SEND_CERTIFICATE_CHAIN=true sends the chain),
and AZURE_AUTHORITY_HOST for another Entra authority. The app needs the Microsoft Graph
application permissions SecurityIdentitiesSensors.ReadWrite.All (get, regenerate, bundle) and
SecurityIdentitiesSensors.Read.All (package, bundle, sensors, verdict), with admin consent.

Every option the Lambda function has falls back to the function's environment variable
([env: ...] above); a flag wins over its variable.

Output: a readable table, or JSON with -o json (or --json). The key is printed only by get, regenerate and
bundle, and only to stdout; logs go to stderr (-v, -vv or RUST_LOG for more).";

#[derive(Debug, Parser)]
#[command(
    name = "mdi-sensor-key",
    version,
    about = "Reads and rotates the Microsoft Defender for Identity sensor deployment access key, and helps install and check sensors",
    after_help = EXIT_CODES,
    after_long_help = format!("{CREDENTIALS}\n\n{EXIT_CODES}"),
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes. Each option the Lambda function also has takes the function's
/// environment variable as its fallback, so a shell set up like the function needs no flags.
#[derive(Debug, Args)]
pub struct Global {
    /// Read the Graph app's credentials from this Secrets Manager secret (name or ARN)
    #[arg(long, global = true, value_name = "ID", env = "GRAPH_CREDENTIALS_SECRET_ID", value_parser = NonEmptyStringValueParser::new())]
    pub credentials_secret: Option<String>,
    /// The Secrets Manager secret the key is stored in (for `regenerate --store` and `rotate`)
    #[arg(long, global = true, value_name = "ID", env = "SENSOR_KEY_SECRET_ID", value_parser = NonEmptyStringValueParser::new())]
    pub key_secret: Option<String>,
    /// The national cloud: its Graph root, Entra authority and token scope (auto: the tenant's own, from its OpenID configuration)
    #[arg(long, global = true, value_enum, env = "GRAPH_CLOUD", ignore_case = true, default_value_t = CloudArg::Auto)]
    pub cloud: CloudArg,
    /// Send Graph requests here instead of the cloud's Graph root (proxies, tests)
    #[arg(long, global = true, value_name = "URL", env = "GRAPH_ENDPOINT")]
    pub graph_endpoint: Option<String>,
    /// Request tokens here instead of the cloud's authority [then: AZURE_AUTHORITY_HOST, if set]
    #[arg(long, global = true, value_name = "URL", env = "AUTHORITY_HOST")]
    pub authority_host: Option<String>,
    /// The Graph API version [default: the function's, v1.0; beta is not supported in production]
    #[arg(long, global = true, value_enum, env = "GRAPH_API_VERSION")]
    pub api_version: Option<ApiVersionArg>,
    /// Give up after this many seconds, retries included
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// The output format: a table for people, JSON for scripts
    #[arg(short, long, global = true, value_enum, default_value_t = OutputArg::Table)]
    pub output: OutputArg,
    /// The same as --output json
    #[arg(long, global = true)]
    pub json: bool,
    /// Log more to stderr (-v: each Graph call, -vv: debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Global {
    /// Whether to print JSON: `--output json` or `--json`.
    pub fn json(&self) -> bool {
        self.json || self.output == OutputArg::Json
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloudArg {
    Global,
    Usgov,
    Dod,
    Auto,
}

impl CloudArg {
    /// The `GRAPH_CLOUD` spelling.
    pub fn name(self) -> &'static str {
        match self {
            CloudArg::Global => "global",
            CloudArg::Usgov => "usgov",
            CloudArg::Dod => "dod",
            CloudArg::Auto => "auto",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiVersionArg {
    Beta,
    #[value(name = "v1.0")]
    V1,
}

impl ApiVersionArg {
    /// The `GRAPH_API_VERSION` spelling.
    pub fn name(self) -> &'static str {
        match self {
            ApiVersionArg::Beta => "beta",
            ApiVersionArg::V1 => "v1.0",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(name = read_key::DECLARATION.command, about = read_key::DECLARATION.about, after_help = EXIT_CODES)]
    Get,
    #[command(name = regenerate_key::DECLARATION.command, about = regenerate_key::DECLARATION.about, after_help = EXIT_CODES)]
    Regenerate {
        /// Also store the new key in --key-secret as AWSCURRENT (the old stays as AWSPREVIOUS)
        #[arg(long)]
        store: bool,
    },
    /// Rotate the stored key as a scheduled rotation does (needs --key-secret); prints no key
    #[command(after_help = EXIT_CODES)]
    Rotate,
    /// Print what the Entra app must trust for GraphAuth=aws-federation (the account's issuer, from
    /// IAM, and the function's role) as the ready `az ad app federated-credential create` command
    #[command(after_help = EXIT_CODES)]
    FederationTrust {
        /// The function's role: the stack output FunctionRoleArn
        #[arg(long, value_name = "ARN", value_parser = NonEmptyStringValueParser::new())]
        role_arn: String,
        /// The Entra app's client id (GraphClientId)
        #[arg(long, value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
        app_id: String,
    },
    #[command(name = read_sensor_package::DECLARATION.command, about = read_sensor_package::DECLARATION.about, after_help = EXIT_CODES)]
    Package,
    #[command(name = read_install_bundle::DECLARATION.command, about = read_install_bundle::DECLARATION.about, long_about = BUNDLE_ABOUT, after_help = EXIT_CODES)]
    Bundle {
        /// Add DelayedUpdate=true: the sensor takes updates after the other sensors
        #[arg(long)]
        delayed_update: bool,
        /// Add ProxyUrl="URL": the sensor reaches the cloud service through this http(s) proxy
        #[arg(long, value_name = "URL")]
        proxy_url: Option<ProxyUrl>,
        /// Add ProxyUserName="DOMAIN\\user" (with --proxy-url) and a ProxyUserPassword the command
        /// reads from the server's environment variable MDI_PROXY_USER_PASSWORD
        #[arg(long, value_name = "DOMAIN\\USER", requires = "proxy_url")]
        proxy_user_name: Option<ProxyUserName>,
        /// Name the key file instead of the key: AccessKeyFile="PATH" (an absolute Windows path;
        /// write the key there before running the command, and delete it afterwards)
        #[arg(long, value_name = "PATH")]
        access_key_file: Option<KeyFilePath>,
    },
    #[command(name = list_sensors::DECLARATION.command, about = list_sensors::DECLARATION.about, after_help = EXIT_CODES)]
    Sensors {
        /// Only sensors of this domain (exact, ignoring case)
        #[arg(long, value_name = "DOMAIN", value_parser = NonEmptyStringValueParser::new())]
        domain: Option<String>,
    },
    #[command(name = sensor_verdict::DECLARATION.command, about = sensor_verdict::DECLARATION.about, after_help = EXIT_CODES)]
    Verdict {
        /// The server's short name (DC1) or fully qualified name (dc1.contoso.com); a short name
        /// that several domains have is refused (exit 2)
        #[arg(value_name = "HOST")]
        host: HostName,
        /// Ask again, with growing pauses, until the sensor is healthy, needs configuration (which
        /// does not clear by itself) or DURATION (90s, 10m, 1h) has passed; the exit code says the
        /// last verdict (0 healthy, 6 unhealthy, 7 installing, 8 missing, 9 needs configuration,
        /// 10 initialising). A tenant's first v3 sensor may take up to an hour to show as running:
        /// wait 1h then. Progress on stderr when it is a terminal
        #[arg(long, value_name = "DURATION", value_parser = crate::wait::parse_duration)]
        wait: Option<std::time::Duration>,
    },
    #[command(name = sensor_health_issues::DECLARATION.command, about = sensor_health_issues::DECLARATION.about, after_help = EXIT_CODES)]
    HealthIssues {
        /// The server's short name (DC1, matching the first label of an issue's DNS names) or
        /// fully qualified name (dc1.contoso.com)
        #[arg(value_name = "HOST")]
        host: HostName,
    },
    #[command(name = list_sensor_candidates::DECLARATION.command, about = list_sensor_candidates::DECLARATION.about, after_help = EXIT_CODES)]
    Candidates,
    #[command(name = activate_sensors::DECLARATION.command, about = activate_sensors::DECLARATION.about, after_help = EXIT_CODES)]
    Activate {
        /// The candidates' ids (`id` in `candidates`)
        #[arg(value_name = "SERVER_ID", required = true, num_args = 1..)]
        server_ids: Vec<String>,
    },
    #[command(name = read_activation_mode::DECLARATION.command, about = read_activation_mode::DECLARATION.about, after_help = EXIT_CODES)]
    ActivationMode {
        /// manual: each server is activated on request; automated: every candidate is
        #[arg(long, value_name = "MODE", value_parser = ["manual", "automated"])]
        set: Option<String>,
    },
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish
    Completions {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// An operation as a command asks for it, with what the CLI adds to it.
#[derive(Debug)]
pub struct Request {
    pub operation: Operation,
    /// `regenerate --store`: store the new key in the key secret.
    pub store: bool,
    /// `verdict --wait`: ask again until the sensor is healthy or the time is up.
    pub wait: Option<Wait>,
}

/// How long to wait for a host's sensor to turn healthy.
#[derive(Debug)]
pub struct Wait {
    pub duration: std::time::Duration,
    pub host: HostName,
}

impl Command {
    /// The command that needs `--key-secret`, named as the user typed it.
    pub fn needs_key_secret(&self) -> Option<&'static str> {
        match self {
            Command::Regenerate { store: true } => Some("regenerate --store"),
            Command::Rotate => Some("rotate"),
            _ => None,
        }
    }

    /// The operation the command asks for; `Err` names the command that is none (rotate,
    /// federation-trust, completions) or the value the library refused.
    pub fn request(self) -> Result<Request, String> {
        let plain = |operation| Request {
            operation,
            store: false,
            wait: None,
        };
        Ok(match self {
            Command::Get => plain(Operation::ReadKey(())),
            Command::Regenerate { store } => Request {
                store,
                ..plain(Operation::RegenerateKey(Trigger::Cli))
            },
            Command::Package => plain(Operation::ReadSensorPackage(())),
            Command::Bundle {
                delayed_update,
                proxy_url,
                proxy_user_name,
                access_key_file,
            } => plain(Operation::ReadInstallBundle(InstallOptions {
                delayed_update,
                proxy_url,
                proxy_user_name,
                access_key_file,
            })),
            Command::Sensors { domain } => plain(Operation::ListSensors(SensorFilter {
                domain_name: domain,
                host: None,
            })),
            Command::Verdict { host, wait } => Request {
                wait: wait.map(|duration| Wait {
                    duration,
                    host: host.clone(),
                }),
                ..plain(Operation::SensorVerdict(host))
            },
            Command::HealthIssues { host } => plain(Operation::SensorHealthIssues(host)),
            Command::Candidates => plain(Operation::ListSensorCandidates(())),
            Command::Activate { server_ids } => plain(Operation::ActivateSensors(
                ServerIds::parse(&server_ids).map_err(|error| error.to_string())?,
            )),
            Command::ActivationMode { set: None } => plain(Operation::ReadActivationMode(())),
            Command::ActivationMode { set: Some(mode) } => plain(Operation::SetActivationMode(
                mode.parse::<ActivationMode>().map_err(|error| error.to_string())?,
            )),
            Command::Rotate => return Err("internal: rotate is not an operation".into()),
            Command::FederationTrust { .. } => return Err("internal: federation-trust is not an operation".into()),
            Command::Completions { .. } => return Err("internal: completions is not an operation".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_long_help_names_both_application_permissions_the_app_needs() {
        let help = Cli::command().render_long_help().to_string();
        for permission in [
            "SecurityIdentitiesSensors.ReadWrite.All",
            "SecurityIdentitiesSensors.Read.All",
        ] {
            assert!(help.contains(permission), "{permission}");
        }
    }

    #[test]
    fn every_declared_operation_has_its_command_with_its_declared_help() {
        let cli = Cli::command();
        for declaration in mdi_sensor_key::operations::DECLARATIONS {
            let command = cli
                .find_subcommand(declaration.command)
                .unwrap_or_else(|| panic!("{}: no command {}", declaration.name, declaration.command));
            let about = command.get_about().map(ToString::to_string).unwrap_or_default();
            // One command may stand for a read and its write (`activation-mode [--set]`): its help
            // is one of theirs.
            let shared: Vec<&str> = mdi_sensor_key::operations::DECLARATIONS
                .iter()
                .filter(|other| other.command == declaration.command)
                .map(|other| other.about)
                .collect();
            assert!(shared.contains(&about.as_str()), "{}: {about}", declaration.name);
        }
    }

    #[test]
    fn each_command_asks_for_the_operation_it_is_declared_for() {
        for (args, name) in [
            (&["get"][..], "read-key"),
            (&["regenerate"], "regenerate-key"),
            (&["package"], "read-sensor-package"),
            (&["bundle"], "read-install-bundle"),
            (&["sensors"], "list-sensors"),
            (&["verdict", "DC1"], "sensor-verdict"),
            (&["health-issues", "DC1"], "sensor-health-issues"),
            (&["candidates"], "list-sensor-candidates"),
            (&["activation-mode"], "read-activation-mode"),
            (&["activate", "a1"], "activate-sensors"),
            (&["activation-mode", "--set", "manual"], "set-activation-mode"),
        ] {
            let cli = Cli::try_parse_from(["mdi-sensor-key"].iter().chain(args)).unwrap();
            let request = cli.command.request().unwrap();
            assert_eq!(request.operation.name(), name, "{args:?}");
            assert_eq!(request.operation.declaration().command, args[0], "{args:?}");
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn values_are_validated_by_the_librarys_parsers() {
        assert!(Cli::try_parse_from(["mdi-sensor-key", "verdict", "dc1.contoso.com"]).is_ok());
        assert!(Cli::try_parse_from(["mdi-sensor-key", "verdict", "dc1;rm"]).is_err());
        assert!(Cli::try_parse_from(["mdi-sensor-key", "bundle", "--proxy-url", "http://proxy:8080"]).is_ok());
        assert!(Cli::try_parse_from(["mdi-sensor-key", "bundle", "--proxy-url", "http://proxy\"&calc"]).is_err());
        assert!(Cli::try_parse_from(["mdi-sensor-key", "sensors", "--domain", ""]).is_err());
        assert!(Cli::try_parse_from(["mdi-sensor-key", "get", "--cloud", "china"]).is_err());
        assert!(Cli::try_parse_from(["mdi-sensor-key", "get", "--credentials-secret", ""]).is_err());
        assert!(Cli::try_parse_from(["mdi-sensor-key", "rotate", "--key-secret", ""]).is_err());
    }

    #[test]
    fn output_is_a_table_unless_o_json_or_json_is_given() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(["mdi-sensor-key", "get"].iter().chain(args))
                .unwrap()
                .global
                .json()
        };
        assert!(!parse(&[]));
        assert!(!parse(&["--output", "table"]));
        assert!(parse(&["-o", "json"]));
        assert!(parse(&["--output=json"]));
        assert!(parse(&["--json"]));
        assert!(Cli::try_parse_from(["mdi-sensor-key", "get", "-o", "yaml"]).is_err());
    }

    #[test]
    fn global_options_may_follow_the_command() {
        let cli = Cli::try_parse_from([
            "mdi-sensor-key",
            "package",
            "--json",
            "--cloud",
            "usgov",
            "--api-version",
            "v1.0",
        ])
        .unwrap();
        assert!(cli.global.json());
        assert_eq!(cli.global.cloud, CloudArg::Usgov);
        assert_eq!(cli.global.api_version, Some(ApiVersionArg::V1));
    }
}
