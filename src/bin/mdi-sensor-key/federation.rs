//! `federation-trust`: what the Entra app must trust for `GraphAuth=aws-federation`, printed as
//! the ready `az ad app federated-credential create` command. The issuer comes from IAM
//! `GetOutboundWebIdentityFederationInfo` (its `IssuerIdentifier`, IAM API reference), with the
//! caller's usual AWS credentials; the subject is the function role's ARN; the audience is the
//! cloud's token-exchange audience, as the function asks STS for it.

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use mdi_sensor_key::cloud::Cloud;
use mdi_sensor_key::federation::Trust;
use serde_json::json;

use super::args::CloudArg;
use super::exit::Failure;
use super::output::{Report, pairs};

pub async fn trust(role_arn: &str, app_id: &str, cloud: CloudArg) -> Result<Report, Failure> {
    let audience = audience(cloud)?;
    if !is_role_arn(role_arn) {
        return Err(Failure::Config(
            "--role-arn is not an IAM role ARN (arn:aws:iam::<account>:role/<name>): pass the stack output FunctionRoleArn".into(),
        ));
    }
    if !mdi_sensor_key::credentials::tenant_id_is_path_safe(app_id) {
        return Err(Failure::Config("--app-id is not an application (client) id".into()));
    }
    let issuer = issuer().await?;
    let trust = Trust {
        issuer,
        subject: role_arn.to_owned(),
        audience: audience.to_owned(),
    };
    let command = trust.az_command(app_id);
    Ok(Report {
        json: json!({
            "issuer": trust.issuer,
            "subject": trust.subject,
            "audience": trust.audience,
            "command": command,
        }),
        table: format!(
            "{}\n\n{command}",
            pairs(&[
                ("Issuer", &trust.issuer),
                ("Subject", &trust.subject),
                ("Audience", &trust.audience),
            ])
        ),
        code: 0,
    })
}

/// The audience the function asks STS for in `cloud`; `auto` is refused, since the tenant's cloud
/// decides it.
fn audience(cloud: CloudArg) -> Result<&'static str, Failure> {
    let cloud = match cloud {
        CloudArg::Global => Cloud::Global,
        CloudArg::Usgov => Cloud::UsGov,
        CloudArg::Dod => Cloud::Dod,
        CloudArg::Auto => {
            return Err(Failure::Config(
                "federation-trust needs --cloud global, usgov or dod: the audience to trust is the tenant's cloud's"
                    .into(),
            ));
        }
    };
    Ok(cloud.token_exchange_audience())
}

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            // IAM's own character set for role paths and names.
            && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))))
}

/// The account's issuer URL, from IAM; `AWS_ENDPOINT_URL_IAM` works as for every SDK call.
async fn issuer() -> Result<String, Failure> {
    let aws = super::aws_sdk_config("IAM").await?;
    let info = aws_sdk_iam::Client::new(&aws)
        .get_outbound_web_identity_federation_info()
        .send()
        .await
        .map_err(|error| match &error {
            SdkError::ServiceError(context) => match context.err().code() {
                Some("FeatureDisabled") => Failure::Config(
                    "outbound identity federation is not enabled for this AWS account: run `aws iam enable-outbound-web-identity-federation` first".into(),
                ),
                Some("AccessDenied" | "AccessDeniedException") => Failure::Refused(
                    "IAM refused GetOutboundWebIdentityFederationInfo: your AWS identity needs iam:GetOutboundWebIdentityFederationInfo".into(),
                ),
                code => Failure::Refused(format!(
                    "IAM refused GetOutboundWebIdentityFederationInfo ({})",
                    code.unwrap_or("unknown error")
                )),
            },
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
                Failure::Unavailable("IAM could not be reached".into())
            }
            _ => Failure::Other("IAM's answer could not be read".into()),
        })?;
    if !info.jwt_vending_enabled() {
        return Err(Failure::Config(
            "outbound identity federation is disabled for this AWS account: run `aws iam enable-outbound-web-identity-federation`".into(),
        ));
    }
    info.issuer_identifier()
        .filter(|issuer| {
            (issuer.starts_with("https://") || issuer.starts_with("http://"))
                && issuer.chars().all(|c| c.is_ascii_graphic() && c != '\'')
        })
        .map(str::to_owned)
        .ok_or_else(|| Failure::Other("IAM answered without a usable IssuerIdentifier".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_iam_role_arn_is_a_subject() {
        assert!(is_role_arn(
            "arn:aws:iam::123456789012:role/mdi-sensor-key-FunctionRole-AbC"
        ));
        assert!(is_role_arn("arn:aws-us-gov:iam::123456789012:role/path/name"));
        for wrong in [
            "arn:aws:sts::123456789012:assumed-role/r/s",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::1234:role/r",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/r'; rm",
            "arn:aws:iam::123456789012:role/r'x",
        ] {
            assert!(!is_role_arn(wrong), "{wrong}");
        }
    }

    #[test]
    fn the_audience_is_the_clouds_and_auto_is_refused() {
        assert_eq!(audience(CloudArg::Global), Ok("api://AzureADTokenExchange"));
        assert_eq!(audience(CloudArg::Dod), Ok("api://AzureADTokenExchangeUSGov"));
        assert!(matches!(audience(CloudArg::Auto), Err(Failure::Config(_))));
    }
}
