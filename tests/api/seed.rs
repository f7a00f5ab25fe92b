//! UpdateEndpointConnectionsDesc, the seed operation (docs/api.md §1).

use reqwest::Method;
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

fn description_path(sid: &str) -> String {
    format!("/vpc-endpoint-services/{sid}/connections/description")
}

/// Descriptions and updated_at of all connections of a service, by id.
async fn snapshot(app: &TestApp, sid: &str) -> Vec<(String, Value, Value)> {
    let r = app.list_connections(sid, "limit=1000").await;
    let mut rows: Vec<_> = r.ok()["connections"]
        .as_array()
        .expect("connections array")
        .iter()
        .map(|c| {
            (
                str_of(&c["id"]),
                c["description"].clone(),
                c["updated_at"].clone(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

#[tokio::test]
async fn seed_example_round_trips() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let text = "Terraform managed: prod link #1 (team-a) & 100% ok; \"quoted\" 'single' \\ slash/";
    let r = app
        .update_connection_descriptions(
            &sid,
            &json!({"connections": [{"id": ids[0], "description": text}]}),
        )
        .await;
    let body = r.ok();
    assert_keys(body, &["connections"], "seed response");
    assert_eq!(body["connections"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["connections"][0]["id"], ids[0]);
    assert_eq!(body["connections"][0]["description"], text);
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], text);
}

#[tokio::test]
async fn seed_non_ascii_round_trips_exactly() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(3).await;
    let texts = [
        "生产环境连接：订单服务",
        "emoji 🚀🔥 and a family 👩\u{200d}👩\u{200d}👧",
        "Ünïcødé ß Ж ☃ \u{200b}zero-width e\u{301} combining, C1 \u{85} is outside the banned ranges",
    ];
    let pairs: Vec<(&str, &str)> = ids.iter().map(String::as_str).zip(texts).collect();
    let r = app.set_descriptions(&sid, &pairs).await;
    let body = r.ok();
    for (id, text) in &pairs {
        let item = body["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == *id)
            .unwrap_or_else(|| panic!("{id} missing from {body}"));
        assert_eq!(item["description"], *text);
        assert_eq!(app.connection(&sid, id).await["description"], *text);
    }
    // The list without an id filter shows them too.
    let all = app.list_connections(&sid, "").await;
    for item in all.ok()["connections"].as_array().unwrap() {
        let id = str_of(&item["id"]);
        let want = pairs.iter().find(|(i, _)| *i == id).unwrap().1;
        assert_eq!(item["description"], want);
    }
}

#[tokio::test]
async fn seed_accepts_512_characters_counting_scalar_values() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let cases = [
        "中".repeat(512),
        "a".repeat(512),
        format!("{}🚀", "é".repeat(511)),
    ];
    for text in &cases {
        let r = app.set_descriptions(&sid, &[(&ids[0], text)]).await;
        assert_eq!(r.ok()["connections"][0]["description"], *text);
        assert_eq!(app.connection(&sid, &ids[0]).await["description"], *text);
    }
}

#[tokio::test]
async fn seed_rejects_513_characters() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    app.set_descriptions(&sid, &[(&ids[0], "kept")]).await.ok();
    for text in ["中".repeat(513), "a".repeat(513), "🚀".repeat(513)] {
        let r = app.set_descriptions(&sid, &[(&ids[0], &text)]).await;
        let msg = r.assert_error(400, "EndPoint.0002");
        assert!(
            msg.contains("connections[0].description"),
            "message does not name the field: {msg}"
        );
    }
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "kept");
}

#[tokio::test]
async fn seed_rejects_angle_brackets_and_control_characters() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(2).await;
    let bad = [
        "a<b",
        "a>b",
        "<script>",
        "\u{1}",
        "x\u{7f}",
        "line\nbreak",
        "\u{0}",
        "tab\there",
        "\r",
        "\u{1f}",
    ];
    for text in bad {
        let r = app
            .set_descriptions(&sid, &[(&ids[0], "fine"), (&ids[1], text)])
            .await;
        let msg = r.assert_error(400, "EndPoint.0002");
        assert!(
            msg.contains("connections[1].description"),
            "message for {text:?} does not name connections[1].description: {msg}"
        );
    }
    for id in &ids {
        assert_eq!(
            app.connection(&sid, id).await["description"],
            "",
            "nothing may change"
        );
    }
}

