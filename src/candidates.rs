//! Sensor candidates: servers already onboarded to Defender for Endpoint that can run the v3
//! sensor without an installer (Graph's `microsoft.graph.security.sensorCandidate`,
//! `GET /security/identities/sensorCandidates`), their activation
//! (`POST /security/identities/sensorCandidates/activate` with `{"serverIds": [...]}`), and the
//! tenant's activation mode (`sensorCandidateActivationConfiguration.activationMode`: `manual` or
//! `automated`).
//!
//! Where they exist (tests/contract, docs/install-pipeline.md): v1.0 in the global cloud only (the
//! v1.0 US Government schema has none of them), beta in the global and US Government clouds. In a
//! government cloud Graph answers a path it does not know with 400/404, which the adapter turns
//! into `not-available-in-cloud`.
//!
//! An activation deploys software on domain controllers: it is not a read, and needs the
//! `SENSOR_ACTIVATORS` list ([`crate::access::Permission::ActivateSensors`]). The inputs are
//! validated here so the HTTP routes and the CLI refuse exactly the same values.

use serde::{Deserialize, Serialize};

/// More servers than this in one activation is a fleet, not a batch: split it.
pub const MAX_SERVER_IDS: usize = 100;
/// Defender for Endpoint's machine ids are 40 hex digits; the API page's example is a GUID-like
/// string. Both fit; longer is not an id.
const MAX_SERVER_ID: usize = 128;

/// One candidate. Every field is optional: the schema differs by cloud and version (beta in the
/// US Government clouds has no `domainName`; only beta in the global cloud has `sensorTypes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SensorCandidate {
    pub id: Option<String>,
    pub computer_dns_name: Option<String>,
    pub domain_name: Option<String>,
    pub last_seen_date_time: Option<String>,
    pub sense_client_version: Option<String>,
}

/// Every candidate (all pages), with the first page's request id.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateList {
    pub sensor_candidates: Vec<SensorCandidate>,
    #[serde(skip)]
    pub graph_request_id: Option<String>,
}

/// The two modes a caller may set. Reading passes Graph's value through as a string instead, so
/// `unknownFutureValue` (or a later member) is shown, not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationMode {
    Manual,
    Automated,
}

impl ActivationMode {
    pub fn name(self) -> &'static str {
        match self {
            ActivationMode::Manual => "manual",
            ActivationMode::Automated => "automated",
        }
    }
}

impl std::str::FromStr for ActivationMode {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, InputError> {
        match text {
            "manual" => Ok(ActivationMode::Manual),
            "automated" => Ok(ActivationMode::Automated),
            _ => Err(InputError::ActivationMode),
        }
    }
}

/// The tenant's activation mode as Graph gave it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationModeAnswer {
    pub activation_mode: Option<String>,
    #[serde(skip)]
    pub graph_request_id: Option<String>,
}

/// What an activation answers. Graph's `activate` answers `200 OK` with no body and documents no
/// per-server result, so what Graph said per server can only be what it said of the whole
/// request: each server is `accepted` when Graph answered 2xx (a failure is an error instead).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Activation {
    pub servers: Vec<ServerOutcome>,
    #[serde(skip)]
    pub graph_request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerOutcome {
    pub server_id: String,
    /// `accepted`: Graph accepted the request that named this server.
    pub outcome: &'static str,
}

/// A validated list of servers to activate: 1 to [`MAX_SERVER_IDS`] ids of letters, digits and
/// `-`, at most 128 long, none twice (ignoring ASCII case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerIds(Vec<String>);

