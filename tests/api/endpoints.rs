//! Endpoints: create, list, detail, delete (docs/api.md §3; the VPCEP API reference's endpoint
//! object and CreateEndpoint).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{json, Value};

use crate::support::*;

/// Keys every endpoint body carries (the reference's endpoint object); the rest are conditional.
const CORE_KEYS: &[&str] = &[
    "id",
    "service_type",
    "status",
    "active_status",
    "endpoint_service_name",
    "marker_id",
    "endpoint_service_id",
    "enable_dns",
    "ip",
    "vpc_id",
    "subnet_id",
    "created_at",
    "updated_at",
    "project_id",
    "tags",
    "whitelist",
    "enable_whitelist",
    "description",
];

#[track_caller]
fn assert_core_keys(ep: &Value, what: &str) {
    let keys = key_set(ep);
    let missing: Vec<_> = CORE_KEYS.iter().filter(|k| !keys.contains(**k)).collect();
    assert!(missing.is_empty(), "{what}: missing {missing:?} in {ep}");
    assert!(
        !keys.contains("error"),
        "{what}: `error` only when failed: {ep}"
    );
}

#[track_caller]
fn assert_private_ip(v: &Value) -> Ipv4Addr {
    let ip: Ipv4Addr = str_of(v)
        .parse()
        .unwrap_or_else(|e| panic!("ip {v} is not IPv4: {e}"));
    let o = ip.octets();
    assert!(
        o[0] == 172 && (16..=31).contains(&o[1]),
        "{ip} is not in 172.16.0.0/12"
    );
    ip
}

#[tokio::test]
async fn create_endpoint_is_accepted_when_approval_is_disabled() {
    let app = TestApp::spawn();
    let svc = app.create_service(&service_body(false)).await.ok().clone();
    let sid = str_of(&svc["id"]);
    let body = endpoint_body(&sid);
    let ep = app.create_endpoint(&body).await.ok().clone();
    assert_core_keys(&ep, "CreateEndpoint response");
    let keys = key_set(&ep);
    assert!(
        !keys.contains("dns_names"),
        "CreateEndpoint has no dns_names: {ep}"
    );
    assert_lower_uuid(&ep["id"]);
    assert_eq!(ep["status"], "accepted");
    assert_eq!(ep["service_type"], "interface");
    assert_eq!(ep["endpoint_service_id"], sid);
    assert_eq!(ep["endpoint_service_name"], svc["service_name"]);
    assert_eq!(ep["vpc_id"], body["vpc_id"]);
    assert_eq!(ep["subnet_id"], body["subnet_id"]);
    assert_eq!(ep["project_id"], app.project_id());
    assert_eq!(ep["description"], "");
    assert_eq!(ep["tags"], json!([]));
    assert_eq!(ep["whitelist"], json!([]));
    assert_eq!(ep["enable_whitelist"], false);
    assert_eq!(ep["enable_dns"], false);
    assert!(
        ep["marker_id"].as_u64().is_some_and(|m| m > 0),
        "marker_id: {}",
        ep["marker_id"]
    );
    assert_timestamp(&ep["created_at"]);
    assert_timestamp(&ep["updated_at"]);
    assert_private_ip(&ep["ip"]);
}

#[tokio::test]
async fn create_endpoint_is_pending_when_approval_is_enabled() {
    let app = TestApp::spawn();
    let sid = app.new_service(true).await;
    let ep = app.new_endpoint(&sid).await;
    assert_eq!(ep["status"], "pendingAcceptance");
    let eid = str_of(&ep["id"]);
    assert_eq!(
        app.get_endpoint(&eid).await.ok()["status"],
        "pendingAcceptance"
    );
    assert_eq!(
        app.connection(&sid, &eid).await["status"],
        "pendingAcceptance"
    );
}

