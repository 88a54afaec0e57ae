//! Reading the tenant's cloud from its OpenID configuration document
//! (`{authority}/{tenant}/v2.0/.well-known/openid-configuration`): `cloud_instance_name`,
//! `msgraph_host` and `tenant_region_sub_scope`, vetted and mapped onto the table in
//! [`crate::cloud`], which a document can only select a row of, never extend.

use std::time::SystemTime;

use serde::Deserialize;
use tokio::time::Instant;

use super::entra;
use super::retry::{Replay, RetryPolicy};
use super::{GraphError, Upstream, UpstreamIds};
use crate::cloud::TenantCloud;
use crate::deadline::Deadline;

#[derive(Deserialize)]
struct Document {
    cloud_instance_name: Option<String>,
    msgraph_host: Option<String>,
    tenant_region_sub_scope: Option<String>,
}

/// Short host-name-like text, lower-cased (`upper` keeps the case: sub-scopes are upper-case).
fn vetted(value: Option<String>, upper: bool) -> Option<String> {
    let value = value?;
    let plausible = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
    match (plausible, upper) {
        (false, _) => Some("unrecognised".to_owned()),
        (true, true) => Some(value.to_ascii_uppercase()),
        (true, false) => Some(value.to_ascii_lowercase()),
    }
}

/// Reads the tenant's OpenID configuration document at `authority`.
pub(super) async fn discover(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    authority: &str,
    tenant_id: &str,
    deadline: Deadline,
) -> Result<TenantCloud, GraphError> {
    let url = format!("{authority}/{tenant_id}/v2.0/.well-known/openid-configuration");
    let started = Instant::now();
    let response = policy
        .send(Upstream::Entra, Replay::Safe, deadline, || {
            http.get(&url).header("Accept", "application/json")
        })
        .await
        .map_err(|failure| entra::no_answer(failure, UpstreamIds::default()))?;
    let status = response.status().as_u16();
    let request_id = super::untrusted::vetted_id(
        response
            .headers()
            .get("x-ms-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    let retry_after = super::retry::retry_after(response.headers(), SystemTime::now());
    let ids = UpstreamIds {
        request_id: request_id.clone(),
        ..Default::default()
    };
    if let Some(refused) = super::untrusted::refuse_redirect(response.status(), Upstream::Entra, ids.clone()) {
        return Err(refused);
    }
    let cap = super::untrusted::SMALL;
    let body = super::untrusted::read_capped(response, cap)
        .await
        .map_err(|error| super::untrusted::body_error(error, cap, Upstream::Entra, ids.clone()))?;
    tracing::info!(
        upstream = "entra",
        operation = "openid-configuration",
        status,
        entra_request_id = request_id.as_deref().unwrap_or(""),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "OpenID configuration answered"
    );
    if status != 200 {
        return Err(entra::refusal(
            status,
            &body,
            retry_after,
            UpstreamIds {
                request_id,
                ..UpstreamIds::default()
            },
        ));
    }
    let document: Document = serde_json::from_slice(&body).map_err(|_| GraphError::BadResponse {
        upstream: Upstream::Entra,
        reason: "the OpenID configuration is not JSON",
        ids: ids.clone(),
    })?;
    let instance = vetted(document.cloud_instance_name, false).ok_or(GraphError::BadResponse {
        upstream: Upstream::Entra,
        reason: "the OpenID configuration has no cloud_instance_name",
        ids,
    })?;
    Ok(TenantCloud {
        instance,
        graph_host: vetted(document.msgraph_host, false),
        sub_scope: vetted(document.tenant_region_sub_scope, true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_values_are_vetted_before_they_can_reach_a_message() {
        assert_eq!(
            vetted(Some("MicrosoftOnline.US".into()), false).as_deref(),
            Some("microsoftonline.us")
        );
        assert_eq!(vetted(Some("dodcon".into()), true).as_deref(), Some("DODCON"));
        assert_eq!(vetted(Some("<script>".into()), false).as_deref(), Some("unrecognised"));
        assert_eq!(vetted(None, false), None);
    }
}