#[tokio::test]
async fn seed_empty_description_clears() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    app.set_descriptions(&sid, &[(&ids[0], "something")])
        .await
        .ok();
    assert_eq!(
        app.connection(&sid, &ids[0]).await["description"],
        "something"
    );
    let r = app.set_descriptions(&sid, &[(&ids[0], "")]).await;
    assert_eq!(r.ok()["connections"][0]["description"], "");
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "");
}

#[tokio::test]
async fn seed_rejects_empty_array() {
    let app = TestApp::spawn();
    let (sid, _) = app.service_with_connections(1).await;
    let r = app
        .update_connection_descriptions(&sid, &json!({"connections": []}))
        .await;
    r.assert_error(400, "EndPoint.0002");
}

#[tokio::test]
async fn seed_rejects_batch_over_max_batch() {
    let app = TestApp::with_args(&["--max-batch", "3"]);
    let (sid, ids) = app.service_with_connections(4).await;
    let four: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "x")).collect();
    app.set_descriptions(&sid, &four)
        .await
        .assert_error(400, "EndPoint.0016");
    for id in &ids {
        assert_eq!(app.connection(&sid, id).await["description"], "");
    }
    // Exactly the maximum is fine.
    let r = app.set_descriptions(&sid, &four[..3]).await;
    assert_eq!(r.ok()["connections"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn seed_default_max_batch_is_1000() {
    let app = TestApp::spawn();
    let (sid, _) = app.service_with_connections(1).await;
    let items = |n: usize| -> Value {
        json!({"connections": (0..n).map(|_| json!({"id": uuid(), "description": "x"})).collect::<Vec<_>>()})
    };
    app.update_connection_descriptions(&sid, &items(1001))
        .await
        .assert_error(400, "EndPoint.0016");
    // 1000 passes the size rule and fails later, on the unknown ids.
    app.update_connection_descriptions(&sid, &items(1000))
        .await
        .assert_error(400, "EndPoint.2013");
}

#[tokio::test]
async fn seed_rejects_malformed_ids_with_2017() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let id = &ids[0];
    let bad = [
        "not-a-uuid".to_string(),
        format!("{{{id}}}"),
        format!("urn:uuid:{id}"),
        id.replace('-', ""),
        String::new(),
        format!("{id}0"),
        format!(" {id}"),
        format!("g{}", &id[1..]),
        id.replacen('-', "", 1),
    ];
    for b in &bad {
        let r = app.set_descriptions(&sid, &[(b, "x")]).await;
        r.assert_error(400, "EndPoint.2017");
    }
    assert_eq!(app.connection(&sid, id).await["description"], "");
}

#[tokio::test]
async fn seed_rejects_non_string_or_missing_ids() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let items = [
        json!({"id": 123, "description": "x"}),
        json!({"id": null, "description": "x"}),
        json!({"id": true, "description": "x"}),
        json!({"id": [ids[0]], "description": "x"}),
        json!({"id": {"id": ids[0]}, "description": "x"}),
        json!({"description": "x"}),
    ];
    for item in items {
        let r = app
            .update_connection_descriptions(&sid, &json!({"connections": [item]}))
            .await;
        r.assert_error(400, "EndPoint.0002");
    }
}

#[tokio::test]
async fn seed_rejects_non_string_or_missing_descriptions() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let items = [
        json!({"id": ids[0], "description": null}),
        json!({"id": ids[0], "description": 5}),
        json!({"id": ids[0], "description": true}),
        json!({"id": ids[0], "description": ["x"]}),
        json!({"id": ids[0]}),
    ];
    for item in items {
        let r = app
            .update_connection_descriptions(&sid, &json!({"connections": [item]}))
            .await;
        r.assert_error(400, "EndPoint.0002");
    }
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "");
}

