//! Endpoint services: create, list, detail, update, delete, describe (docs/api.md §3; the
//! endpoint service object of the VPCEP API reference).

use serde_json::{json, Value};

use crate::support::*;

const CREATE_KEYS: &[&str] = &[
    "id",
    "port_id",
    "service_name",
    "server_type",
    "vpc_id",
    "pool_id",
    "approval_enabled",
    "status",
    "service_type",
    "created_at",
    "updated_at",
    "project_id",
    "ip",
    "ports",
    "tcp_proxy",
    "tags",
    "description",
    "enable_policy",
    "ip_version",
];

const DETAIL_KEYS: &[&str] = &[
    "id",
    "port_id",
    "service_name",
    "server_type",
    "vpc_id",
    "approval_enabled",
    "status",
    "service_type",
    "supported_editions",
    "created_at",
    "updated_at",
    "project_id",
    "cidr_type",
    "ip",
    "ports",
    "tcp_proxy",
    "tags",
    "error",
    "enable_policy",
    "description",
    // Not in the reference's model: the v2 operation's backend resources.
    "server_resources",
];

const LIST_KEYS: &[&str] = &[
    "id",
    "port_id",
    "service_name",
    "server_type",
    "vpc_id",
    "approval_enabled",
    "status",
    "service_type",
    "created_at",
    "updated_at",
    "project_id",
    "domain_id",
    "ports",
    "ip",
    "tags",
    "connection_count",
    "tcp_proxy",
    "error",
    "description",
    "supported_editions",
    "public_border_group",
    "enable_policy",
];

const DESCRIBE_KEYS: &[&str] = &[
    "id",
    "service_name",
    "service_type",
    "created_at",
    "is_charge",
    "public_border_group",
    "enable_policy",
];

fn named_service(name: &str) -> Value {
    let mut body = service_body(false);
    body["service_name"] = json!(name);
    body
}

#[tokio::test]
async fn create_service_returns_the_created_service() {
    let app = TestApp::spawn();
    let body = service_body(false);
    let r = app.create_service(&body).await;
    let svc = r.ok();
    assert_lower_uuid(&svc["id"]);
    let id = str_of(&svc["id"]);
    assert_eq!(svc["service_name"], format!("local-1.{id}"));
    assert_eq!(svc["status"], "available");
    assert_eq!(svc["service_type"], "interface");
    assert_eq!(svc["server_type"], "VM");
    assert_eq!(svc["approval_enabled"], false);
    assert_eq!(svc["port_id"], body["port_id"]);
    assert_eq!(svc["vpc_id"], body["vpc_id"]);
    assert_eq!(svc["ports"], body["ports"]);
    assert_eq!(svc["project_id"], app.project_id());
    assert_eq!(svc["tcp_proxy"], "close");
    assert_eq!(svc["tags"], json!([]));
    assert_timestamp(&svc["created_at"]);
    assert_timestamp(&svc["updated_at"]);
}

#[tokio::test]
async fn create_service_with_a_name_composes_region_name_id() {
    let app = TestApp::spawn();
    let svc = app
        .create_service(&named_service("my_svc-1"))
        .await
        .ok()
        .clone();
    let id = str_of(&svc["id"]);
    assert_eq!(svc["service_name"], format!("local-1.my_svc-1.{id}"));
    assert_eq!(
        app.get_service(&id).await.ok()["service_name"],
        format!("local-1.my_svc-1.{id}")
    );
}

#[tokio::test]
async fn region_setting_appears_in_service_names() {
    let app = TestApp::with_args(&["--region", "eu-test-7"]);
    let svc = app.create_service(&named_service("web")).await.ok().clone();
    assert_eq!(
        svc["service_name"],
        format!("eu-test-7.web.{}", str_of(&svc["id"]))
    );
}

