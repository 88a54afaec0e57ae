//! What the product does: every operation a caller can ask for, each declared once.
//!
//! Each operation is a room of its own, a file in this folder: its [`Declaration`] (route, name,
//! permission, tally, body, CLI command and help), how its input is read from a request's parts,
//! and its `run` over the ports, ending in a typed answer ([`Outcome`], the one JSON contract of
//! the HTTP routes and the CLI). The list below is the only place that names them all.
//!
//! Knows nothing of Lambda or terminals: the Lambda handler routes from [`DECLARATIONS`] and
//! never names an operation; the CLI takes each command's name and help from its declaration.
//! Adding an operation: docs/development.md, "Adding an operation".

mod answers;
mod declaration;
mod request;

// One file per operation, in the order of the list below. Declared here rather than by the macro
// so that rustfmt, which does not look inside macros, formats them; tests/house.rs holds the two
// lists equal.
pub mod activate_sensors;
pub mod list_sensor_candidates;
pub mod list_sensors;
pub mod read_activation_mode;
pub mod read_install_bundle;
pub mod read_key;
pub mod read_sensor_package;
pub mod regenerate_key;
pub mod sensor_health_issues;
pub mod sensor_verdict;
pub mod set_activation_mode;

use crate::deadline::Deadline;
use crate::keys::{KeyService, KeySource};
use crate::secrets::SecretStore;
use crate::sensors::SensorSource;

/// What an operation's `run` ends in: its answer, or the error that stands for it.
pub type Answered = Result<Answer, OperationError>;

pub use answers::{Answer, InstallBundle, KeyRead, KeyRegenerated, OperationError, Outcome};
pub use declaration::{Body, Declaration, Tally};
pub use request::{InputError, RequestParts, only_declared};

/// Declares the operations at once from their modules: the [`Operation`] enum (one variant per
/// operation, holding its module's validated `Input`), [`DECLARATIONS`] in the order of docs/http-api.md's route table,
/// each operation's declaration and the dispatch of [`run`], so none of them can miss one.
macro_rules! operations {
    ($($(#[doc = $doc:literal])* $variant:ident => $module:ident,)*) => {
        /// One thing a caller asks for, with its input already validated.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Operation {
            $($(#[doc = $doc])* $variant($module::Input),)*
        }

        /// Every operation's declaration.
        pub static DECLARATIONS: &[&Declaration] = &[$(&$module::DECLARATION,)*];

        impl Operation {
            /// What the operation declares about itself.
            pub fn declaration(&self) -> &'static Declaration {
                match self {
                    $(Operation::$variant(_) => &$module::DECLARATION,)*
                }
            }
        }

        /// Runs `operation` over the ports.
        pub async fn run<G, K, S>(
            ports: Ports<'_, G, K, S>,
            operation: Operation,
            deadline: Deadline,
        ) -> Answered
        where
            G: SensorSource + KeySource,
            K: KeySource,
            S: SecretStore,
        {
            // Each operation's future boxed: the enum of them all would be as large as the
            // largest (a regenerate's, an activation's), and lambda_runtime moves the
            // invocation's future by value, so a warm GET copied all of it (issue 22).
            match operation {
                $(Operation::$variant(input) => Box::pin($module::run(ports, input, deadline)).await,)*
            }
        }
    };
}

operations! {
    /// The key, live from Graph.
    ReadKey => read_key,
    /// A new key at Graph, stored in the key secret when one is configured.
    RegenerateKey => regenerate_key,
    /// The sensor installer's download URL and version.
    ReadSensorPackage => read_sensor_package,
    /// The key, the package and the install commands that use both.
    ReadInstallBundle => read_install_bundle,
    /// The tenant's sensors, each with its verdict.
    ListSensors => list_sensors,
    /// The verdict on one host's sensor.
    SensorVerdict => sensor_verdict,
    /// The health issues that name one host.
    SensorHealthIssues => sensor_health_issues,
    /// The servers that can run the v3 sensor without an installer.
    ListSensorCandidates => list_sensor_candidates,
    /// The tenant's activation mode for candidates.
    ReadActivationMode => read_activation_mode,
    /// Activate the sensor on these candidates.
    ActivateSensors => activate_sensors,
    /// Set the tenant's activation mode.
    SetActivationMode => set_activation_mode,
}

impl Operation {
    /// The operation's name in the audit line and the metrics.
    pub fn name(&self) -> &'static str {
        self.declaration().name
    }

    /// What a write to the tenant acts on, for its audit line; empty for the other operations.
    pub fn audit_subject(&self) -> AuditSubject {
        match self {
            Operation::ActivateSensors(servers) => AuditSubject {
                server_ids: servers.as_slice().join(","),
                activation_mode: "",
            },
            Operation::SetActivationMode(mode) => AuditSubject {
                server_ids: String::new(),
                activation_mode: mode.name(),
            },
            _ => AuditSubject::default(),
        }
    }
}

/// The audit line's account of what an activation changed: the server ids it names (comma
/// separated; each is validated ASCII) and the activation mode it sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSubject {
    pub server_ids: String,
    pub activation_mode: &'static str,
}

/// What an operation runs over: Graph (the sensor reads) and the key service.
pub struct Ports<'a, G, K, S> {
    pub graph: &'a G,
    pub keys: &'a KeyService<K, S>,
}