#[tokio::test]
async fn seed_rejects_duplicate_ids_naming_them() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(2).await;
    let upper = ids[0].to_uppercase();
    let cases: [Vec<(&str, &str)>; 2] = [
        vec![(&ids[0], "a"), (&ids[1], "b"), (&ids[0], "c")],
        vec![(&ids[0], "a"), (&upper, "b")],
    ];
    for pairs in &cases {
        let r = app.set_descriptions(&sid, pairs).await;
        let msg = r.assert_error(400, "EndPoint.0002");
        assert!(
            msg.to_lowercase().contains(&ids[0]),
            "message does not name the duplicated id {}: {msg}",
            ids[0]
        );
    }
    for id in &ids {
        assert_eq!(app.connection(&sid, id).await["description"], "");
    }
}

#[tokio::test]
async fn seed_accepts_uppercase_ids_and_returns_them_lowercase() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let r = app
        .set_descriptions(&sid, &[(&ids[0].to_uppercase(), "upper")])
        .await;
    let body = r.ok();
    assert_eq!(body["connections"][0]["id"], ids[0]);
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "upper");
}

#[tokio::test]
async fn seed_accepts_uppercase_service_id_in_path() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let r = app
        .set_descriptions(&sid.to_uppercase(), &[(&ids[0], "via upper path")])
        .await;
    r.ok();
    assert_eq!(
        app.connection(&sid, &ids[0]).await["description"],
        "via upper path"
    );
}

#[tokio::test]
async fn seed_ignores_unknown_keys() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let body = json!({
        "connections": [{"id": ids[0], "description": "hello", "color": "blue", "nested": {"a": [1]}}],
        "dry_run": true,
        "extra": null,
    });
    let r = app.update_connection_descriptions(&sid, &body).await;
    assert_eq!(r.ok()["connections"][0]["description"], "hello");
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "hello");
}

#[tokio::test]
async fn seed_accepts_the_sdk_content_type() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let body = json!({"connections": [{"id": ids[0], "description": "sdk"}]}).to_string();
    let r = app
        .call_text(
            Method::PUT,
            &description_path(&sid),
            "application/json;charset=UTF-8",
            &body,
        )
        .await;
    assert_eq!(r.ok()["connections"][0]["description"], "sdk");
}

#[tokio::test]
async fn seed_rejects_bodies_that_are_not_a_json_object() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let item = json!({"id": ids[0], "description": "x"});
    let bodies = [
        "not json".to_string(),
        String::new(),
        "{\"connections\": [".to_string(),
        json!([{"connections": [item]}]).to_string(),
        json!([item]).to_string(),
        "\"connections\"".to_string(),
        "null".to_string(),
        "42".to_string(),
        "{}".to_string(),
        json!({"connections": null}).to_string(),
        json!({"connections": "x"}).to_string(),
        json!({"connections": item}).to_string(),
        json!({"connections": ["x"]}).to_string(),
        // A lone surrogate is not a Unicode scalar value.
        format!(
            "{{\"connections\": [{{\"id\": \"{}\", \"description\": \"\\ud800\"}}]}}",
            ids[0]
        ),
        // Escaped `<` is still `<`.
        format!(
            "{{\"connections\": [{{\"id\": \"{}\", \"description\": \"a\\u003cb\"}}]}}",
            ids[0]
        ),
    ];
    for body in &bodies {
        let r = app
            .call_text(
                Method::PUT,
                &description_path(&sid),
                "application/json",
                body,
            )
            .await;
        let msg = r.assert_error(400, "EndPoint.0002");
        assert!(
            msg.len() > "Parameter error.".len(),
            "the message for body {body:?} does not say what was wrong: {msg:?}"
        );
    }
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "");
}

#[tokio::test]
async fn seed_unknown_id_names_the_first_offender() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let (first, second) = (uuid(), uuid());
    let r = app
        .set_descriptions(&sid, &[(&ids[0], "x"), (&first, "y"), (&second, "z")])
        .await;
    let msg = r.assert_error(400, "EndPoint.2013");
    assert!(
        msg.contains(&first),
        "message does not name the first offender {first}: {msg}"
    );
    assert!(
        !msg.contains(&second),
        "message names {second}, not the first offender: {msg}"
    );
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "");
}

