//! Reading callgrind's output files: the run's total instruction count, and the instructions each
//! function spent itself (self) and with its callees (inclusive).
//!
//! The files are written with `--compress-strings=no --compress-pos=no`, so every name is spelled
//! out and every position is absolute. The format (callgrind's manual, "Callgrind Format
//! Specification"): `fn=` starts a function's cost lines; a cost line is the positions named in
//! the `positions:` header followed by the event counts (`Ir` only here); `calls=` announces that
//! the next cost line is the inclusive cost of a call, which belongs to the caller's inclusive
//! cost and not to its self cost; `fi=`/`fe=` switch the source file of inlined code, not the
//! function.

use std::collections::HashMap;

/// The instruction counts of one callgrind run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Every instruction the program executed (the file's `totals:` or `summary:` line).
    pub total: u64,
    /// Per function (callgrind's name, `object` prefixed when known): (self, inclusive).
    pub functions: HashMap<String, (u64, u64)>,
}

/// Parses a callgrind output file's text.
pub fn parse(text: &str) -> Result<Profile, String> {
    let mut profile = Profile::default();
    let mut positions = 1;
    let mut object = String::new();
    let mut current: Option<String> = None;
    let mut next_is_call = false;
    let mut summary = None;
    let mut totals = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("positions:") {
            positions = rest.split_whitespace().count().max(1);
        } else if let Some(rest) = line.strip_prefix("totals:") {
            totals = first_number(rest);
        } else if let Some(rest) = line.strip_prefix("summary:") {
            summary = first_number(rest);
        } else if let Some(name) = line.strip_prefix("ob=") {
            object = short_object(name);
        } else if let Some(name) = line.strip_prefix("fn=") {
            current = Some(if object.is_empty() {
                name.to_owned()
            } else {
                format!("{object}: {name}")
            });
        } else if line.starts_with("calls=") {
            next_is_call = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '*')) {
            let cost: u64 = line
                .split_whitespace()
                .nth(positions)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if let Some(function) = &current {
                let entry = profile.functions.entry(function.clone()).or_default();
                if !next_is_call {
                    entry.0 += cost;
                }
                entry.1 += cost;
            }
            next_is_call = false;
        }
    }
    profile.total = totals
        .or(summary)
        .ok_or("the callgrind file has no totals: or summary: line")?;
    Ok(profile)
}

fn first_number(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// `/usr/lib/x86_64-linux-gnu/libc.so.6` as `libc.so.6`: the object's file name.
fn short_object(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// Per function, what `large` spent beyond `small`, divided by `requests`: the cost of one
/// request when the two runs differ only by `requests` requests. Functions that cost nothing
/// per request are left out; sorted by self cost, highest first.
pub fn per_request(small: &Profile, large: &Profile, requests: usize) -> Vec<FunctionCost> {
    let requests = requests.max(1) as f64;
    let mut costs: Vec<FunctionCost> = large
        .functions
        .iter()
        .map(|(name, (self_large, inclusive_large))| {
            let (self_small, inclusive_small) = small.functions.get(name).copied().unwrap_or_default();
            FunctionCost {
                name: name.clone(),
                self_instructions: (*self_large as f64 - self_small as f64) / requests,
                inclusive_instructions: (*inclusive_large as f64 - inclusive_small as f64) / requests,
            }
        })
        .filter(|cost| cost.self_instructions.abs() >= 0.5 || cost.inclusive_instructions.abs() >= 0.5)
        .collect();
    costs.sort_by(|a, b| b.self_instructions.total_cmp(&a.self_instructions));
    costs
}

/// One function's instructions per request.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCost {
    pub name: String,
    pub self_instructions: f64,
    pub inclusive_instructions: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
version: 1
creator: callgrind-3.19.0
positions: line
events: Ir
summary: 1000

ob=/usr/lib/x86_64-linux-gnu/libc.so.6
fl=memcpy.S
fn=memcpy
0 300

ob=/tmp/bootstrap
fl=src/main.rs
fn=main
10 100
cob=/usr/lib/x86_64-linux-gnu/libc.so.6
cfl=memcpy.S
cfn=memcpy
calls=3 0
11 300
fi=src/inlined.rs
20 50

totals: 450
";

    #[test]
    fn self_and_inclusive_costs_are_told_apart_and_the_total_is_read() {
        let profile = parse(FILE).unwrap();
        assert_eq!(profile.total, 450, "totals: wins over summary:");
        assert_eq!(profile.functions["libc.so.6: memcpy"], (300, 300));
        assert_eq!(
            profile.functions["bootstrap: main"],
            (150, 450),
            "a call's cost is inclusive only; inlined code is the function's own"
        );
        assert!(parse("events: Ir\n").is_err());
    }

    #[test]
    fn the_cost_per_request_is_the_difference_of_two_runs_divided() {
        let small = parse(FILE).unwrap();
        let large = parse(&FILE.replace("10 100", "10 2100")).unwrap();
        let costs = per_request(&small, &large, 200);
        assert_eq!(costs.len(), 1, "{costs:?}");
        assert_eq!(costs[0].name, "bootstrap: main");
        assert!((costs[0].self_instructions - 10.0).abs() < 1e-9);
        assert!((costs[0].inclusive_instructions - 10.0).abs() < 1e-9);
    }
}
