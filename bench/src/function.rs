//! A function process, started as Lambda starts one: a fresh process with Lambda's environment,
//! its stdout and stderr drained as CloudWatch would, its peak RSS read from `/proc` before it
//! is stopped.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Lines of output kept for error messages.
const TAIL_LINES: usize = 20;

/// Environment variables, in order.
pub type Env = Vec<(String, String)>;

/// What Lambda sets for every function, pointing the runtime client at `runtime_api`.
pub fn lambda_env(runtime_api: &str, task_root: &Path) -> Env {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "mdi-sensor-key"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/mdi-sensor-key"),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]00000000000000000000000000000000",
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("LAMBDA_TASK_ROOT", &task_root.to_string_lossy()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        ("TZ", ":UTC"),
        ("LANG", "en_US.UTF-8"),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A running function; killed when dropped.
pub struct FunctionProcess {
    child: Child,
    pid: u32,
    pub spawned_at: Instant,
    output: Arc<Mutex<VecDeque<String>>>,
}

impl FunctionProcess {
    /// Starts `binary` with exactly `env` (nothing inherited). `spawned_at` is taken right
    /// before the spawn, so init time includes exec and dynamic loading.
    pub fn spawn(binary: &Path, env: &Env) -> Result<Self, String> {
        Self::spawn_under(&[], binary, env)
    }

    /// As [`spawn`](Self::spawn), run by `launcher` (a program and its arguments, e.g. valgrind)
    /// when it is not empty.
    pub fn spawn_under(launcher: &[String], binary: &Path, env: &Env) -> Result<Self, String> {
        let mut command = match launcher.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(binary.parent().unwrap_or(Path::new("/")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawned_at = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let pid = child.id().ok_or("the function exited at once")?;
        let output = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(drain(stdout, output.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(drain(stderr, output.clone()));
        }
        Ok(FunctionProcess {
            child,
            pid,
            spawned_at,
            output,
        })
    }

    /// Peak resident set size so far, in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .map_err(|e| format!("/proc/{}/status: {e}", self.pid))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmHWM in /proc/PID/status".to_owned())
    }

    /// The last lines the function wrote, for error messages.
    pub fn output_tail(&self) -> String {
        self.output
            .lock()
            .map(|lines| lines.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Waits until the process exits by itself, and says how it did.
    pub async fn exited(&mut self) -> String {
        match self.child.wait().await {
            Ok(status) => format!("the function exited ({status})"),
            Err(e) => format!("waiting for the function: {e}"),
        }
    }

    /// Asks the process to end with SIGTERM (through kill(1): this crate has no unsafe code) and
    /// waits up to `grace` for it to exit, then kills it. A process run by valgrind writes its
    /// profile on SIGTERM, which a SIGKILL would lose.
    pub async fn terminate(mut self, grace: std::time::Duration) -> Result<(), String> {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .map_err(|e| format!("kill -TERM {}: {e}", self.pid))?;
        if !sent.success() {
            return Err(format!("kill -TERM {} failed", self.pid));
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => {
                self.stop().await;
                Err(format!("the process did not exit within {grace:?} of SIGTERM"))
            }
        }
    }

    /// Stops the process as Lambda does when it reclaims an environment (SIGKILL).
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

async fn drain(stream: impl AsyncRead + Unpin, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}