#[tokio::test]
async fn seed_rejects_an_endpoint_of_another_service() {
    let app = TestApp::spawn();
    let (sid_a, ids_a) = app.service_with_connections(1).await;
    let (sid_b, ids_b) = app.service_with_connections(1).await;
    let r = app
        .set_descriptions(&sid_a, &[(&ids_a[0], "a"), (&ids_b[0], "b")])
        .await;
    let msg = r.assert_error(400, "EndPoint.2013");
    assert!(
        msg.contains(&ids_b[0]),
        "message does not name {}: {msg}",
        ids_b[0]
    );
    assert_eq!(app.connection(&sid_a, &ids_a[0]).await["description"], "");
    assert_eq!(app.connection(&sid_b, &ids_b[0]).await["description"], "");
}

#[tokio::test]
async fn seed_rejects_a_deleted_endpoint() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    app.delete_endpoint(&ids[0]).await.assert_status(204);
    let r = app.set_descriptions(&sid, &[(&ids[0], "gone")]).await;
    r.assert_error(400, "EndPoint.2013");
}

#[tokio::test]
async fn seed_is_atomic() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(2).await;
    app.set_descriptions(&sid, &[(&ids[0], "before-0"), (&ids[1], "before-1")])
        .await
        .ok();
    let before = snapshot(&app, &sid).await;
    // A write that slipped through would now show a later updated_at.
    sleep_past_second().await;
    let long = "x".repeat(513);
    let unknown = uuid();
    let attempts: [(Vec<(&str, &str)>, &str); 5] = [
        (
            vec![(&ids[0], "after"), (&unknown, "after")],
            "EndPoint.2013",
        ),
        (vec![(&ids[0], "after"), (&ids[1], "a<b")], "EndPoint.0002"),
        (vec![(&ids[0], "after"), (&ids[1], &long)], "EndPoint.0002"),
        (vec![(&ids[0], "after"), ("nope", "after")], "EndPoint.2017"),
        (
            vec![(&ids[0], "after"), (&ids[1], "after"), (&ids[1], "again")],
            "EndPoint.0002",
        ),
    ];
    for (pairs, code) in &attempts {
        app.set_descriptions(&sid, pairs)
            .await
            .assert_error(400, code);
    }
    assert_eq!(
        snapshot(&app, &sid).await,
        before,
        "a failed request changed something"
    );
}

#[tokio::test]
async fn seed_keeps_connection_description_apart_from_endpoint_description() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let mut body = endpoint_body(&sid);
    body["description"] = json!("mine");
    let ep = app.create_endpoint(&body).await.ok().clone();
    let eid = str_of(&ep["id"]);
    assert_eq!(ep["description"], "mine");
    assert_eq!(
        app.connection(&sid, &eid).await["description"],
        "",
        "a new connection's description is empty"
    );

    let r = app.set_descriptions(&sid, &[(&eid, "owner note")]).await;
    assert_eq!(r.ok()["connections"][0]["description"], "owner note");
    assert_eq!(app.get_endpoint(&eid).await.ok()["description"], "mine");
    let listed = app.list_endpoints(&format!("id={eid}")).await;
    assert_eq!(listed.ok()["endpoints"][0]["description"], "mine");
    assert_eq!(
        app.connection(&sid, &eid).await["description"],
        "owner note"
    );
}

/// The item of a seed response's `connections` with this id.
fn named(body: &Value, id: &str) -> Value {
    body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} missing from {body}"))
}

#[tokio::test]
async fn seed_moves_updated_at_only_on_a_real_change() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(2).await;
    let t0 = app.connection(&sid, &ids[0]).await["updated_at"].clone();
    let u0 = app.connection(&sid, &ids[1]).await["updated_at"].clone();
    sleep_past_second().await;

    // The same value as now ("" for a new connection) is no change.
    let r = app.set_descriptions(&sid, &[(&ids[0], "")]).await;
    assert_eq!(r.ok()["connections"][0]["updated_at"], t0);
    assert_eq!(app.connection(&sid, &ids[0]).await["updated_at"], t0);

    let r = app.set_descriptions(&sid, &[(&ids[0], "changed")]).await;
    let t1 = r.ok()["connections"][0]["updated_at"].clone();
    assert_timestamp(&t1);
    assert!(
        str_of(&t1) > str_of(&t0),
        "updated_at did not move: {t0} -> {t1}"
    );
    assert_eq!(app.connection(&sid, &ids[0]).await["updated_at"], t1);
    // One updated_at, shared with the endpoint.
    assert_eq!(app.get_endpoint(&ids[0]).await.ok()["updated_at"], t1);
    sleep_past_second().await;

    let r = app
        .set_descriptions(&sid, &[(&ids[0], "changed"), (&ids[1], "new")])
        .await;
    let body = r.ok();
    let item = |id: &str| named(body, id);
    assert_eq!(
        item(&ids[0])["updated_at"],
        t1,
        "unchanged description moved updated_at"
    );
    let u1 = item(&ids[1])["updated_at"].clone();
    assert!(
        str_of(&u1) > str_of(&u0),
        "changed description did not move updated_at"
    );
    assert_eq!(app.connection(&sid, &ids[0]).await["updated_at"], t1);
    assert_eq!(app.connection(&sid, &ids[1]).await["updated_at"], u1);
}