#[tokio::test]
async fn marker_ids_are_unique_positive_integers() {
    let app = TestApp::spawn();
    let s1 = app.new_service(false).await;
    let s2 = app.new_service(true).await;
    let mut markers = HashSet::new();
    let mut first = None;
    for i in 0..6 {
        let ep = app.new_endpoint(if i % 2 == 0 { &s1 } else { &s2 }).await;
        let m = ep["marker_id"]
            .as_u64()
            .unwrap_or_else(|| panic!("marker_id not an integer: {ep}"));
        assert!(m > 0);
        assert!(markers.insert(m), "marker_id {m} repeated");
        first.get_or_insert(str_of(&ep["id"]));
    }
    // Never reused, even after a delete.
    app.delete_endpoint(&first.unwrap())
        .await
        .assert_status(204);
    let ep = app.new_endpoint(&s1).await;
    assert!(
        markers.insert(ep["marker_id"].as_u64().unwrap()),
        "marker_id reused after delete"
    );
}

#[tokio::test]
async fn endpoint_ip_is_assigned_or_kept() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let vpc = uuid();
    let mut ips = HashSet::new();
    for _ in 0..3 {
        let ep = app
            .create_endpoint(
                &json!({"endpoint_service_id": sid, "vpc_id": vpc, "subnet_id": uuid()}),
            )
            .await
            .ok()
            .clone();
        let ip = assert_private_ip(&ep["ip"]);
        assert!(ips.insert(ip), "{ip} assigned twice in one VPC");
        assert_eq!(
            app.get_endpoint(&str_of(&ep["id"])).await.ok()["ip"],
            ep["ip"]
        );
    }
    let mut body = endpoint_body(&sid);
    body["port_ip"] = json!("10.1.2.3");
    let ep = app.create_endpoint(&body).await.ok().clone();
    assert_eq!(ep["ip"], "10.1.2.3");
    assert_eq!(
        app.get_endpoint(&str_of(&ep["id"])).await.ok()["ip"],
        "10.1.2.3"
    );
}

#[tokio::test]
async fn create_endpoint_rejects_invalid_bodies() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let mut cases = Vec::new();
    for key in ["endpoint_service_id", "vpc_id", "subnet_id"] {
        let mut body = endpoint_body(&sid);
        body.as_object_mut().unwrap().remove(key);
        cases.push((format!("missing {key}"), body));
    }
    let mut tweak = |what: &str, key: &str, value: Value| {
        let mut body = endpoint_body(&sid);
        body[key] = value;
        cases.push((what.to_string(), body));
    };
    tweak("vpc_id not a UUID", "vpc_id", json!("vpc-1"));
    tweak("subnet_id not a UUID", "subnet_id", json!("subnet-1"));
    tweak("port_ip not IPv4", "port_ip", json!("300.1.2.3"));
    tweak("port_ip IPv6", "port_ip", json!("::1"));
    tweak("description with >", "description", json!("a>b"));
    tweak(
        "description of 513 chars",
        "description",
        json!("d".repeat(513)),
    );
    tweak("vpc_id a number", "vpc_id", json!(5));
    for (what, body) in &cases {
        let r = app.create_endpoint(body).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        assert!(
            r.body["error_code"]
                .as_str()
                .is_some_and(|c| c.starts_with("EndPoint.")),
            "{what}: {}",
            r.text
        );
    }
    assert_eq!(
        app.list_endpoints("").await.ok()["total_count"],
        0,
        "nothing may be created"
    );
}

#[tokio::test]
async fn create_endpoint_to_a_missing_service_is_2003() {
    let app = TestApp::spawn();
    app.create_endpoint(&endpoint_body(&uuid()))
        .await
        .assert_error(400, "EndPoint.2003");
}

#[tokio::test]
async fn create_endpoint_from_another_account_is_2012() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let other = app.new_account();
    app.as_(&other)
        .create_endpoint(&endpoint_body(&sid))
        .await
        .assert_error(400, "EndPoint.2012");
    let r = app.list_connections(&sid, "").await;
    assert_eq!(r.ok()["total_count"], 0);
    assert_eq!(
        app.as_(&other).list_endpoints("").await.ok()["total_count"],
        0
    );
}

