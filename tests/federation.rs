//! `GRAPH_AUTH=aws-federation` end to end: no Graph credential anywhere. The function's STS
//! client (the AWS SDK, over the project's HTTP adapter, aimed at the simulator through
//! `AWS_ENDPOINT_URL_STS`) gets a web identity token for each Entra token request; the simulated
//! Entra fetches the simulated issuer's keys, verifies the token and matches it against the app's
//! federated identity credentials; Graph is the simulator's; Secrets Manager is moto's, behind a
//! counting proxy.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use graph_sim::{Endpoint, Fault, FederatedCredential, SimCloud, SimConfig};
use serde_json::Value;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const GLOBAL_AUDIENCE: &str = "api://AzureADTokenExchange";

fn federated() -> Setup {
    Setup {
        federation: true,
        key_secret: false,
        secrets_proxy: true,
        ..Setup::default()
    }
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// The client assertions of the token requests the simulator received, oldest first.
fn assertions(world: &World) -> Vec<String> {
    world
        .sim
        .requests()
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::Token))
        .filter_map(|r| r.form_field("client_assertion").map(str::to_owned))
        .collect()
}

fn secrets_manager_calls(world: &World) -> usize {
    let proxy = world.proxy.as_ref().expect("the proxy counts Secrets Manager calls");
    [
        "GetSecretValue",
        "DescribeSecret",
        "PutSecretValue",
        "UpdateSecretVersionStage",
    ]
    .iter()
    .map(|operation| proxy.calls(operation))
    .sum()
}

/// Asserts that no JWT the function received or sent appears in `body` or in any log line.
fn assert_no_token_in(world: &World, body: &str) {
    for secret in world.secrets() {
        assert!(!body.contains(&secret), "a token or secret is in the answer: {body}");
    }
    world.assert_no_leaks();
}

#[tokio::test]
async fn a_cold_get_makes_one_sts_call_one_token_request_one_graph_call_and_no_secrets_manager_call() {
    let world = world(federated()).await;

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.key(), world.sim.current_key());
    assert_eq!(world.sim.calls(Endpoint::WebIdentityToken), 1);
    assert_eq!(world.sim.calls(Endpoint::Token), 1);
    assert_eq!(world.sim.calls(Endpoint::GetKey), 1);
    assert_eq!(secrets_manager_calls(&world), 0);
    let requests = world.sim.requests();
    let sts = requests
        .iter()
        .find(|r| r.endpoint == Some(Endpoint::WebIdentityToken))
        .unwrap();
    assert!(
        sts.header("authorization")
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 Credential=testing/")
    );
    assert_eq!(sts.form_field("Action"), Some("GetWebIdentityToken"));
    assert_eq!(sts.form_field("Version"), Some("2011-06-15"));
    assert_eq!(sts.form_field("Audience.member.1"), Some(GLOBAL_AUDIENCE));
    assert_eq!(sts.form_field("SigningAlgorithm"), Some("RS256"));
    let duration: u64 = sts.form_field("DurationSeconds").unwrap().parse().unwrap();
    assert_eq!(duration, 60, "the shortest token STS issues");
    let token = requests.iter().find(|r| r.endpoint == Some(Endpoint::Token)).unwrap();
    assert_eq!(token.form_field("client_assertion_type"), Some(JWT_BEARER));
    assert_eq!(token.form_field("client_secret"), None);
    let sent = claims(token.form_field("client_assertion").unwrap());
    assert_eq!(sent["iss"], world.sim.aws_issuer().as_str());
    assert_eq!(sent["sub"], world.sim.aws_role_arn().as_str());
    assert_eq!(sent["aud"], GLOBAL_AUDIENCE);
    world.assert_no_leaks();
}

#[tokio::test]
async fn warm_gets_reuse_the_entra_token_and_ask_sts_for_nothing() {
    let world = world(federated()).await;
    call(&world.app, event("get-key.json")).await;

    for _ in 0..3 {
        assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    }

    assert_eq!(world.sim.calls(Endpoint::WebIdentityToken), 1);
    assert_eq!(world.sim.calls(Endpoint::Token), 1);
    assert_eq!(world.sim.calls(Endpoint::GetKey), 4);
}

