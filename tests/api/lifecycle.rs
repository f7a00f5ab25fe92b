//! The lifecycle with `--transition-delay`: resources pass through `creating` and `deleting`,
//! clients polling the detail see the intermediate states, pending transitions survive a
//! restart, transitional states refuse the changes the reference forbids, and injected faults
//! appear in responses exactly as the reference shapes them.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{endpoint_body, str_of, vpcep, Caller, TestApp};

const DELAY: &str = "1200ms";

/// Polls `get` until the resource's `status` is `want` (or it is gone, for `want == "gone"`),
/// returning every status seen on the way.
async fn poll_status(api: &Caller, path: &str, want: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let r = api.call(reqwest::Method::GET, path, None).await;
        let status = if r.status == 404 {
            "gone".to_string()
        } else {
            str_of(&r.ok()["status"])
        };
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == want {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never reached {want}: saw {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_polling_client_sees_creating_then_the_settled_states_and_deleting_then_gone() {
    let app = TestApp::with_args(&["--transition-delay", DELAY]);
    let r = app
        .create_service(&crate::support::service_body(false))
        .await;
    assert_eq!(r.ok()["status"], "creating");
    let sid = str_of(&r.body["id"]);
    let seen = poll_status(&app, &format!("/vpc-endpoint-services/{sid}"), "available").await;
    assert_eq!(seen, ["creating", "available"]);

    let r = app.create_endpoint(&endpoint_body(&sid)).await;
    assert_eq!(r.ok()["status"], "creating");
    let eid = str_of(&r.body["id"]);
    // A connection being created counts in connection_count (the reference's service object).
    let list = app.list_services("").await;
    assert_eq!(list.ok()["endpoint_services"][0]["connection_count"], 1);
    let seen = poll_status(&app, &format!("/vpc-endpoints/{eid}"), "accepted").await;
    assert_eq!(seen, ["creating", "accepted"]);

    app.delete_endpoint(&eid).await.assert_status(204);
    let seen = poll_status(&app, &format!("/vpc-endpoints/{eid}"), "gone").await;
    assert_eq!(seen, ["deleting", "gone"]);

    app.delete_service(&sid).await.assert_status(204);
    let seen = poll_status(&app, &format!("/vpc-endpoint-services/{sid}"), "gone").await;
    assert_eq!(seen, ["deleting", "gone"]);
}

#[tokio::test]
async fn approval_decides_where_a_creating_connection_settles() {
    let app = TestApp::with_args(&["--transition-delay", "300ms"]);
    let sid = str_of(
        &app.create_service(&crate::support::service_body(true))
            .await
            .ok()["id"],
    );
    poll_status(&app, &format!("/vpc-endpoint-services/{sid}"), "available").await;
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    let seen = poll_status(&app, &format!("/vpc-endpoints/{eid}"), "pendingAcceptance").await;
    assert_eq!(seen, ["creating", "pendingAcceptance"]);
}

#[tokio::test]
async fn transitional_states_refuse_what_the_reference_forbids() {
    let app = TestApp::with_args(&["--transition-delay", "3s"]);
    let sid = str_of(
        &app.create_service(&crate::support::service_body(false))
            .await
            .ok()["id"],
    );
    // A service being created takes no connections and cannot be deleted yet.
    app.create_endpoint(&endpoint_body(&sid))
        .await
        .assert_error(400, "EndPoint.2004");
    app.delete_service(&sid)
        .await
        .assert_error(409, "EndPoint.0001");
    poll_status(&app, &format!("/vpc-endpoint-services/{sid}"), "available").await;

    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    // Being created: no accept/reject, no description, no delete.
    app.accept_or_reject(&sid, &json!({"action": "reject", "endpoints": [eid]}))
        .await
        .assert_error(409, "EndPoint.2019");
    app.set_descriptions(&sid, &[(&eid, "x")])
        .await
        .assert_error(409, "EndPoint.2019");
    app.delete_endpoint(&eid)
        .await
        .assert_error(409, "EndPoint.2019");
    poll_status(&app, &format!("/vpc-endpoints/{eid}"), "accepted").await;

    app.set_descriptions(&sid, &[(&eid, "kept")]).await.ok();
    app.delete_endpoint(&eid).await.assert_status(204);
    // Being deleted: the seed operation is refused and changes nothing.
    app.set_descriptions(&sid, &[(&eid, "changed")])
        .await
        .assert_error(409, "EndPoint.2018");
    app.delete_endpoint(&eid)
        .await
        .assert_error(409, "EndPoint.2018");
    let c = app.connection(&sid, &eid).await;
    assert_eq!(c["status"], "deleting");
    assert_eq!(c["description"], "kept");
    // A service with a connection being deleted is still in use.
    app.delete_service(&sid)
        .await
        .assert_error(400, "EndPoint.3006");
}

#[tokio::test]
async fn a_connection_that_refuses_the_change_leaves_the_others_of_the_request_unchanged() {
    let app = TestApp::with_args(&["--transition-delay", DELAY]);
    let sid = str_of(
        &app.create_service(&crate::support::service_body(false))
            .await
            .ok()["id"],
    );
    poll_status(&app, &format!("/vpc-endpoint-services/{sid}"), "available").await;
    let settled = str_of(&app.new_endpoint(&sid).await["id"]);
    poll_status(&app, &format!("/vpc-endpoints/{settled}"), "accepted").await;
    app.set_descriptions(&sid, &[(&settled, "kept")]).await.ok();
    let before = app.connection(&sid, &settled).await;

    // Named after a connection that takes the change, one being created refuses it.
    let creating = str_of(&app.new_endpoint(&sid).await["id"]);
    app.set_descriptions(&sid, &[(&settled, "changed"), (&creating, "x")])
        .await
        .assert_error(409, "EndPoint.2019");
    assert_eq!(app.connection(&sid, &settled).await, before);
}

#[tokio::test]
async fn pending_transitions_complete_after_a_restart() {
    let mut app = TestApp::with_args(&["--transition-delay", "1500ms"]);
    let r = app
        .create_service(&crate::support::service_body(false))
        .await;
    let sid = str_of(&r.ok()["id"]);
    assert_eq!(r.body["status"], "creating");
    // Stopped before the transition is due, started after it.
    let status = app.stop("TERM");
    assert_eq!(status.code(), Some(0));
    tokio::time::sleep(Duration::from_millis(1800)).await;
    app.start_again();
    let seen = poll_status(&app, &format!("/vpc-endpoint-services/{sid}"), "available").await;
    assert_eq!(seen.last().map(String::as_str), Some("available"));
}

fn inject(app: &TestApp, args: &[&str]) -> Value {
    let mut all = vec!["inject"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--database", &app.db_url]);
    let out = vpcep(&all);
    assert!(
        out.status.success(),
        "vpcep inject failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("inject prints JSON")
}

#[tokio::test]
async fn injected_endpoint_failure_appears_as_the_reference_shapes_it() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    let printed = inject(
        &app,
        &[
            "endpoint-failed",
            "--project-id",
            app.project_id(),
            "--id",
            &eid,
            "--error-code",
            "EndPoint.2022",
            "--error-message",
            "Failed to create an endpoint.",
        ],
    );
    let error =
        json!([{"error_code": "EndPoint.2022", "error_message": "Failed to create an endpoint."}]);
    assert_eq!(printed["status"], "failed");
    assert_eq!(printed["error"], error);
    let detail = app.get_endpoint(&eid).await;
    assert_eq!(detail.ok()["status"], "failed");
    assert_eq!(detail.body["error"], error);
    let list = app.list_endpoints("").await;
    assert_eq!(list.ok()["endpoints"][0]["error"], error);
    let c = app.connection(&sid, &eid).await;
    assert_eq!(c["status"], "failed");
    assert_eq!(c["error"], error);
    // A failed connection cannot be accepted or rejected (EndPoint.2047)...
    app.accept_or_reject(&sid, &json!({"action": "receive", "endpoints": [eid]}))
        .await
        .assert_error(400, "EndPoint.2047");
    // ...but its owner may still describe it, and the response carries the error.
    let r = app
        .set_descriptions(&sid, &[(&eid, "broken on purpose")])
        .await;
    assert_eq!(r.ok()["connections"][0]["error"], error);
}

#[tokio::test]
async fn injected_service_failure_and_failing_creations() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    inject(
        &app,
        &[
            "service-failed",
            "--project-id",
            app.project_id(),
            "--id",
            &sid,
        ],
    );
    let detail = app.get_service(&sid).await;
    assert_eq!(detail.ok()["status"], "failed");
    assert_eq!(
        detail.body["error"],
        json!([{"code": "EndPoint.0001", "message": "System error. Please retry."}])
    );
    let good = app.new_service(false).await;

    inject(
        &app,
        &[
            "fail-next-creations",
            "--project-id",
            app.project_id(),
            "--count",
            "2",
            "--error-code",
            "EndPoint.2022",
            "--error-message",
            "Failed to create an endpoint.",
        ],
    );
    let first = app.new_endpoint(&good).await;
    assert_eq!(first["status"], "failed");
    let second = app
        .create_service(&crate::support::service_body(false))
        .await;
    assert_eq!(second.ok()["status"], "failed");
    let sid2 = str_of(&second.body["id"]);
    assert_eq!(
        app.get_service(&sid2).await.ok()["error"][0]["code"],
        "EndPoint.2022"
    );
    // The plan is used up: the third creation succeeds.
    assert_eq!(app.new_endpoint(&good).await["status"], "accepted");
    // Another project is not affected by this project's plan.
    let other = app.new_project_in_owner_account();
    let r = app.as_(&other).create_endpoint(&endpoint_body(&good)).await;
    assert_eq!(r.ok()["status"], "accepted");
}

/// The HTTP form of fault injection, under `/_vpcep/`, with the caller's own credential.
async fn inject_http(api: &Caller, token: &str, path: &str, body: Value) -> crate::support::Resp {
    let url = api.project_url("").replacen("/v1/", "/_vpcep/v1/", 1) + path;
    let r = reqwest::Client::new()
        .post(url)
        .header("X-Auth-Token", token)
        .json(&body)
        .send()
        .await
        .expect("send");
    crate::support::Resp::from_reqwest(r).await
}

#[tokio::test]
async fn fault_injection_over_http_needs_the_resources_project() {
    let app = TestApp::spawn();
    let consumer = app.new_project_in_owner_account();
    let sid = app.new_service(false).await;
    let eid = str_of(&app.as_(&consumer).new_endpoint(&sid).await["id"]);
    let body =
        json!({"error_code": "EndPoint.2022", "error_message": "Failed to create an endpoint."});

    // A stranger cannot touch it: 404 as for any other tenant's resource.
    let stranger = app.new_account();
    let r = inject_http(
        &app.as_(&stranger),
        &stranger.token,
        &format!("/vpc-endpoints/{eid}/fail"),
        body.clone(),
    )
    .await;
    r.assert_error(404, "EndPoint.0005");
    assert_eq!(app.connection(&sid, &eid).await["status"], "accepted");

    // The service owner may fail a connection to its service.
    let r = inject_http(
        &app,
        app.token(),
        &format!("/vpc-endpoints/{eid}/fail"),
        body.clone(),
    )
    .await;
    assert_eq!(r.ok()["status"], "failed");
    assert_eq!(r.body["error"][0]["error_code"], "EndPoint.2022");
    let seen = app.as_(&consumer).get_endpoint(&eid).await;
    assert_eq!(
        seen.ok()["error"][0]["error_message"],
        "Failed to create an endpoint."
    );

    let r = inject_http(
        &app,
        app.token(),
        &format!("/vpc-endpoint-services/{sid}/fail"),
        json!({}),
    )
    .await;
    assert_eq!(r.ok()["status"], "failed");
    assert_eq!(r.body["error"][0]["code"], "EndPoint.0001");

    let r = inject_http(
        &app,
        app.token(),
        "/fail-next-creations",
        json!({"count": 1}),
    )
    .await;
    assert_eq!(r.ok()["count"], 1);
    assert_eq!(
        app.create_service(&crate::support::service_body(false))
            .await
            .ok()["status"],
        "failed"
    );
    inject_http(
        &app,
        app.token(),
        "/fail-next-creations",
        json!({"count": -1}),
    )
    .await
    .assert_error(400, "EndPoint.0002");
    inject_http(
        &app,
        app.token(),
        "/fail-next-creations",
        json!({"count": 1, "error_code": "a<b"}),
    )
    .await
    .assert_error(400, "EndPoint.0002");
    // Without a credential: 401.
    let r = inject_http(&app, "nope", "/fail-next-creations", json!({"count": 1})).await;
    r.assert_error(401, "EndPoint.0003");
}
