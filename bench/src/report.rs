//! The report: the figures table (bootstrap, floor, ratio; federation, ratio), the instructions
//! per warm GET (bootstrap, framework floor, one-call floor), the calls table and the budget
//! checks, as terminal text and as Markdown for docs/benchmark.md.

use crate::calls::CallTally;
use crate::instructions::{Instructions, PerWarmGet, STEP};
use crate::measured::Measured;
use crate::results::Results;
use crate::stats::Summary;
use crate::table::Table;

/// Everything, for the terminal.
pub fn text(results: &Results) -> String {
    let (figures, calls, checks) = tables(results);
    let instructions = results.instructions.as_ref().map(instructions_table);
    format!(
        "{}\n{}\n{}{}\n{}",
        heading(results),
        figures.to_text(),
        instructions.map(|t| t.to_text() + "\n").unwrap_or_default(),
        calls.to_text(),
        checks.to_text()
    )
}

/// Everything, as Markdown.
pub fn markdown(results: &Results) -> String {
    let (figures, calls, checks) = tables(results);
    let instructions = results.instructions.as_ref().map(instructions_table);
    format!(
        "{}\n\n{}\n{}{}\n{}",
        heading(results),
        figures.to_markdown(),
        instructions.map(|t| t.to_markdown() + "\n").unwrap_or_default(),
        calls.to_markdown(),
        checks.to_markdown()
    )
}

/// Instructions per warm GET, each subject over both floors, with the two runs behind it.
fn instructions_table(counted: &Instructions) -> Table {
    let mut table = Table::new(&[
        "instructions per warm GET (callgrind)",
        "instructions",
        "÷ framework floor",
        "÷ one-call floor",
        "runs: warm GETs → total",
    ]);
    let over = |value: f64, floor: f64| {
        if floor > 0.0 {
            format!("{:.2}×", value / floor)
        } else {
            "–".into()
        }
    };
    for (name, count) in [
        ("bootstrap", &counted.bootstrap),
        ("framework floor (lambda_http, a constant)", &counted.framework_floor),
        ("one-call floor (std, the one Graph call)", &counted.one_call_floor),
    ] {
        table.row(vec![
            name.into(),
            thousands(count.instructions),
            over(count.instructions, counted.framework_floor.instructions),
            over(count.instructions, counted.one_call_floor.instructions),
            runs(count),
        ]);
    }
    table
}

fn runs(count: &PerWarmGet) -> String {
    format!(
        "{} → {}, {} → {} (÷ {STEP})",
        count.small_run.0,
        thousands(count.small_run.1 as f64),
        count.large_run.0,
        thousands(count.large_run.1 as f64)
    )
}

/// `551000.4` as `551,000`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < -0.5 { format!("-{out}") } else { out }
}

fn heading(results: &Results) -> String {
    let m = &results.machine;
    let s = &results.settings;
    format!(
        "{}{} cold starts and {} warm GETs per subject, {} direct calls per upstream endpoint; {} × {} ({} CPUs), Linux {}, {}",
        results.label.as_ref().map(|l| format!("[{l}] ")).unwrap_or_default(),
        s.cold_starts,
        s.warm_requests,
        s.upstream_samples,
        m.nproc,
        m.cpu_model,
        m.nproc,
        m.kernel,
        m.date_utc,
    )
}

fn ms(value: f64) -> String {
    format!("{value:.3} ms")
}

fn ratio(value: Option<&f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or("–".into(), |v| format!("{v:.2}×"))
}

