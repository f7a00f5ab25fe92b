//! The v2 operations: UpgradeEndpointService, UpgradeEndpoint and
//! AddEndpointServiceServerResource, as the Terraform provider calls them (no body for the
//! upgrades, 204 expected), and the state they leave in the service and endpoint objects.

use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn upgrades_change_the_editions_the_objects_show() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    assert_eq!(
        app.get_service(&sid).await.ok()["supported_editions"],
        json!(["basic"])
    );
    assert_eq!(
        app.get_endpoint(&eid).await.ok()["specification_name"],
        "default"
    );

    // The endpoint cannot become professional before its service supports it.
    let path = format!("/vpc-endpoints/{eid}/upgrade");
    app.post_v2(&path, None)
        .await
        .assert_error(400, "EndPoint.0002");

    let r = app
        .post_v2(&format!("/vpc-endpoint-services/{sid}/upgrade"), None)
        .await;
    r.assert_status(204);
    assert_eq!(r.text, "");
    let detail = app.get_service(&sid).await.ok().clone();
    assert_eq!(detail["supported_editions"], json!(["basic", "profession"]));
    let listed = app.list_services(&format!("id={sid}")).await;
    assert_eq!(
        listed.ok()["endpoint_services"][0]["supported_editions"],
        json!(["basic", "profession"])
    );
    // Again: a no-op.
    app.post_v2(&format!("/vpc-endpoint-services/{sid}/upgrade"), None)
        .await
        .assert_status(204);
    assert_eq!(
        app.get_service(&sid).await.ok()["updated_at"],
        detail["updated_at"]
    );

    // The Terraform provider sends no body; the SDK sends {"action": "start"}.
    app.post_v2(&path, Some(&json!({"action": "stop"})))
        .await
        .assert_error(400, "EndPoint.0007");
    app.post_v2(&path, None).await.assert_status(204);
    assert_eq!(
        app.get_endpoint(&eid).await.ok()["specification_name"],
        "profession"
    );
    let e2 = str_of(&app.new_endpoint(&sid).await["id"]);
    app.post_v2(
        &format!("/vpc-endpoints/{e2}/upgrade"),
        Some(&json!({"action": "start"})),
    )
    .await
    .assert_status(204);
    assert_eq!(
        app.get_endpoint(&e2).await.ok()["specification_name"],
        "profession"
    );

    // Another tenant's resources are 404.
    let other = app.as_(&app.new_account());
    other
        .post_v2(&format!("/vpc-endpoint-services/{sid}/upgrade"), None)
        .await
        .assert_error(404, "EndPoint.0005");
    other
        .post_v2(&path, None)
        .await
        .assert_error(404, "EndPoint.0005");
}

#[tokio::test]
async fn server_resources_are_added_to_lb_services() {
    let app = TestApp::spawn();
    let mut body = service_body(false);
    body["server_type"] = json!("LB");
    let sid = str_of(&app.create_service(&body).await.ok()["id"]);
    let path = format!("/vpc-endpoint-services/{sid}/add-server-resources");
    let (a, b) = (uuid(), uuid());
    let r = app
        .post_v2(
            &path,
            Some(
                &json!({"server_resources": [{"resource_id": a, "availability_zone_id": "az-1"}]}),
            ),
        )
        .await;
    r.assert_status(204);
    app.post_v2(&path, Some(&json!({"server_resources": [{"resource_id": b}, {"resource_id": a.to_uppercase(), "availability_zone_id": "az-2"}]})))
        .await
        .assert_status(204);
    assert_eq!(
        app.get_service(&sid).await.ok()["server_resources"],
        json!([{"resource_id": a, "availability_zone_id": "az-2"}, {"resource_id": b}])
    );

    for (body, code) in [
        (json!({}), "EndPoint.0002"),
        (json!({"server_resources": []}), "EndPoint.0002"),
        (
            json!({"server_resources": [{"resource_id": "elb-1"}]}),
            "EndPoint.0002",
        ),
        (
            json!({"server_resources": [{"availability_zone_id": "az-1"}]}),
            "EndPoint.0002",
        ),
        (
            json!({"server_resources": [{"resource_id": a}, {"resource_id": a}]}),
            "EndPoint.0002",
        ),
        (
            json!({"server_resources": (0..51).map(|_| json!({"resource_id": uuid()})).collect::<Vec<_>>()}),
            "EndPoint.0016",
        ),
    ] {
        app.post_v2(&path, Some(&body))
            .await
            .assert_error(400, code);
    }
    // The total is bounded too, with nothing changed.
    let many: Vec<Value> = (0..49).map(|_| json!({"resource_id": uuid()})).collect();
    app.post_v2(&path, Some(&json!({"server_resources": many})))
        .await
        .assert_error(400, "EndPoint.0016");
    assert_eq!(
        app.get_service(&sid).await.ok()["server_resources"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // A VM service has no ELB backends; another tenant's service is 404.
    let vm = app.new_service(false).await;
    app.post_v2(
        &format!("/vpc-endpoint-services/{vm}/add-server-resources"),
        Some(&json!({"server_resources": [{"resource_id": a}]})),
    )
    .await
    .assert_error(400, "EndPoint.3021");
    let other = app.as_(&app.new_account());
    other
        .post_v2(
            &path,
            Some(&json!({"server_resources": [{"resource_id": a}]})),
        )
        .await
        .assert_error(404, "EndPoint.0005");
}
