//! AK/SK request signing over real HTTP (docs/api.md §2 and §4, `docs/signing.md`): what a
//! signed request from the SDK gets, and that any change after signing, a date outside the
//! 15-minute window, or a signature that covers too little is refused with 401 `EndPoint.0003`
//! without revealing a secret. Requests are signed by the independent test signer (`signer`).

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::signer::{sdk_date, Key, Req, Signed};
use crate::support::*;

const SEED_CONTENT_TYPE: &str = "application/json;charset=utf-8";

fn list_services(app: &TestApp) -> Req {
    Req::sdk(app, app.project_id(), "GET", "/vpc-endpoint-services")
}

/// ListServiceConnections with the query that `VpcepClient` sends (vector c02).
fn list_connections(app: &TestApp, service_id: &str) -> Req {
    Req::sdk(
        app,
        app.project_id(),
        "GET",
        &format!("/vpc-endpoint-services/{service_id}/connections"),
    )
    .query("status", "accepted")
    .query("sort_key", "create_at")
    .query("sort_dir", "desc")
    .query("limit", "10")
    .query("offset", "0")
}

/// The seed operation as `VpcepClient` sends it: its own Content-Type and a body whose
/// non-ASCII text is `\u`-escaped by simplejson (docs/signing.md §3.5, vector c01).
fn seed(app: &TestApp, service_id: &str, endpoint_id: &str) -> Req {
    Req::sdk(
        app,
        app.project_id(),
        "PUT",
        &format!("/vpc-endpoint-services/{service_id}/connections/description"),
    )
    .header("Content-Type", SEED_CONTENT_TYPE)
    .body(format!(
        r#"{{"connections": [{{"id": "{endpoint_id}", "description": "\u751f\u4ea7 prod"}}]}}"#
    ))
}

const SEEDED_DESCRIPTION: &str = "生产 prod";

/// Asserts 401 `EndPoint.0003` and that the body names neither the secret key, nor the
/// signature, nor the owner's token.
#[track_caller]
fn assert_refused(resp: &Resp, app: &TestApp, signed: &Signed) {
    resp.assert_error(401, "EndPoint.0003");
    assert_no_secrets(&resp.text, app, &[&signed.signature]);
}

#[track_caller]
fn assert_no_secrets(text: &str, app: &TestApp, signatures: &[&str]) {
    assert!(
        !text.contains(&app.owner.secret_key),
        "the secret key is in {text}"
    );
    assert!(!text.contains(app.token()), "the token is in {text}");
    for signature in signatures {
        assert!(!text.contains(signature), "a signature is in {text}");
    }
}

/// Sends the request as it was signed and asserts 200: the 401 of a changed copy then comes
/// from the change, not from signing not working at all.
async fn assert_accepted(signed: &Signed, app: &TestApp) {
    let resp = signed.send(app).await;
    assert_eq!(
        resp.status, 200,
        "the unchanged signed request was refused: {}\ncanonical request:\n{}",
        resp.text, signed.canonical_request
    );
}

/// The connection's description as the owner's token sees it.
async fn description_of(app: &TestApp, service_id: &str, endpoint_id: &str) -> String {
    str_of(&app.connection(service_id, endpoint_id).await["description"])
}

async fn signed_operations_succeed(app: &TestApp, key: &Key) {
    let listed = list_services(app).sign(key).send(app).await;
    assert!(
        listed.ok()["endpoint_services"].is_array(),
        "{}",
        listed.text
    );

    let created = Req::sdk(app, app.project_id(), "POST", "/vpc-endpoint-services")
        .json(&service_body(false))
        .sign(key)
        .send(app)
        .await;
    let service_id = str_of(&created.ok()["id"]);
    let endpoint_id = str_of(&app.new_endpoint(&service_id).await["id"]);

    let seeded = seed(app, &service_id, &endpoint_id)
        .sign(key)
        .send(app)
        .await;
    let items = &seeded.ok()["connections"];
    assert_eq!(items[0]["id"], endpoint_id.as_str(), "{}", seeded.text);
    assert_eq!(
        items[0]["description"], SEEDED_DESCRIPTION,
        "{}",
        seeded.text
    );

    let connections = list_connections(app, &service_id).sign(key).send(app).await;
    let body = connections.ok();
    assert_eq!(ids_of(&body["connections"]), [endpoint_id]);
    assert_eq!(body["connections"][0]["description"], SEEDED_DESCRIPTION);
}