#[tokio::test]
async fn approval_enabled_defaults_to_true() {
    let app = TestApp::spawn();
    let mut body = service_body(false);
    body.as_object_mut().unwrap().remove("approval_enabled");
    let svc = app.create_service(&body).await.ok().clone();
    assert_eq!(svc["approval_enabled"], true);
    let ep = app.new_endpoint(&str_of(&svc["id"])).await;
    assert_eq!(ep["status"], "pendingAcceptance");
}

#[tokio::test]
async fn create_service_rejects_invalid_bodies() {
    let app = TestApp::spawn();
    let mut cases = Vec::new();
    for key in ["port_id", "vpc_id", "server_type", "ports"] {
        let mut body = service_body(false);
        body.as_object_mut().unwrap().remove(key);
        cases.push((format!("missing {key}"), body));
    }
    let mut tweak = |what: &str, key: &str, value: Value| {
        let mut body = service_body(false);
        body[key] = value;
        cases.push((what.to_string(), body));
    };
    tweak("description with <", "description", json!("a<b"));
    tweak(
        "description of 513 chars",
        "description",
        json!("d".repeat(513)),
    );
    tweak(
        "service_name of 17 chars",
        "service_name",
        json!("a".repeat(17)),
    );
    tweak("service_name with a dot", "service_name", json!("a.b"));
    tweak(
        "port out of range",
        "ports",
        json!([{"client_port": 0, "server_port": 80, "protocol": "TCP"}]),
    );
    tweak(
        "port too big",
        "ports",
        json!([{"client_port": 80, "server_port": 65536, "protocol": "TCP"}]),
    );
    tweak("approval not a bool", "approval_enabled", json!("yes"));
    for (what, body) in &cases {
        let r = app.create_service(body).await;
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
        app.list_services("").await.ok()["total_count"],
        0,
        "nothing may be created"
    );
}

#[tokio::test]
async fn service_detail_matches_the_created_service() {
    let app = TestApp::spawn();
    let created = app.create_service(&service_body(true)).await.ok().clone();
    let id = str_of(&created["id"]);
    let svc = app.get_service(&id).await.ok().clone();
    for key in [
        "id",
        "service_name",
        "port_id",
        "vpc_id",
        "created_at",
        "updated_at",
        "project_id",
        "ports",
    ] {
        assert_eq!(svc[key], created[key], "{key}");
    }
    assert_eq!(svc["approval_enabled"], true);
    assert_eq!(svc["status"], "available");
    // Path ids are matched case-insensitively.
    assert_eq!(app.get_service(&id.to_uppercase()).await.ok()["id"], id);
    app.get_service(&uuid())
        .await
        .assert_error(404, "EndPoint.0005");
}

#[tokio::test]
async fn service_list_items_carry_account_and_connection_count() {
    let app = TestApp::spawn();
    let open = app.new_service(false).await;
    let gated = app.new_service(true).await;
    app.new_endpoint(&open).await;
    app.new_endpoint(&open).await;
    let pending = str_of(&app.new_endpoint(&gated).await["id"]);

    let r = app.list_services("").await;
    let body = r.ok();
    assert_keys(
        body,
        &["endpoint_services", "total_count"],
        "ListEndpointService response",
    );
    assert_eq!(body["total_count"], 2);
    let items = body["endpoint_services"].as_array().unwrap();
    let by_id = |id: &str| items.iter().find(|s| s["id"] == id).cloned().unwrap();
    for item in items {
        assert_eq!(item["domain_id"], app.domain_id());
        assert_eq!(item["project_id"], app.project_id());
    }
    assert_eq!(by_id(&open)["connection_count"], 2);
    assert_eq!(
        by_id(&gated)["connection_count"],
        0,
        "pending connections do not count"
    );

    app.accept_or_reject(
        &gated,
        &json!({"action": "receive", "endpoints": [pending]}),
    )
    .await
    .ok();
    let r = app.list_services(&format!("id={gated}")).await;
    assert_eq!(r.ok()["endpoint_services"][0]["connection_count"], 1);
}

