//! The loopback world a function runs in: graph-sim (whose app trusts the function's role through
//! a federated identity credential), moto behind the counting proxy, the two secrets, and the
//! configurations that point the function at them: with a credentials secret, or with
//! `GRAPH_AUTH=aws-federation` and the simulator's STS. Nothing here can reach an AWS endpoint or
//! the instance metadata address.

use std::path::Path;

use crate::calls::Counters;
use crate::function::Env;
use crate::moto::Moto;
use crate::proxy::CountingProxy;
use crate::sim::{self, GraphSim};

pub const CREDENTIALS_SECRET: &str = "bench/graph-credentials";
const KEY_SECRET: &str = "bench/mdi-sensor-key";
const READER_ROLE: &str = "arn:aws:iam::123456789012:role/sensor-installer";
const ROTATOR: &str = "arn:aws:iam::123456789012:user/security-engineer";

pub struct World {
    pub sim: GraphSim,
    pub proxy: CountingProxy,
    /// Kept running for the proxy.
    _moto: Moto,
}

impl World {
    pub async fn start(workspace: &Path, graph_sim: &Path) -> Result<Self, String> {
        let sim = GraphSim::start(graph_sim).await?;
        sim.trust_the_function_role().await?;
        // The simulator makes its issuer's RSA key on the first STS call (tens of milliseconds);
        // make it now, so that no federation cold start is charged for it.
        sim.web_identity_token().await?;
        let moto = Moto::start(workspace).await?;
        let proxy = CountingProxy::start(&moto.endpoint).await?;
        let credentials = serde_json::json!({
            "tenantId": sim::TENANT_ID,
            "clientId": sim::CLIENT_ID,
            "clientSecret": sim::CLIENT_SECRET,
        });
        moto.create_secret(CREDENTIALS_SECRET, &credentials.to_string()).await?;
        let (_, key) = sim.stats().await?;
        let stored = serde_json::json!({ "sensorDeploymentAccessKey": key });
        moto.create_secret(KEY_SECRET, &stored.to_string()).await?;
        Ok(World {
            sim,
            proxy,
            _moto: moto,
        })
    }

    pub fn counters(&self) -> Counters<'_> {
        Counters {
            sim: &self.sim,
            proxy: &self.proxy,
        }
    }

    /// The function's configuration with `GRAPH_AUTH=aws-federation`: no credentials secret, the
    /// app's tenant and client ids, and STS at the simulator; the rest as [`Self::function_env`].
    pub fn federation_env(&self) -> Env {
        let mut env: Env = self
            .function_env()
            .into_iter()
            .filter(|(name, _)| name != "GRAPH_CREDENTIALS_SECRET_ID")
            .collect();
        env.extend(
            [
                ("GRAPH_AUTH", sim::FEDERATION_MODE.to_owned()),
                ("GRAPH_TENANT_ID", sim::TENANT_ID.to_owned()),
                ("GRAPH_CLIENT_ID", sim::CLIENT_ID.to_owned()),
                ("AWS_ENDPOINT_URL_STS", self.sim.sts_url()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        env
    }

    /// The one-call floor's configuration: the simulator's `host:port`, the key endpoint's path
    /// and a token the simulator issued, fetched here so that the floor makes only the Graph call.
    pub async fn one_call_env(&self) -> Result<Env, String> {
        let token = self.sim.token().await?;
        let host = self
            .sim
            .base_url
            .strip_prefix("http://")
            .ok_or_else(|| format!("graph-sim is not at an http:// URL: {}", self.sim.base_url))?;
        Ok([
            ("ONE_CALL_GRAPH", host.trim_end_matches('/')),
            ("ONE_CALL_PATH", sim::GET_KEY),
            ("ONE_CALL_BEARER", &token),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
    }

    /// The function's configuration: ours, and the AWS SDK's with static credentials, a fixed
    /// region, Secrets Manager at the proxy and the instance metadata service disabled.
    pub fn function_env(&self) -> Env {
        let sm = self.proxy.endpoint();
        [
            ("GRAPH_CREDENTIALS_SECRET_ID", CREDENTIALS_SECRET),
            ("SENSOR_KEY_SECRET_ID", KEY_SECRET),
            ("GRAPH_ENDPOINT", &self.sim.base_url),
            ("AUTHORITY_HOST", &self.sim.base_url),
            ("KEY_READERS", READER_ROLE),
            ("KEY_ROTATORS", ROTATOR),
            ("CREDENTIALS_CACHE_TTL_SECONDS", "300"),
            // The HTTP door, as the stack deploys the function the benchmark's requests reach.
            ("FUNCTION_DOOR", "http"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &sm),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_SESSION_TOKEN", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}