#[tokio::test]
async fn sha256_signed_list_create_seed_and_list_connections_succeed() {
    let app = TestApp::spawn();
    signed_operations_succeed(&app, &Key::sha256(&app.owner)).await;
}

#[tokio::test]
async fn sm3_signed_list_create_seed_and_list_connections_succeed() {
    let app = TestApp::spawn();
    signed_operations_succeed(&app, &Key::sm3(&app.owner)).await;
}

#[tokio::test]
async fn signed_request_sent_byte_for_byte_succeeds() {
    let app = TestApp::spawn();
    let (sid, eids) = app.service_with_connections(1).await;
    let raw = seed(&app, &sid, &eids[0])
        .sign(&Key::sha256(&app.owner))
        .send_raw(&app);
    assert_eq!(raw.status, 200, "{}", String::from_utf8_lossy(&raw.body));
    assert_eq!(
        description_of(&app, &sid, &eids[0]).await,
        SEEDED_DESCRIPTION
    );
}

// ----- any change after signing is refused -----

#[tokio::test]
async fn changed_body_byte_is_401_and_changes_nothing() {
    let app = TestApp::spawn();
    let (sid, eids) = app.service_with_connections(1).await;
    let original = seed(&app, &sid, &eids[0]).sign(&Key::sha256(&app.owner));
    assert_accepted(&original, &app).await;
    let mut signed = original.clone();
    signed.replace_in_body("prod", "prof");
    assert_refused(&signed.send(&app).await, &app, &signed);
    assert_eq!(
        description_of(&app, &sid, &eids[0]).await,
        SEEDED_DESCRIPTION
    );
}

#[tokio::test]
async fn changed_query_value_is_401() {
    let app = TestApp::spawn();
    let (sid, _) = app.service_with_connections(1).await;
    let original = list_connections(&app, &sid).sign(&Key::sha256(&app.owner));
    assert_accepted(&original, &app).await;
    let mut signed = original.clone();
    signed.replace_in_query("limit=10", "limit=11");
    assert_refused(&signed.send(&app).await, &app, &signed);
}

#[tokio::test]
async fn added_query_parameter_is_401() {
    let app = TestApp::spawn();
    let (sid, eids) = app.service_with_connections(1).await;
    let original = list_connections(&app, &sid).sign(&Key::sha256(&app.owner));
    assert_accepted(&original, &app).await;
    let mut signed = original.clone();
    signed.query.push_str(&format!("&id={}", eids[0]));
    assert_refused(&signed.send(&app).await, &app, &signed);
}

#[tokio::test]
async fn changed_signed_header_value_is_401() {
    let app = TestApp::spawn();
    let key = Key::sha256(&app.owner);
    let original = list_services(&app).sign(&key);
    assert_accepted(&original, &app).await;
    let mut signed = original.clone();
    signed.set_header("User-Agent", "huaweicloud-usdk-python/3.0; tampered");
    assert_refused(&signed.send(&app).await, &app, &signed);

    // X-Project-Id changed to another project: still a bad signature, so 401 and not 403.
    let other = app.new_project_in_owner_account();
    let mut signed = original.clone();
    signed.set_header("X-Project-Id", &other.project_id);
    assert_refused(&signed.send(&app).await, &app, &signed);
}

#[tokio::test]
async fn changed_date_value_is_401() {
    let app = TestApp::spawn();
    let now = OffsetDateTime::now_utc();
    let original = list_services(&app).date(now).sign(&Key::sha256(&app.owner));
    assert_accepted(&original, &app).await;
    let mut signed = original.clone();
    // One second later is well inside the window: only the signature can tell.
    signed.set_header("X-Sdk-Date", &sdk_date(now + Duration::seconds(1)));
    assert_refused(&signed.send(&app).await, &app, &signed);
}

