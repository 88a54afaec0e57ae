//! AWS IAM `GetOutboundWebIdentityFederationInfo`, the one IAM action the simulator serves: where
//! the account's web identity tokens come from ([`crate::issuer`]), or that outbound identity
//! federation is off (IAM API reference).

use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::injection::{Answers, Call, Service, Shape};
use crate::issuer;
use crate::reply::Dialect;
use crate::reply::aws::AwsReply;
use crate::request::Incoming;
use crate::state::Shared;

/// `POST /iam` `Action=GetOutboundWebIdentityFederationInfo&Version=2010-05-08` (IAM API
/// reference): `IssuerIdentifier` and `JwtVendingEnabled`, or `FeatureDisabled` (404) when the
/// account has not enabled outbound identity federation. The only IAM action served.
pub(crate) struct Iam;

/// IAM answers only the faults every endpoint answers.
impl Service for Iam {
    type Dialect = AwsReply;
    const ANSWERS: Answers = Answers::NONE;

    fn dialect(&self, _shared: &Shared, _req: &Incoming) -> AwsReply {
        AwsReply::new("https://iam.amazonaws.com/doc/2010-05-08/")
    }

    async fn work(&self, call: &Call<'_, AwsReply>, _shape: Shape) -> Result<Response, Response> {
        Ok(federation_info(call.shared, call.req, &call.reply))
    }
}

fn federation_info(shared: &Shared, req: &Incoming, ctx: &AwsReply) -> Response {
    if req.method != Method::POST || !req.sigv4_signed() {
        return ctx.missing_authentication_token();
    }
    if (req.form_field("Action"), req.form_field("Version"))
        != (Some("GetOutboundWebIdentityFederationInfo"), Some("2010-05-08"))
    {
        return ctx.error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "Only GetOutboundWebIdentityFederationInfo is simulated",
        );
    }
    if !shared.sts_settings().federation_enabled {
        return ctx.error(
            StatusCode::NOT_FOUND,
            "FeatureDisabled",
            "Outbound identity federation is disabled for this account.",
        );
    }
    let issuer = issuer::issuer_url(&shared.base_url, &shared.fixed.aws_account_id);
    ctx.respond(
        StatusCode::OK,
        format!(
            "<GetOutboundWebIdentityFederationInfoResponse xmlns=\"{}\">\n  \
             <GetOutboundWebIdentityFederationInfoResult>\n    <IssuerIdentifier>{issuer}</IssuerIdentifier>\n    \
             <JwtVendingEnabled>true</JwtVendingEnabled>\n  </GetOutboundWebIdentityFederationInfoResult>\n  \
             <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n\
             </GetOutboundWebIdentityFederationInfoResponse>\n",
            ctx.namespace, ctx.request_id
        ),
    )
}