#[tokio::test]
async fn service_list_pages() {
    let app = TestApp::spawn();
    for _ in 0..12 {
        app.new_service(false).await;
    }
    let all = app.list_services("limit=1000").await;
    assert_eq!(all.ok()["total_count"], 12);
    let all_ids = ids_of(&all.body["endpoint_services"]);
    assert_eq!(all_ids.len(), 12);

    let default = app.list_services("").await;
    assert_eq!(
        default.ok()["endpoint_services"].as_array().unwrap().len(),
        10,
        "default limit is 10"
    );
    assert_eq!(default.body["total_count"], 12);

    let zero = app.list_services("limit=0").await;
    assert_eq!(zero.ok()["endpoint_services"], json!([]));
    assert_eq!(zero.body["total_count"], 12);

    let page = app.list_services("limit=5&offset=5").await;
    assert_eq!(
        ids_of(&page.ok()["endpoint_services"]),
        all_ids[5..10].to_vec()
    );
    assert_eq!(page.body["total_count"], 12);

    let tail = app.list_services("limit=5&offset=10").await;
    assert_eq!(
        ids_of(&tail.ok()["endpoint_services"]),
        all_ids[10..].to_vec()
    );

    for offset in ["12", "1000"] {
        let past = app.list_services(&format!("offset={offset}")).await;
        assert_eq!(past.ok()["endpoint_services"], json!([]));
        assert_eq!(past.body["total_count"], 12);
    }
}

#[tokio::test]
async fn service_list_sorts() {
    let app = TestApp::spawn();
    let a = app.new_service(false).await;
    sleep_past_second().await;
    let b = app.new_service(false).await;
    sleep_past_second().await;
    let c = app.new_service(false).await;

    let app = &app;
    let order = |query: &str| {
        let query = query.to_string();
        async move { ids_of(&app.list_services(&query).await.ok()["endpoint_services"]) }
    };
    let newest_first = vec![c.clone(), b.clone(), a.clone()];
    let oldest_first = vec![a.clone(), b.clone(), c.clone()];
    assert_eq!(order("").await, newest_first, "default is create_at desc");
    for key in ["create_at", "created_at"] {
        assert_eq!(order(&format!("sort_key={key}")).await, newest_first);
        assert_eq!(
            order(&format!("sort_key={key}&sort_dir=desc")).await,
            newest_first
        );
        assert_eq!(
            order(&format!("sort_key={key}&sort_dir=asc")).await,
            oldest_first
        );
    }
    assert_eq!(order("sort_dir=asc").await, oldest_first);

    sleep_past_second().await;
    app.update_service(&a, &json!({"description": "touched"}))
        .await
        .ok();
    for key in ["update_at", "updated_at"] {
        assert_eq!(
            order(&format!("sort_key={key}")).await,
            vec![a.clone(), c.clone(), b.clone()]
        );
        assert_eq!(
            order(&format!("sort_key={key}&sort_dir=asc")).await,
            vec![b.clone(), c.clone(), a.clone()]
        );
    }
}

#[tokio::test]
async fn service_list_rejects_invalid_parameters() {
    let app = TestApp::spawn();
    let cases = [
        ("limit=1001", "EndPoint.0006"),
        ("limit=-1", "EndPoint.0006"),
        ("limit=abc", "EndPoint.0006"),
        ("limit=1.5", "EndPoint.0006"),
        ("offset=-1", "EndPoint.0010"),
        ("offset=abc", "EndPoint.0010"),
        ("sort_key=name", "EndPoint.0017"),
        ("sort_dir=up", "EndPoint.0018"),
        ("status=bogus", "EndPoint.0019"),
    ];
    for (query, code) in cases {
        let r = app.list_services(query).await;
        assert_eq!(r.status, 400, "{query}: {}", r.text);
        r.assert_error(400, code);
    }
    // Edge values that are valid.
    for query in ["limit=1000", "limit=0", "offset=0", "status=available"] {
        app.list_services(query).await.ok();
    }
}

