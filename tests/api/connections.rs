//! ListServiceConnections and AcceptOrRejectEndpoint (docs/api.md §3, and the VPCEP API
//! reference's operations of those names).

use serde_json::{json, Value};

use crate::support::*;

const CONNECTION_KEYS: &[&str] = &[
    "id",
    "marker_id",
    "created_at",
    "updated_at",
    "domain_id",
    "status",
    "description",
];

fn action(action: &str, endpoints: &[&str]) -> Value {
    json!({"action": action, "endpoints": endpoints})
}

/// A service with approval and `n` pending connections.
async fn gated_service(app: &TestApp, n: usize) -> (String, Vec<String>) {
    let sid = app.new_service(true).await;
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(str_of(&app.new_endpoint(&sid).await["id"]));
    }
    (sid, ids)
}

#[tokio::test]
async fn connection_list_has_the_connection_shape() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let ep = app.new_endpoint(&sid).await;
    let r = app.list_connections(&sid, "").await;
    let body = r.ok();
    assert_keys(
        body,
        &["connections", "total_count"],
        "ListServiceConnections response",
    );
    assert_eq!(body["total_count"], 1);
    let c = &body["connections"][0];
    assert_keys(c, CONNECTION_KEYS, "ConnectionEndpoints");
    assert_eq!(c["id"], ep["id"]);
    assert_eq!(c["marker_id"], ep["marker_id"]);
    assert!(c["marker_id"].is_u64());
    assert_eq!(c["created_at"], ep["created_at"]);
    assert_eq!(c["updated_at"], ep["updated_at"]);
    assert_eq!(c["domain_id"], app.domain_id());
    assert_eq!(c["status"], "accepted");
    assert_eq!(c["description"], "");
    app.list_connections(&uuid(), "")
        .await
        .assert_error(404, "EndPoint.0005");
}

#[tokio::test]
async fn connection_list_filters_by_id_marker_id_and_status() {
    let app = TestApp::spawn();
    let (sid, ids) = gated_service(&app, 3).await;
    app.accept_or_reject(&sid, &action("receive", &[&ids[0]]))
        .await
        .ok();
    app.accept_or_reject(&sid, &action("reject", &[&ids[1]]))
        .await
        .ok();

    let q = |query: String| {
        let (app, sid) = (&app, &sid);
        async move {
            let r = app.list_connections(sid, &query).await;
            let body = r.ok().clone();
            let ids = ids_of(&body["connections"]);
            assert_eq!(body["total_count"], ids.len(), "{query}");
            ids
        }
    };
    assert_eq!(q("status=accepted".into()).await, vec![ids[0].clone()]);
    assert_eq!(q("status=rejected".into()).await, vec![ids[1].clone()]);
    assert_eq!(
        q("status=pendingAcceptance".into()).await,
        vec![ids[2].clone()]
    );
    assert_eq!(q("status=failed".into()).await, Vec::<String>::new());
    assert_eq!(q(format!("id={}", ids[1])).await, vec![ids[1].clone()]);
    assert_eq!(q(format!("id={}", uuid())).await, Vec::<String>::new());
    let marker = app.connection(&sid, &ids[2]).await["marker_id"]
        .as_u64()
        .unwrap();
    assert_eq!(q(format!("marker_id={marker}")).await, vec![ids[2].clone()]);
    assert_eq!(
        q(format!("marker_id={}&status=accepted", marker)).await,
        Vec::<String>::new()
    );
    assert_eq!(q("".into()).await.len(), 3);

    app.list_connections(&sid, "status=bogus")
        .await
        .assert_error(400, "EndPoint.0019");
    for marker in ["abc", "-1", "1.5"] {
        app.list_connections(&sid, &format!("marker_id={marker}"))
            .await
            .assert_error(400, "EndPoint.0021");
    }
}