#[tokio::test]
async fn changed_path_is_401() {
    let app = TestApp::spawn();
    let (sid, _) = app.service_with_connections(1).await;
    let (other_sid, _) = app.service_with_connections(1).await;
    let original = list_connections(&app, &sid).sign(&Key::sha256(&app.owner));
    assert_accepted(&original, &app).await;
    let mut signed = original.clone();
    signed.path = signed.path.replace(&sid, &other_sid);
    assert_refused(&signed.send(&app).await, &app, &signed);
}

#[tokio::test]
async fn changed_method_is_401() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let original = Req::sdk(
        &app,
        app.project_id(),
        "GET",
        &format!("/vpc-endpoint-services/{sid}"),
    )
    .sign(&Key::sha256(&app.owner));
    assert_accepted(&original, &app).await;
    let mut signed = original.clone();
    signed.method = "DELETE".into();
    assert_refused(&signed.send(&app).await, &app, &signed);
    app.get_service(&sid).await.ok();
}

#[tokio::test]
async fn dropped_signed_header_is_401() {
    let app = TestApp::spawn();
    for name in ["Content-Type", "User-Agent", "X-Sdk-Date"] {
        let original = list_services(&app).sign(&Key::sha256(&app.owner));
        assert_accepted(&original, &app).await;
        let mut signed = original.clone();
        signed.remove_header(name);
        let resp = signed.send(&app).await;
        assert_eq!(resp.status, 401, "without {name}: {}", resp.text);
        assert_refused(&resp, &app, &signed);
    }
}

#[tokio::test]
async fn repeated_signed_header_is_401() {
    let app = TestApp::spawn();
    let original = list_services(&app).sign(&Key::sha256(&app.owner));
    let control = original.send_raw(&app);
    assert_eq!(
        control.status,
        200,
        "{}",
        String::from_utf8_lossy(&control.body)
    );
    let mut signed = original.clone();
    let project = app.project_id().to_string();
    signed.append_header("X-Project-Id", &project);
    let raw = signed.send_raw(&app);
    raw.assert_error(401, "EndPoint.0003");
    assert_no_secrets(
        &String::from_utf8_lossy(&raw.body),
        &app,
        &[&signed.signature],
    );
}

#[tokio::test]
async fn wrong_secret_key_is_401_and_the_right_signature_is_not_revealed() {
    let app = TestApp::spawn();
    let req = list_services(&app);
    let right = req.sign(&Key::sha256(&app.owner));
    let wrong_key = Key {
        secret_key: format!("{}x", app.owner.secret_key),
        ..Key::sha256(&app.owner)
    };
    let wrong = req.sign(&wrong_key);
    assert_ne!(right.signature, wrong.signature);
    let resp = wrong.send(&app).await;
    resp.assert_error(401, "EndPoint.0003");
    // A server that says "expected ..., got ..." would hand out a valid signature.
    assert_no_secrets(&resp.text, &app, &[&right.signature, &wrong.signature]);
    for (name, value) in resp.headers.iter() {
        let value = String::from_utf8_lossy(value.as_bytes());
        assert!(
            !value.contains(&right.signature) && !value.contains(&app.owner.secret_key),
            "response header {name} reveals a secret"
        );
    }
    assert_accepted(&right, &app).await;
}

// ----- the date window (docs/signing.md §7 step 4) -----

#[tokio::test]
async fn date_twenty_minutes_in_the_past_or_future_is_401() {
    let app = TestApp::spawn();
    assert_accepted(&list_services(&app).sign(&Key::sha256(&app.owner)), &app).await;
    for offset in [Duration::minutes(-20), Duration::minutes(20)] {
        let signed = list_services(&app)
            .date(OffsetDateTime::now_utc() + offset)
            .sign(&Key::sha256(&app.owner));
        let resp = signed.send(&app).await;
        assert_eq!(resp.status, 401, "offset {offset}: {}", resp.text);
        assert_refused(&resp, &app, &signed);
    }
}

#[tokio::test]
async fn date_fourteen_minutes_in_the_past_or_future_is_accepted() {
    let app = TestApp::spawn();
    for offset in [Duration::minutes(-14), Duration::minutes(14)] {
        let resp = list_services(&app)
            .date(OffsetDateTime::now_utc() + offset)
            .sign(&Key::sha256(&app.owner))
            .send(&app)
            .await;
        assert_eq!(resp.status, 200, "offset {offset}: {}", resp.text);
    }
}

