//! The floor: the smallest function the bootstrap could be. Same `lambda_http` version and
//! features, same tokio flavour, same release profile; it answers every request with a constant,
//! so whatever the benchmark measures for it is the cost of the runtime, not of our code.
#![forbid(unsafe_code)]

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(answer)).await
}

async fn answer(_: Request) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"sensorDeploymentAccessKey":"floor"}"#))?)
}