#[tokio::test]
async fn service_list_filters_by_name_id_and_status() {
    let app = TestApp::spawn();
    let alpha = str_of(&app.create_service(&named_service("alphaOne")).await.ok()["id"]);
    let beta = str_of(&app.create_service(&named_service("betaTwo")).await.ok()["id"]);
    let app = &app;
    let names = |query: &str| {
        let query = query.to_string();
        async move {
            let r = app.list_services(&query).await;
            let body = r.ok().clone();
            let mut ids = ids_of(&body["endpoint_services"]);
            ids.sort();
            assert_eq!(body["total_count"], ids.len(), "{query}");
            ids
        }
    };
    let mut both = vec![alpha.clone(), beta.clone()];
    both.sort();
    assert_eq!(
        names("endpoint_service_name=ALPHA").await,
        vec![alpha.clone()]
    );
    assert_eq!(
        names("endpoint_service_name=phaon").await,
        vec![alpha.clone()]
    );
    assert_eq!(names("endpoint_service_name=TWO").await, vec![beta.clone()]);
    assert_eq!(names("endpoint_service_name=a").await, both);
    assert_eq!(
        names("endpoint_service_name=nomatch").await,
        Vec::<String>::new()
    );
    assert_eq!(names(&format!("id={beta}")).await, vec![beta.clone()]);
    assert_eq!(names("status=available").await, both);
    assert_eq!(names("status=failed").await, Vec::<String>::new());
}

#[tokio::test]
async fn update_service_changes_fields() {
    let app = TestApp::spawn();
    let created = app.create_service(&service_body(false)).await.ok().clone();
    let id = str_of(&created["id"]);
    sleep_past_second().await;
    let ports = json!([{"client_port": 443, "server_port": 8443, "protocol": "TCP"}]);
    let r = app
        .update_service(
            &id,
            &json!({"description": "new text", "approval_enabled": true, "ports": ports, "service_name": "renamed"}),
        )
        .await;
    let svc = r.ok();
    assert_eq!(svc["id"], id);
    assert_eq!(svc["description"], "new text");
    assert_eq!(svc["approval_enabled"], true);
    assert_eq!(svc["ports"], ports);
    assert_eq!(svc["service_name"], format!("local-1.renamed.{id}"));
    assert_eq!(svc["created_at"], created["created_at"]);
    assert!(
        str_of(&svc["updated_at"]) > str_of(&created["updated_at"]),
        "updated_at did not move"
    );

    let detail = app.get_service(&id).await.ok().clone();
    for key in [
        "description",
        "approval_enabled",
        "ports",
        "service_name",
        "updated_at",
    ] {
        assert_eq!(detail[key], svc[key], "{key}");
    }
    // New connections follow the new approval setting.
    assert_eq!(app.new_endpoint(&id).await["status"], "pendingAcceptance");

    app.update_service(&id, &json!({"description": "a>b"}))
        .await
        .assert_status(400);
    app.update_service(&uuid(), &json!({"description": "x"}))
        .await
        .assert_error(404, "EndPoint.0005");
}

#[tokio::test]
async fn delete_service_is_204_then_404() {
    let app = TestApp::spawn();
    let id = app.new_service(false).await;
    let r = app.delete_service(&id).await;
    r.assert_status(204);
    assert!(
        r.text.is_empty(),
        "204 must have an empty body: {:?}",
        r.text
    );
    r.request_id();
    app.get_service(&id)
        .await
        .assert_error(404, "EndPoint.0005");
    app.delete_service(&id)
        .await
        .assert_error(404, "EndPoint.0005");
    assert_eq!(app.list_services("").await.ok()["total_count"], 0);
    app.create_endpoint(&endpoint_body(&id))
        .await
        .assert_error(400, "EndPoint.2003");
}

#[tokio::test]
async fn delete_service_with_connections_is_3006() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    app.delete_service(&sid)
        .await
        .assert_error(400, "EndPoint.3006");
    app.get_service(&sid).await.ok();
    app.delete_endpoint(&ids[0]).await.assert_status(204);
    app.delete_service(&sid).await.assert_status(204);
}

