//! `graph-sim [--port N]`: runs the simulator as its own process for the
//! benchmark and the local demo, which steer it through `/_sim`.
//!
//! Settings come from `SimConfig::default()`, overridden by `SIM_TENANT_ID`,
//! `SIM_CLIENT_ID`, `SIM_CLIENT_SECRET`, `SIM_KEY`, `SIM_LATENCY_MS`,
//! `SIM_TOKEN_LIFETIME_SECS`, `SIM_ROLES` (comma-separated) and `SIM_CLOUD`
//! (`global`, `gcc`, `usgov`, `dod`: also sets the token resource) when set. The
//! one line on stdout, `graph-sim listening on http://127.0.0.1:PORT`, is how
//! a parent process learns the port when it asked for port 0.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use graph_sim::{Sim, SimCloud, SimConfig};

const USAGE: &str = "usage: graph-sim [--port N]";

fn parse_port(mut args: impl Iterator<Item = String>) -> Result<u16, String> {
    let mut port = 0;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--port" | "-p" => args.next().ok_or("--port needs a value")?,
            other => match other.strip_prefix("--port=") {
                Some(v) => v.to_owned(),
                None => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
            },
        };
        port = value
            .parse()
            .map_err(|_| format!("--port: {value:?} is not a port number"))?;
    }
    Ok(port)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn env_number(name: &str) -> Result<Option<u64>, String> {
    env(name)
        .map(|v| v.parse().map_err(|_| format!("{name}: {v:?} is not a whole number")))
        .transpose()
}

fn config_from_env() -> Result<SimConfig, String> {
    let mut config = match env("SIM_CLOUD") {
        None => SimConfig::default(),
        Some(name) => {
            let cloud: SimCloud = serde_json::from_value(serde_json::Value::String(name.to_ascii_lowercase()))
                .map_err(|_| format!("SIM_CLOUD: {name:?} is not one of global, gcc, usgov, dod"))?;
            SimConfig::in_cloud(cloud)
        }
    };
    if let Some(v) = env("SIM_TENANT_ID") {
        config.tenant_id = v;
    }
    if let Some(v) = env("SIM_CLIENT_ID") {
        config.client_id = v;
    }
    if let Some(v) = env("SIM_CLIENT_SECRET") {
        config.client_secret = v;
    }
    if let Some(v) = env("SIM_KEY") {
        config.initial_key = v;
    }
    if let Some(v) = env("SIM_ROLES") {
        config.roles = v
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Some(ms) = env_number("SIM_LATENCY_MS")? {
        config.latency = Duration::from_millis(ms);
    }
    if let Some(secs) = env_number("SIM_TOKEN_LIFETIME_SECS")? {
        config.token_lifetime_secs = secs;
    }
    Ok(config)
}

/// Registers for the stop signals now, so a signal sent right after the
/// announcement line is not lost; the returned future ends on the first one.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (port, config) = match parse_port(std::env::args().skip(1)).and_then(|p| Ok((p, config_from_env()?))) {
        Ok(v) => v,
        Err(message) => {
            eprintln!("graph-sim: {message}");
            return ExitCode::from(2);
        }
    };
    let sim = match Sim::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("graph-sim: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop = match shutdown_signal() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("graph-sim: cannot watch for stop signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    // The parent reads this line to find the port; it must arrive whole and now.
    if writeln!(stdout, "graph-sim listening on {}", sim.base_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    stop.await;
    ExitCode::SUCCESS
}
