//! The audit line records who called from the request context AWS sets (ARN, access key id, source
//! IP, user agent), never from headers the caller writes, so it can be matched with CloudTrail.

mod common;

use common::*;

#[tokio::test]
async fn a_key_reads_audit_line_names_the_arn_access_key_id_source_ip_and_user_agent_of_the_context() {
    let world = world(Setup::default()).await;
    let mut event: serde_json::Value = serde_json::from_str(&events_json("get-key.json")).unwrap();
    // Headers are the caller's to write: none of these may reach the audit line.
    event["headers"]["user-agent"] = "forged-agent/6.6".into();
    event["headers"]["x-forwarded-for"] = "203.0.113.66".into();

    let reply = call(
        &world.app,
        request_from_json(&event.to_string(), std::time::Duration::from_secs(30)),
    )
    .await;

    assert_eq!(reply.status, 200);
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|line| line.contains("\"target\":\"audit\"") && line.contains("\"operation\":\"read-key\""))
        .expect("an audit line for the read");
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    let fields = &line["fields"];
    assert_eq!(fields["caller"], READER);
    assert_eq!(fields["access_key_id"], "ASIAEXAMPLEEXAMPLE00");
    assert_eq!(fields["source_ip"], "10.0.0.10");
    assert_eq!(fields["user_agent"], "sensor-installer/1.0");
    assert!(!logs.contains("forged-agent") && !logs.contains("203.0.113.66"));
    world.assert_no_leaks();
}