#[tokio::test]
async fn another_project_of_the_owner_account_may_connect() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let sibling = app.new_project_in_owner_account();
    let api = app.as_(&sibling);
    let ep = api.new_endpoint(&sid).await;
    let eid = str_of(&ep["id"]);
    assert_eq!(ep["project_id"], sibling.project_id);
    assert_eq!(ep["status"], "accepted");

    // The endpoint lives in the consumer's project...
    assert_eq!(api.get_endpoint(&eid).await.ok()["id"], eid);
    assert_eq!(
        ids_of(&api.list_endpoints("").await.ok()["endpoints"]),
        vec![eid.clone()]
    );
    app.get_endpoint(&eid)
        .await
        .assert_error(404, "EndPoint.0005");
    assert_eq!(app.list_endpoints("").await.ok()["total_count"], 0);

    // ...and the owner sees the connection, with the consumer's account.
    let c = app.connection(&sid, &eid).await;
    assert_eq!(c["domain_id"], sibling.domain_id);
    assert_eq!(c["marker_id"], ep["marker_id"]);
    let r = app.set_descriptions(&sid, &[(&eid, "sibling")]).await;
    assert_eq!(r.ok()["connections"][0]["domain_id"], sibling.domain_id);
}

#[tokio::test]
async fn endpoint_detail_matches_the_created_endpoint() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let mut body = endpoint_body(&sid);
    body["description"] = json!("consumer text 中文");
    let ep = app.create_endpoint(&body).await.ok().clone();
    let eid = str_of(&ep["id"]);
    let detail = app.get_endpoint(&eid).await.ok().clone();
    assert_core_keys(&detail, "ListEndpointInfoDetails response");
    for key in CORE_KEYS {
        assert_eq!(detail[*key], ep[*key], "{key}");
    }
    assert_eq!(app.get_endpoint(&eid.to_uppercase()).await.ok()["id"], eid);
    app.get_endpoint(&uuid())
        .await
        .assert_error(404, "EndPoint.0005");
}

#[tokio::test]
async fn endpoint_list_filters_and_pages() {
    let app = TestApp::spawn();
    let svc_a = app
        .create_service(&{
            let mut b = service_body(false);
            b["service_name"] = json!("Alpha");
            b
        })
        .await
        .ok()
        .clone();
    let sid_a = str_of(&svc_a["id"]);
    let sid_b = app.new_service(false).await;
    let vpc = uuid();
    let mut in_vpc = Vec::new();
    for _ in 0..2 {
        let ep = app
            .create_endpoint(
                &json!({"endpoint_service_id": sid_a, "vpc_id": vpc, "subnet_id": uuid()}),
            )
            .await
            .ok()
            .clone();
        in_vpc.push(str_of(&ep["id"]));
    }
    let other = str_of(&app.new_endpoint(&sid_b).await["id"]);

    let all = app.list_endpoints("limit=1000").await;
    let body = all.ok();
    assert_keys(
        body,
        &["endpoints", "total_count"],
        "ListEndpoints response",
    );
    assert_eq!(body["total_count"], 3);
    for item in body["endpoints"].as_array().unwrap() {
        assert_core_keys(item, "EndpointResponseBody");
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let q = |query: String| {
        let app = &app;
        async move {
            let r = app.list_endpoints(&query).await;
            let body = r.ok().clone();
            let ids = ids_of(&body["endpoints"]);
            assert_eq!(body["total_count"], ids.len(), "{query}");
            ids
        }
    };
    assert_eq!(q(format!("id={other}")).await, vec![other.clone()]);
    assert_eq!(
        sorted(q(format!("vpc_id={vpc}")).await),
        sorted(in_vpc.clone())
    );
    assert_eq!(
        sorted(q("endpoint_service_name=alph".into()).await),
        sorted(in_vpc.clone())
    );
    assert_eq!(
        q("endpoint_service_name=nomatch".into()).await,
        Vec::<String>::new()
    );

    let zero = app.list_endpoints("limit=0").await;
    assert_eq!(zero.ok()["endpoints"], json!([]));
    assert_eq!(zero.body["total_count"], 3);
    let page = app.list_endpoints("limit=2&offset=2").await;
    assert_eq!(page.ok()["endpoints"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["total_count"], 3);
    let past = app.list_endpoints("offset=3").await;
    assert_eq!(past.ok()["endpoints"], json!([]));

    for (query, code) in [
        ("limit=1001", "EndPoint.0006"),
        ("limit=x", "EndPoint.0006"),
        ("offset=-5", "EndPoint.0010"),
        ("sort_key=id", "EndPoint.0017"),
        ("sort_dir=sideways", "EndPoint.0018"),
    ] {
        app.list_endpoints(query).await.assert_error(400, code);
    }
}

#[tokio::test]
async fn endpoint_list_sorts_by_creation() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let first = str_of(&app.new_endpoint(&sid).await["id"]);
    sleep_past_second().await;
    let second = str_of(&app.new_endpoint(&sid).await["id"]);
    let ids = |r: Resp| ids_of(&r.ok()["endpoints"]);
    assert_eq!(
        ids(app.list_endpoints("").await),
        vec![second.clone(), first.clone()]
    );
    assert_eq!(
        ids(app.list_endpoints("sort_dir=asc").await),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        ids(app.list_endpoints("sort_key=created_at&sort_dir=asc").await),
        vec![first.clone(), second.clone()]
    );
}

#[tokio::test]
async fn delete_endpoint_is_204_then_404() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(2).await;
    let r = app.delete_endpoint(&ids[0]).await;
    r.assert_status(204);
    assert!(
        r.text.is_empty(),
        "204 must have an empty body: {:?}",
        r.text
    );
    app.get_endpoint(&ids[0])
        .await
        .assert_error(404, "EndPoint.0005");
    app.delete_endpoint(&ids[0])
        .await
        .assert_error(404, "EndPoint.0005");
    let conns = app.list_connections(&sid, "").await;
    assert_eq!(ids_of(&conns.ok()["connections"]), vec![ids[1].clone()]);
    assert_eq!(conns.body["total_count"], 1);
    assert_eq!(app.list_endpoints("").await.ok()["total_count"], 1);
    let r = app.list_services(&format!("id={sid}")).await;
    assert_eq!(r.ok()["endpoint_services"][0]["connection_count"], 1);
}

