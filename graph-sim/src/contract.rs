//! Microsoft's published schema of the MDI sensor, per cloud and API version, from the contract
//! snapshot that the tests hold the client and this simulator to (`tests/contract/`, made from
//! the CSDL metadata in microsoftgraph/msgraph-metadata by `tests/contract/refresh.py`).
//!
//! The simulator answers with exactly the properties the tenant's cloud and the request's API
//! version publish: in the US Government schema (`v1.0-Fairfax.csdl`, which covers GCC High and
//! DoD) a sensor has no `serviceStatus`, and only beta in the global cloud has `migrationState`.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::config::SimCloud;

/// The snapshot, compiled in: the simulator needs no file at run time.
const SNAPSHOT: &str = include_str!("../../tests/contract/graph-schema.json");

/// One cloud and version's schema, as far as the simulator serves it.
#[derive(Debug, Default)]
pub struct Schema {
    /// The properties of `microsoft.graph.security.sensor`.
    pub sensor: Vec<String>,
    /// The properties of `microsoft.graph.security.sensorSettings`.
    pub settings: Vec<String>,
    /// The properties of `microsoft.graph.security.healthIssue` (`id` included).
    pub health_issue: Vec<String>,
    /// The properties of `microsoft.graph.security.sensorCandidate` (`id` included); empty where
    /// the type is not published.
    pub candidate: Vec<String>,
    /// The navigation properties of `security.identityContainer`: which collections and
    /// singletons exist under `/security/identities/` in this cloud and version.
    pub identities: Vec<String>,
    /// Each enum type's members, in published order.
    pub enums: HashMap<String, Vec<String>>,
}

/// The snapshot's key for a cloud and an API version: `v1.0-global`, `beta-usgov`, ...
pub fn key(cloud: SimCloud, version: &str) -> String {
    let cloud = match cloud {
        SimCloud::Global | SimCloud::Gcc => "global",
        // One US Government schema (Fairfax) serves L4 and L5.
        SimCloud::UsGov | SimCloud::Dod => "usgov",
    };
    format!("{}-{cloud}", version.to_ascii_lowercase())
}

/// The schema of `cloud` at `version`; an unknown version gets the global v1.0 schema.
pub fn schema(cloud: SimCloud, version: &str) -> &'static Schema {
    static SCHEMAS: OnceLock<HashMap<String, Schema>> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(parse);
    schemas
        .get(&key(cloud, version))
        .or_else(|| schemas.get("v1.0-global"))
        .unwrap_or_else(|| panic!("the contract snapshot has no v1.0-global schema"))
}

fn parse() -> HashMap<String, Schema> {
    let snapshot: Value = serde_json::from_str(SNAPSHOT).expect("tests/contract/graph-schema.json is JSON");
    let names = |value: &Value| -> Vec<String> {
        value
            .as_object()
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut schemas = HashMap::new();
    for (key, schema) in snapshot["schemas"].as_object().into_iter().flatten() {
        let enums = schema["enumTypes"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, members)| {
                let members = members
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                (name.clone(), members)
            })
            .collect();
        let sensor_type = &schema["entityTypes"]["sensor"];
        let mut sensor = names(&sensor_type["properties"]);
        // Inherited: `microsoft.graph.entity`, the base of every Graph entity, has one property,
        // the key `id` (CSDL `<EntityType Name="entity" Abstract="true"><Key><PropertyRef
        // Name="id"/>`).
        if sensor_type["baseType"] == "microsoft.graph.entity" {
            sensor.push("id".to_owned());
        }
        let issue_type = &schema["entityTypes"]["healthIssue"];
        let mut health_issue = names(&issue_type["properties"]);
        if issue_type["baseType"] == "microsoft.graph.entity" {
            health_issue.push("id".to_owned());
        }
        let candidate_type = &schema["entityTypes"]["sensorCandidate"];
        let mut candidate = names(&candidate_type["properties"]);
        if candidate_type["baseType"] == "microsoft.graph.entity" {
            candidate.push("id".to_owned());
        }
        let identities = schema["entityTypes"]["identityContainer"]["navigation"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        schemas.insert(
            key.clone(),
            Schema {
                sensor,
                health_issue,
                candidate,
                identities,
                settings: names(&schema["complexTypes"]["sensorSettings"]["properties"]),
                enums,
            },
        );
    }
    schemas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_us_government_schema_has_no_service_status_and_the_global_one_has() {
        assert!(
            schema(SimCloud::Global, "v1.0")
                .sensor
                .iter()
                .any(|p| p == "serviceStatus")
        );
        for cloud in [SimCloud::UsGov, SimCloud::Dod] {
            assert!(!schema(cloud, "v1.0").sensor.iter().any(|p| p == "serviceStatus"));
        }
        assert_eq!(key(SimCloud::Gcc, "V1.0"), "v1.0-global");
    }
}
