//! The budgets from issue 5, each checked against the measurements and reported PASS or FAIL.

use serde::Serialize;

use crate::calls::{CallTally, Calls};
use crate::measured::{Above, CallsByRequest, Measured};

const MIB: f64 = 1024.0 * 1024.0;

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub budget: String,
    pub measured: String,
    pub pass: bool,
}

fn check(budget: impl Into<String>, measured: impl Into<String>, pass: bool) -> Check {
    Check {
        budget: budget.into(),
        measured: measured.into(),
        pass,
    }
}

pub fn evaluate(bootstrap: &Measured, floor: &Measured, above: &Above, calls: &CallsByRequest) -> Vec<Check> {
    let init = bootstrap.init.p50_ms;
    let floor_init = floor.init.p50_ms;
    let rss_mib = bootstrap.peak_rss_kib_max as f64 / 1024.0;
    let size_mib = bootstrap.package.binary_bytes as f64 / MIB;
    let (has_init, has_warm) = (bootstrap.init.n > 0 && floor.init.n > 0, bootstrap.warm_get.n > 0);
    vec![
        timing_check(
            "init p50 ≤ 1.5 × floor init p50",
            has_init,
            format!("{init:.2} ms vs 1.5 × {floor_init:.2} ms = {:.2} ms", 1.5 * floor_init),
            init <= 1.5 * floor_init,
        ),
        timing_check(
            "init p50 < 10 ms",
            has_init,
            format!("{init:.2} ms (max {:.2} ms)", bootstrap.init.max_ms),
            init < 10.0,
        ),
        timing_check(
            "warm GET p50 < 1 ms above the simulator's p50",
            has_warm,
            format!("{:.3} ms above", above.p50_ms),
            above.p50_ms < 1.0,
        ),
        timing_check(
            "warm GET p99 < 3 ms above the simulator's p99",
            has_warm,
            format!("{:.3} ms above", above.p99_ms),
            above.p99_ms < 3.0,
        ),
        calls_check(
            "warm GET: 1 Graph GET, 0 token, 0 Secrets Manager",
            &calls.warm_get,
            |c| c.graph_get == 1 && c.token == 0 && c.graph_post == 0 && c.sm_total() == 0,
        ),
        calls_check(
            "cold GET: 1 GetSecretValue, 1 token, 1 Graph GET",
            &calls.cold_get,
            |c| {
                c.graph_get == 1
                    && c.token == 1
                    && c.graph_post == 0
                    && c.sm("GetSecretValue") == 1
                    && c.sm_total() == 1
            },
        ),
        calls_check(
            "regenerate (stored): 1 Graph POST, 1 PutSecretValue, 1 verification Graph GET",
            &calls.regenerate,
            |c| c.graph_post == 1 && c.sm("PutSecretValue") == 1 && c.graph_get == 1 && c.token == 0,
        ),
        calls_check("floor: no upstream calls", &calls.floor, |c| *c == Calls::default()),
        check(
            "peak RSS (max VmHWM) < 24 MiB",
            format!("{rss_mib:.1} MiB"),
            bootstrap.peak_rss_kib_max > 0 && rss_mib < 24.0,
        ),
        check(
            "stripped bootstrap < 8 MiB",
            format!(
                "{size_mib:.2} MiB, {}",
                if bootstrap.package.stripped {
                    "stripped"
                } else {
                    "NOT stripped"
                }
            ),
            bootstrap.package.stripped && size_mib < 8.0,
        ),
        check(
            "no failed invocations",
            format!("bootstrap {}, floor {}", bootstrap.failures, floor.failures),
            bootstrap.failures == 0 && floor.failures == 0,
        ),
    ]
}

/// A check on timings, which fails with "no samples" when there were none.
fn timing_check(budget: &str, sampled: bool, measured: String, pass: bool) -> Check {
    if sampled {
        check(budget, measured, pass)
    } else {
        check(budget, "no samples", false)
    }
}

fn calls_check(budget: &str, tally: &CallTally, expected: impl Fn(&Calls) -> bool) -> Check {
    let measured = tally
        .distinct
        .iter()
        .map(|entry| format!("{}× {}", entry.requests, describe(&entry.calls)))
        .collect::<Vec<_>>()
        .join("; ");
    let measured = if measured.is_empty() {
        "no requests".to_owned()
    } else {
        measured
    };
    check(budget, measured, tally.all(expected))
}

/// `token 1, GET 1, SM GetSecretValue 1`, or `none`.
fn describe(calls: &Calls) -> String {
    let mut parts = Vec::new();
    for (name, n) in [
        ("token", calls.token),
        ("Graph GET", calls.graph_get),
        ("Graph POST", calls.graph_post),
    ] {
        if n > 0 {
            parts.push(format!("{name} {n}"));
        }
    }
    for (operation, n) in &calls.secrets_manager {
        parts.push(format!("SM {operation} {n}"));
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}