#[tokio::test]
async fn other_accounts_cannot_see_or_delete_an_endpoint() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let other = app.new_account();
    let api = app.as_(&other);
    api.get_endpoint(&ids[0])
        .await
        .assert_error(404, "EndPoint.0005");
    api.delete_endpoint(&ids[0])
        .await
        .assert_error(404, "EndPoint.0005");
    let listed = api.list_endpoints("limit=1000").await;
    assert_eq!(listed.ok()["endpoints"], json!([]));
    assert_eq!(listed.body["total_count"], 0);
    app.get_endpoint(&ids[0]).await.ok();
    assert_eq!(app.connection(&sid, &ids[0]).await["status"], "accepted");
}

/// The keys of UpdateEndpointWhite's answer (the reference's key set for it).
const WHITE_KEYS: &[&str] = &[
    "id",
    "service_type",
    "status",
    "active_status",
    "endpoint_service_name",
    "marker_id",
    "endpoint_service_id",
    "enable_dns",
    "vpc_id",
    "subnet_id",
    "created_at",
    "updated_at",
    "project_id",
    "tags",
    "whitelist",
    "enable_whitelist",
    "policy_statement",
];

#[tokio::test]
async fn update_white_replaces_clears_and_keeps_what_is_not_named() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let ep = app.new_endpoint(&sid).await;
    let eid = str_of(&ep["id"]);
    let r = app
        .update_endpoint_white(
            &eid,
            &json!({"whitelist": ["10.0.0.0/24", "192.168.1.7"], "enable_whitelist": true}),
        )
        .await;
    let got = r.ok();
    let mut keys = WHITE_KEYS.to_vec();
    keys.push("ip");
    assert_keys(got, &keys, "UpdateEndpointWhite");
    assert_eq!(got["whitelist"], json!(["10.0.0.0/24", "192.168.1.7"]));
    assert_eq!(got["enable_whitelist"], true);
    assert_eq!(got["created_at"], ep["created_at"]);
    let detail = app.get_endpoint(&eid).await.ok().clone();
    assert_eq!(detail["whitelist"], got["whitelist"]);
    assert_eq!(detail["enable_whitelist"], true);
    assert_eq!(detail["updated_at"], got["updated_at"]);

    // An absent key keeps its value; the same values again change nothing.
    sleep_past_second().await;
    let r = app
        .update_endpoint_white(&eid, &json!({"enable_whitelist": true}))
        .await;
    assert_eq!(r.ok()["whitelist"], json!(["10.0.0.0/24", "192.168.1.7"]));
    assert_eq!(r.ok()["updated_at"], detail["updated_at"]);
    let r = app
        .update_endpoint_white(&eid, &json!({"whitelist": ["10.0.0.0/24", "192.168.1.7"]}))
        .await;
    assert_eq!(r.ok()["updated_at"], detail["updated_at"]);

    // An empty list clears the whitelist; switching it off keeps the list.
    let r = app
        .update_endpoint_white(&eid, &json!({"whitelist": []}))
        .await;
    assert_eq!(r.ok()["whitelist"], json!([]));
    assert_eq!(r.ok()["enable_whitelist"], true);
    assert_ne!(r.ok()["updated_at"], detail["updated_at"]);
    let r = app
        .update_endpoint_white(&eid, &json!({"enable_whitelist": false}))
        .await;
    assert_eq!(r.ok()["enable_whitelist"], false);
    let listed = app.list_endpoints(&format!("id={eid}")).await;
    assert_eq!(listed.ok()["endpoints"][0]["enable_whitelist"], false);
}

