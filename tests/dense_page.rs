//! Memory bounded by members, not only by bytes (issue 22): a 4 MiB Graph page of `{}` (about
//! 1.4 million members, under the page's 4 MiB byte cap) used to become some 350 MB of structs and
//! kill a 128 MB function. Now members are counted while they are deserialised and the page is a
//! clean 502, read in a few MiB, with the process alive for the next request.
//!
//! Alone in its test binary so that its resident memory is its own: the peak (`VmHWM`) is reset
//! before the request (`/proc/self/clear_refs`, "5") and read after it. The simulator runs in this
//! process too and builds the 4 MiB answer, so the bound holds for both together.

mod common;

use common::*;
use graph_sim::{Endpoint, Fault};

/// The function's memory is 128 MB; the issue asks for half of it.
const PEAK_RSS_BUDGET_KIB: u64 = 64 * 1024;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the peak resident set size to the current one (Linux 4.0 and later).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[tokio::test]
async fn a_four_mib_page_of_empty_members_is_a_clean_502_read_in_little_memory() {
    let world = world(Setup {
        capture_logs: false,
        ..Setup::default()
    })
    .await;
    assert_eq!(call(&world.app, event("get-sensors.json")).await.status, 200);
    world
        .sim
        .inject(Endpoint::ListSensors, Fault::DenseCollection { bytes: 4 * 1024 * 1024 });
    let reset = reset_peak_rss();
    let before = status_kib("VmRSS:");

    let reply = call(&world.app, event("get-sensors.json")).await;

    let peak = status_kib("VmHWM:");
    assert_eq!(reply.status, 502, "{}", reply.json);
    assert_eq!(
        reply.json["type"],
        "tag:mdi-sensor-key,2026:problem/upstream-bad-response"
    );
    let detail = reply.json["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("more than 2,000 members"), "{detail}");
    assert!(
        peak < PEAK_RSS_BUDGET_KIB,
        "peak RSS {peak} KiB (reset: {reset}; {before} KiB before the request)"
    );
    assert_eq!(
        call(&world.app, event("get-sensors.json")).await.status,
        200,
        "the process is alive and serves the next request"
    );
}
