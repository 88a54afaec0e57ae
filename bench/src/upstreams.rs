//! The upstreams' own latency, timed by calling them directly over kept-alive connections:
//! Graph's key GET, Entra's token endpoint (with the client secret, and with an STS token as the
//! client assertion) and STS `GetWebIdentityToken` at the simulator, and Secrets Manager's
//! GetSecretValue through the counting proxy, as the function reaches it. Subtracting these
//! from the function's figures leaves what the function itself adds.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::http::Http;
use crate::moto;
use crate::stats::Summary;
use crate::world::{self, World};

/// Calls made before timing starts, to open connections and warm caches.
const WARM_UP: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct UpstreamLatency {
    pub graph_get_key: Summary,
    pub token: Summary,
    pub get_secret_value: Summary,
    /// STS `GetWebIdentityToken`.
    pub web_identity_token: Summary,
    /// The token endpoint with a fresh STS token as the client assertion; the simulated Entra
    /// fetches the issuer's discovery document and JWKS for each (it caches nothing).
    pub federated_token: Summary,
}

impl UpstreamLatency {
    /// The cold path's upstream calls (GetSecretValue, token, Graph GET), p50s added up.
    pub fn cold_path_p50_ms(&self) -> f64 {
        self.get_secret_value.p50_ms + self.token.p50_ms + self.graph_get_key.p50_ms
    }

    /// The federation cold path's upstream calls (STS, federated token, Graph GET), p50s added up.
    pub fn federation_cold_path_p50_ms(&self) -> f64 {
        self.web_identity_token.p50_ms + self.federated_token.p50_ms + self.graph_get_key.p50_ms
    }
}

pub async fn measure(world: &World, samples: usize) -> Result<UpstreamLatency, String> {
    let sim = &world.sim;
    let bearer = format!("Bearer {}", sim.token().await?);
    let graph = Http::default();
    let graph_get_key = time(samples, || sim.get_key(&graph, &bearer)).await?;
    let token = time(samples, || async { sim.token().await.map(drop) }).await?;
    let secrets = Http::default();
    let endpoint = world.proxy.endpoint();
    let get_secret_value = time(samples, || {
        moto::get_secret_value(&secrets, &endpoint, world::CREDENTIALS_SECRET)
    })
    .await?;
    let web_identity_token = time(samples, || async { sim.web_identity_token().await.map(drop) }).await?;
    // Each exchange gets a token of its own, fetched beforehand so that only the exchange is timed.
    let mut assertions = Vec::with_capacity(WARM_UP + samples);
    for _ in 0..WARM_UP + samples {
        assertions.push(sim.web_identity_token().await?);
    }
    let federated_token = time(samples, || {
        let assertion = assertions.pop().unwrap_or_default();
        async move { sim.federated_token(&assertion).await.map(drop) }
    })
    .await?;
    Ok(UpstreamLatency {
        graph_get_key,
        token,
        get_secret_value,
        web_identity_token,
        federated_token,
    })
}

async fn time<F, Fut>(samples: usize, mut call: F) -> Result<Summary, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut timings: Vec<Duration> = Vec::with_capacity(samples);
    for round in 0..WARM_UP + samples {
        let started = Instant::now();
        call().await?;
        if round >= WARM_UP {
            timings.push(started.elapsed());
        }
    }
    Ok(Summary::of(&timings))
}