#[tokio::test]
async fn connection_list_reads_one_connection_the_terraform_way() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(3).await;
    app.set_descriptions(&sid, &[(&ids[1], "tf")]).await.ok();
    let r = app
        .list_connections(&sid, &format!("limit=1000&id={}", ids[1]))
        .await;
    let body = r.ok();
    assert_eq!(body["total_count"], 1);
    assert_eq!(body["connections"].as_array().unwrap().len(), 1);
    assert_eq!(body["connections"][0]["id"], ids[1]);
    assert_eq!(body["connections"][0]["description"], "tf");
}

#[tokio::test]
async fn connection_list_pages_and_validates_parameters() {
    let app = TestApp::spawn();
    let (sid, _) = app.service_with_connections(3).await;
    let all = ids_of(&app.list_connections(&sid, "limit=1000").await.ok()["connections"]);
    assert_eq!(all.len(), 3);
    let page = app.list_connections(&sid, "limit=2&offset=1").await;
    assert_eq!(ids_of(&page.ok()["connections"]), all[1..3].to_vec());
    assert_eq!(page.body["total_count"], 3);
    let zero = app.list_connections(&sid, "limit=0").await;
    assert_eq!(zero.ok()["connections"], json!([]));
    assert_eq!(zero.body["total_count"], 3);
    let past = app.list_connections(&sid, "offset=3").await;
    assert_eq!(past.ok()["connections"], json!([]));
    assert_eq!(past.body["total_count"], 3);
    for key in ["create_at", "created_at", "update_at", "updated_at"] {
        app.list_connections(&sid, &format!("sort_key={key}"))
            .await
            .ok();
    }
    for (query, code) in [
        ("limit=1001", "EndPoint.0006"),
        ("limit=-1", "EndPoint.0006"),
        ("limit=ten", "EndPoint.0006"),
        ("offset=-1", "EndPoint.0010"),
        ("offset=x", "EndPoint.0010"),
        ("sort_key=marker_id", "EndPoint.0017"),
        ("sort_dir=ASCENDING", "EndPoint.0018"),
    ] {
        app.list_connections(&sid, query)
            .await
            .assert_error(400, code);
    }
}

