//! The report: the figures table (bootstrap, floor, ratio), the calls table and the budget
//! checks, as terminal text and as Markdown for docs/benchmark.md.

use crate::calls::CallTally;
use crate::results::Results;
use crate::stats::Summary;
use crate::table::Table;

/// Everything, for the terminal.
pub fn text(results: &Results) -> String {
    let (figures, calls, checks) = tables(results);
    format!(
        "{}\n{}\n{}\n{}",
        heading(results),
        figures.to_text(),
        calls.to_text(),
        checks.to_text()
    )
}

/// Everything, as Markdown.
pub fn markdown(results: &Results) -> String {
    let (figures, calls, checks) = tables(results);
    format!(
        "{}\n\n{}\n{}\n{}",
        heading(results),
        figures.to_markdown(),
        calls.to_markdown(),
        checks.to_markdown()
    )
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
    let r = &results.ratios_to_floor;
    let mut figures = Table::new(&["metric", "bootstrap", "floor", "ratio"]);
    let mut timing = |name: &str, pick: fn(&Summary) -> f64, bs: &Summary, fs: &Summary, key: Option<&str>| {
        figures.row(vec![
            name.to_owned(),
            ms(pick(bs)),
            ms(pick(fs)),
            ratio(key.and_then(|k| r.get(k))),
        ]);
    };
    timing(
        "init p50 (start → first next)",
        |s| s.p50_ms,
        &b.init,
        &f.init,
        Some("init_p50"),
    );
    timing("init max", |s| s.max_ms, &b.init, &f.init, Some("init_max"));
    timing(
        "first request p50 (cold path)",
        |s| s.p50_ms,
        &b.first_request,
        &f.first_request,
        Some("first_request_p50"),
    );
    timing(
        "first request max",
        |s| s.max_ms,
        &b.first_request,
        &f.first_request,
        None,
    );
    timing(
        "warm GET p50",
        |s| s.p50_ms,
        &b.warm_get,
        &f.warm_get,
        Some("warm_get_p50"),
    );
    timing(
        "warm GET p99",
        |s| s.p99_ms,
        &b.warm_get,
        &f.warm_get,
        Some("warm_get_p99"),
    );
    if let Some(regenerate) = &b.regenerate {
        figures.row(vec![
            "regenerate p50 (stored, warm)".into(),
            ms(regenerate.p50_ms),
            "–".into(),
            "–".into(),
        ]);
    }
    let up = &results.upstreams;
    let above = &results.warm_get_above_simulator;
    for (name, value) in [
        ("simulator's own Graph GET p50", up.graph_get_key.p50_ms),
        ("simulator's own Graph GET p99", up.graph_get_key.p99_ms),
        ("warm GET p50 above simulator", above.p50_ms),
        ("warm GET p99 above simulator", above.p99_ms),
        ("simulator's own token p50", up.token.p50_ms),
        ("moto's own GetSecretValue p50 (via proxy)", up.get_secret_value.p50_ms),
        (
            "first request p50 above its 3 upstream calls",
            results.first_request_above_upstreams_p50_ms,
        ),
    ] {
        figures.row(vec![name.into(), ms(value), "–".into(), "–".into()]);
    }
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    figures.row(vec![
        "peak RSS (VmHWM) max".into(),
        mib(b.peak_rss_kib_max),
        mib(f.peak_rss_kib_max),
        ratio(r.get("peak_rss_max")),
    ]);
    figures.row(vec![
        "peak RSS (VmHWM) median".into(),
        mib(b.peak_rss_kib_median),
        mib(f.peak_rss_kib_median),
        "–".into(),
    ]);
    let size = |bytes: u64| format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0));
    figures.row(vec![
        "binary (stripped)".into(),
        size(b.package.binary_bytes),
        size(f.package.binary_bytes),
        ratio(r.get("binary_size")),
    ]);
    figures.row(vec![
        "zip".into(),
        size(b.package.zip_bytes),
        size(f.package.zip_bytes),
        ratio(r.get("zip_size")),
    ]);

    let mut calls = Table::new(&[
        "calls per request",
        "requests",
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
