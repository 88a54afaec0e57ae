//! The `graph-sim` binary announces its URL on one stdout line, takes its
//! settings from the environment, and serves until told to stop.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// Kills the child if a test fails before stopping it itself.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn launch(args: &[&str], env: &[(&str, &str)]) -> (Running, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_graph-sim"));
    command.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("graph-sim starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reads the announcement");
    let url = line
        .trim_end()
        .strip_prefix("graph-sim listening on ")
        .unwrap_or_else(|| panic!("unexpected announcement {line:?}"))
        .to_owned();
    (Running(child), url)
}

#[tokio::test]
async fn the_binary_announces_its_url_and_honours_the_environment() {
    let (_child, url) = launch(&[], &[("SIM_KEY", "from-env"), ("SIM_CLIENT_SECRET", "env-secret")]);
    assert!(url.starts_with("http://127.0.0.1:"));
    let stats: Value = reqwest::get(format!("{url}/_sim/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["key"], "from-env");

    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "22222222-2222-2222-2222-222222222222"),
        ("client_secret", "env-secret"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let token_url = format!("{url}/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token");
    let response = reqwest::Client::new().post(token_url).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_binary_listens_on_the_requested_port() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let (_child, url) = launch(&["--port", &port.to_string()], &[]);
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
}

#[test]
fn the_binary_refuses_a_bad_argument() {
    let status = Command::new(env!("CARGO_BIN_EXE_graph-sim"))
        .arg("--port=notaport")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[cfg(unix)]
#[test]
fn the_binary_exits_cleanly_on_sigterm() {
    let (mut child, _url) = launch(&[], &[]);
    let pid = child.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
