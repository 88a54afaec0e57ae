//! The AWS SDK's HTTP client, over reqwest: one HTTP stack and one TLS configuration for Graph,
//! Entra and Secrets Manager. Answers are untrusted input here as Graph's are: redirects are not
//! followed and bodies are read up to [`MAX_RESPONSE_BYTES`], no further.
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// The most of a Secrets Manager (or STS) answer that is read. The largest answer the function
/// asks for is `GetSecretValue` of a secret at Secrets Manager's 65,536-byte limit (the quota
/// "Secret value size"): as JSON-escaped `SecretString` at most six bytes a byte (`\u0000`), some
/// 384 KiB with the rest of the answer. Twice that is refused unread.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The problem's reason when an answer is over [`MAX_RESPONSE_BYTES`].
pub const TOO_LARGE: &str = "its answer is larger than the 1 MiB a secret of 64 KiB needs; not read further";

/// An answer over [`MAX_RESPONSE_BYTES`]: the connector's error, which the store reports as
/// [`TOO_LARGE`] and the SDK does not retry (it is not a transient connection failure).
#[derive(Debug, thiserror::Error)]
#[error("{TOO_LARGE}")]
pub struct ResponseTooLarge;

/// Whether the SDK's dispatch failure is an answer over the cap.
pub fn is_too_large(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<ResponseTooLarge>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// The HTTP client the SDK uses: reqwest with [`crate::tls::client_config`], so Secrets Manager
/// shares the TLS setup (and its compiled-in roots) with Graph and Entra.
pub fn reqwest_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        // Never followed: Secrets Manager does not redirect, and a follower would resend a signed
        // request, secret values included, wherever `Location` names.
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(crate::tls::client_config())
        .build()
}

#[derive(Debug, Clone)]
pub struct ReqwestHttpClient {
    client: reqwest::Client,
}

impl ReqwestHttpClient {
    pub fn new(client: reqwest::Client) -> Self {
        ReqwestHttpClient { client }
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for ReqwestHttpClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let request = request.try_into_http1x().map_err(|e| ConnectorError::user(e.into()))?;
            let (parts, body) = request.into_parts();
            let body = body.bytes().map(<[u8]>::to_vec).unwrap_or_default();
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        ConnectorError::timeout(e.into())
                    } else {
                        ConnectorError::io(e.into())
                    }
                })?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let bytes = read_capped(response, MAX_RESPONSE_BYTES).await?;
            // A boxed body, not `SdkBody::from(bytes)`: the SDK traces the response with `{:?}`,
            // and an in-memory SdkBody prints its bytes, which hold the SecretString.
            let body = SdkBody::from_body_1_x(http_body_util::Full::new(bytes::Bytes::from(bytes)));
            let response = builder.body(body).map_err(|e| ConnectorError::other(e.into(), None))?;
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// `response`'s body, refused as soon as it is known to be over `cap`: before reading when
/// `Content-Length` says so, else while counting chunks. Nothing over the cap is buffered.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, ConnectorError> {
    let too_large = || {
        tracing::warn!(
            cap_bytes = cap,
            "Secrets Manager's answer is over its size cap; refused"
        );
        ConnectorError::other(ResponseTooLarge.into(), None)
    };
    if response.content_length().is_some_and(|declared| declared > cap as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| ConnectorError::io(e.into()))? {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_over_the_cap_is_recognised_through_the_sdks_wrapping() {
        let connector = ConnectorError::other(ResponseTooLarge.into(), None);
        assert!(is_too_large(&connector));
        assert!(!is_too_large(&ConnectorError::io("connection reset".into())));
        assert!(!connector.is_io() && !connector.is_timeout(), "the SDK retries neither");
    }
}
