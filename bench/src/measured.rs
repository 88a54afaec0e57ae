//! What was measured for one subject (the bootstrap with a credentials secret, the bootstrap with
//! federation, or the floor), how far its warm latency lies above the simulator's, the upstream
//! calls per kind of request, and a subject's figures over the floor's: the figures
//! [`crate::budgets`] judges and [`crate::results`] writes.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::calls::CallTally;
use crate::package::Package;
use crate::scenario::Samples;
use crate::stats::{self, Summary};

/// Failure messages kept in the JSON, per subject.
const FAILURE_EXAMPLES: usize = 5;

/// One subject's figures.
#[derive(Debug, Serialize)]
pub struct Measured {
    pub binary: String,
    pub package: Package,
    /// Process start to the first `invocation/next`.
    pub init: Summary,
    /// The first invocation after init.
    pub first_request: Summary,
    pub warm_get: Summary,
    pub regenerate: Option<Summary>,
    pub peak_rss_kib_max: u64,
    pub peak_rss_kib_median: u64,
    pub failures: usize,
    pub failure_examples: Vec<String>,
}

impl Measured {
    pub fn new(binary: String, package: Package, samples: &Samples) -> Self {
        Measured {
            binary,
            package,
            init: Summary::of(&samples.init),
            first_request: Summary::of(&samples.first_request),
            warm_get: Summary::of(&samples.warm),
            regenerate: (!samples.regenerate.is_empty()).then(|| Summary::of(&samples.regenerate)),
            peak_rss_kib_max: samples.peak_rss_kib.iter().copied().max().unwrap_or(0),
            peak_rss_kib_median: stats::median(&samples.peak_rss_kib),
            failures: samples.failures.len(),
            failure_examples: samples.failures.iter().take(FAILURE_EXAMPLES).cloned().collect(),
        }
    }
}

/// Warm GET latency minus the simulator's own, at the same percentile.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Above {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Above {
    pub fn of(warm: &Summary, simulator: &Summary) -> Self {
        Above {
            p50_ms: warm.p50_ms - simulator.p50_ms,
            p99_ms: warm.p99_ms - simulator.p99_ms,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CallsByRequest {
    pub cold_get: CallTally,
    pub warm_get: CallTally,
    pub regenerate: CallTally,
    /// The bootstrap with `GRAPH_AUTH=aws-federation`.
    pub federation_cold_get: CallTally,
    pub federation_warm_get: CallTally,
    /// Every floor request; all must be zero.
    pub floor: CallTally,
}

impl CallsByRequest {
    pub fn new(bootstrap: &Samples, federation: &Samples, floor: &Samples) -> Self {
        let floor_calls: Vec<_> = floor.cold_calls.iter().chain(&floor.warm_calls).cloned().collect();
        CallsByRequest {
            cold_get: CallTally::of(&bootstrap.cold_calls),
            warm_get: CallTally::of(&bootstrap.warm_calls),
            regenerate: CallTally::of(&bootstrap.regenerate_calls),
            federation_cold_get: CallTally::of(&federation.cold_calls),
            federation_warm_get: CallTally::of(&federation.warm_calls),
            floor: CallTally::of(&floor_calls),
        }
    }
}

/// A subject's figures over the floor's.
pub fn ratios(bootstrap: &Measured, floor: &Measured) -> BTreeMap<&'static str, f64> {
    let ratio = |b: f64, f: f64| if f > 0.0 { b / f } else { f64::NAN };
    BTreeMap::from([
        ("init_p50", ratio(bootstrap.init.p50_ms, floor.init.p50_ms)),
        ("init_max", ratio(bootstrap.init.max_ms, floor.init.max_ms)),
        (
            "first_request_p50",
            ratio(bootstrap.first_request.p50_ms, floor.first_request.p50_ms),
        ),
        ("warm_get_p50", ratio(bootstrap.warm_get.p50_ms, floor.warm_get.p50_ms)),
        ("warm_get_p99", ratio(bootstrap.warm_get.p99_ms, floor.warm_get.p99_ms)),
        (
            "peak_rss_max",
            ratio(bootstrap.peak_rss_kib_max as f64, floor.peak_rss_kib_max as f64),
        ),
        (
            "binary_size",
            ratio(bootstrap.package.binary_bytes as f64, floor.package.binary_bytes as f64),
        ),
        (
            "zip_size",
            ratio(bootstrap.package.zip_bytes as f64, floor.package.zip_bytes as f64),
        ),
    ])
}
