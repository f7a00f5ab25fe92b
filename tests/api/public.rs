//! The public catalogue (ListServicePublicDetails), gateway endpoints to it with their route
//! tables (UpdateEndpointRoutetable) and policies (UpdateEndpointPolicy, DeleteEndpointPolicy),
//! and the policy of interface endpoints, on both backends.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

const OBS: &str = "local-1.com.myhuaweicloud.v4.obsv2";
const DNS: &str = "local-1.com.myhuaweicloud.v4.dns";

async fn public(c: &Caller, query: &str) -> Value {
    let path = if query.is_empty() {
        "/vpc-endpoint-services/public".to_owned()
    } else {
        format!("/vpc-endpoint-services/public?{query}")
    };
    c.call(Method::GET, &path, None).await.ok().clone()
}

fn names(list: &Value) -> Vec<String> {
    list["endpoint_services"]
        .as_array()
        .unwrap_or_else(|| panic!("no endpoint_services in {list}"))
        .iter()
        .map(|s| str_of(&s["service_name"]))
        .collect()
}

async fn public_id(c: &Caller, name: &str) -> String {
    let list = public(c, "").await;
    list["endpoint_services"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["service_name"] == name))
        .map(|s| str_of(&s["id"]))
        .unwrap_or_else(|| panic!("{name} not in {list}"))
}

fn statement(action: &str) -> Value {
    json!({"Effect": "Allow", "Action": [action], "Resource": ["obs:*:*:*:*/*"]})
}

async fn policy(c: &Caller, eid: &str, body: Value) -> Resp {
    c.call(
        Method::PUT,
        &format!("/vpc-endpoints/{eid}/policy"),
        Some(&body),
    )
    .await
}

async fn delete_policy(c: &Caller, eid: &str) -> Resp {
    c.call(
        Method::DELETE,
        &format!("/vpc-endpoints/{eid}/policy"),
        None,
    )
    .await
}

async fn routetables(c: &Caller, eid: &str, tables: Value) -> Resp {
    c.call(
        Method::PUT,
        &format!("/vpc-endpoints/{eid}/routetables"),
        Some(&json!({ "routetables": tables })),
    )
    .await
}

#[tokio::test]
async fn every_tenant_sees_the_same_catalogue_and_not_in_its_own_lists() {
    let app = TestApp::spawn();
    let other = app.as_(&app.new_account());
    let list = public(&app, "").await;
    assert_eq!(list["total_count"], 2);
    assert_eq!(names(&list), [DNS, OBS]);
    for item in list["endpoint_services"].as_array().unwrap() {
        assert_keys(
            item,
            &[
                "id",
                "owner",
                "service_name",
                "service_type",
                "created_at",
                "is_charge",
                "enable_policy",
            ],
            "public service",
        );
        assert_lower_uuid(&item["id"]);
        assert_timestamp(&item["created_at"]);
    }
    let obs = &list["endpoint_services"][1];
    assert_eq!(
        (obs["service_type"].as_str(), obs["enable_policy"].as_bool()),
        (Some("gateway"), Some(true))
    );
    assert_eq!(public(&other, "").await, list);

    // Filters and pages as the other lists do.
    assert_eq!(
        names(&public(&app, "endpoint_service_name=OBSV2").await),
        [OBS]
    );
    let id = str_of(&obs["id"]);
    assert_eq!(
        names(&public(&app, &format!("id={}", id.to_uppercase())).await),
        [OBS]
    );
    let page = public(&app, "limit=1&offset=1").await;
    assert_eq!(
        (names(&page).len(), page["total_count"].as_i64()),
        (1, Some(2))
    );
    let past = public(&app, "offset=2").await;
    assert_eq!(past, json!({"endpoint_services": [], "total_count": 2}));
    app.call(
        Method::GET,
        "/vpc-endpoint-services/public?limit=1001",
        None,
    )
    .await
    .assert_error(400, "EndPoint.0006");

    // Describe finds it; it is nobody's own service.
    let summary = app.describe_service(&format!("id={id}")).await;
    assert_eq!(summary.ok()["service_name"], OBS);
    app.get_service(&id)
        .await
        .assert_error(404, "EndPoint.0005");
    app.delete_service(&id)
        .await
        .assert_error(404, "EndPoint.0005");
    assert_eq!(app.list_services("").await.ok()["total_count"], 0);

    // A reset keeps the catalogue.
    let restarted = TestApp::with_args(&["--allow-reset"]);
    let gid = public_id(&restarted, OBS).await;
    restarted
        .create_endpoint(&json!({"endpoint_service_id": gid, "vpc_id": uuid()}))
        .await
        .ok();
    restarted
        .plain(Method::POST, "/_vpcep/reset", Some(restarted.token()))
        .await
        .assert_status(200);
    assert_eq!(public(&restarted, "").await["total_count"], 2);
    assert_eq!(restarted.list_endpoints("").await.ok()["total_count"], 0);
}

