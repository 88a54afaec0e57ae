//! Instructions per warm GET, counted by callgrind (issue 22). Wall-clock figures on a shared
//! machine move with its load; the instructions a process executes do not (the same binary and
//! inputs give the same count to within a fraction of a percent).
//!
//! Each subject is run twice under `valgrind --tool=callgrind`, as a fresh process under a local
//! Runtime API as Lambda runs it: a cold GET and `base` warm GETs, then a cold GET and
//! `base + STEP` warm GETs. Both runs pay the same init and cold request, so the difference of
//! their totals divided by [`STEP`] is what one warm GET costs. The process is ended with SIGTERM
//! so that callgrind writes its counts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use crate::callgrind::{self, FunctionCost, Profile};
use crate::function::{self, FunctionProcess};
use crate::runtime_api::RuntimeApi;
use crate::scenario::{self, Subject};

/// The warm GETs by which the two runs differ.
pub const STEP: usize = 200;
/// Everything is some 50 times slower under callgrind.
const INIT_TIMEOUT: Duration = Duration::from_secs(120);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_GRACE: Duration = Duration::from_secs(60);

/// One subject's count.
#[derive(Debug, Clone, Serialize)]
pub struct PerWarmGet {
    /// Warm GETs and total instructions of the smaller run.
    pub small_run: (usize, u64),
    /// Warm GETs and total instructions of the larger run.
    pub large_run: (usize, u64),
    /// (large − small) / STEP.
    pub instructions: f64,
}

/// The three subjects' counts.
#[derive(Debug, Clone, Serialize)]
pub struct Instructions {
    pub valgrind: String,
    pub bootstrap: PerWarmGet,
    /// `lambda_http` answering a constant, with the product's event features.
    pub framework_floor: PerWarmGet,
    /// A std-only loop making the same one Graph call.
    pub one_call_floor: PerWarmGet,
}

impl Instructions {
    /// The bootstrap's count over the framework floor's.
    pub fn ratio_to_framework(&self) -> f64 {
        self.bootstrap.instructions / self.framework_floor.instructions
    }
}

/// `valgrind --version`, or why valgrind cannot be run.
pub fn valgrind_version() -> Result<String, String> {
    let output = std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|e| format!("valgrind: {e} (scripts/bench installs it; or pass --no-callgrind)"))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// What one subject's two runs counted: totals, and the profiles when `keep_profiles`.
pub struct Runs {
    pub per_warm_get: PerWarmGet,
    pub small: Profile,
    pub large: Profile,
}

impl Runs {
    /// Per function, instructions per warm GET.
    pub fn functions(&self) -> Vec<FunctionCost> {
        callgrind::per_request(&self.small, &self.large, STEP)
    }
}

/// Counts `subject`'s instructions per warm GET of `event`, writing callgrind's files to
/// `out_dir`. `key` is the key every answer must carry, when the subject answers with it.
pub async fn count(
    subject: &Subject,
    event: &Bytes,
    key: Option<&str>,
    base: usize,
    out_dir: &Path,
) -> Result<Runs, String> {
    let file = |warm: usize| out_dir.join(format!("callgrind.{}.{warm}.out", subject.name));
    let small = run(subject, event, key, base, &file(base)).await?;
    let large = run(subject, event, key, base + STEP, &file(base + STEP)).await?;
    Ok(Runs {
        per_warm_get: PerWarmGet {
            small_run: (base, small.total),
            large_run: (base + STEP, large.total),
            instructions: (large.total as f64 - small.total as f64) / STEP as f64,
        },
        small,
        large,
    })
}

/// One process under callgrind: init, a cold GET, `warm` warm GETs, SIGTERM; its profile.
async fn run(
    subject: &Subject,
    event: &Bytes,
    key: Option<&str>,
    warm: usize,
    out: &PathBuf,
) -> Result<Profile, String> {
    let _ = std::fs::remove_file(out);
    let mut api = RuntimeApi::start().await?;
    let task_root = subject.binary.parent().map(PathBuf::from).unwrap_or_default();
    let mut env = function::lambda_env(&api.address(), &task_root);
    env.extend(subject.env.iter().cloned());
    let launcher = [
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        "--quiet".to_owned(),
        format!("--callgrind-out-file={}", out.display()),
        "--compress-strings=no".to_owned(),
        "--compress-pos=no".to_owned(),
    ];
    let mut process = FunctionProcess::spawn_under(&launcher, &subject.binary, &env)?;
    let ready = tokio::select! {
        ready = api.init_done(INIT_TIMEOUT) => ready.map(drop),
        exit = process.exited() => Err(format!("{exit} during init")),
    };
    let served = async {
        ready?;
        for _ in 0..=warm {
            let outcome = api.invoke(event.clone(), INVOKE_TIMEOUT).await?;
            scenario::check(&outcome, key)?;
        }
        Ok::<_, String>(())
    }
    .await;
    if let Err(error) = served {
        let tail = process.output_tail();
        process.stop().await;
        return Err(format!(
            "{} under callgrind: {error}\n--- last output ---\n{tail}",
            subject.name
        ));
    }
    process.terminate(EXIT_GRACE).await?;
    let text = std::fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
    callgrind::parse(&text).map_err(|e| format!("{}: {e}", out.display()))
}
