//! A small keep-alive HTTP/1.1 client for loopback calls: the simulator's control routes, its
//! key endpoint (to time the simulator itself), moto, and the proxy's upstream leg.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::http::HeaderMap;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A finished response with its body read.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON, or an error that names `what` and shows the status.
    pub fn json(&self, what: &str) -> Result<serde_json::Value, String> {
        if !(200..300).contains(&self.status) {
            return Err(format!(
                "{what}: HTTP {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("{what}: response is not JSON: {e}"))
    }
}

/// Pooled connections, Nagle off (as reqwest does), so small requests are not delayed.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for Http {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

impl Http {
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<Answer, String> {
        let uri = request.uri().clone();
        let response = self.client.request(request).await.map_err(|e| format!("{uri}: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("{uri}: reading the body: {e}"))?
            .to_bytes();
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Answer, String> {
        self.send(build("GET", url, headers, Bytes::new())?).await
    }

    pub async fn post(&self, url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Result<Answer, String> {
        self.send(build("POST", url, headers, body.into())?).await
    }
}

fn build(method: &str, url: &str, headers: &[(&str, &str)], body: Bytes) -> Result<Request<Full<Bytes>>, String> {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::new(body)).map_err(|e| format!("{url}: {e}"))
}