#[tokio::test]
async fn a_token_refresh_sends_a_fresh_sts_token_never_the_old_one() {
    let world = world(federated()).await;
    call(&world.app, event("get-key.json")).await;
    world.sim.revoke_tokens();

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(world.sim.calls(Endpoint::WebIdentityToken), 2);
    assert_eq!(world.sim.calls(Endpoint::Token), 2);
    let sent = assertions(&world);
    assert_ne!(sent[0], sent[1]);
    assert_ne!(claims(&sent[0])["jti"], claims(&sent[1])["jti"]);
}

#[tokio::test]
async fn an_expiring_entra_token_is_replaced_with_a_fresh_sts_token_each_time() {
    // A token Entra says is spent at once (`expires_in` 0) makes the next call fetch a new one.
    let world = world(federated()).await;

    for _ in 0..2 {
        world.sim.inject(Endpoint::Token, Fault::ExpiresIn(0));
        assert_eq!(call(&world.app, event("get-key.json")).await.status, 200);
    }

    assert_eq!(world.sim.calls(Endpoint::WebIdentityToken), 2);
    assert_eq!(world.sim.calls(Endpoint::Token), 2);
}

#[tokio::test]
async fn a_usgov_deployment_asks_sts_for_the_usgov_token_exchange_audience() {
    let world = world(Setup {
        sim: SimConfig::in_cloud(SimCloud::UsGov),
        extra_env: vec![("GRAPH_CLOUD", "usgov".to_owned())],
        ..federated()
    })
    .await;
    world.sim.remove_federated_credentials();
    world.sim.register_federated_credential(FederatedCredential {
        issuer: world.sim.aws_issuer(),
        subject: world.sim.aws_role_arn(),
        audiences: vec!["api://AzureADTokenExchangeUSGov".to_owned()],
    });

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(claims(&assertions(&world)[0])["aud"], "api://AzureADTokenExchangeUSGov");
}

#[tokio::test]
async fn federation_disabled_on_the_account_names_the_command_that_enables_it() {
    let world = world(federated()).await;
    world.sim.set_outbound_federation(false);

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.json["type"],
        "tag:mdi-sensor-key,2026:problem/federation-disabled"
    );
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("aws iam enable-outbound-web-identity-federation"),
        "{detail}"
    );
    assert_eq!(reply.json["upstream"], "sts");
    assert!(
        reply.json["upstreamRequestId"].as_str().is_some(),
        "STS's request id: {}",
        reply.json
    );
    assert_eq!(world.sim.calls(Endpoint::Token), 0, "nothing is sent to Entra");
    assert_no_token_in(&world, &reply.json.to_string());
}

#[tokio::test]
async fn a_role_without_sts_get_web_identity_token_is_told_what_to_allow() {
    let world = world(federated()).await;
    world.sim.set_web_identity_allowed(false);

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.json["type"],
        "tag:mdi-sensor-key,2026:problem/web-identity-denied"
    );
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("sts:GetWebIdentityToken") && detail.contains(GLOBAL_AUDIENCE) && detail.contains("RS256"),
        "{detail}"
    );
    assert_eq!(world.sim.calls(Endpoint::Token), 0);
    assert_no_token_in(&world, &reply.json.to_string());
}

#[tokio::test]
async fn sts_throttling_past_the_sdks_retries_is_a_503_to_retry_later() {
    let world = world(federated()).await;
    for _ in 0..3 {
        world
            .sim
            .inject(Endpoint::WebIdentityToken, Fault::TooManyRequests { retry_after: None });
    }

    let reply = call(&world.app, event("get-key.json")).await;

    assert_eq!(reply.status, 503, "{}", reply.json);
    assert_eq!(reply.json["type"], "tag:mdi-sensor-key,2026:problem/sts-unavailable");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(
        world.sim.calls(Endpoint::WebIdentityToken),
        3,
        "the SDK retried throttling"
    );
    assert_eq!(
        call(&world.app, event("get-key.json")).await.status,
        200,
        "and it recovers"
    );
}

