//! Upstream calls, counted where they land: STS, token, Graph GET and Graph POST at the simulator,
//! Secrets Manager operations at the counting proxy. A request's calls are the difference of
//! two snapshots taken around it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::proxy::{CountingProxy, OperationCounts};
use crate::sim::GraphSim;

/// Calls made (or counted so far).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Calls {
    /// STS `GetWebIdentityToken` (federation only).
    pub sts: u64,
    pub token: u64,
    pub graph_get: u64,
    pub graph_post: u64,
    /// Secrets Manager calls by operation; operations with no call are left out.
    pub secrets_manager: OperationCounts,
}

impl Calls {
    /// The calls made between `before` and `self`.
    pub fn since(&self, before: &Calls) -> Calls {
        let secrets_manager = self
            .secrets_manager
            .iter()
            .map(|(op, n)| (op.clone(), n - before.secrets_manager.get(op).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        Calls {
            sts: self.sts - before.sts,
            token: self.token - before.token,
            graph_get: self.graph_get - before.graph_get,
            graph_post: self.graph_post - before.graph_post,
            secrets_manager,
        }
    }

    /// Calls of one Secrets Manager operation.
    pub fn sm(&self, operation: &str) -> u64 {
        self.secrets_manager.get(operation).copied().unwrap_or(0)
    }

    /// All Secrets Manager calls.
    pub fn sm_total(&self) -> u64 {
        self.secrets_manager.values().sum()
    }
}

/// Where the counts are read.
pub struct Counters<'a> {
    pub sim: &'a GraphSim,
    pub proxy: &'a CountingProxy,
}

impl Counters<'_> {
    /// The counts so far, and the simulator's current key.
    pub async fn snapshot(&self) -> Result<(Calls, String), String> {
        let (sim, key) = self.sim.stats().await?;
        let calls = Calls {
            sts: sim.web_identity_token,
            token: sim.token,
            graph_get: sim.get_key,
            graph_post: sim.regenerate_key,
            secrets_manager: self.proxy.counts(),
        };
        Ok((calls, key))
    }
}

/// A kind of request's calls over many requests: each distinct set of calls, with how many
/// requests made it. One entry means every request made the same calls.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallTally {
    pub requests: usize,
    pub distinct: Vec<TallyEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TallyEntry {
    pub calls: Calls,
    pub requests: usize,
}

impl CallTally {
    pub fn of(all: &[Calls]) -> Self {
        let mut counted: BTreeMap<String, TallyEntry> = BTreeMap::new();
        for calls in all {
            let key = format!("{calls:?}");
            counted
                .entry(key)
                .or_insert_with(|| TallyEntry {
                    calls: calls.clone(),
                    requests: 0,
                })
                .requests += 1;
        }
        let mut distinct: Vec<TallyEntry> = counted.into_values().collect();
        distinct.sort_by_key(|entry| std::cmp::Reverse(entry.requests));
        CallTally {
            requests: all.len(),
            distinct,
        }
    }

    /// True when there were requests and every one made calls accepted by `expected`.
    pub fn all(&self, expected: impl Fn(&Calls) -> bool) -> bool {
        self.requests > 0 && self.distinct.iter().all(|entry| expected(&entry.calls))
    }

    /// `f` of every request's calls, as `a` or `a–b` when requests differ.
    pub fn range(&self, f: impl Fn(&Calls) -> u64) -> String {
        let values = self.distinct.iter().map(|entry| f(&entry.calls));
        match (values.clone().min(), values.max()) {
            (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
            (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
            _ => "–".to_owned(),
        }
    }
}
