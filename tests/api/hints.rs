//! Errors that point at the mistake: a client that was given no project id, a 404 that names
//! what is missing, a 501 that does not invite a retry, the log line of a refused request, and an
//! `https://` client on the plain-HTTP port.

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::signer::{Key, Req};
use crate::support::*;

/// Waits (bounded) until the server's log holds `needle`, and returns the log.
async fn log_with(app: &TestApp, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = app.log();
        if log.contains(needle) || Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_path_with_the_literal_project_id_placeholder_says_what_is_missing() {
    let app = TestApp::spawn();
    // As the Python SDK sends it when given no project id: signed, `{project_id}` escaped.
    let signed = Req::sdk(&app, "{project_id}", "GET", "/vpc-endpoint-services")
        .sign(&Key::sha256(&app.owner));
    assert!(
        signed.path.starts_with("/v1/%7Bproject_id%7D/"),
        "{}",
        signed.path
    );
    let message = signed.send(&app).await.assert_error(400, "EndPoint.0014");
    assert!(message.contains("no project id"), "{message}");
    assert!(
        message.contains("BasicCredentials(ak, sk, project_id)"),
        "{message}"
    );
    // With a token, the same.
    let resp = app
        .caller(Some(app.token()), "%7Bproject_id%7D")
        .list_services("")
        .await;
    assert!(
        resp.assert_error(400, "EndPoint.0014")
            .contains("no project id"),
        "{}",
        resp.text
    );
    // Any other malformed project id keeps the plain message.
    let plain = app
        .caller(Some(app.token()), "bad_id")
        .list_services("")
        .await;
    assert_eq!(
        plain.assert_error(400, "EndPoint.0014"),
        "Invalid project ID."
    );
}

#[tokio::test]
async fn a_404_names_the_resource_that_is_missing() {
    let app = TestApp::spawn();
    let missing = uuid();
    let sid = app.new_service(false).await;
    let cases = [
        (
            app.get_service(&missing).await,
            format!("No endpoint service {missing} in this project."),
        ),
        (
            app.list_connections(&missing, "").await,
            format!("No endpoint service {missing} in this project."),
        ),
        (
            app.set_descriptions(&missing, &[(&uuid(), "x")]).await,
            format!("No endpoint service {missing} in this project."),
        ),
        (
            app.get_endpoint(&missing.to_uppercase()).await,
            format!("No endpoint {missing} in this project."),
        ),
        (
            app.delete_endpoint(&missing).await,
            format!("No endpoint {missing} in this project."),
        ),
        (
            app.call(
                reqwest::Method::PUT,
                &format!("/vpc-endpoint-services/{sid}/permissions/{missing}"),
                Some(&json!({"permission": {"description": "x"}})),
            )
            .await,
            format!("No whitelist record {missing} of endpoint service {sid} in this project."),
        ),
    ];
    for (resp, want) in cases {
        let message = resp.assert_error(404, "EndPoint.0005");
        assert_eq!(
            message,
            format!("The requested resource does not exist. {want}")
        );
    }
    // Another tenant's service looks exactly like a missing one, named the same way.
    let other = app.new_account();
    let theirs = app.as_(&other).new_service(false).await;
    let message = app
        .get_service(&theirs)
        .await
        .assert_error(404, "EndPoint.0005");
    assert!(message.ends_with(&format!("No endpoint service {theirs} in this project.")));
    // An unknown route keeps its own message.
    let resp = app.call(reqwest::Method::GET, "/nothing-here", None).await;
    assert!(resp
        .assert_error(404, "EndPoint.0005")
        .contains("No such route."));
}

#[tokio::test]
async fn refused_requests_are_logged_with_their_code_and_message() {
    let app = TestApp::builder().capture_log().spawn();
    let sid = app.new_service(false).await;
    let resp = app
        .update_connection_descriptions(
            &sid,
            &json!({"connections": [{"id": uuid(), "description": "<b>"}]}),
        )
        .await;
    let message = resp.assert_error(400, "EndPoint.0002");
    let log = log_with(&app, "contains '<'").await;
    let line = log
        .lines()
        .find(|l| l.contains("request refused") && l.contains("contains '<'"))
        .unwrap_or_else(|| panic!("no refused line with the message in the log:\n{log}"));
    assert!(line.contains("EndPoint.0002"), "{line}");
    assert!(line.contains("status=400"), "{line}");
    assert!(line.contains(message.trim_end_matches('.')), "{line}");
    // A 401 is logged with its reason, and never with the token that was refused or accepted.
    app.caller(Some("vpcep_wrong-token"), app.project_id())
        .list_services("")
        .await
        .assert_error(401, "EndPoint.0003");
    let log = log_with(&app, "Unknown token").await;
    assert!(log.contains("EndPoint.0003"), "{log}");
    assert!(!log.contains("vpcep_wrong-token"), "{log}");
    assert!(!log.contains(app.token()), "{log}");
    assert!(!log.contains(&app.owner.secret_key), "{log}");
}

#[tokio::test]
async fn a_tls_handshake_on_the_plain_port_is_logged_once_per_peer() {
    let app = TestApp::builder().capture_log().spawn();
    // The start of a TLS ClientHello record: handshake (0x16), TLS 1.0 record version.
    let hello = [
        0x16u8, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03,
    ];
    for _ in 0..3 {
        let mut conn = std::net::TcpStream::connect(app.addr()).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        std::io::Write::write_all(&mut conn, &hello).expect("write");
        // The server closes the connection (hyper cannot parse it); it answers nothing useful.
        let mut rest = Vec::new();
        let _ = conn.read_to_end(&mut rest);
    }
    let log = log_with(&app, "use http://").await;
    let lines = log.lines().filter(|l| l.contains("use http://")).count();
    assert_eq!(lines, 1, "one line per peer, not per attempt:\n{log}");
    assert!(log.contains("this port speaks plain HTTP"), "{log}");
    // The server still serves plain HTTP.
    app.list_services("").await.ok();
}
