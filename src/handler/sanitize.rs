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
    // Payload 2.0 alone: lambda_http is built without the REST API's events (Cargo.toml).
    if let LambdaRequest::ApiGatewayV2(request) = event {
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

/// The URL lambda_http will build, built the same way: `Url::parse`, then `Uri`. An ordinary
/// URL ([`plain`]: what AWS sends) skips `Url::parse`, which cannot fail on it and only changes
/// its host's case: parsing each URL twice, here and in lambda_http, cost some 8,000
/// instructions a request (issue 22). A unit test holds the two paths to the same answers.
fn convertible(headers: &HeaderMap, host: Option<&str>, path: &str, query: Option<&str>) -> bool {
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("https");
    match host {
        Some(host) if plain(scheme, host, path) => {
            let mut uri = format!("{scheme}://{host}{path}");
            if let Some(query) = query.filter(|query| !query.is_empty()) {
                uri.push('?');
                uri.push_str(query);
            }
            Uri::try_from(uri).is_ok()
        }
        _ => parsed_convertible(headers, host, path, query),
    }
}

/// An `http` or `https` URL with a DNS name (letters, digits, hyphens; dot-separated labels, the
/// last starting with a letter, none punycode), an optional port of at most 65535, and a path
/// of unreserved characters and `/` with no segment that starts with a dot: `Url::parse` takes
/// it as it is.
fn plain(scheme: &str, host: &str, path: &str) -> bool {
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let port_ok = port.is_none_or(|port| {
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
    });
    let labels_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.get(..4).is_some_and(|start| start.eq_ignore_ascii_case("xn--"))
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && name
            .rsplit('.')
            .next()
            .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_alphabetic()));
    let path_ok = path.starts_with('/')
        && !path.contains("/.")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~'));
    matches!(scheme, "https" | "http") && port_ok && labels_ok && path_ok
}

/// [`convertible`] the long way, as lambda_http does it.
fn parsed_convertible(headers: &HeaderMap, host: Option<&str>, path: &str, query: Option<&str>) -> bool {
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
    fn a_plain_url_is_judged_as_url_parsing_judges_it() {
        let mut cases = 0;
        for scheme in ["https", "http", "ftp", "ht tp", ""] {
            for host in [
                "abc123.lambda-url.us-east-1.on.aws",
                "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                "EXAMPLE.com:443",
                "example.com:65535",
                "example.com:65536",
                "example.com:",
                "localhost:9001",
                "1.2.3.4",
                "999.1.1.1",
                "a..b",
                ".a",
                "a.",
                "xn--a.com",
                "a.xn--b",
                "a_b.com",
                "a b",
                "-a.com",
                "a.0x1f",
            ] {
                for path in [
                    "/sensor-key",
                    "/sensors/dc1.contoso.com/verdict",
                    "/a/./b",
                    "/a/../b",
                    "/.x",
                    "/a%2fb",
                    "/a b",
                    "/a|b",
                    "",
                    "x",
                ] {
                    for query in [None, Some(""), Some("domainName=fabrikam.com"), Some("a=\"b c\"")] {
                        let headers = {
                            let mut headers = HeaderMap::new();
                            if !scheme.is_empty()
                                && let Ok(value) = scheme.parse()
                            {
                                headers.insert("x-forwarded-proto", value);
                            }
                            headers
                        };
                        let fast = convertible(&headers, Some(host), path, query);
                        let slow = parsed_convertible(&headers, Some(host), path, query);
                        assert_eq!(fast, slow, "{scheme}://{host}{path}?{query:?}");
                        cases += usize::from(plain(scheme, host, path) || scheme.is_empty());
                    }
                }
            }
        }
        assert!(cases > 50, "the fast path is taken: {cases}");
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
