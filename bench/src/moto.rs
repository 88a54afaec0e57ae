//! moto's Secrets Manager, started from the project's venv on a free loopback port, and the two
//! secrets the function reads: the Graph app's credentials and the stored sensor key.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::process::{Child, Command};

use crate::http::Http;

/// moto reads the region from the credential scope and checks no signature.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0";

/// A running moto server; killed when dropped (and it exits by itself when we do).
pub struct Moto {
    _child: Child,
    pub endpoint: String,
    http: Http,
}

impl Moto {
    pub async fn start(workspace: &Path) -> Result<Self, String> {
        let python = workspace.join(".venv/bin/python");
        let script = workspace.join("tools/moto_server.py");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port for moto: {e}"))?
            .port();
        let child = Command::new(&python)
            .arg(&script)
            .arg(port.to_string())
            .arg(std::process::id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start moto with {} (run scripts/bench): {e}", python.display()))?;
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                return Err(format!("moto did not listen on port {port} within 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Moto {
            _child: child,
            endpoint: format!("http://127.0.0.1:{port}"),
            http: Http::default(),
        })
    }

    /// Creates a secret holding `text` as its AWSCURRENT SecretString.
    pub async fn create_secret(&self, name: &str, text: &str) -> Result<(), String> {
        let body = json!({ "Name": name, "SecretString": text });
        call(&self.http, &self.endpoint, "CreateSecret", &body).await
    }
}

/// Reads a secret's AWSCURRENT value at `endpoint` (moto, or the proxy in front of it).
pub async fn get_secret_value(http: &Http, endpoint: &str, name: &str) -> Result<(), String> {
    let body = json!({ "SecretId": name, "VersionStage": "AWSCURRENT" });
    call(http, endpoint, "GetSecretValue", &body).await
}

async fn call(http: &Http, endpoint: &str, operation: &str, body: &serde_json::Value) -> Result<(), String> {
    let target = format!("secretsmanager.{operation}");
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", target.as_str()),
        ("authorization", AUTHORIZATION),
    ];
    http.post(endpoint, &headers, body.to_string())
        .await?
        .json(&format!("moto {operation}"))
        .map(drop)
}