impl ServerIds {
    pub fn parse<S: AsRef<str>>(ids: &[S]) -> Result<Self, InputError> {
        if ids.is_empty() {
            return Err(InputError::NoServerIds);
        }
        if ids.len() > MAX_SERVER_IDS {
            return Err(InputError::TooManyServerIds);
        }
        let mut seen: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            let id = id.as_ref();
            let well_formed = !id.is_empty()
                && id.len() <= MAX_SERVER_ID
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !well_formed {
                return Err(InputError::ServerId);
            }
            if seen.iter().any(|earlier| earlier.eq_ignore_ascii_case(id)) {
                return Err(InputError::DuplicateServerId);
            }
            seen.push(id.to_owned());
        }
        Ok(ServerIds(seen))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// Input refused before anything upstream is asked. Messages never quote the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("serverIds must name at least one server")]
    NoServerIds,
    #[error("serverIds may name at most 100 servers in one activation; split the list")]
    TooManyServerIds,
    #[error("each server id must be 1 to 128 letters, digits or '-' (a Defender for Endpoint machine id)")]
    ServerId,
    #[error("serverIds names the same server twice")]
    DuplicateServerId,
    #[error("activationMode must be \"manual\" or \"automated\"")]
    ActivationMode,
    #[error("the body must be a JSON object with exactly the documented members ({0}) and no others")]
    Body(&'static str),
}

/// `{"serverIds": [...]}`: the body of `POST /sensor-candidates/activate`.
pub fn activation_body(body: &[u8]) -> Result<ServerIds, InputError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body {
        server_ids: Vec<String>,
    }
    let parsed: Body = serde_json::from_slice(body).map_err(|_| InputError::Body("serverIds"))?;
    ServerIds::parse(&parsed.server_ids)
}

/// `{"activationMode": "manual" | "automated"}`: the body of `PUT /sensor-candidates/activation-mode`.
pub fn activation_mode_body(body: &[u8]) -> Result<ActivationMode, InputError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body {
        activation_mode: String,
    }
    let parsed: Body = serde_json::from_slice(body).map_err(|_| InputError::Body("activationMode"))?;
    parsed.activation_mode.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MDE_ID: &str = "c0633ebb8b4b2ab1c6b4c1a2d3e4f5a6b7c8d9e0";

    #[test]
    fn server_ids_are_well_formed_bounded_and_distinct() {
        assert_eq!(
            ServerIds::parse(&[MDE_ID, "c0633ebb-1111-2222-3333-444455556666"])
                .unwrap()
                .as_slice()
                .len(),
            2
        );
        assert_eq!(ServerIds::parse::<&str>(&[]), Err(InputError::NoServerIds));
        for bad in ["", "a b", "a/b", "a\"b", "dc1.contoso.com", "é", &"a".repeat(129)] {
            assert_eq!(ServerIds::parse(&[bad]), Err(InputError::ServerId), "{bad:?}");
        }
        assert_eq!(
            ServerIds::parse(&[MDE_ID, &MDE_ID.to_ascii_uppercase()]),
            Err(InputError::DuplicateServerId)
        );
        let many: Vec<String> = (0..=MAX_SERVER_IDS).map(|n| format!("id{n}")).collect();
        assert_eq!(ServerIds::parse(&many), Err(InputError::TooManyServerIds));
        assert!(ServerIds::parse(&many[..MAX_SERVER_IDS]).is_ok());
    }

    #[test]
    fn bodies_take_exactly_their_documented_member() {
        assert_eq!(
            activation_body(format!(r#"{{"serverIds":["{MDE_ID}"]}}"#).as_bytes())
                .unwrap()
                .as_slice(),
            [MDE_ID]
        );
        for bad in [
            r#"{}"#,
            r#"{"serverIds":"x"}"#,
            r#"{"serverIds":["x"],"extra":1}"#,
            r#"{"ServerIds":["x"]}"#,
            r#"["x"]"#,
            "",
            "{",
        ] {
            assert!(
                matches!(activation_body(bad.as_bytes()), Err(InputError::Body(_))),
                "{bad}"
            );
        }
        assert_eq!(
            activation_mode_body(br#"{"activationMode":"automated"}"#),
            Ok(ActivationMode::Automated)
        );
        assert_eq!(
            activation_mode_body(br#"{"activationMode":"Automated"}"#),
            Err(InputError::ActivationMode)
        );
        assert_eq!(
            activation_mode_body(br#"{"activationMode":"unknownFutureValue"}"#),
            Err(InputError::ActivationMode)
        );
        assert!(matches!(
            activation_mode_body(br#"{"activationMode":"manual","x":1}"#),
            Err(InputError::Body(_))
        ));
    }

    #[test]
    fn input_errors_never_quote_the_input() {
        let error = ServerIds::parse(&["secret-looking value"]).unwrap_err();
        assert!(!error.to_string().contains("secret-looking"));
    }
}
