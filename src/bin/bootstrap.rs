//! The Lambda function: reads its configuration, builds its clients once, and serves
//! invocations until the runtime stops it.
#![forbid(unsafe_code)]

use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Error, LambdaEvent, Service, lambda_runtime, service_fn};
use mdi_sensor_key::app::App;
use mdi_sensor_key::config::Config;
use mdi_sensor_key::graph::RetryPolicy;
use mdi_sensor_key::secrets::AwsSecretStore;
use mdi_sensor_key::{handler, logging};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = Config::from_env()?;
    let store = AwsSecretStore::from_lambda_env(|name| std::env::var(name).ok())?;
    let app = App::from_config(&config, store, RetryPolicy::default())?;
    let app = &app;
    // lambda_http::run, with events made safe for lambda_http to convert first.
    let adapter = Adapter::from(service_fn(move |request| handler::handle(app, request)));
    lambda_runtime::run(service_fn(move |mut event: LambdaEvent<LambdaRequest>| {
        handler::make_convertible(&mut event.payload);
        adapter.clone().call(event)
    }))
    .await
}
