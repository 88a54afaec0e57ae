//! Makes every HTTP event safe for lambda_http to convert.
//!
//! lambda_http 1.3 panics while converting an event whose body is flagged base64 but is not, or
//! whose path, query, `Host` or `X-Forwarded-Proto` do not make a valid URL: under the release
//! profile's `panic = "unwind"` that is one failed invocation (tests/panics.rs), and a caller who
//! gets a 502 instead of the 400 their request deserves. AWS builds well-formed events, but an IAM-signed
//! caller controls the raw query string and those headers, and anyone allowed to invoke the
//! function directly controls everything. Such events are rewritten, before the conversion, into
//! requests the router refuses with a 400.

use base64::Engine;
use lambda_http::http::{HeaderMap, Uri};
use lambda_http::request::LambdaRequest;

/// The path a malformed request is rewritten to; the router answers it with a 400.
pub(super) const MALFORMED_REQUEST_PATH: &str = "/.malformed-request";
/// Stands in for a body flagged base64 that is not: no operation accepts it, so it is a 400.
const UNDECODABLE_BODY: &str = "\u{0}body flagged base64 but not base64";

/// Rewrites the parts of `event` that lambda_http could not convert.
pub fn make_convertible(event: &mut LambdaRequest) {
    match event {
        LambdaRequest::ApiGatewayV2(request) => {
            defuse_body(&mut request.body, &mut request.is_base64_encoded);
            let host = host(&request.headers, request.request_context.domain_name.as_deref());
            let path = with_stage(
                request.request_context.stage.as_deref(),
                request.raw_path.as_deref().unwrap_or(""),
            );
            if !convertible(
                &request.headers,
                host.as_deref(),
                &path,
                request.raw_query_string.as_deref(),
            ) {
                strip_url_headers(&mut request.headers);
                request.raw_path = Some(MALFORMED_REQUEST_PATH.to_owned());
                request.raw_query_string = None;
                request.request_context.stage = None;
            }
        }
        LambdaRequest::ApiGatewayV1(request) => {
            defuse_body(&mut request.body, &mut request.is_base64_encoded);
            let host = host(&request.headers, request.request_context.domain_name.as_deref());
            let path = with_stage(
                request.request_context.stage.as_deref(),
                request.path.as_deref().unwrap_or(""),
            );
            // REST API query strings are rebuilt from decoded maps by lambda_http, always encoded.
            if !convertible(&request.headers, host.as_deref(), &path, None) {
                strip_url_headers(&mut request.headers);
                request.path = Some(MALFORMED_REQUEST_PATH.to_owned());
                request.request_context.stage = None;
            }
        }
        _ => {}
    }
}

fn defuse_body(body: &mut Option<String>, flagged: &mut bool) {
    let undecodable = |text: &String| base64::engine::general_purpose::STANDARD.decode(text).is_err();
    if *flagged && body.as_ref().is_some_and(undecodable) {
        *flagged = false;
        *body = Some(UNDECODABLE_BODY.to_owned());
    }
}

fn host(headers: &HeaderMap, domain_name: Option<&str>) -> Option<String> {
    headers
        .get("host")
        .and_then(|value| value.to_str().ok())
        .or(domain_name)
        .map(str::to_owned)
}

fn with_stage(stage: Option<&str>, path: &str) -> String {
    match stage {
        None | Some("$default") | Some("") => path.to_owned(),
        Some(stage) => format!("/{stage}{path}"),
    }
}

/// The URL lambda_http will build, built the same way: `Url::parse`, then `Uri`.
fn convertible(headers: &HeaderMap, host: Option<&str>, path: &str, query: Option<&str>) -> bool {
    let mut uri = match host {
        None => match url::Url::parse(&format!("http://localhost{path}")) {
            Ok(url) => url.path().to_owned(),
            Err(_) => return false,
        },
        Some(host) => {
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("https");
            match url::Url::parse(&format!("{scheme}://{host}{path}")) {
                Ok(url) => url.to_string(),
                Err(_) => return false,
            }
        }
    };
    if let Some(query) = query.filter(|query| !query.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    Uri::try_from(uri).is_ok()
}

fn strip_url_headers(headers: &mut HeaderMap) {
    headers.remove("host");
    headers.remove("x-forwarded-proto");
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Request;

    fn event(mutate: impl FnOnce(&mut serde_json::Value)) -> LambdaRequest {
        let mut json: serde_json::Value = serde_json::from_str(include_str!("../../events/get-key.json")).unwrap();
        mutate(&mut json);
        serde_json::from_value(json).unwrap()
    }

    fn converted(mut raw: LambdaRequest) -> Request {
        make_convertible(&mut raw);
        raw.into()
    }

    #[test]
    fn a_well_formed_event_is_left_alone() {
        let request = converted(event(|_| {}));
        assert_eq!(lambda_http::RequestExt::raw_http_path(&request), "/sensor-key");
    }

    #[test]
    fn a_query_lambda_http_cannot_parse_becomes_a_malformed_request() {
        let request = converted(event(|e| e["rawQueryString"] = "a=\"b c\"".into()));
        assert_eq!(lambda_http::RequestExt::raw_http_path(&request), MALFORMED_REQUEST_PATH);
    }

    #[test]
    fn hostile_host_and_scheme_headers_become_a_malformed_request() {
        let request = converted(event(|e| e["headers"]["host"] = "a b".into()));
        assert_eq!(lambda_http::RequestExt::raw_http_path(&request), MALFORMED_REQUEST_PATH);
        let request = converted(event(|e| e["headers"]["x-forwarded-proto"] = "ht tp".into()));
        assert_eq!(lambda_http::RequestExt::raw_http_path(&request), MALFORMED_REQUEST_PATH);
    }

    #[test]
    fn a_body_flagged_base64_that_is_not_is_replaced() {
        let request = converted(event(|e| {
            e["body"] = "{not base64}".into();
            e["isBase64Encoded"] = true.into();
        }));
        assert_eq!(request.body().as_ref(), UNDECODABLE_BODY.as_bytes());
    }
}
