//! The tag operations: BatchAddOrRemoveResourceInstance, ListQueryProjectResourceTags and
//! ListResourceInstances, for services and endpoints, as the Terraform provider calls them
//! (delete the old tags, then create the new; `limit` a string, `offset` an integer).

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

async fn tag_action(c: &Caller, kind: &str, id: &str, body: Value) -> Resp {
    c.call(
        Method::POST,
        &format!("/{kind}/{id}/tags/action"),
        Some(&body),
    )
    .await
}

async fn project_tags(c: &Caller, kind: &str) -> Value {
    c.call(Method::GET, &format!("/{kind}/tags"), None)
        .await
        .ok()
        .clone()
}

async fn instances(c: &Caller, kind: &str, body: Value) -> Resp {
    c.call(
        Method::POST,
        &format!("/{kind}/resource_instances/action"),
        Some(&body),
    )
    .await
}

fn ids(body: &Value) -> Vec<String> {
    body["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no resources in {body}"))
        .iter()
        .map(|r| str_of(&r["resource_id"]))
        .collect()
}

#[tokio::test]
async fn tags_given_at_creation_are_changed_by_the_tag_action_and_shown_everywhere() {
    let app = TestApp::spawn();
    let mut body = service_body(false);
    body["tags"] = json!([{"key": "foo0", "value": "a"}, {"key": "foo1", "value": "b"}]);
    let sid = str_of(&app.create_service(&body).await.ok()["id"]);

    // Terraform's update: delete the old map, then create the new one.
    let r = tag_action(&app, "endpoint_service", &sid, json!({"action": "delete", "tags": [{"key": "foo0", "value": "a"}, {"key": "foo1", "value": "b"}]})).await;
    r.assert_status(204);
    assert_eq!(r.text, "");
    tag_action(&app, "endpoint_service", &sid, json!({"action": "create", "tags": [{"key": "foo1", "value": "c"}, {"key": "env", "value": ""}]}))
        .await
        .assert_status(204);
    let want = json!([{"key": "foo1", "value": "c"}, {"key": "env", "value": ""}]);
    assert_eq!(app.get_service(&sid).await.ok()["tags"], want);
    let listed = app.list_services(&format!("id={sid}")).await;
    assert_eq!(listed.ok()["endpoint_services"][0]["tags"], want);

    // Create on a key it has replaces the value; delete by key alone, or by pair.
    tag_action(
        &app,
        "endpoint_service",
        &sid,
        json!({"action": "create", "tags": [{"key": "env", "value": "prod"}]}),
    )
    .await
    .assert_status(204);
    tag_action(
        &app,
        "endpoint_service",
        &sid,
        json!({"action": "delete", "tags": [{"key": "foo1", "value": "other"}]}),
    )
    .await
    .assert_status(204);
    assert_eq!(
        app.get_service(&sid).await.ok()["tags"],
        json!([{"key": "foo1", "value": "c"}, {"key": "env", "value": "prod"}])
    );
    tag_action(
        &app,
        "endpoint_service",
        &sid,
        json!({"action": "delete", "tags": [{"key": "foo1"}]}),
    )
    .await
    .assert_status(204);
    assert_eq!(
        app.get_service(&sid).await.ok()["tags"],
        json!([{"key": "env", "value": "prod"}])
    );

    // Endpoints the same way.
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    tag_action(
        &app,
        "endpoint",
        &eid,
        json!({"action": "create", "tags": [{"key": "team", "value": "x"}]}),
    )
    .await
    .assert_status(204);
    assert_eq!(
        app.get_endpoint(&eid).await.ok()["tags"],
        json!([{"key": "team", "value": "x"}])
    );
    let listed = app.list_endpoints(&format!("id={eid}")).await;
    assert_eq!(
        listed.ok()["endpoints"][0]["tags"],
        json!([{"key": "team", "value": "x"}])
    );
}

