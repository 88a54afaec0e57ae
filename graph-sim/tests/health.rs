//! The simulated health issues honour `$filter` in exactly the grammar Microsoft's List
//! healthIssues page documents, page with the filter carried on in each next link, and refuse
//! every other filter in Graph's error shape.

mod common;

use common::*;
use graph_sim::{SimHandle, SimHealthIssue};
use serde_json::Value;

const ISSUES_PATH: &str = "security/identities/healthIssues";

async fn list(sim: &SimHandle, url: &str) -> reqwest::Response {
    client()
        .get(url)
        .bearer_auth(token(sim).await)
        .send()
        .await
        .expect("Graph answers")
}

/// Every issue id the filtered list answers, following next links, and how many pages it took.
async fn every_id(sim: &SimHandle, query: &str) -> (Vec<String>, usize) {
    let mut url = format!("{}?{query}", graph_url(sim, "v1.0", ISSUES_PATH));
    let (mut ids, mut pages) = (Vec::new(), 0);
    loop {
        let response = list(sim, &url).await;
        assert_eq!(response.status(), 200, "{url}");
        let body: Value = response.json().await.unwrap();
        pages += 1;
        ids.extend(
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|issue| issue["id"].as_str().unwrap().to_owned()),
        );
        match body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return (ids, pages),
        }
    }
}

fn issue(id: &str, dns_name: &str, status: &str, severity: &str) -> SimHealthIssue {
    SimHealthIssue {
        id: id.to_owned(),
        ..SimHealthIssue::open_on(dns_name).with(status, severity)
    }
}

fn tenant() -> Vec<SimHealthIssue> {
    let mut global = issue("g1", "dc1.contoso.com", "open", "medium");
    global.health_issue_type = "global".to_owned();
    global.domain_names = vec!["domain1.contoso.com".to_owned()];
    vec![
        issue("a", "dc1.contoso.com", "open", "high"),
        issue("b", "dc1.contoso.com", "closed", "high"),
        issue("c", "dc2.fabrikam.com", "open", "low"),
        issue("d", "dc2.contoso.com", "suppressed", "medium"),
        global,
        issue("e", "DC3.CONTOSO.COM", "open", "medium"),
    ]
}

#[tokio::test]
async fn the_documented_filters_select_the_issues_they_name_across_pages() {
    let sim = start().await;
    sim.set_health_issues(tenant());
    sim.set_health_issue_page_size(1);

    for (filter, expected) in [
        ("Status eq 'open'", vec!["a", "c", "g1", "e"]),
        ("status%20eq%20%27open%27", vec!["a", "c", "g1", "e"]),
        ("Status eq 'open' and healthIssueType eq 'global'", vec!["g1"]),
        ("Status eq 'open' and severity eq 'medium'", vec!["g1", "e"]),
        (
            "Status eq 'open' and healthIssueType eq 'global' and domainNames/any(s:endswith(s,'contoso.com'))",
            vec!["g1"],
        ),
        (
            "Status eq 'open' and sensorDNSNames/any(s:endswith(s,'contoso.com'))",
            vec!["a", "g1", "e"],
        ),
    ] {
        let (ids, pages) = every_id(&sim, &format!("$filter={filter}")).await;
        assert_eq!(ids, expected, "{filter}");
        assert_eq!(
            pages,
            expected.len(),
            "{filter}: one issue a page, the filter kept on each link"
        );
    }
}

#[tokio::test]
async fn top_keeps_the_first_matches_as_the_page_shows() {
    let sim = start().await;
    sim.set_health_issues(tenant());

    let (ids, _) = every_id(&sim, "$filter=Status eq 'open'&$top=2").await;

    assert_eq!(ids, ["a", "c"]);
}

#[tokio::test]
async fn a_filter_the_page_does_not_document_is_a_bad_request() {
    let sim = start().await;
    sim.set_health_issues(tenant());
    for filter in [
        "displayName eq 'x'",
        "status ne 'open'",
        "status eq 'open' or severity eq 'low'",
        "sensorDNSNames/any(s:startswith(s,'dc1'))",
    ] {
        let url = format!("{}?$filter={filter}", graph_url(&sim, "v1.0", ISSUES_PATH));

        let (status, code, message) = graph_error(list(&sim, &url).await).await;

        assert_eq!((status, code.as_str()), (400, "BadRequest"), "{filter}");
        assert!(message.starts_with("Invalid filter clause"), "{message}");
    }
    let unfiltered = list(&sim, &graph_url(&sim, "beta", ISSUES_PATH)).await;
    let body: Value = unfiltered.json().await.unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 6, "no filter: every issue");
}