#[tokio::test]
async fn gateway_endpoints_bind_route_tables_and_carry_policies() {
    let app = TestApp::spawn();
    let consumer = app.as_(&app.new_account());
    let obs = public_id(&consumer, OBS).await;
    let vpc = uuid();

    // No whitelist needed; no subnet, no address; the VPC's default route table.
    let r = consumer
        .create_endpoint(&json!({
            "endpoint_service_id": obs, "vpc_id": vpc,
            "policy_statement": [statement("obs:object:GetObject")],
        }))
        .await;
    let created = r.ok().clone();
    assert_eq!(created["status"], "accepted");
    assert_eq!(created["service_type"], "gateway");
    assert!(
        created.get("ip").is_none() && created.get("subnet_id").is_none(),
        "{created}"
    );
    let eid = str_of(&created["id"]);
    let detail = consumer.get_endpoint(&eid).await.ok().clone();
    let default_table = detail["routetables"][0].clone();
    assert_lower_uuid(&default_table);
    assert_eq!(detail["routetables"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        detail["policy_statement"],
        json!([statement("obs:object:GetObject")])
    );
    assert!(detail.get("ip").is_none());

    // A second endpoint of the service in the VPC cannot take a table the first one holds;
    // in another VPC the same default is another table.
    let mut second =
        json!({"endpoint_service_id": obs, "vpc_id": vpc, "routetables": [default_table]});
    consumer
        .create_endpoint(&second)
        .await
        .assert_error(400, "EndPoint.2039");
    let t1 = uuid();
    second["routetables"] = json!([t1]);
    let e2 = str_of(&consumer.create_endpoint(&second).await.ok()["id"]);
    let elsewhere = consumer
        .create_endpoint(&json!({"endpoint_service_id": obs, "vpc_id": uuid()}))
        .await;
    assert_ne!(
        consumer
            .get_endpoint(&str_of(&elsewhere.ok()["id"]))
            .await
            .ok()["routetables"][0],
        default_table
    );

    // UpdateEndpointRoutetable: a partial success names what another endpoint holds.
    let t2 = uuid();
    let r = routetables(&consumer, &eid, json!([t2, t1, t2.to_uppercase()])).await;
    assert_eq!(r.ok()["routetables"], json!([t2]));
    let failed = &r.ok()["error"][0]["bind_failed"];
    assert_eq!(failed[0]["id"], json!(t1));
    assert!(
        str_of(&failed[0]["error_message"]).contains("EndPoint.2039"),
        "{failed}"
    );
    assert_eq!(r.ok()["error"][0]["unbind_failed"], json!([]));
    assert_eq!(
        consumer.get_endpoint(&eid).await.ok()["routetables"],
        json!([t2])
    );
    let r = routetables(&consumer, &eid, json!([t2])).await;
    assert_eq!(r.ok(), &json!({"routetables": [t2]}));
    // Nothing left bound: refused, nothing changed.
    routetables(&consumer, &eid, json!([t1]))
        .await
        .assert_error(400, "EndPoint.2040");
    routetables(&consumer, &eid, json!([]))
        .await
        .assert_error(400, "EndPoint.2040");
    routetables(&consumer, &eid, json!(["rtb-1"]))
        .await
        .assert_error(400, "EndPoint.1019");
    consumer
        .call(
            Method::PUT,
            &format!("/vpc-endpoints/{eid}/routetables"),
            Some(&json!({})),
        )
        .await
        .assert_error(400, "EndPoint.0002");
    assert_eq!(
        consumer.get_endpoint(&eid).await.ok()["routetables"],
        json!([t2])
    );
    routetables(&app, &eid, json!([uuid()]))
        .await
        .assert_error(404, "EndPoint.0005");

    // Policies: statements replace, an absent key keeps, a bad statement is 2048.
    let r = policy(
        &consumer,
        &e2,
        json!({"policy_statement": [statement("obs:*:*")]}),
    )
    .await;
    let body = r.ok();
    assert_eq!(body["policy_statement"], json!([statement("obs:*:*")]));
    for absent in ["enable_dns", "dns_names", "subnet_id"] {
        assert!(body.get(absent).is_none(), "{absent} in {body}");
    }
    assert_eq!(
        policy(&consumer, &e2, json!({})).await.ok()["policy_statement"],
        json!([statement("obs:*:*")])
    );
    for bad in [
        json!({"policy_statement": [{"Effect": "Maybe", "Action": ["*"], "Resource": ["*"]}]}),
        json!({"policy_statement": [{"Effect": "Allow", "Resource": ["*"]}]}),
        json!({"policy_statement": (0..11).map(|_| statement("*")).collect::<Vec<_>>()}),
        json!({"policy_document": {"Version": "5.0"}}),
    ] {
        policy(&consumer, &e2, bad)
            .await
            .assert_error(400, "EndPoint.2048");
    }
    assert_eq!(
        consumer.get_endpoint(&e2).await.ok()["policy_statement"],
        json!([statement("obs:*:*")])
    );
    let r = delete_policy(&consumer, &e2).await;
    assert_eq!(r.ok()["policy_statement"], json!([]));
    delete_policy(&consumer, &e2)
        .await
        .assert_error(400, "EndPoint.2049");
    delete_policy(&app, &e2)
        .await
        .assert_error(404, "EndPoint.0005");

    // The catalogue's interface service: an address, a subnet needed, no policies.
    let dns = public_id(&consumer, DNS).await;
    consumer
        .create_endpoint(&json!({"endpoint_service_id": dns, "vpc_id": uuid()}))
        .await
        .assert_error(400, "EndPoint.2010");
    let e3 = consumer.new_endpoint(&dns).await;
    assert_eq!(e3["status"], "accepted");
    let e3 = str_of(&e3["id"]);
    assert!(consumer.get_endpoint(&e3).await.ok()["ip"].is_string());
    assert_eq!(
        consumer.get_endpoint(&e3).await.ok()["routetables"],
        json!([])
    );
    routetables(&consumer, &e3, json!([uuid()]))
        .await
        .assert_error(400, "EndPoint.0002");
    policy(&consumer, &e3, json!({"policy_document": {}}))
        .await
        .assert_error(400, "EndPoint.2048");
    delete_policy(&consumer, &e3)
        .await
        .assert_error(400, "EndPoint.2049");
}

#[tokio::test]
async fn interface_endpoints_of_services_with_enable_policy_take_a_document() {
    let app = TestApp::spawn();
    let mut body = service_body(false);
    body["enable_policy"] = json!(true);
    let sid = str_of(&app.create_service(&body).await.ok()["id"]);
    let doc = json!({"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]});
    let mut e = endpoint_body(&sid);
    e["policy_statement"] = json!([statement("obs:*:*")]);
    app.create_endpoint(&e)
        .await
        .assert_error(400, "EndPoint.2048");
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    let r = policy(&app, &eid, json!({"policy_document": doc})).await;
    assert_eq!(r.ok()["policy_document"], doc);
    assert_eq!(app.get_endpoint(&eid).await.ok()["policy_document"], doc);
    policy(&app, &eid, json!({"policy_statement": [statement("*")]}))
        .await
        .assert_error(400, "EndPoint.2048");
    assert!(delete_policy(&app, &eid)
        .await
        .ok()
        .get("policy_document")
        .is_none());
    assert!(app
        .get_endpoint(&eid)
        .await
        .ok()
        .get("policy_document")
        .is_none());

    // Without enable_policy, no policy at all.
    let plain = app.new_service(false).await;
    let mut e = endpoint_body(&plain);
    e["policy_document"] = json!({});
    app.create_endpoint(&e)
        .await
        .assert_error(400, "EndPoint.2048");
}

#[tokio::test]
async fn the_catalogue_is_what_the_operator_makes_it() {
    let app = TestApp::with_args(&["--no-default-public-services"]);
    assert_eq!(
        public(&app, "").await,
        json!({"endpoint_services": [], "total_count": 0})
    );
    let out = vpcep(&[
        "public-services",
        "add",
        "--database",
        &app.db_url,
        "--name",
        "com.example.v1.storage",
        "--service-type",
        "interface",
        "--owner",
        "example",
        "--charge",
        "--port",
        "443:8443",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added = single_json(&out.stdout);
    assert_eq!(added["added"], true);
    let again = vpcep(&[
        "public-services",
        "add",
        "--database",
        &app.db_url,
        "--name",
        "com.example.v1.storage",
    ]);
    assert_eq!(single_json(&again.stdout)["added"], false);
    let list = public(&app, "").await;
    assert_eq!(names(&list), ["local-1.com.example.v1.storage"]);
    let item = &list["endpoint_services"][0];
    assert_eq!(
        (item["owner"].as_str(), item["is_charge"].as_bool()),
        (Some("example"), Some(true))
    );
    assert_eq!(item["id"], added["id"]);
    let summary = app
        .describe_service("endpoint_service_name=local-1.com.example.v1.storage")
        .await;
    assert_eq!(summary.ok()["is_charge"], true);
    let consumer = app.as_(&app.new_account());
    let e = consumer.new_endpoint(&str_of(&item["id"])).await;
    assert_eq!(e["status"], "accepted");
    let bad = vpcep(&[
        "public-services",
        "add",
        "--database",
        &app.db_url,
        "--name",
        "bad name",
    ]);
    assert!(!bad.status.success());
}
