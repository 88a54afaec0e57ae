//! The files SAM CLI reads beside the template: `events/env.json` (`sam local invoke --env-vars`)
//! and `samconfig.toml` (`sam deploy --config-env`). Held to the template and to what the function
//! reads, since SAM itself says nothing when they drift: an env-vars entry for a variable the
//! template does not declare is silently dropped (SAM CLI's `EnvironmentVariables.resolve` only
//! overrides declared variables), and a config environment naming an unknown parameter fails only
//! at deploy time.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use mdi_sensor_key::config::Config;
use mdi_sensor_key::secrets::AwsSecretStore;
use serde_norway::Value as Yaml;

fn read(path: &str) -> String {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
}

fn template() -> Yaml {
    serde_norway::from_str(&read("template.yaml")).expect("template.yaml is YAML")
}

/// The template's functions (one per door): each logical id and the variable names it declares,
/// its own and those of `Globals.Function`, which SAM merges into every function.
fn functions(template: &Yaml) -> BTreeMap<String, BTreeSet<String>> {
    let names = |variables: &Yaml| -> BTreeSet<String> {
        variables
            .as_mapping()
            .into_iter()
            .flatten()
            .map(|(name, _)| name.as_str().unwrap().to_owned())
            .collect()
    };
    let global = names(&template["Globals"]["Function"]["Environment"]["Variables"]);
    let functions: BTreeMap<String, BTreeSet<String>> = template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, resource)| {
            let own = names(&resource["Properties"]["Environment"]["Variables"]);
            (id.as_str().unwrap().to_owned(), global.union(&own).cloned().collect())
        })
        .collect();
    assert_eq!(functions.len(), 2, "one function per door");
    functions
}

/// The template's parameters: name -> (has a default, allowed values).
fn parameters(template: &Yaml) -> BTreeMap<String, (bool, Option<Vec<String>>)> {
    template["Parameters"]
        .as_mapping()
        .expect("Parameters")
        .iter()
        .map(|(name, parameter)| {
            let allowed = parameter["AllowedValues"].as_sequence().map(|values| {
                values
                    .iter()
                    .map(|value| match value {
                        Yaml::String(text) => text.clone(),
                        other => serde_norway::to_string(other).unwrap().trim().to_owned(),
                    })
                    .collect()
            });
            let has_default = parameter.get("Default").is_some();
            (name.as_str().unwrap().to_owned(), (has_default, allowed))
        })
        .collect()
}

fn env_file() -> serde_json::Map<String, serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(&read("events/env.json")).expect("events/env.json is JSON");
    json.as_object().expect("an object of functions").clone()
}

