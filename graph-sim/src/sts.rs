//! AWS STS `GetWebIdentityToken` (IAM outbound identity federation): the query-protocol endpoint
//! that issues the web identity tokens the simulated account's issuer ([`crate::issuer`]) signs.
//!
//! Sources, each behaviour from the first that states it:
//! - The request: the AWS query protocol as the SDK sends it (form POST,
//!   `Action=GetWebIdentityToken&Version=2011-06-15`, `Audience.member.N` (1-10, each 1-1000
//!   characters), `SigningAlgorithm` (required, `RS256` or `ES384`), `DurationSeconds` (60-3600,
//!   default 300)): the GetWebIdentityToken API reference and botocore's
//!   `sts/2011-06-15/service-2.json`.
//! - The answer: `GetWebIdentityTokenResponse/GetWebIdentityTokenResult/{WebIdentityToken,
//!   Expiration}` with `ResponseMetadata/RequestId`, namespace `https://sts.amazonaws.com/doc/2011-06-15/`
//!   (the element names aws-sdk-sts 1.124 parses); errors as
//!   `ErrorResponse/Error/{Type,Code,Message}` plus `RequestId` (the query protocol's wrapped
//!   errors): `OutboundWebIdentityFederationDisabledException` (403),
//!   `AccessDenied` (403), `Throttling` (400), `ValidationError` (400).
//! - The token: AWS's "Understanding token claims" page: `iss` (the account's issuer), `sub` (the
//!   role ARN), `aud`, `iat`, `exp`, `jti`, and `aws_account`, `source_region` and
//!   `lambda_source_function_arn` under `https://sts.amazonaws.com/`; RS256 with the issuer's key.
//!
//! Not simulated: ES384 (refused with a `ValidationError` naming the simulator's limit), request
//! tags, SigV4 signature checks (only the header's presence and form are checked; there is no
//! secret key to check against), `SessionDurationEscalationException`.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::clock;
use crate::injection::{Answers, Call, Service, Shape};
use crate::issuer;
use crate::reply::Dialect;
use crate::reply::aws::AwsReply;
use crate::request::Incoming;
use crate::state::Shared;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// `POST /sts`: the query-protocol STS endpoint; only `GetWebIdentityToken` is served.
pub(crate) struct Sts;

impl Service for Sts {
    type Dialect = AwsReply;
    const ANSWERS: Answers = Answers::EVERY_READ_ONLY;

    fn dialect(&self, _shared: &Shared, _req: &Incoming) -> AwsReply {
        AwsReply::new(NAMESPACE)
    }

    async fn work(&self, call: &Call<'_, AwsReply>, _shape: Shape) -> Result<Response, Response> {
        Ok(web_identity_token(call.shared, call.req, &call.reply))
    }
}

/// `GetWebIdentityToken`: the token, or the refusal in STS's words.
fn web_identity_token(shared: &Shared, req: &Incoming, ctx: &AwsReply) -> Response {
    if req.method != Method::POST {
        return ctx.error(StatusCode::BAD_REQUEST, "InvalidAction", "Only POST is served here");
    }
    if !req.sigv4_signed() {
        return ctx.missing_authentication_token();
    }
    match (req.form_field("Action"), req.form_field("Version")) {
        (Some("GetWebIdentityToken"), Some("2011-06-15")) => {}
        (Some(action), _) if action != "GetWebIdentityToken" => {
            return ctx.error(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                &format!("Could not find operation {action} for version 2011-06-15"),
            );
        }
        _ => return ctx.error(StatusCode::BAD_REQUEST, "InvalidAction", "Missing Action or Version"),
    }
    let audiences: Vec<&str> = (1..=11)
        .map_while(|n| req.form_field(&format!("Audience.member.{n}")))
        .collect();
    if audiences.is_empty() || audiences.len() > 10 || audiences.iter().any(|a| a.is_empty() || a.len() > 1000) {
        return ctx.validation(
            "1 validation error detected: Value at 'audience' failed to satisfy constraint: Member must have length \
             between 1 and 10, each member between 1 and 1000 characters",
        );
    }
    match req.form_field("SigningAlgorithm") {
        Some("RS256") => {}
        Some("ES384") => return ctx.validation("graph-sim signs RS256 only; ES384 is not simulated"),
        _ => {
            return ctx.validation(
                "1 validation error detected: Value at 'signingAlgorithm' failed to satisfy constraint: Member must \
                 be RS256 or ES384",
            );
        }
    }
    let duration = match req.form_field("DurationSeconds").map(str::parse::<u64>) {
        None => 300,
        Some(Ok(seconds)) if (60..=3600).contains(&seconds) => seconds,
        Some(_) => {
            return ctx.validation(
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must \
                 have value between 60 and 3600",
            );
        }
    };
    let settings = shared.sts_settings();
    let fixed = &shared.fixed;
    if !settings.allowed {
        return ctx.error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!(
                "User: {} is not authorized to perform: sts:GetWebIdentityToken because no identity-based policy \
                 allows the sts:GetWebIdentityToken action",
                fixed.aws_role_arn
            ),
        );
    }
    if !settings.federation_enabled {
        return ctx.error(
            StatusCode::FORBIDDEN,
            "OutboundWebIdentityFederationDisabledException",
            "The outbound web identity federation feature is not enabled for this account. To use this feature, \
             you must first enable it through the AWS Management Console or API.",
        );
    }
    let now = clock::unix_now();
    let token = issuer::sign(
        &json!({ "alg": "RS256", "typ": "JWT", "kid": issuer::KEY_ID }),
        &web_identity_claims(shared, &audiences, now, duration),
    );
    let expiration = clock::iso8601(now + duration);
    ctx.respond(
        StatusCode::OK,
        format!(
            "<GetWebIdentityTokenResponse xmlns=\"{NAMESPACE}\">\n  <GetWebIdentityTokenResult>\n    \
             <WebIdentityToken>{token}</WebIdentityToken>\n    <Expiration>{expiration}</Expiration>\n  \
             </GetWebIdentityTokenResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  \
             </ResponseMetadata>\n</GetWebIdentityTokenResponse>\n",
            ctx.request_id
        ),
    )
}

fn web_identity_claims(shared: &Shared, audiences: &[&str], now: u64, duration: u64) -> Value {
    let fixed = &shared.fixed;
    // One audience is a string, several an array (RFC 7519 4.1.3).
    let aud = match audiences {
        [one] => json!(one),
        many => json!(many),
    };
    json!({
        "iss": issuer::issuer_url(&shared.base_url, &fixed.aws_account_id),
        "sub": fixed.aws_role_arn,
        "aud": aud,
        "iat": now,
        "exp": now + duration,
        "jti": Uuid::new_v4().to_string(),
        "https://sts.amazonaws.com/": {
            "aws_account": fixed.aws_account_id,
            "source_region": "us-east-1",
            "lambda_source_function_arn": format!("arn:aws:lambda:us-east-1:{}:function:mdi-sensor-key", fixed.aws_account_id),
        },
    })
}
