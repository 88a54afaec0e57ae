//! A request as the simulated services see it: its method, path, headers, raw query, raw body and,
//! for a form body, the decoded fields. The router builds it; the services and the reply helpers read it.

use axum::http::Method;
use axum::http::header::{CONTENT_TYPE, HeaderMap};

/// What the service handlers need to know about a request.
pub(crate) struct Incoming {
    pub method: Method,
    /// The URL's path, as sent.
    pub path: String,
    pub headers: HeaderMap,
    /// The raw query string, for paging.
    pub query: Option<String>,
    /// Decoded fields of a form body; `None` when the body is not a form.
    pub form: Option<Vec<(String, String)>>,
    /// The raw body, for JSON action parameters.
    pub body: Vec<u8>,
}

impl Incoming {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn form_field(&self, name: &str) -> Option<&str> {
        self.form
            .as_deref()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request carries a SigV4 `Authorization` header, as AWS's query-protocol services
    /// (STS, IAM) require; the signature itself is not checked (there is no secret key to check
    /// it against).
    pub(crate) fn sigv4_signed(&self) -> bool {
        self.header("authorization")
            .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 Credential="))
    }

    /// The token of a `Bearer` authorization header, if there is one.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let (scheme, token) = self.header("authorization")?.trim().split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
    }
}

/// Whether the body is `application/x-www-form-urlencoded`, whatever its parameters.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}