/// The variables the file gives every function: its `Parameters` object (SAM CLI's
/// `LocalLambdaRunner._make_env_vars`: "Parameters" applies to all functions, a logical id's
/// object to that function only).
fn shared_variables() -> BTreeMap<String, String> {
    env_file()["Parameters"]
        .as_object()
        .expect("a Parameters object for both doors")
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn the_env_vars_file_sets_for_each_function_only_variables_it_declares_and_never_its_door() {
    let functions = functions(&template());
    let file = env_file();
    assert!(file.contains_key("Parameters"), "both doors get the local services");
    for (key, variables) in &file {
        let applies_to: Vec<&String> = if key == "Parameters" {
            functions.keys().collect()
        } else {
            assert!(functions.contains_key(key), "{key} is not a function of template.yaml");
            vec![key]
        };
        for (name, value) in variables.as_object().unwrap() {
            for function in &applies_to {
                assert!(
                    functions[*function].contains(name),
                    "{name} is not declared for {function} in template.yaml, so sam local would drop it"
                );
            }
            assert!(value.is_string(), "{name}: SAM passes strings");
            assert_ne!(
                name, "FUNCTION_DOOR",
                "each function keeps its own door under sam local, as in AWS"
            );
        }
    }
}

#[test]
fn the_env_vars_file_sets_only_variables_the_function_reads_and_points_it_at_the_local_services() {
    let variables = shared_variables();
    // What sam local sets itself (SAM CLI's `_get_aws_variables`), under the file's values.
    let mut environment: BTreeMap<String, String> = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    environment.extend(variables.clone());
    let read = RefCell::new(BTreeSet::new());
    let lookup = |name: &str| {
        read.borrow_mut().insert(name.to_owned());
        environment.get(name).cloned()
    };

    let config = Config::from_lookup(lookup).expect("the file is a valid configuration");
    AwsSecretStore::from_lambda_env(lookup).expect("and a valid Secrets Manager set-up");

    let read = read.into_inner();
    for name in variables.keys() {
        assert!(read.contains(name), "the function never reads {name}");
    }
    // The simulator and moto on the host, as a container reaches them: never AWS or Microsoft.
    for url in [config.graph_endpoint.as_deref(), config.authority_host.as_deref()]
        .into_iter()
        .chain([variables.get("AWS_ENDPOINT_URL_SECRETS_MANAGER").map(String::as_str)])
    {
        let url = url.expect("every upstream is redirected");
        assert!(url.starts_with("http://host.docker.internal:"), "{url}");
    }
    assert!(
        !config.readers.is_empty() && !config.rotators.is_empty(),
        "someone may call it"
    );
}

/// `version = 0.1`, then `[ENVIRONMENT.COMMAND.parameters]` tables (SAM CLI's "AWS SAM CLI
/// configuration file" page); COMMAND is a command's name with `_` for spaces.
#[test]
fn samconfig_holds_one_config_environment_per_tenant_each_deploying_its_own_stack() {
    let samconfig: toml::Table = toml::from_str(&read("samconfig.toml")).expect("samconfig.toml is TOML");
    let template = template();
    let parameters = parameters(&template);
    let commands = [
        "global",
        "build",
        "validate",
        "deploy",
        "package",
        "sync",
        "delete",
        "logs",
        "local_invoke",
        "local_start_api",
        "local_start_lambda",
    ];

    assert_eq!(samconfig["version"].as_float(), Some(0.1));
    let mut stacks = BTreeSet::new();
    let mut tenants = 0;
    for (environment, sections) in samconfig.iter().filter(|(key, _)| *key != "version") {
        let sections = sections
            .as_table()
            .unwrap_or_else(|| panic!("{environment} is a table"));
        for (command, section) in sections {
            assert!(
                commands.contains(&command.as_str()),
                "{environment}.{command}: not a SAM command"
            );
            let keys: Vec<&String> = section.as_table().unwrap().keys().collect();
            assert_eq!(keys, ["parameters"], "{environment}.{command}");
        }
        let Some(deploy) = sections.get("deploy") else {
            continue;
        };
        let setting = |name: &str| {
            deploy["parameters"]
                .get(name)
                .or_else(|| sections.get("global").and_then(|global| global["parameters"].get(name)))
        };
        let stack = setting("stack_name").and_then(|name| name.as_str());
        let stack = stack.unwrap_or_else(|| panic!("{environment}: a stack_name"));
        assert!(
            stacks.insert(stack.to_owned()),
            "{environment}: its own stack, not {stack} again"
        );
        assert_eq!(setting("capabilities").and_then(|c| c.as_str()), Some("CAPABILITY_IAM"));
        if environment == "default" {
            continue;
        }
        tenants += 1;
        assert!(
            setting("region").is_some(),
            "{environment}: a tenant's stack names its region"
        );
        let overrides: Vec<&str> = setting("parameter_overrides")
            .and_then(|o| o.as_array())
            .unwrap_or_else(|| panic!("{environment}: parameter_overrides as a list"))
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        let mut given = BTreeSet::new();
        for text in overrides {
            let (name, value) = text.split_once('=').unwrap_or_else(|| panic!("{environment}: {text}"));
            let (_, allowed) = parameters
                .get(name)
                .unwrap_or_else(|| panic!("{environment}: {name} is not a template parameter"));
            if let Some(allowed) = allowed {
                assert!(allowed.iter().any(|a| a == value), "{environment}: {name}={value}");
            }
            given.insert(name);
        }
        for (name, (has_default, _)) in &parameters {
            assert!(
                *has_default || given.contains(name.as_str()),
                "{environment}: the required parameter {name} is missing"
            );
        }
    }
    assert!(tenants >= 2, "the example shows several tenants");
}
