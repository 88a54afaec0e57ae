//! Structured JSON logs for CloudWatch, one line per event, with the Lambda request id on each
//! line through the runtime's span.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber; `RUST_LOG` (or Lambda's `AWS_LAMBDA_LOG_LEVEL`) sets the level.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| {
            EnvFilter::try_new(
                std::env::var("AWS_LAMBDA_LOG_LEVEL")
                    .unwrap_or_else(|_| "info".into())
                    .to_lowercase(),
            )
        })
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .init();
}