#[tokio::test]
async fn accept_and_reject_follow_the_state_machine() {
    let app = TestApp::spawn();
    let (sid, ids) = gated_service(&app, 1).await;
    let eid = ids[0].as_str();
    let steps = [
        ("receive", "accepted"), // pendingAcceptance -> accepted
        ("reject", "rejected"),  // accepted -> rejected
        ("receive", "accepted"), // rejected -> accepted
        ("reject", "rejected"),  // accepted -> rejected
    ];
    for (act, status) in steps {
        let r = app.accept_or_reject(&sid, &action(act, &[eid])).await;
        let body = r.ok();
        assert_keys(body, &["connections"], "AcceptOrRejectEndpoint response");
        let list = body["connections"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{body}");
        assert_keys(&list[0], CONNECTION_KEYS, "AcceptOrRejectEndpoint item");
        assert_eq!(list[0]["id"], eid);
        assert_eq!(list[0]["status"], status, "after {act}");
        assert_eq!(list[0]["domain_id"], app.domain_id());
        assert_eq!(app.connection(&sid, eid).await["status"], status);
        assert_eq!(app.get_endpoint(eid).await.ok()["status"], status);
    }
    // A fresh pending connection can be rejected directly.
    let other = str_of(&app.new_endpoint(&sid).await["id"]);
    let r = app
        .accept_or_reject(&sid, &action("reject", &[&other]))
        .await;
    assert_eq!(r.ok()["connections"][0]["status"], "rejected");
}

#[tokio::test]
async fn status_changes_move_updated_at_and_repeats_are_no_ops() {
    let app = TestApp::spawn();
    let (sid, ids) = gated_service(&app, 1).await;
    let eid = ids[0].as_str();
    let t0 = app.connection(&sid, eid).await["updated_at"].clone();
    sleep_past_second().await;
    let r = app.accept_or_reject(&sid, &action("receive", &[eid])).await;
    let t1 = r.ok()["connections"][0]["updated_at"].clone();
    assert!(
        str_of(&t1) > str_of(&t0),
        "accepting did not move updated_at"
    );
    sleep_past_second().await;
    let r = app.accept_or_reject(&sid, &action("receive", &[eid])).await;
    let again = &r.ok()["connections"][0];
    assert_eq!(again["status"], "accepted");
    assert_eq!(
        again["updated_at"], t1,
        "a repeated receive changed updated_at"
    );
    assert_eq!(app.connection(&sid, eid).await["updated_at"], t1);

    app.accept_or_reject(&sid, &action("reject", &[eid]))
        .await
        .ok();
    let t2 = app.connection(&sid, eid).await["updated_at"].clone();
    sleep_past_second().await;
    let r = app.accept_or_reject(&sid, &action("reject", &[eid])).await;
    assert_eq!(r.ok()["connections"][0]["status"], "rejected");
    assert_eq!(app.connection(&sid, eid).await["updated_at"], t2);
}

#[tokio::test]
async fn accept_or_reject_needs_exactly_one_endpoint() {
    let app = TestApp::spawn();
    let (sid, ids) = gated_service(&app, 2).await;
    app.accept_or_reject(&sid, &action("receive", &[]))
        .await
        .assert_error(400, "EndPoint.2031");
    app.accept_or_reject(&sid, &action("receive", &[&ids[0], &ids[1]]))
        .await
        .assert_error(400, "EndPoint.2031");
    for id in &ids {
        assert_eq!(
            app.connection(&sid, id).await["status"],
            "pendingAcceptance"
        );
    }
    app.accept_or_reject(&sid, &json!({"action": "receive"}))
        .await
        .assert_status(400);
}

#[tokio::test]
async fn accept_or_reject_rejects_an_unknown_action() {
    let app = TestApp::spawn();
    let (sid, ids) = gated_service(&app, 1).await;
    for act in ["approve", "", "accept"] {
        app.accept_or_reject(&sid, &action(act, &[&ids[0]]))
            .await
            .assert_error(400, "EndPoint.0007");
    }
    app.accept_or_reject(&sid, &json!({"endpoints": [ids[0]]}))
        .await
        .assert_status(400);
    assert_eq!(
        app.connection(&sid, &ids[0]).await["status"],
        "pendingAcceptance"
    );
}

#[tokio::test]
async fn accept_or_reject_refuses_endpoints_of_other_services() {
    let app = TestApp::spawn();
    let (sid_a, ids_a) = gated_service(&app, 1).await;
    let (_sid_b, ids_b) = gated_service(&app, 1).await;
    app.accept_or_reject(&sid_a, &action("receive", &[&ids_b[0]]))
        .await
        .assert_error(400, "EndPoint.2013");
    app.accept_or_reject(&sid_a, &action("receive", &[&uuid()]))
        .await
        .assert_error(400, "EndPoint.2013");
    assert_eq!(
        app.get_endpoint(&ids_b[0]).await.ok()["status"],
        "pendingAcceptance"
    );
    assert_eq!(
        app.connection(&sid_a, &ids_a[0]).await["status"],
        "pendingAcceptance"
    );
    app.accept_or_reject(&uuid(), &action("receive", &[&ids_a[0]]))
        .await
        .assert_error(404, "EndPoint.0005");
}

#[tokio::test]
async fn owner_sees_connections_of_another_project_in_the_account() {
    let app = TestApp::spawn();
    let (sid, _) = gated_service(&app, 0).await;
    let sibling = app.new_project_in_owner_account();
    let ep = app.as_(&sibling).new_endpoint(&sid).await;
    let eid = str_of(&ep["id"]);
    let c = app.connection(&sid, &eid).await;
    assert_eq!(c["domain_id"], sibling.domain_id);
    assert_eq!(c["status"], "pendingAcceptance");
    let r = app
        .accept_or_reject(&sid, &action("receive", &[&eid]))
        .await;
    assert_eq!(r.ok()["connections"][0]["status"], "accepted");
    assert_eq!(
        app.as_(&sibling).get_endpoint(&eid).await.ok()["status"],
        "accepted"
    );
    // The consumer project does not own the service, so it cannot list its connections.
    app.as_(&sibling)
        .list_connections(&sid, "")
        .await
        .assert_error(404, "EndPoint.0005");
}

/// `total_count` comes from counters kept by the database (migration 0004): after creations,
/// status changes and deletions it equals the rows a full page lists, for every status filter.
#[tokio::test]
async fn total_count_follows_creations_status_changes_and_deletions() {
    let app = TestApp::spawn();
    let sid = app.new_service(true).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(str_of(&app.new_endpoint(&sid).await["id"]));
    }
    for (id, action) in [
        (&ids[0], "receive"),
        (&ids[1], "receive"),
        (&ids[2], "reject"),
        (&ids[1], "reject"),
    ] {
        app.accept_or_reject(&sid, &json!({"action": action, "endpoints": [id]}))
            .await
            .ok();
    }
    app.delete_endpoint(&ids[3]).await.assert_status(204);
    let expected = [
        ("", 5),
        ("status=pendingAcceptance", 2),
        ("status=accepted", 1),
        ("status=rejected", 2),
        ("status=failed", 0),
    ];
    assert_listed(&app, &sid, &expected).await;
    let services = app.list_services("").await;
    // connection_count counts creating and accepted connections.
    assert_eq!(services.ok()["endpoint_services"][0]["connection_count"], 1);
}