#[tokio::test]
async fn describe_finds_a_service_by_id_or_full_name() {
    let app = TestApp::spawn();
    let svc = app
        .create_service(&named_service("desc"))
        .await
        .ok()
        .clone();
    let id = str_of(&svc["id"]);
    let name = str_of(&svc["service_name"]);
    for query in [format!("id={id}"), format!("endpoint_service_name={name}")] {
        let d = app.describe_service(&query).await.ok().clone();
        assert_eq!(d["id"], id);
        assert_eq!(d["service_name"], name);
        assert_eq!(d["service_type"], "interface");
        assert_eq!(d["created_at"], svc["created_at"]);
        assert!(d["is_charge"].is_boolean(), "{d}");
    }
    // Exactly one of the two parameters.
    app.describe_service("").await.assert_status(400);
    app.describe_service(&format!("id={id}&endpoint_service_name={name}"))
        .await
        .assert_status(400);
}

#[tokio::test]
async fn describe_serves_consumers_of_other_accounts() {
    let app = TestApp::spawn();
    let id = app.new_service(false).await;
    let other = app.new_account();
    let d = app.as_(&other).describe_service(&format!("id={id}")).await;
    assert_eq!(d.ok()["id"], id);
}

#[tokio::test]
async fn other_accounts_cannot_see_or_touch_a_service() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let other = app.new_account();
    let api = app.as_(&other);
    // The other account has a service of its own, so its lists are not trivially empty.
    let theirs = api.new_service(false).await;

    api.get_service(&sid)
        .await
        .assert_error(404, "EndPoint.0005");
    api.update_service(&sid, &json!({"description": "mine now"}))
        .await
        .assert_error(404, "EndPoint.0005");
    api.delete_service(&sid)
        .await
        .assert_error(404, "EndPoint.0005");
    api.list_connections(&sid, "")
        .await
        .assert_error(404, "EndPoint.0005");
    api.accept_or_reject(&sid, &json!({"action": "reject", "endpoints": [ids[0]]}))
        .await
        .assert_error(404, "EndPoint.0005");
    let listed = api.list_services("limit=1000").await;
    assert_eq!(
        ids_of(&listed.ok()["endpoint_services"]),
        vec![theirs.clone()]
    );
    assert_eq!(listed.body["total_count"], 1);
    let filtered = api.list_services(&format!("id={sid}")).await;
    assert_eq!(filtered.ok()["total_count"], 0);

    // The owner's view did not change and does not include the other account's service.
    let svc = app.get_service(&sid).await.ok().clone();
    assert_eq!(svc["description"], "");
    let mine = app.list_services("limit=1000").await;
    assert_eq!(ids_of(&mine.ok()["endpoint_services"]), vec![sid.clone()]);
    assert_eq!(mine.body["total_count"], 1);
    assert_eq!(app.connection(&sid, &ids[0]).await["status"], "accepted");
}

#[tokio::test]
async fn another_project_of_the_same_account_is_a_separate_tenant_for_services() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let sibling = app.new_project_in_owner_account();
    let api = app.as_(&sibling);
    api.get_service(&sid)
        .await
        .assert_error(404, "EndPoint.0005");
    api.delete_service(&sid)
        .await
        .assert_error(404, "EndPoint.0005");
    assert_eq!(api.list_services("").await.ok()["total_count"], 0);
    app.get_service(&sid).await.ok();
}

// The key sets of the endpoint service object, per SDK response model, one test per model.

#[tokio::test]
async fn create_service_response_has_the_create_key_set() {
    let app = TestApp::spawn();
    let r = app.create_service(&service_body(false)).await;
    assert_keys(r.ok(), CREATE_KEYS, "CreateEndpointService response");
}