impl<G, K, S> Clone for Ports<'_, G, K, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G, K, S> Copy for Ports<'_, G, K, S> {}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::access::Permission;
    use crate::candidates::{ActivationMode, ServerIds};
    use crate::keys::Trigger;
    use crate::secrets::memory::InMemorySecretStore;
    use crate::sensors::fake::FakeSensors;
    use crate::sensors::{HostName, InstallOptions, SensorFilter};

    pub(crate) const KEY: &str = "c2Vuc29yLWtleQ+/abc==";

    fn soon() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    fn graph() -> FakeSensors {
        FakeSensors {
            key: KEY.into(),
            ..FakeSensors::default()
        }
    }

    /// The answer of `operation` over fakes.
    pub(crate) async fn answer_of(operation: Operation) -> Answer {
        let sensors = graph();
        let keys = KeyService::new(graph(), InMemorySecretStore::default(), None);
        let ports = Ports {
            graph: &sensors,
            keys: &keys,
        };
        run(ports, operation, soon()).await.unwrap()
    }

    async fn json_of(operation: Operation) -> serde_json::Value {
        serde_json::to_value(&answer_of(operation).await.outcome).unwrap()
    }

    #[tokio::test]
    async fn each_operation_answers_with_its_documented_members() {
        assert_eq!(
            json_of(Operation::ReadKey(())).await,
            serde_json::json!({ "sensorDeploymentAccessKey": KEY })
        );
        assert_eq!(
            json_of(Operation::RegenerateKey(Trigger::Api)).await,
            serde_json::json!({ "sensorDeploymentAccessKey": KEY, "stored": null, "verified": null })
        );
        let bundle = json_of(Operation::ReadInstallBundle(InstallOptions::default())).await;
        let mut members: Vec<&str> = bundle.as_object().unwrap().keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(
            members,
            [
                "downloadUrl",
                "installCommand",
                "installCommandPowerShell",
                "notes",
                "sensorDeploymentAccessKey",
                "version"
            ]
        );
        assert_eq!(
            json_of(Operation::ReadSensorPackage(())).await["version"],
            "2.241.18000.0"
        );
        assert_eq!(
            json_of(Operation::ListSensors(SensorFilter::default())).await,
            serde_json::json!({ "sensors": [] })
        );
        assert_eq!(
            json_of(Operation::ListSensorCandidates(())).await,
            serde_json::json!({ "sensorCandidates": [] })
        );
        assert_eq!(
            json_of(Operation::ReadActivationMode(())).await,
            serde_json::json!({ "activationMode": "manual" })
        );
        assert_eq!(
            json_of(Operation::SetActivationMode(ActivationMode::Automated)).await,
            serde_json::json!({ "activationMode": "automated" })
        );
        assert_eq!(
            json_of(Operation::ActivateSensors(ServerIds::parse(&["a1", "b2"]).unwrap())).await,
            serde_json::json!({ "servers": [
                { "serverId": "a1", "outcome": "accepted" },
                { "serverId": "b2", "outcome": "accepted" },
            ] })
        );
    }

    #[test]
    fn only_a_regenerate_needs_the_rotators_list_and_the_bundle_counts_as_a_key_read() {
        let every = [
            Operation::ReadKey(()),
            Operation::RegenerateKey(Trigger::Api),
            Operation::ReadSensorPackage(()),
            Operation::ReadInstallBundle(InstallOptions::default()),
            Operation::ListSensors(SensorFilter::default()),
            Operation::SensorVerdict(HostName::parse("DC1").unwrap()),
            Operation::SensorHealthIssues(HostName::parse("DC1").unwrap()),
            Operation::ListSensorCandidates(()),
            Operation::ReadActivationMode(()),
            Operation::ActivateSensors(ServerIds::parse(&["abc"]).unwrap()),
            Operation::SetActivationMode(ActivationMode::Automated),
        ];
        assert_eq!(every.len(), DECLARATIONS.len(), "one sample per declared operation");
        for operation in &every {
            let declaration = operation.declaration();
            let rotators = matches!(operation, Operation::RegenerateKey(_));
            assert_eq!(
                declaration.permission == Permission::RegenerateKey,
                rotators,
                "{operation:?}"
            );
            let activators = matches!(
                operation,
                Operation::ActivateSensors(_) | Operation::SetActivationMode(_)
            );
            assert_eq!(
                declaration.permission == Permission::ActivateSensors,
                activators,
                "{operation:?}"
            );
            assert_eq!(
                declaration.body == Body::Json,
                activators,
                "only the activation writes take a body"
            );
        }
        let key_reads: Vec<&str> = every
            .iter()
            .filter(|operation| operation.declaration().tally == Tally::KeyRead)
            .map(Operation::name)
            .collect();
        assert_eq!(key_reads, ["read-key", "read-install-bundle"]);
    }

    #[test]
    fn every_declared_operation_has_its_row_in_the_route_table_naming_its_allow_list() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/http-api.md")).unwrap();
        for declaration in DECLARATIONS {
            let route = format!("| `{} {}", declaration.method, declaration.path);
            let row = docs
                .lines()
                .find(|line| {
                    line.strip_prefix(route.as_str())
                        .is_some_and(|rest| rest.starts_with('`') || rest.starts_with('['))
                })
                .unwrap_or_else(|| panic!("docs/http-api.md has no row for {route}`"));
            let list = match declaration.permission {
                Permission::ReadKey => "`KEY_READERS`",
                Permission::RegenerateKey => "`KEY_ROTATORS`",
                Permission::ActivateSensors => "`SENSOR_ACTIVATORS`",
            };
            assert_eq!(row.split(" | ").nth(1), Some(list), "{row}");
        }
    }

    #[tokio::test]
    async fn debug_prints_of_answers_never_show_the_key() {
        for operation in [
            Operation::ReadKey(()),
            Operation::RegenerateKey(Trigger::Api),
            Operation::ReadInstallBundle(InstallOptions::default()),
        ] {
            let answer = answer_of(operation).await;
            assert!(!format!("{answer:?}").contains(KEY), "{answer:?}");
        }
    }
}