#[tokio::test]
async fn malformed_date_is_401() {
    let app = TestApp::spawn();
    assert_accepted(&list_services(&app).sign(&Key::sha256(&app.owner)), &app).await;
    let now = OffsetDateTime::now_utc();
    let http_date = now
        .format(&time::format_description::well_known::Rfc2822)
        .expect("format an RFC 2822 date");
    for value in [http_date, sdk_date(now).replace('T', "t")] {
        let signed = list_services(&app)
            .header("X-Sdk-Date", &value)
            .sign(&Key::sha256(&app.owner));
        let resp = signed.send(&app).await;
        assert_eq!(resp.status, 401, "X-Sdk-Date {value:?}: {}", resp.text);
        assert_refused(&resp, &app, &signed);
    }
}

// ----- what a signature must cover, and whose it is -----

#[tokio::test]
async fn unsigned_payload_on_a_put_with_a_body_is_401() {
    let app = TestApp::spawn();
    let (sid, eids) = app.service_with_connections(1).await;
    let signed = seed(&app, &sid, &eids[0])
        .header("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")
        .sign(&Key::sha256(&app.owner));
    assert!(signed.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
    assert_refused(&signed.send(&app).await, &app, &signed);
    assert_eq!(description_of(&app, &sid, &eids[0]).await, "");
    // The same request with its body hash signed goes through.
    assert_accepted(
        &seed(&app, &sid, &eids[0]).sign(&Key::sha256(&app.owner)),
        &app,
    )
    .await;
}

#[tokio::test]
async fn unknown_access_key_is_401() {
    let app = TestApp::spawn();
    let key = Key {
        access_key: "UNKNOWNACCESSKEY0000".into(),
        ..Key::sha256(&app.owner)
    };
    let signed = list_services(&app).sign(&key);
    assert_refused(&signed.send(&app).await, &app, &signed);
    assert_accepted(&list_services(&app).sign(&Key::sha256(&app.owner)), &app).await;
}

/// The gateway's rule, which the Go signers rely on (docs/signing.md §7, §12; `go_clients` has
/// their whole flows): `host` need not be signed, and a signed one must match.
#[tokio::test]
async fn host_may_be_left_out_of_the_signed_headers() {
    let app = TestApp::spawn();
    let signed = list_services(&app)
        .unsigned("Host")
        .sign(&Key::sha256(&app.owner));
    let authorization = signed.header("Authorization").unwrap_or_default();
    assert!(!authorization.contains("host"), "{authorization}");
    assert_accepted(&signed, &app).await;
    let mut moved = list_services(&app).sign(&Key::sha256(&app.owner));
    moved.set_header("Host", &format!("localhost:{}", app.addr().port()));
    assert_refused(&moved.send(&app).await, &app, &moved);
}

#[tokio::test]
async fn x_sdk_date_must_be_among_signed_headers() {
    let app = TestApp::spawn();
    assert_accepted(&list_services(&app).sign(&Key::sha256(&app.owner)), &app).await;
    let signed = list_services(&app)
        .unsigned("X-Sdk-Date")
        .sign(&Key::sha256(&app.owner));
    let authorization = signed.header("Authorization").unwrap_or_default();
    assert!(!authorization.contains("x-sdk-date"), "{authorization}");
    assert_refused(&signed.send(&app).await, &app, &signed);
}

#[tokio::test]
async fn unsupported_signing_algorithms_are_401() {
    let app = TestApp::spawn();
    let ak = app.owner.access_key.clone();
    for (scheme, access) in [
        (
            "V11-HMAC-SHA256",
            format!(
                "Credential={ak}/{}/local-1/vpcep",
                &sdk_date(OffsetDateTime::now_utc())[..8]
            ),
        ),
        ("SDK-ECDSA-P256-SHA256", format!("Access={ak}")),
        ("SDK-SM2-SM3", format!("Access={ak}")),
        ("AWS4-HMAC-SHA256", format!("Credential={ak}/x")),
    ] {
        let mut signed = list_services(&app).sign(&Key::sha256(&app.owner));
        assert_accepted(&signed, &app).await;
        let original = signed
            .header("Authorization")
            .unwrap_or_default()
            .to_string();
        let rest = original
            .split_once(", ")
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default();
        signed.set_header("Authorization", &format!("{scheme} {access}, {rest}"));
        let resp = signed.send(&app).await;
        assert_eq!(resp.status, 401, "{scheme}: {}", resp.text);
        assert_refused(&resp, &app, &signed);
    }
}

#[tokio::test]
async fn token_sent_as_authorization_is_401_and_not_echoed() {
    let app = TestApp::spawn();
    let token = app.token().to_string();
    for value in [token.clone(), format!("Bearer {token}")] {
        let resp = Resp::from_reqwest(
            app.client
                .get(app.project_url("/vpc-endpoint-services"))
                .header("Authorization", value)
                .send()
                .await
                .expect("send"),
        )
        .await;
        resp.assert_error(401, "EndPoint.0003");
        assert_no_secrets(&resp.text, &app, &[]);
    }
}

#[tokio::test]
async fn valid_signature_for_another_projects_path_is_403() {
    let app = TestApp::spawn();
    let stranger = app.new_account();
    let resp = Req::sdk(&app, &stranger.project_id, "GET", "/vpc-endpoint-services")
        .sign(&Key::sha256(&app.owner))
        .send(&app)
        .await;
    resp.assert_error(403, "EndPoint.0004");

    // The same from a sibling project of the same account.
    let sibling = app.new_project_in_owner_account();
    let resp = Req::sdk(&app, &sibling.project_id, "GET", "/vpc-endpoint-services")
        .sign(&Key::sha256(&app.owner))
        .send(&app)
        .await;
    resp.assert_error(403, "EndPoint.0004");
}

#[tokio::test]
async fn signed_x_project_id_of_another_project_is_403() {
    let app = TestApp::spawn();
    let sibling = app.new_project_in_owner_account();
    let signed = list_services(&app)
        .header("X-Project-Id", &sibling.project_id)
        .sign(&Key::sha256(&app.owner));
    assert!(signed
        .canonical_request
        .contains(&format!("x-project-id:{}\n", sibling.project_id)));
    signed.send(&app).await.assert_error(403, "EndPoint.0004");
}

// ----- credentials -----

#[tokio::test]
async fn deleted_credential_is_refused_at_once() {
    let app = TestApp::spawn();
    let sibling = app.new_project_in_owner_account();
    let key = Key::sha256(&sibling);
    let req = || Req::sdk(&app, &sibling.project_id, "GET", "/vpc-endpoint-services");
    req().sign(&key).send(&app).await.ok();

    let out = vpcep(&[
        "credentials",
        "delete",
        "--database",
        &app.db_url,
        "--access-key",
        &sibling.access_key,
    ]);
    assert!(
        out.status.success(),
        "credentials delete failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let signed = req().sign(&key);
    let resp = signed.send(&app).await;
    resp.assert_error(401, "EndPoint.0003");
    assert!(!resp.text.contains(&sibling.secret_key), "{}", resp.text);
    // The owner's credential is untouched.
    list_services(&app)
        .sign(&Key::sha256(&app.owner))
        .send(&app)
        .await
        .ok();
}

#[tokio::test]
async fn token_auth_keeps_working_next_to_signing() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let signed = Req::sdk(
        &app,
        app.project_id(),
        "GET",
        &format!("/vpc-endpoint-services/{sid}"),
    )
    .sign(&Key::sha256(&app.owner))
    .send(&app)
    .await;
    assert_eq!(signed.ok()["id"], sid.as_str());
    assert_eq!(app.get_service(&sid).await.ok()["id"], sid.as_str());
    let other = app.new_account();
    app.as_(&other).list_services("").await.ok();
    app.caller(Some("vpcep_not-a-token"), app.project_id())
        .list_services("")
        .await
        .assert_error(401, "EndPoint.0003");
    let body = json!({"connections": []});
    // A token request with a body still goes through the token path (400 for the empty list).
    app.update_connection_descriptions(&sid, &body)
        .await
        .assert_error(400, "EndPoint.0002");
}