#[tokio::test]
async fn update_white_refuses_bad_entries_too_many_and_other_tenants() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    for bad in ["10.0.0.0/33", "10.0.0", "fe80::1", "host.example", ""] {
        app.update_endpoint_white(&eid, &json!({"whitelist": [bad]}))
            .await
            .assert_error(400, "EndPoint.2044");
    }
    let many: Vec<String> = (0..101).map(|i| format!("10.0.{i}.0/24")).collect();
    app.update_endpoint_white(&eid, &json!({ "whitelist": many }))
        .await
        .assert_error(400, "EndPoint.2045");
    app.update_endpoint_white(&eid, &json!({ "whitelist": many[..100] }))
        .await
        .assert_status(200);
    app.update_endpoint_white(&eid, &json!({"enable_whitelist": "yes"}))
        .await
        .assert_error(400, "EndPoint.0002");
    // CreateEndpoint takes the same limit.
    let mut body = endpoint_body(&sid);
    body["whitelist"] = json!(many);
    app.create_endpoint(&body)
        .await
        .assert_error(400, "EndPoint.2045");
    // Another account, and the service's owner in another project, do not see the endpoint.
    let stranger = app.as_(&app.new_account());
    stranger
        .update_endpoint_white(&eid, &json!({"whitelist": []}))
        .await
        .assert_error(404, "EndPoint.0005");
    let sibling = app.as_(&app.new_project_in_owner_account());
    sibling
        .update_endpoint_white(&eid, &json!({"whitelist": []}))
        .await
        .assert_error(404, "EndPoint.0005");
    app.update_endpoint_white(&uuid(), &json!({"whitelist": []}))
        .await
        .assert_error(404, "EndPoint.0005");
    assert_eq!(
        app.get_endpoint(&eid).await.ok()["whitelist"]
            .as_array()
            .map(Vec::len),
        Some(100)
    );
}

#[tokio::test]
async fn update_white_waits_for_a_settled_endpoint_that_has_not_failed() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    let url = app.project_url("").replacen("/v1/", "/_vpcep/v1/", 1)
        + &format!("/vpc-endpoints/{eid}/fail");
    let r = reqwest::Client::new()
        .post(url)
        .header("X-Auth-Token", app.token())
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    app.update_endpoint_white(&eid, &json!({"whitelist": ["10.0.0.1"]}))
        .await
        .assert_error(400, "EndPoint.2047");

    let slow = TestApp::with_args(&["--transition-delay", "2500ms"]);
    let sid = slow.new_service(false).await;
    for _ in 0..80 {
        if slow.get_service(&sid).await.ok()["status"] == "available" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let created = slow
        .create_endpoint(&endpoint_body(&sid))
        .await
        .ok()
        .clone();
    assert_eq!(created["status"], "creating");
    slow.update_endpoint_white(&str_of(&created["id"]), &json!({"whitelist": []}))
        .await
        .assert_error(409, "EndPoint.2019");
}