#[tokio::test]
async fn a_tag_action_is_checked_and_changes_nothing_when_refused() {
    let app = TestApp::spawn();
    let mut body = service_body(false);
    body["tags"] = json!((0..20)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect::<Vec<_>>());
    let sid = str_of(&app.create_service(&body).await.ok()["id"]);
    let before = app.get_service(&sid).await.ok()["tags"].clone();
    for (body, status, code) in [
        (
            json!({"action": "create", "tags": [{"key": "k21", "value": "v"}]}),
            400,
            "EndPoint.3069",
        ),
        (
            json!({"action": "update", "tags": []}),
            400,
            "EndPoint.0007",
        ),
        (json!({"tags": []}), 400, "EndPoint.0002"),
        (
            json!({"action": "create", "tags": [{"key": "", "value": "v"}]}),
            400,
            "EndPoint.3066",
        ),
        (
            json!({"action": "create", "tags": [{"key": "a"}]}),
            400,
            "EndPoint.3066",
        ),
        (
            json!({"action": "create", "tags": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}),
            400,
            "EndPoint.3067",
        ),
        (
            json!({"action": "create", "tags": [{"key": "_sys_x", "value": "1"}]}),
            400,
            "EndPoint.3068",
        ),
        (
            json!({"action": "create", "tags": [{"key": "k".repeat(129), "value": "1"}]}),
            400,
            "EndPoint.3072",
        ),
        (
            json!({"action": "create", "tags": [{"key": "k", "value": "v".repeat(256)}]}),
            400,
            "EndPoint.3073",
        ),
    ] {
        tag_action(&app, "endpoint_service", &sid, body)
            .await
            .assert_error(status, code);
    }
    assert_eq!(app.get_service(&sid).await.ok()["tags"], before);
    // A key the resource has does not count twice.
    tag_action(
        &app,
        "endpoint_service",
        &sid,
        json!({"action": "create", "tags": [{"key": "k0", "value": "new"}]}),
    )
    .await
    .assert_status(204);
    assert_eq!(
        app.get_service(&sid).await.ok()["tags"][0],
        json!({"key": "k0", "value": "new"})
    );
    // Ids: malformed, unknown, another tenant's, or of the other kind.
    for kind in ["endpoint_service", "endpoint"] {
        tag_action(&app, kind, "not_an_id", json!({"action": "create"}))
            .await
            .assert_error(400, "EndPoint.0002");
        tag_action(&app, kind, "not-a-uuid", json!({"action": "create"}))
            .await
            .assert_error(404, "EndPoint.0005");
    }
    tag_action(
        &app,
        "endpoint_service",
        &uuid(),
        json!({"action": "create"}),
    )
    .await
    .assert_error(404, "EndPoint.0005");
    tag_action(&app, "endpoint", &sid, json!({"action": "create"}))
        .await
        .assert_error(404, "EndPoint.0005");
    let other = app.as_(&app.new_account());
    tag_action(
        &other,
        "endpoint_service",
        &sid,
        json!({"action": "delete", "tags": [{"key": "k0"}]}),
    )
    .await
    .assert_error(404, "EndPoint.0005");
    assert_eq!(app.get_service(&sid).await.ok()["tags"][0]["key"], "k0");
}

#[tokio::test]
async fn project_tags_aggregate_only_the_callers_resources_of_one_kind() {
    let app = TestApp::spawn();
    assert_eq!(
        project_tags(&app, "endpoint_service").await,
        json!({"tags": []})
    );
    let tagged = |tags: Value| {
        let mut b = service_body(false);
        b["tags"] = tags;
        b
    };
    let s1 = str_of(
        &app.create_service(&tagged(
            json!([{"key": "env", "value": "prod"}, {"key": "team", "value": "a"}]),
        ))
        .await
        .ok()["id"],
    );
    app.create_service(&tagged(
        json!([{"key": "env", "value": "dev"}, {"key": "env2", "value": ""}]),
    ))
    .await
    .ok();
    app.create_service(&tagged(json!([{"key": "env", "value": "prod"}])))
        .await
        .ok();
    let mut e = endpoint_body(&s1);
    e["tags"] = json!([{"key": "ep", "value": "1"}]);
    app.create_endpoint(&e).await.ok();
    let other = app.as_(&app.new_account());
    other
        .create_service(&tagged(json!([{"key": "secret", "value": "x"}])))
        .await
        .ok();

    assert_eq!(
        project_tags(&app, "endpoint_service").await,
        json!({"tags": [
            {"key": "env", "values": ["dev", "prod"]},
            {"key": "env2", "values": [""]},
            {"key": "team", "values": ["a"]},
        ]})
    );
    assert_eq!(
        project_tags(&app, "endpoint").await,
        json!({"tags": [{"key": "ep", "values": ["1"]}]})
    );
    assert_eq!(
        project_tags(&other, "endpoint_service").await,
        json!({"tags": [{"key": "secret", "values": ["x"]}]})
    );
    assert_eq!(project_tags(&other, "endpoint").await, json!({"tags": []}));
    app.call(Method::GET, "/vpc_endpoint/tags", None)
        .await
        .assert_status(404);
}

