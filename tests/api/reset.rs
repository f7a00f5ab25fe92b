//! A throwaway server for CI (`serve --ephemeral`) and a clean slate between test cases
//! (`POST /_vpcep/reset`, `vpcep reset`), which only a server started to allow it answers.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

async fn post_reset(app: &TestApp, token: Option<&str>) -> Resp {
    app.plain(Method::POST, "/_vpcep/reset", token).await
}

#[tokio::test]
async fn reset_is_refused_unless_the_server_was_started_to_allow_it() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let message = post_reset(&app, Some(app.token()))
        .await
        .assert_error(403, "EndPoint.0004");
    assert!(message.contains("--allow-reset"), "{message}");
    post_reset(&app, None)
        .await
        .assert_error(401, "EndPoint.0003");
    app.get_service(&sid).await.ok();
}

#[tokio::test]
async fn reset_removes_every_tenants_resources_and_keeps_the_credentials() {
    let app = TestApp::with_args(&["--allow-reset"]);
    let other = app.new_account();
    let sid = app.new_service(true).await;
    app.call(
        Method::POST,
        &format!("/vpc-endpoint-services/{sid}/permissions/action"),
        Some(
            &json!({"action": "add", "permissions": [format!("iam:domain::{}", other.domain_id)]}),
        ),
    )
    .await
    .ok();
    let before = app.new_endpoint(&sid).await;
    let theirs = app.as_(&other).new_service(false).await;
    app.as_(&other).new_endpoint(&theirs).await;
    // A planned failure goes too.
    let plan = Resp::from_reqwest(
        app.client
            .post(app.url(&format!(
                "/_vpcep/v1/{}/fail-next-creations",
                app.project_id()
            )))
            .header("X-Auth-Token", app.token())
            .json(&json!({"count": 5}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    plan.ok();

    let reset = post_reset(&app, Some(&other.token)).await;
    assert_eq!(
        reset.ok()["deleted"],
        json!({"endpoint_services": 2, "endpoints": 2, "permissions": 1}),
        "{}",
        reset.text
    );
    for who in [app.as_(&app.owner), app.as_(&other)] {
        assert_eq!(who.list_services("").await.ok()["total_count"], 0);
        assert_eq!(who.list_endpoints("").await.ok()["total_count"], 0);
    }
    app.get_service(&sid)
        .await
        .assert_error(404, "EndPoint.0005");
    // Credentials work, the fault plan is gone, and marker ids are not reused.
    let sid = app.new_service(false).await;
    let after = app.new_endpoint(&sid).await;
    assert_eq!(after["status"], "accepted", "{after}");
    assert!(
        after["marker_id"].as_i64() > before["marker_id"].as_i64(),
        "{after} reuses a marker id of {before}"
    );
    // Twice is fine: nothing left but what was just made.
    let again = post_reset(&app, Some(app.token())).await;
    assert_eq!(again.ok()["deleted"]["endpoints"], 1);
}

#[tokio::test]
async fn vpcep_reset_needs_yes_and_does_what_the_route_does() {
    let app = TestApp::spawn();
    let (sid, _) = app.service_with_connections(2).await;
    let refused = vpcep(&["reset", "--database", &app.db_url]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pass --yes"));
    app.get_service(&sid).await.ok();
    let out = vpcep(&["reset", "--database", &app.db_url, "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        single_json(&out.stdout)["deleted"],
        json!({"endpoint_services": 1, "endpoints": 2, "permissions": 0})
    );
    app.get_service(&sid)
        .await
        .assert_error(404, "EndPoint.0005");
    app.list_services("").await.ok();
}

/// `vpcep serve --ephemeral` with a bootstrap credential, as a CI job starts it.
struct Ephemeral {
    child: std::process::Child,
    base: String,
    stderr: std::thread::JoinHandle<String>,
}

fn start_ephemeral(credential: &str) -> Ephemeral {
    let mut child = vpcep_command()
        .args(["serve", "--ephemeral", "--listen", "127.0.0.1:0"])
        .env("VPCEP_BOOTSTRAP_CREDENTIAL", credential)
        .env("VPCEP_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve --ephemeral");
    let mut err = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let base = loop {
        assert!(Instant::now() < deadline, "serve --ephemeral did not start");
        let line = lines
            .next()
            .expect("a line before the listening line")
            .expect("stdout");
        if let Some(addr) = line.strip_prefix("vpcep listening on ") {
            break addr.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ephemeral {
        child,
        base,
        stderr,
    }
}

#[tokio::test]
async fn serve_ephemeral_runs_on_a_throwaway_database_with_keys_the_job_chose() {
    let project = "0123456789abcdef0123456789abcdef";
    let mut server = start_ephemeral(&format!("AKEPHEMERAL01:eph-secret-01:{project}"));
    let key = crate::signer::Key {
        access_key: "AKEPHEMERAL01".into(),
        secret_key: "eph-secret-01".into(),
        algo: crate::signer::Algo::Sha256,
    };
    let services = format!("/v1/{project}/vpc-endpoint-services");
    send_signed(&server.base, &key, "GET", &services).await.ok();
    let created =
        send_signed_json(&server.base, &key, "POST", &services, &service_body(false)).await;
    created.ok();
    // Reset is allowed on an ephemeral server.
    let reset = send_signed(&server.base, &key, "POST", "/_vpcep/reset").await;
    assert_eq!(
        reset.ok()["deleted"]["endpoint_services"],
        1,
        "{}",
        reset.text
    );

    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = server.child.wait().expect("wait");
    assert!(status.success(), "{status}");
    let stderr = server.stderr.join().expect("stderr");
    let folder = stderr
        .lines()
        .find(|l| l.contains("ephemeral database"))
        .and_then(|l| l.split("folder=").nth(1))
        .map(|f| f.split_whitespace().next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no ephemeral folder in the log:\n{stderr}"));
    assert!(
        !std::path::Path::new(&folder).exists(),
        "{folder} is still there after the stop"
    );
    assert!(!stderr.contains("eph-secret-01"), "{stderr}");
}

#[test]
fn serve_ephemeral_refuses_an_explicit_database() {
    let out = vpcep(&[
        "serve",
        "--ephemeral",
        "--database",
        "sqlite://x.db",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

/// A request signed as the Python SDK signs it, to a server that is not a `TestApp`.
async fn send_signed(base: &str, key: &crate::signer::Key, method: &str, path: &str) -> Resp {
    send_signed_body(base, key, method, path, b"").await
}

async fn send_signed_json(
    base: &str,
    key: &crate::signer::Key,
    method: &str,
    path: &str,
    body: &Value,
) -> Resp {
    let bytes = serde_json::to_vec(body).expect("JSON");
    send_signed_body(base, key, method, path, &bytes).await
}

async fn send_signed_body(
    base: &str,
    key: &crate::signer::Key,
    method: &str,
    path: &str,
    body: &[u8],
) -> Resp {
    let host = base.trim_start_matches("http://").to_owned();
    let signed = crate::signer::sign(
        key,
        method,
        path,
        &[],
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("Host".into(), host),
            (
                "X-Sdk-Date".into(),
                crate::signer::sdk_date(time::OffsetDateTime::now_utc()),
            ),
        ],
        body,
        &[],
    );
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut rb = reqwest::Client::new().request(method, format!("{base}{path}"));
    for (k, v) in &signed.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    Resp::from_reqwest(rb.body(body.to_vec()).send().await.expect("send")).await
}