#[tokio::test]
async fn update_service_response_has_the_update_key_set() {
    let app = TestApp::spawn();
    let id = app.new_service(false).await;
    let r = app.update_service(&id, &json!({"description": "x"})).await;
    assert_keys(r.ok(), CREATE_KEYS, "UpdateEndpointService response");
}

#[tokio::test]
async fn service_detail_response_has_the_detail_key_set() {
    let app = TestApp::spawn();
    let id = app.new_service(false).await;
    let r = app.get_service(&id).await;
    assert_keys(r.ok(), DETAIL_KEYS, "ListServiceDetails response");
}

#[tokio::test]
async fn service_list_items_have_the_list_key_set() {
    let app = TestApp::spawn();
    app.new_service(false).await;
    let r = app.list_services("").await;
    assert_keys(
        &r.ok()["endpoint_services"][0],
        LIST_KEYS,
        "ServiceList item",
    );
}

#[tokio::test]
async fn describe_response_has_the_describe_key_set() {
    let app = TestApp::spawn();
    let id = app.new_service(false).await;
    let r = app.describe_service(&format!("id={id}")).await;
    assert_keys(r.ok(), DESCRIBE_KEYS, "ListServiceDescribeDetails response");
}

#[tokio::test]
async fn rename_answers_the_full_name_and_every_view_shows_it() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    let r = app
        .rename_service(&sid, &json!({"endpoint_service_name": "web_1-a"}))
        .await;
    let full = format!("local-1.web_1-a.{sid}");
    assert_eq!(r.ok(), &json!({ "endpoint_service_name": full }));
    assert_eq!(app.get_service(&sid).await.ok()["service_name"], full);
    assert_eq!(
        app.get_endpoint(&eid).await.ok()["endpoint_service_name"],
        full
    );
    let listed = app.list_endpoints("endpoint_service_name=web_1-a").await;
    assert_eq!(
        ids_of(&listed.ok()["endpoints"]),
        std::slice::from_ref(&eid)
    );
    assert_eq!(
        app.describe_service(&format!("id={sid}")).await.ok()["service_name"],
        full
    );
    // An empty name removes the short name.
    let r = app
        .rename_service(&sid, &json!({"endpoint_service_name": ""}))
        .await;
    assert_eq!(r.ok()["endpoint_service_name"], format!("local-1.{sid}"));
    assert_eq!(
        app.get_endpoint(&eid).await.ok()["endpoint_service_name"],
        format!("local-1.{sid}")
    );
}

#[tokio::test]
async fn rename_refuses_bad_names_and_other_tenants_services() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    for bad in ["a.b", "with space", "seventeen_chars_x", "ä"] {
        app.rename_service(&sid, &json!({"endpoint_service_name": bad}))
            .await
            .assert_error(400, "EndPoint.3076");
    }
    for body in [json!({}), json!({"endpoint_service_name": null})] {
        app.rename_service(&sid, &body)
            .await
            .assert_error(400, "EndPoint.0002");
    }
    app.rename_service(&sid, &json!({"endpoint_service_name": 7}))
        .await
        .assert_error(400, "EndPoint.0002");
    let stranger = app.as_(&app.new_account());
    stranger
        .rename_service(&sid, &json!({"endpoint_service_name": "mine"}))
        .await
        .assert_error(404, "EndPoint.0005");
    app.rename_service(&uuid(), &json!({"endpoint_service_name": "x"}))
        .await
        .assert_error(404, "EndPoint.0005");
    // Nothing changed.
    assert_eq!(
        app.get_service(&sid).await.ok()["service_name"],
        format!("local-1.{sid}")
    );
}

#[tokio::test]
async fn rename_waits_for_a_settled_service() {
    let app = TestApp::with_args(&["--transition-delay", "30s"]);
    let svc = app.create_service(&service_body(false)).await.ok().clone();
    assert_eq!(svc["status"], "creating");
    let sid = str_of(&svc["id"]);
    app.rename_service(&sid, &json!({"endpoint_service_name": "later"}))
        .await
        .assert_error(400, "EndPoint.3045");
}