#[tokio::test]
async fn seed_keeps_updated_at_of_an_unchanged_description_named_after_a_changed_one() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(2).await;
    app.set_descriptions(&sid, &[(&ids[0], "same"), (&ids[1], "old")])
        .await
        .ok();
    let t0 = app.connection(&sid, &ids[0]).await["updated_at"].clone();
    let u0 = app.connection(&sid, &ids[1]).await["updated_at"].clone();
    sleep_past_second().await;

    // The changed one first, then the unchanged one.
    let r = app
        .set_descriptions(&sid, &[(&ids[1], "new"), (&ids[0], "same")])
        .await;
    let body = r.ok();
    let item = |id: &str| named(body, id);
    assert_eq!(item(&ids[0])["updated_at"], t0);
    assert_eq!(item(&ids[0])["description"], "same");
    let u1 = item(&ids[1])["updated_at"].clone();
    assert!(
        str_of(&u1) > str_of(&u0),
        "updated_at did not move: {u0} -> {u1}"
    );
    assert_eq!(item(&ids[1])["description"], "new");
    assert_eq!(app.connection(&sid, &ids[0]).await["updated_at"], t0);
    assert_eq!(app.connection(&sid, &ids[1]).await["updated_at"], u1);
    assert_eq!(app.connection(&sid, &ids[1]).await["description"], "new");
}

#[tokio::test]
async fn seed_response_holds_exactly_the_named_connections_in_order() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let oldest = str_of(&app.new_endpoint(&sid).await["id"]);
    sleep_past_second().await;
    let mut newer = Vec::new();
    for _ in 0..3 {
        newer.push(str_of(&app.new_endpoint(&sid).await["id"]));
    }
    let not_named = str_of(&app.new_endpoint(&sid).await["id"]);

    let named = [&oldest, &newer[2], &newer[0], &newer[1]];
    let pairs: Vec<(&str, &str)> = named.iter().map(|id| (id.as_str(), "n")).collect();
    let r = app.set_descriptions(&sid, &pairs).await;
    let got = ids_of(&r.ok()["connections"]);

    // Expected: created_at descending (as listed), then id ascending.
    let mut expected = Vec::new();
    for id in named {
        let c = app.connection(&sid, id).await;
        expected.push((str_of(&c["created_at"]), id.clone()));
    }
    expected.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(got, expected);
    assert_eq!(got.last(), Some(&oldest));
    assert!(!got.contains(&not_named));
}

#[tokio::test]
async fn seed_response_items_have_the_connection_shape() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let ep = app.new_endpoint(&sid).await;
    let pending_sid = app.new_service(true).await;
    let pending = app.new_endpoint(&pending_sid).await;

    for (sid, ep, status) in [
        (&sid, &ep, "accepted"),
        (&pending_sid, &pending, "pendingAcceptance"),
    ] {
        let eid = str_of(&ep["id"]);
        let r = app.set_descriptions(sid, &[(&eid, "shape")]).await;
        let body = r.ok();
        assert_keys(body, &["connections"], "seed response");
        let item = &body["connections"][0];
        assert_keys(item, CONNECTION_KEYS, "seed response item");
        assert_eq!(item["id"], eid);
        assert!(
            item["marker_id"].is_u64(),
            "marker_id is not a JSON integer: {item}"
        );
        assert_eq!(item["marker_id"], ep["marker_id"]);
        assert_timestamp(&item["created_at"]);
        assert_timestamp(&item["updated_at"]);
        assert_eq!(item["domain_id"], app.domain_id());
        assert_eq!(item["status"], status);
        assert_eq!(item["description"], "shape");
        assert!(
            r.text.contains("\"marker_id\":") && !r.text.contains("\"marker_id\":\""),
            "marker_id must be sent as a number: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn seed_on_another_tenants_service_is_not_found() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    for other in [app.new_account(), app.new_project_in_owner_account()] {
        let r = app
            .as_(&other)
            .set_descriptions(&sid, &[(&ids[0], "hijack")])
            .await;
        r.assert_error(404, "EndPoint.0005");
    }
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "");
}

