//! Builds the measured binaries with the workspace's release profile (or its profiling twin), one cargo invocation per
//! binary so that features never unify across packages (the bootstrap is built exactly as it
//! ships), and finds each executable in cargo's JSON messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace's release profile with line tables and symbols kept: the same code as release
/// (debug info does not change code generation), readable in a profile. Its own name, not
/// cargo's built-in `bench`, because that one writes to `target/release` and would overwrite the
/// release binaries being measured.
pub const PROFILING: &str = "profiling";

/// Builds `bin` of `package` with `profile` (`release`, or [`PROFILING`]) and returns the
/// executable's path.
pub fn build(workspace: &Path, package: &str, bin: &str, profile: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo build --profile {profile} -p {package} --bin {bin}");
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "--profile", profile, "-p", package, "--bin", bin])
        .args(["--message-format", "json-render-diagnostics"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo build -p {package} --bin {bin} failed"));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact" && message["target"]["name"] == bin)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo built no executable named {bin}"))
}
