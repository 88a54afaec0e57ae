//! The simulator (Entra, Graph, STS and the AWS issuer) as its own process: started on a free
//! loopback port, steered and read through its `/_sim` routes, and called directly so that its
//! own latency can be subtracted.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use crate::http::Http;

/// graph-sim's defaults, which the credentials secret must match.
pub const TENANT_ID: &str = "11111111-1111-1111-1111-111111111111";
pub const CLIENT_ID: &str = "22222222-2222-2222-2222-222222222222";
pub const CLIENT_SECRET: &str = "sim-client-secret";
/// The IAM role whose credentials call the simulator's STS: the `sub` of its web identity tokens
/// (graph-sim's default `aws_role_arn`).
pub const FUNCTION_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/mdi-sensor-key-function";
/// `GRAPH_AUTH` for workload identity federation.
pub const FEDERATION_MODE: &str = "aws-federation";
/// The global cloud's token-exchange audience, which the function asks STS for.
const FEDERATION_AUDIENCE: &str = "api://AzureADTokenExchange";
/// SigV4's header as the SDK starts it; the simulator checks its presence and form, not the
/// signature.
const SIGV4: &str =
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0";
const FORM: &str = "application/x-www-form-urlencoded";
const JWT_BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";
const SCOPE: &str = "https://graph.microsoft.com/.default";
/// The key endpoint's path, as the function calls it (the default API version, beta).
pub const GET_KEY: &str = "/beta/security/identities/sensors/getDeploymentAccessKey";

/// A running graph-sim; killed when dropped.
pub struct GraphSim {
    _child: Child,
    /// Kept open so that the simulator never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
    pub base_url: String,
    http: Http,
}

/// The simulator's call counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SimCalls {
    pub token: u64,
    pub get_key: u64,
    pub regenerate_key: u64,
    /// STS `GetWebIdentityToken`.
    pub web_identity_token: u64,
}

impl GraphSim {
    /// Starts `binary --port 0` and reads the port from its announcement line.
    pub async fn start(binary: &Path) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .args(["--port", "0"])
            .env_remove("SIM_LATENCY_MS")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("graph-sim has no stdout")?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut line))
            .await
            .map_err(|_| "graph-sim did not announce its port within 10 s".to_owned())?
            .map_err(|e| format!("reading graph-sim's stdout: {e}"))?;
        let base_url = line
            .trim()
            .strip_prefix("graph-sim listening on ")
            .ok_or_else(|| format!("unexpected graph-sim announcement: {line:?}"))?
            .to_owned();
        Ok(GraphSim {
            _child: child,
            _stdout: stdout,
            base_url,
            http: Http::default(),
        })
    }

    /// The counters and the current key.
    pub async fn stats(&self) -> Result<(SimCalls, String), String> {
        let stats = self
            .http
            .get(&format!("{}/_sim/stats", self.base_url), &[])
            .await?
            .json("graph-sim stats")?;
        let count = |name: &str| stats["calls"][name].as_u64().unwrap_or(0);
        let calls = SimCalls {
            token: count("token"),
            get_key: count("getKey"),
            regenerate_key: count("regenerateKey"),
            web_identity_token: count("webIdentityToken"),
        };
        Ok((calls, stats["key"].as_str().unwrap_or_default().to_owned()))
    }

    /// The STS endpoint, for `AWS_ENDPOINT_URL_STS`.
    pub fn sts_url(&self) -> String {
        format!("{}/sts", self.base_url)
    }

    /// Registers on the app the federated identity credential an operator would: the account's
    /// issuer as IAM's `GetOutboundWebIdentityFederationInfo` names it, the function's role as
    /// the subject, the global audience.
    pub async fn trust_the_function_role(&self) -> Result<(), String> {
        let answer = self
            .http
            .post(
                &format!("{}/iam", self.base_url),
                &[("content-type", FORM), ("authorization", SIGV4)],
                "Action=GetOutboundWebIdentityFederationInfo&Version=2010-05-08",
            )
            .await?;
        let issuer = xml_element(&answer.body, "IssuerIdentifier")
            .ok_or_else(|| format!("graph-sim IAM: HTTP {}: no IssuerIdentifier", answer.status))?;
        let credential = serde_json::json!({
            "issuer": issuer,
            "subject": FUNCTION_ROLE_ARN,
            "audiences": [FEDERATION_AUDIENCE],
        });
        let answer = self
            .http
            .post(
                &format!("{}/_sim/federated-credentials", self.base_url),
                &[("content-type", "application/json")],
                credential.to_string(),
            )
            .await?;
        match answer.status {
            204 => Ok(()),
            status => Err(format!("graph-sim federated-credentials: HTTP {status}")),
        }
    }

    /// A token for the simulator's Graph, as the function would get one with a client secret.
    pub async fn token(&self) -> Result<String, String> {
        self.token_with(&format!("client_secret={CLIENT_SECRET}")).await
    }

    /// A web identity token from the simulator's STS, as the function asks for one.
    pub async fn web_identity_token(&self) -> Result<String, String> {
        let form = format!(
            "Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1={}&SigningAlgorithm=RS256&DurationSeconds=300",
            url_encode(FEDERATION_AUDIENCE)
        );
        let answer = self
            .http
            .post(
                &self.sts_url(),
                &[("content-type", FORM), ("authorization", SIGV4)],
                form,
            )
            .await?;
        xml_element(&answer.body, "WebIdentityToken")
            .ok_or_else(|| format!("graph-sim STS: HTTP {}: no WebIdentityToken", answer.status))
    }

    /// A token for the simulator's Graph with `assertion` (from STS) as the client assertion.
    pub async fn federated_token(&self, assertion: &str) -> Result<String, String> {
        self.token_with(&format!(
            "client_assertion_type={JWT_BEARER}&client_assertion={assertion}"
        ))
        .await
    }

    async fn token_with(&self, credential: &str) -> Result<String, String> {
        let form = format!(
            "grant_type=client_credentials&client_id={CLIENT_ID}&{credential}&scope={}",
            url_encode(SCOPE)
        );
        let url = format!("{}/{TENANT_ID}/oauth2/v2.0/token", self.base_url);
        let answer = self
            .http
            .post(&url, &[("content-type", FORM)], form)
            .await?
            .json("graph-sim token")?;
        answer["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "graph-sim token: no access_token".to_owned())
    }

    /// One direct key GET with `bearer`, over `client`'s kept-alive connection.
    pub async fn get_key(&self, client: &Http, bearer: &str) -> Result<(), String> {
        let url = format!("{}{GET_KEY}", self.base_url);
        client
            .get(&url, &[("authorization", bearer)])
            .await?
            .json("graph-sim getDeploymentAccessKey")
            .map(drop)
    }
}

/// Enough form encoding for the constants above (a JWT needs none).
fn url_encode(text: &str) -> String {
    text.replace(':', "%3A").replace('/', "%2F")
}

/// The text of the first `<name>…</name>` in an XML answer.
fn xml_element(xml: &[u8], name: &str) -> Option<String> {
    let xml = std::str::from_utf8(xml).ok()?;
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_elements_are_found_by_name_or_not_at_all() {
        let xml = b"<R><IssuerIdentifier>http://x/aws-issuer/1</IssuerIdentifier></R>";
        assert_eq!(
            xml_element(xml, "IssuerIdentifier").as_deref(),
            Some("http://x/aws-issuer/1")
        );
        assert_eq!(xml_element(xml, "WebIdentityToken"), None);
        assert_eq!(xml_element(b"<IssuerIdentifier>unclosed", "IssuerIdentifier"), None);
    }
}
