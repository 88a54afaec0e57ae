//! The Graph simulator as its own process: started on a free loopback port, steered and read
//! through its `/_sim` routes, and called directly so that its own latency can be subtracted.

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
const SCOPE: &str = "https://graph.microsoft.com/.default";
const GET_KEY: &str = "/beta/security/identities/sensors/getDeploymentAccessKey";

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
        };
        Ok((calls, stats["key"].as_str().unwrap_or_default().to_owned()))
    }

    /// A token for the simulator's Graph, as the function would get one.
    pub async fn token(&self) -> Result<String, String> {
        let form = format!(
            "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&scope={}",
            SCOPE.replace(':', "%3A").replace('/', "%2F")
        );
        let url = format!("{}/{TENANT_ID}/oauth2/v2.0/token", self.base_url);
        let answer = self
            .http
            .post(&url, &[("content-type", "application/x-www-form-urlencoded")], form)
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
