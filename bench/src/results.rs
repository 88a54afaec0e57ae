//! The results of a run, as written to JSON: what was measured for the bootstrap (with a
//! credentials secret, and with federation) and the floor ([`crate::measured`]), the simulator's
//! own latency, the calls per kind of request, ratios and budget checks ([`crate::budgets`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::budgets::Check;
use crate::instructions::Instructions;
use crate::machine::Machine;
use crate::measured::{Above, CallsByRequest, Measured};
use crate::upstreams::UpstreamLatency;

#[derive(Debug, Serialize)]
pub struct Results {
    pub label: Option<String>,
    pub machine: Machine,
    pub settings: Settings,
    pub bootstrap: Measured,
    pub floor: Measured,
    /// The upstreams called directly.
    pub upstreams: UpstreamLatency,
    pub warm_get_above_simulator: Above,
    /// First-request p50 minus the p50s of its three upstream calls.
    pub first_request_above_upstreams_p50_ms: f64,
    pub calls: CallsByRequest,
    /// Bootstrap figure divided by the floor's.
    pub ratios_to_floor: BTreeMap<&'static str, f64>,
    /// The same bootstrap with `GRAPH_AUTH=aws-federation`; its calls are in `calls`.
    pub federation: Federation,
    /// Instructions per warm GET (callgrind), unless `--no-callgrind` or the count failed.
    pub instructions: Option<Instructions>,
    pub budgets: Vec<Check>,
}

/// The federation subject's figures, as the bootstrap's are given above.
#[derive(Debug, Serialize)]
pub struct Federation {
    pub measured: Measured,
    pub warm_get_above_simulator: Above,
    /// First-request p50 minus the p50s of its three upstream calls (STS, token, Graph GET).
    pub first_request_above_upstreams_p50_ms: f64,
    /// Federation figure divided by the floor's.
    pub ratios_to_floor: BTreeMap<&'static str, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub cold_starts: usize,
    pub warm_requests: usize,
    /// Direct calls per upstream endpoint.
    pub upstream_samples: usize,
    /// `--env` additions to the bootstrap's environment, as `NAME=VALUE`.
    pub extra_env: Vec<String>,
}