/// The counts behind `total_count` and `connection_count` are kept by triggers (spread over
/// several rows per status on PostgreSQL); concurrent creations, decisions and deletions on one
/// service must leave them exact.
#[tokio::test]
async fn counts_stay_exact_under_concurrent_creations_decisions_and_deletions() {
    let app = TestApp::spawn();
    let sid = app.new_service(true).await;
    let api: Caller = (*app).clone();

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let (api, sid) = (api.clone(), sid.clone());
        tasks.spawn(async move { str_of(&api.new_endpoint(&sid).await["id"]) });
    }
    let ids: Vec<String> = tasks.join_all().await;

    // 8 accepted, 8 rejected, 8 left pending; then 4 of the accepted and 4 of the pending go.
    let mut tasks = tokio::task::JoinSet::new();
    for (i, id) in ids.iter().take(16).enumerate() {
        let (api, sid, id) = (api.clone(), sid.clone(), id.clone());
        let verb = if i < 8 { "receive" } else { "reject" };
        tasks.spawn(async move {
            api.accept_or_reject(&sid, &action(verb, &[&id])).await.ok();
        });
    }
    tasks.join_all().await;
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids[..4].iter().chain(&ids[16..20]) {
        let (api, id) = (api.clone(), id.clone());
        tasks.spawn(async move {
            api.delete_endpoint(&id).await.assert_status(204);
        });
    }
    tasks.join_all().await;

    let expected = [
        ("", 16),
        ("status=accepted", 4),
        ("status=rejected", 8),
        ("status=pendingAcceptance", 4),
    ];
    assert_listed(&app, &sid, &expected).await;
    let services = app.list_services("").await;
    assert_eq!(services.ok()["endpoint_services"][0]["connection_count"], 4);
}

/// For each `(filter, n)`: ListServiceConnections with that filter lists `n` connections and
/// says `total_count` n.
async fn assert_listed(app: &TestApp, sid: &str, expected: &[(&str, usize)]) {
    for (filter, want) in expected {
        let r = app
            .list_connections(sid, &format!("limit=1000&{filter}"))
            .await;
        let body = r.ok();
        assert_eq!(body["total_count"], *want, "{filter}: {body}");
        assert_eq!(
            body["connections"].as_array().unwrap().len(),
            *want,
            "{filter}"
        );
    }
}