fn tables(results: &Results) -> (Table, Table, Table) {
    let (b, f) = (&results.bootstrap, &results.floor);
    let fed = &results.federation;
    let (r, fr) = (&results.ratios_to_floor, &fed.ratios_to_floor);
    let mut figures = Table::new(&["metric", "bootstrap", "floor", "ratio", "federation", "ratio"]);
    let mut timing = |name: &str, pick: fn(&Measured) -> &Summary, stat: fn(&Summary) -> f64, key: Option<&str>| {
        figures.row(vec![
            name.to_owned(),
            ms(stat(pick(b))),
            ms(stat(pick(f))),
            ratio(key.and_then(|k| r.get(k))),
            ms(stat(pick(&fed.measured))),
            ratio(key.and_then(|k| fr.get(k))),
        ]);
    };
    timing(
        "init p50 (start → first next)",
        |m| &m.init,
        |s| s.p50_ms,
        Some("init_p50"),
    );
    timing("init max", |m| &m.init, |s| s.max_ms, Some("init_max"));
    timing(
        "first request p50 (cold path)",
        |m| &m.first_request,
        |s| s.p50_ms,
        Some("first_request_p50"),
    );
    timing("first request max", |m| &m.first_request, |s| s.max_ms, None);
    timing("warm GET p50", |m| &m.warm_get, |s| s.p50_ms, Some("warm_get_p50"));
    timing("warm GET p99", |m| &m.warm_get, |s| s.p99_ms, Some("warm_get_p99"));
    let dash = || "–".to_owned();
    if let Some(regenerate) = &b.regenerate {
        figures.row(vec![
            "regenerate p50 (stored, warm)".into(),
            ms(regenerate.p50_ms),
            dash(),
            dash(),
            dash(),
            dash(),
        ]);
    }
    let up = &results.upstreams;
    let (above, fed_above) = (&results.warm_get_above_simulator, &fed.warm_get_above_simulator);
    for (name, secret, federation) in [
        ("simulator's own Graph GET p50", Some(up.graph_get_key.p50_ms), None),
        ("simulator's own Graph GET p99", Some(up.graph_get_key.p99_ms), None),
        (
            "warm GET p50 above simulator",
            Some(above.p50_ms),
            Some(fed_above.p50_ms),
        ),
        (
            "warm GET p99 above simulator",
            Some(above.p99_ms),
            Some(fed_above.p99_ms),
        ),
        (
            "simulator's own token p50 (federation: STS token as assertion)",
            Some(up.token.p50_ms),
            Some(up.federated_token.p50_ms),
        ),
        (
            "moto's own GetSecretValue p50 (via proxy)",
            Some(up.get_secret_value.p50_ms),
            None,
        ),
        (
            "simulator's own STS GetWebIdentityToken p50",
            None,
            Some(up.web_identity_token.p50_ms),
        ),
        (
            "first request p50 above its 3 upstream calls",
            Some(results.first_request_above_upstreams_p50_ms),
            Some(fed.first_request_above_upstreams_p50_ms),
        ),
    ] {
        figures.row(vec![
            name.into(),
            secret.map_or_else(dash, ms),
            dash(),
            dash(),
            federation.map_or_else(dash, ms),
            dash(),
        ]);
    }
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    figures.row(vec![
        "peak RSS (VmHWM) max".into(),
        mib(b.peak_rss_kib_max),
        mib(f.peak_rss_kib_max),
        ratio(r.get("peak_rss_max")),
        mib(fed.measured.peak_rss_kib_max),
        ratio(fr.get("peak_rss_max")),
    ]);
    figures.row(vec![
        "peak RSS (VmHWM) median".into(),
        mib(b.peak_rss_kib_median),
        mib(f.peak_rss_kib_median),
        dash(),
        mib(fed.measured.peak_rss_kib_median),
        dash(),
    ]);
    // One binary serves both modes.
    let size = |bytes: u64| format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0));
    figures.row(vec![
        "binary (stripped)".into(),
        size(b.package.binary_bytes),
        size(f.package.binary_bytes),
        ratio(r.get("binary_size")),
        "(same)".into(),
        dash(),
    ]);
    figures.row(vec![
        "zip".into(),
        size(b.package.zip_bytes),
        size(f.package.zip_bytes),
        ratio(r.get("zip_size")),
        "(same)".into(),
        dash(),
    ]);

    let mut calls = Table::new(&[
        "calls per request",
        "requests",
        "STS",
        "token",
        "Graph GET",
        "Graph POST",
        "SM GetSecretValue",
        "SM PutSecretValue",
        "SM other",
    ]);
    let mut tally = |name: &str, t: &CallTally| {
        calls.row(vec![
            name.to_owned(),
            t.requests.to_string(),
            t.range(|c| c.sts),
            t.range(|c| c.token),
            t.range(|c| c.graph_get),
            t.range(|c| c.graph_post),
            t.range(|c| c.sm("GetSecretValue")),
            t.range(|c| c.sm("PutSecretValue")),
            t.range(|c| c.sm_total() - c.sm("GetSecretValue") - c.sm("PutSecretValue")),
        ]);
    };
    tally("cold GET (first request)", &results.calls.cold_get);
    tally("warm GET", &results.calls.warm_get);
    tally("regenerate (stored, warm)", &results.calls.regenerate);
    tally(
        "federation cold GET (first request)",
        &results.calls.federation_cold_get,
    );
    tally("federation warm GET", &results.calls.federation_warm_get);
    tally("floor (all requests)", &results.calls.floor);

    let mut checks = Table::new(&["result", "budget", "measured"]).left_aligned(3);
    for check in &results.budgets {
        checks.row(vec![
            if check.pass { "PASS" } else { "FAIL" }.into(),
            check.budget.clone(),
            check.measured.clone(),
        ]);
    }
    (figures, calls, checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_counts_are_grouped_by_thousands() {
        assert_eq!(thousands(551_000.4), "551,000");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_234_567_890.0), "1,234,567,890");
        assert_eq!(thousands(-1500.0), "-1,500");
    }
}
