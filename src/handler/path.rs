//! The path a request is routed on: decoded exactly once, whichever door delivered it.
//!
//! The two HTTP doors deliver `rawPath` differently. An API Gateway HTTP API delivers it
//! percent-decoded; a Lambda function URL delivers it as the caller sent it. The
//! AWS guides do not say so; live captures do (hotsock/voker pull request 8, as cited by
//! middleapi/standard-server pull request 93: "HTTP API decodes `rawPath`", "REST, Function URLs
//! and ALB preserve encoding"). Routing on the once-decoded path makes `/sensors/{host}/...` mean
//! the same host through both doors, and a double-encoded name stays encoded (and invalid) through
//! both. docs/http-api.md, "Paths and host names".

use std::borrow::Cow;

use lambda_http::request::RequestContext;

use super::RequestError;

/// `raw` decoded once unless `context` says the door decoded it already; a broken escape, or
/// bytes that are not UTF-8, is a 400.
pub(super) fn routed_path<'r>(raw: &'r str, context: Option<&RequestContext>) -> Result<Cow<'r, str>, RequestError> {
    if delivered_decoded(context) || !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    percent_decode(raw).map(Cow::Owned).ok_or(RequestError::BadRequest(
        "the request's path has a broken percent-escape",
    ))
}

/// Whether the door decoded `rawPath` before the event was built: an HTTP API (payload 2.0 on a
/// domain that is not a function URL's `<url-id>.lambda-url.<region>.on.aws`).
fn delivered_decoded(context: Option<&RequestContext>) -> bool {
    match context {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .domain_name
            .as_deref()
            .is_some_and(|domain| !domain.contains(".lambda-url.")),
        _ => false,
    }
}

/// `%XX` escapes decoded; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;

    use super::*;

    fn delivered_on(domain: &str) -> RequestContext {
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.domain_name = Some(domain.to_owned());
        RequestContext::ApiGatewayV2(context)
    }

    #[test]
    fn a_function_url_path_is_decoded_once_and_an_http_api_path_is_taken_as_delivered() {
        let url = delivered_on("abcdefghijklmnopqrstuvwxyz0.lambda-url.us-east-1.on.aws");
        let api = delivered_on("a1b2c3d4e5.execute-api.us-gov-west-1.amazonaws.com");
        let custom = delivered_on("sensors.example.com");
        // The same host through both doors: encoded by the caller, decoded by the HTTP API.
        assert_eq!(
            routed_path("/sensors/DC1%2Econtoso.com/verdict", Some(&url)).unwrap(),
            "/sensors/DC1.contoso.com/verdict"
        );
        assert_eq!(
            routed_path("/sensors/DC1.contoso.com/verdict", Some(&api)).unwrap(),
            "/sensors/DC1.contoso.com/verdict"
        );
        // Double-encoded by the caller: once decoded by either door, never twice.
        assert_eq!(
            routed_path("/sensors/DC1%252Econtoso.com/verdict", Some(&url)).unwrap(),
            "/sensors/DC1%2Econtoso.com/verdict"
        );
        assert_eq!(
            routed_path("/sensors/DC1%2Econtoso.com/verdict", Some(&api)).unwrap(),
            "/sensors/DC1%2Econtoso.com/verdict"
        );
        assert_eq!(
            routed_path("/sensors/DC1%2Econtoso.com/verdict", Some(&custom)).unwrap(),
            "/sensors/DC1%2Econtoso.com/verdict"
        );
        // An encoded slash becomes a separator through both doors.
        assert_eq!(
            routed_path("/sensors/a%2Fb/verdict", Some(&url)).unwrap(),
            "/sensors/a/b/verdict"
        );
    }

    #[test]
    fn a_broken_escape_or_bytes_that_are_not_utf8_are_refused() {
        for bad in [
            "/sensors/dc%/verdict",
            "/sensors/dc%zz/verdict",
            "/sensors/dc%C3/verdict",
        ] {
            assert!(routed_path(bad, None).is_err(), "{bad}");
        }
        assert_eq!(routed_path("/sensor-key", None).unwrap(), "/sensor-key");
    }
}
