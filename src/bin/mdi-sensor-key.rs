//! `mdi-sensor-key`, the operator CLI: reads, regenerates and rotates the sensor deployment
//! access key, and gets the sensor package, install bundle, sensor list and verdicts, for people
//! at a terminal. Run `mdi-sensor-key --help`.
//!
//! The code lives in `src/cli/`, compiled into this binary only, so the Lambda's library (and
//! its `bootstrap`) never links clap.
#![forbid(unsafe_code)]

#[path = "../cli/mod.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