#[tokio::test]
async fn seed_with_a_foreign_project_in_the_path_is_forbidden() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let other = app.new_account();
    for project in [
        other.project_id.as_str(),
        "0123456789abcdef0123456789abcdef",
    ] {
        let r = app
            .caller(Some(app.token()), project)
            .set_descriptions(&sid, &[(&ids[0], "x")])
            .await;
        r.assert_error(403, "EndPoint.0004");
    }
}

#[tokio::test]
async fn seed_requires_authentication() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    for token in [None, Some("not-a-token"), Some("")] {
        let r = app
            .caller(token, app.project_id())
            .set_descriptions(&sid, &[(&ids[0], "x")])
            .await;
        r.assert_error(401, "EndPoint.0003");
    }
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "");
}

#[tokio::test]
async fn seed_checks_the_body_before_the_service_and_the_service_before_the_ids() {
    let app = TestApp::spawn();
    let missing_sid = uuid();
    let id = uuid();
    app.set_descriptions(&missing_sid, &[(&id, "a<b")])
        .await
        .assert_error(400, "EndPoint.0002");
    app.set_descriptions(&missing_sid, &[("nope", "x")])
        .await
        .assert_error(400, "EndPoint.2017");
    app.set_descriptions(&missing_sid, &[(&id, "fine")])
        .await
        .assert_error(404, "EndPoint.0005");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_concurrent_writers_serialize() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let eid = ids[0].clone();
    for round in 0..3 {
        let values: Vec<String> = (0..8)
            .map(|i| format!("round {round} writer {i}"))
            .collect();
        let mut tasks = Vec::new();
        for value in values.clone() {
            let api = (*app).clone();
            let (sid, eid) = (sid.clone(), eid.clone());
            tasks.push(tokio::spawn(async move {
                let r = api.set_descriptions(&sid, &[(&eid, &value)]).await;
                (value, r)
            }));
        }
        for task in tasks {
            let (value, r) = task.await.expect("writer task");
            let body = r.ok();
            assert_eq!(
                body["connections"][0]["description"], value,
                "a response shows another write"
            );
        }
        let last = str_of(&app.connection(&sid, &eid).await["description"]);
        assert!(
            values.contains(&last),
            "final value {last:?} is none of the written ones"
        );
    }
}

/// One-connection updates racing the endpoint's deletion: each answers either with the text it
/// wrote or with EndPoint.2013 (the connection is gone), never a server error; afterwards the
/// connection cannot be written. (PostgreSQL serves one connection with one UPDATE that checks
/// the row's latest version, and falls back to the locking statement when it writes nothing.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_one_connection_racing_its_deletion_is_written_or_refused() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let eid = ids[0].clone();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let api = (*app).clone();
        let (sid, eid) = (sid.clone(), eid.clone());
        tasks.push(tokio::spawn(async move {
            let value = format!("writer {i}");
            let r = api.set_descriptions(&sid, &[(&eid, &value)]).await;
            (value, r)
        }));
    }
    app.delete_endpoint(&eid).await.assert_status(204);
    for task in tasks {
        let (value, r) = task.await.expect("writer task");
        if r.status == 200 {
            assert_eq!(r.body["connections"][0]["description"], value);
        } else {
            r.assert_error(400, "EndPoint.2013");
        }
    }
    app.set_descriptions(&sid, &[(&eid, "after")])
        .await
        .assert_error(400, "EndPoint.2013");
}
