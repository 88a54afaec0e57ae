//! A bounded load test through the real handler: 10,000 key reads at 50 in flight against the
//! simulator with 5% of Graph calls throttled. Every request ends in 200 or a documented 5xx, and
//! memory stays flat: resident memory is measured after a warm-up of as many requests (which
//! fills the pools and the simulator's capped request log) and again at the end. Logs are not
//! captured here, so the capture buffer does not count. The totals go to `target/load-report.json`.

mod common;

use std::sync::Arc;

use common::*;
use graph_sim::{Endpoint, Fault, RetryAfter};
use serde_json::json;
use tokio::sync::Semaphore;

const REQUESTS: usize = 10_000;
const IN_FLIGHT: usize = 50;

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn run(app: Arc<TestApp>, requests: usize) -> Vec<(u16, bool)> {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..requests {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let app = app.clone();
        tasks.spawn(async move {
            let reply = call(&app, event("get-key.json")).await;
            drop(permit);
            (reply.status, reply.header("retry-after").is_some())
        });
    }
    tasks.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_reads_with_five_percent_graph_faults_end_in_200_or_a_documented_5xx() {
    let world = world(Setup {
        capture_logs: false,
        ..Setup::default()
    })
    .await;
    let app = Arc::new(world.another_instance());
    run(app.clone(), REQUESTS).await;
    let rss_start = resident_kib();
    world.sim.set_fault_rate(
        Endpoint::GetKey,
        5,
        Fault::TooManyRequests {
            retry_after: Some(RetryAfter::Seconds(0)),
        },
    );

    let outcomes = run(app, REQUESTS).await;

    let rss_end = resident_kib();
    let ok = outcomes.iter().filter(|(status, _)| *status == 200).count();
    let failed: Vec<_> = outcomes.iter().filter(|(status, _)| *status != 200).collect();
    for (status, retry_after) in &failed {
        assert!([502, 503, 504].contains(status), "undocumented status {status}");
        if *status == 503 {
            assert!(retry_after, "a 503 always says when to come back");
        }
    }
    let report = json!({
        "requests": REQUESTS,
        "in_flight": IN_FLIGHT,
        "ok": ok,
        "documented_5xx": failed.len(),
        "graph_calls": world.sim.calls(Endpoint::GetKey),
        "rss_kib_start": rss_start,
        "rss_kib_end": rss_end,
    });
    let _ = std::fs::write(
        format!("{}/target/load-report.json", env!("CARGO_MANIFEST_DIR")),
        report.to_string(),
    );
    assert_eq!(outcomes.len(), REQUESTS);
    assert!(ok > REQUESTS * 9 / 10, "retries absorb most faults: {report}");
    assert!(rss_end < rss_start + 16 * 1024, "memory stays flat: {report}");
}