/// A refusal for want of a matching federated credential: the problem says why and the type,
/// never the token's issuer, subject or the app (issue 21 §4); the request's log line has the
/// exact trust to register, from the token's own claims, as a ready `az` command. Never the token.
async fn refused_with(world: &World, aadsts: &str) -> String {
    let reply = call(&world.app, event("get-key.json")).await;
    assert_eq!(reply.status, 502, "{}", reply.json);
    assert_eq!(
        reply.json["type"],
        "tag:mdi-sensor-key,2026:problem/federated-credential-refused"
    );
    assert!(reply.json["code"].as_str().unwrap().contains(aadsts), "{}", reply.json);
    let detail = reply.json["detail"].as_str().unwrap().to_owned();
    let client_id = SimConfig::default().client_id;
    let command = format!("az ad app federated-credential create --id {client_id} --parameters '");
    let body = reply.json.to_string();
    for named in [
        command.as_str(),
        &client_id,
        &world.sim.aws_issuer(),
        &world.sim.aws_role_arn(),
        GLOBAL_AUDIENCE,
    ] {
        assert!(!body.contains(named), "{named} in {body}");
    }
    assert!(detail.contains("log line"), "{detail}");
    let request_id = reply.json["requestId"].as_str().unwrap().to_owned();
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|line| line.contains(&request_id) && line.contains("\"diagnosis\""))
        .unwrap_or_else(|| panic!("the log line of request {request_id}"));
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    let diagnosis = line["fields"]["diagnosis"].as_str().unwrap();
    assert!(diagnosis.contains(&command), "{diagnosis}");
    assert!(diagnosis.contains(&world.sim.aws_issuer()), "{diagnosis}");
    assert!(diagnosis.contains(&world.sim.aws_role_arn()), "{diagnosis}");
    assert!(diagnosis.contains(GLOBAL_AUDIENCE), "{diagnosis}");
    assert_no_token_in(world, &body);
    detail
}

#[tokio::test]
async fn an_app_without_a_credential_for_the_accounts_issuer_is_told_the_issuer_to_register() {
    let world = world(federated()).await;
    world.sim.remove_federated_credentials();

    let detail = refused_with(&world, "AADSTS700211").await;

    assert!(detail.contains("issuer"), "{detail}");
}

#[tokio::test]
async fn a_credential_for_another_role_is_told_the_subject_to_register() {
    let world = world(federated()).await;
    world.sim.remove_federated_credentials();
    world.sim.register_federated_credential(FederatedCredential {
        issuer: world.sim.aws_issuer(),
        subject: "arn:aws:iam::123456789012:role/some-other-function".to_owned(),
        audiences: vec![GLOBAL_AUDIENCE.to_owned()],
    });

    let detail = refused_with(&world, "AADSTS700213").await;

    assert!(detail.contains("subject"), "{detail}");
}

#[tokio::test]
async fn a_credential_for_another_audience_is_told_the_audience_to_register() {
    let world = world(federated()).await;
    world.sim.remove_federated_credentials();
    world.sim.register_federated_credential(FederatedCredential {
        issuer: world.sim.aws_issuer(),
        subject: world.sim.aws_role_arn(),
        audiences: vec!["api://AzureADTokenExchangeUSGov".to_owned()],
    });

    let detail = refused_with(&world, "AADSTS700212").await;

    assert!(detail.contains("audience"), "{detail}");
}

#[tokio::test]
async fn no_federated_flow_leaks_a_web_identity_token_into_logs_or_answers() {
    let world = world(federated()).await;
    let mut bodies = Vec::new();
    for step in 0..4 {
        // Each step after the first revokes the Entra token, so each needs a fresh STS token.
        if step > 0 {
            world.sim.revoke_tokens();
        }
        match step {
            2 => world.sim.remove_federated_credentials(),
            3 => world.sim.set_web_identity_allowed(false),
            _ => {}
        }
        let mut reply = call(&world.app, event("get-key.json")).await;
        if let Some(object) = reply.json.as_object_mut() {
            object.remove("sensorDeploymentAccessKey");
        }
        bodies.push(reply.json.to_string());
    }

    assert!(assertions(&world).len() >= 3, "tokens were sent to Entra");
    assert_no_token_in(&world, &bodies.join("\n"));
    let logs = captured_logs();
    assert!(!logs.contains("WebIdentityToken>"), "no STS answer body in the logs");
}
