//! `--profile`: where a warm GET's instructions go. The bootstrap and the floor are built with the
//! `profiling` profile (the release profile with line tables and symbols), counted as the
//! release binaries are ([`crate::instructions`]), and each function's instructions per warm GET
//! are the difference of its counts in the two runs divided by their difference in requests:
//! init and the cold request cancel out, as they do for the totals.

use std::fmt::Write as _;
use std::path::Path;

use bytes::Bytes;

use crate::artifacts::{self, PROFILING};
use crate::callgrind::FunctionCost;
use crate::instructions::{self, STEP};
use crate::scenario::Subject;

/// Functions listed per table.
const TOP: usize = 60;

/// Builds the profiling binaries, counts them, and returns the Markdown report.
pub async fn write(
    workspace: &Path,
    bootstrap: &Subject,
    floor: &Subject,
    event: &Bytes,
    key: &str,
    base: usize,
    out_dir: &Path,
) -> Result<String, String> {
    let mut text = format!(
        "# Instructions per warm GET, by function\n\n\
         Built with the `{PROFILING}` profile; each figure is (run of {} warm GETs − run of {base}) / {STEP}, \
         from callgrind. *Self*: instructions in the function itself (inlined code included); \
         *inclusive*: with its callees. Names are callgrind's, prefixed with their object.\n",
        base + STEP
    );
    for (subject, package, bin, key) in [
        (bootstrap, "mdi-sensor-key", "bootstrap", Some(key)),
        (floor, "bench", "floor", None),
    ] {
        let binary = artifacts::build(workspace, package, bin, PROFILING)?;
        let profiled = Subject {
            name: subject.name,
            binary,
            env: subject.env.clone(),
            regenerates: false,
            answers_the_key: subject.answers_the_key,
        };
        let profiled_dir = out_dir.join(PROFILING);
        std::fs::create_dir_all(&profiled_dir).map_err(|e| format!("{}: {e}", profiled_dir.display()))?;
        eprintln!("bench: callgrind: {} built with the {PROFILING} profile", subject.name);
        let runs = instructions::count(&profiled, event, key, base, &profiled_dir).await?;
        let functions = runs.functions();
        let _ = write!(
            text,
            "\n## {}: {:.0} instructions per warm GET\n\n",
            subject.name, runs.per_warm_get.instructions
        );
        text.push_str(&table("by self instructions", &functions));
        let mut by_inclusive = functions;
        by_inclusive.sort_by(|a, b| b.inclusive_instructions.total_cmp(&a.inclusive_instructions));
        text.push_str(&table("by inclusive instructions", &by_inclusive));
    }
    Ok(text)
}

fn table(title: &str, functions: &[FunctionCost]) -> String {
    let mut text = format!("\n### {title}\n\n| self | inclusive | function |\n| ---: | ---: | :--- |\n");
    for function in functions.iter().take(TOP) {
        let _ = writeln!(
            text,
            "| {:.0} | {:.0} | `{}` |",
            function.self_instructions,
            function.inclusive_instructions,
            function.name.replace('|', "\\|")
        );
    }
    text
}