#[tokio::test]
async fn resource_instances_filter_count_and_page_like_terraform_reads_them() {
    let app = TestApp::spawn();
    let mut made = Vec::new();
    for (name, tags) in [
        (
            "web",
            json!([{"key": "foo0", "value": "a"}, {"key": "foo1", "value": "b"}]),
        ),
        ("db", json!([{"key": "foo0", "value": "c"}])),
        ("bare", json!([])),
    ] {
        let mut b = service_body(false);
        b["service_name"] = json!(name);
        b["tags"] = tags;
        let r = app.create_service(&b).await;
        made.push((str_of(&r.ok()["id"]), str_of(&r.ok()["service_name"])));
        sleep_past_second().await;
    }
    let (web, db, bare) = (&made[0], &made[1], &made[2]);
    let other = app.as_(&app.new_account());
    let mut b = service_body(false);
    b["tags"] = json!([{"key": "foo0", "value": "a"}]);
    other.create_service(&b).await.ok();

    // Everything, newest first, as the provider pages it: limit "1000", offset 0 then onwards.
    let r = instances(
        &app,
        "endpoint_service",
        json!({"action": "filter", "limit": "1000", "offset": 0}),
    )
    .await;
    let page = r.ok();
    assert_eq!(ids(page), [bare.0.clone(), db.0.clone(), web.0.clone()]);
    assert_eq!(page["total_count"], 3);
    let first = &page["resources"][2];
    assert_keys(
        first,
        &["resource_id", "resource_name", "resource_detail", "tags"],
        "resource",
    );
    assert_eq!(first["resource_name"], json!(web.1));
    assert_eq!(
        first["tags"],
        json!([{"key": "foo0", "value": "a"}, {"key": "foo1", "value": "b"}])
    );
    let r = instances(
        &app,
        "endpoint_service",
        json!({"action": "filter", "limit": "1000", "offset": 3}),
    )
    .await;
    assert_eq!(r.ok(), &json!({"resources": [], "total_count": 3}));
    let r = instances(
        &app,
        "endpoint_service",
        json!({"action": "filter", "limit": "1", "offset": "1"}),
    )
    .await;
    assert_eq!(ids(r.ok()), vec![db.0.clone()]);

    let cases = [
        (
            json!({"tags": [{"key": "foo0", "values": []}]}),
            vec![&db.0, &web.0],
        ),
        (
            json!({"tags": [{"key": "foo0", "values": ["a", "z"]}, {"key": "foo1", "values": []}]}),
            vec![&web.0],
        ),
        (
            json!({"tags_any": [{"key": "foo1", "values": []}, {"key": "foo0", "values": ["c"]}]}),
            vec![&db.0, &web.0],
        ),
        (
            json!({"not_tags": [{"key": "foo0", "values": []}, {"key": "foo1", "values": []}]}),
            vec![&bare.0, &db.0],
        ),
        (
            json!({"not_tags_any": [{"key": "foo1", "values": []}, {"key": "foo0", "values": ["c"]}]}),
            vec![&bare.0],
        ),
        (json!({"without_any_tag": true}), vec![&bare.0]),
        (
            json!({"matches": [{"key": "resource_name", "value": "WEB"}]}),
            vec![&web.0],
        ),
        (
            json!({"matches": [{"key": "resource_name", "value": ""}]}),
            vec![],
        ),
    ];
    for (filter, want) in cases {
        let mut body = filter.clone();
        body["action"] = json!("filter");
        let r = instances(&app, "endpoint_service", body).await;
        assert_eq!(
            ids(r.ok()),
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{filter}"
        );
        let mut body = filter.clone();
        body["action"] = json!("count");
        let r = instances(&app, "endpoint_service", body).await;
        assert_eq!(r.ok(), &json!({"total_count": want.len()}), "{filter}");
    }

    // Endpoints: the name is the id.
    let mut e = endpoint_body(&web.0);
    e["tags"] = json!([{"key": "ep", "value": "1"}]);
    let eid = str_of(&app.create_endpoint(&e).await.ok()["id"]);
    let r = instances(
        &app,
        "endpoint",
        json!({"action": "filter", "tags": [{"key": "ep", "values": ["1"]}]}),
    )
    .await;
    assert_eq!(r.ok()["resources"][0]["resource_name"], json!(eid));
    assert_eq!(r.ok()["total_count"], 1);
    let r = instances(&other, "endpoint", json!({"action": "count"})).await;
    assert_eq!(r.ok(), &json!({"total_count": 0}));

    for (body, code) in [
        (json!({"action": "list"}), "EndPoint.0007"),
        (json!({"action": "count", "limit": "10"}), "EndPoint.0002"),
        (json!({"action": "filter", "limit": "0"}), "EndPoint.0006"),
        (json!({"action": "filter", "offset": -1}), "EndPoint.0010"),
        (
            json!({"action": "filter", "tags": [{"key": "a", "values": ["x", "x"]}]}),
            "EndPoint.3071",
        ),
        (
            json!({"action": "filter", "tags": [{"key": "", "values": []}]}),
            "EndPoint.3066",
        ),
        (
            json!({"action": "filter", "matches": [{"key": "id", "value": "x"}]}),
            "EndPoint.0002",
        ),
    ] {
        instances(&app, "endpoint_service", body)
            .await
            .assert_error(400, code);
    }
}
