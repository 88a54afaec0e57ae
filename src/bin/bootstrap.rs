//! The Lambda function: reads its configuration, builds its clients once, and serves
//! invocations until the runtime stops it.
#![forbid(unsafe_code)]

use std::sync::Arc;

use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Error, LambdaEvent, Service, lambda_runtime, service_fn};
use mdi_sensor_key::app::App;
use mdi_sensor_key::config::{Config, GraphAuth};
use mdi_sensor_key::federation::{StsWebIdentity, WebIdentitySource};
use mdi_sensor_key::graph::RetryPolicy;
use mdi_sensor_key::secrets::AwsSecretStore;
use mdi_sensor_key::{handler, logging};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = Config::from_env()?;
    config.log_cold_start();
    let env = |name: &str| std::env::var(name).ok();
    let store = AwsSecretStore::from_lambda_env(env)?;
    let web_identity: Option<Arc<dyn WebIdentitySource>> = match config.graph_auth {
        GraphAuth::AwsFederation { .. } => Some(Arc::new(StsWebIdentity::from_lambda_env(env)?)),
        GraphAuth::Secret { .. } => None,
    };
    let app = App::from_config(&config, store, web_identity, RetryPolicy::default())?;
    let app = &app;
    // lambda_http::run, with events made safe for lambda_http to convert first.
    let adapter = Adapter::from(service_fn(move |request| handler::handle(app, request)));
    lambda_runtime::run(service_fn(move |mut event: LambdaEvent<LambdaRequest>| {
        handler::make_convertible(&mut event.payload);
        adapter.clone().call(event)
    }))
    .await
}
