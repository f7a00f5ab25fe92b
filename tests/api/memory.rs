//! The memory budget for request bodies (`--max-buffered-body-bytes`): a flood of large bodies,
//! with a valid token and with a known access key and a bad signature, leaves the server's peak
//! memory bounded and the server answering everyone else.

use std::sync::Arc;

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::signer::{Key, Req};
use crate::support::*;

const BODY: usize = 4 * 1024 * 1024;
const CLIENTS: usize = 200;

/// The process's peak resident memory, in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc status")
}

/// Sends `head` then a 4 MiB body in 64 KiB pieces; the status line's code, or 0 when the
/// server closed the connection before answering (it may, after a refusal sent early).
async fn flood_one(addr: std::net::SocketAddr, head: Arc<String>, body: Arc<Vec<u8>>) -> u16 {
    let Ok(mut conn) = TcpStream::connect(addr).await else {
        return 0;
    };
    if conn.write_all(head.as_bytes()).await.is_err() {
        return 0;
    }
    for piece in body.chunks(64 * 1024) {
        if conn.write_all(piece).await.is_err() {
            break;
        }
    }
    let mut answer = vec![0u8; 64];
    match conn.read(&mut answer).await {
        Ok(n) if n >= 12 => std::str::from_utf8(&answer[9..12])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

async fn flood(app: &TestApp, head: String) -> Vec<u16> {
    let head = Arc::new(head);
    let body = Arc::new(vec![b' '; BODY]);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(flood_one(app.addr(), head.clone(), body.clone())))
        .collect();
    // Meanwhile a normal client keeps getting answers.
    for _ in 0..20 {
        app.list_services("").await.assert_status(200);
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("flood task"));
    }
    statuses
}

fn head_with(app: &TestApp, extra: &[(String, String)]) -> String {
    let mut head = format!(
        "POST /v1/{}/vpc-endpoint-services HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {BODY}\r\n",
        app.project_id(),
        app.addr()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_bodies_at_once_stay_within_the_budget() {
    let app = TestApp::spawn();
    let before = peak_rss_kib(app.pid());

    // A valid token: bodies are read (then refused as JSON) while they fit the budget, and
    // refused with 503 before they are read when they do not.
    let token = vec![("X-Auth-Token".to_owned(), app.token().to_owned())];
    let statuses = flood(&app, head_with(&app, &token)).await;
    assert!(statuses.contains(&400), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [400, 503, 0].contains(s)),
        "{statuses:?}"
    );

    // A known access key with a bad signature: the cheap checks pass, so the body is read to
    // verify it, within the same budget.
    let wrong = Key {
        secret_key: "not-the-secret".into(),
        ..Key::sha256(&app.owner)
    };
    let signed = Req::sdk(&app, app.project_id(), "POST", "/vpc-endpoint-services").sign(&wrong);
    let auth: Vec<(String, String)> = ["Authorization", "X-Sdk-Date"]
        .iter()
        .map(|h| {
            (
                h.to_string(),
                signed.header(h).expect("signed header").to_owned(),
            )
        })
        .collect();
    let statuses = flood(&app, head_with(&app, &auth)).await;
    assert!(statuses.contains(&401), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [401, 503, 0].contains(s)),
        "{statuses:?}"
    );

    let peak = peak_rss_kib(app.pid());
    assert!(
        peak < 512 * 1024,
        "peak RSS {} MiB (before the floods: {} MiB)",
        peak / 1024,
        before / 1024
    );
    // Still answering, and the budget is whole again.
    app.list_services("").await.assert_status(200);
    let r = app
        .call(
            Method::POST,
            "/vpc-endpoint-services",
            Some(&service_body(false)),
        )
        .await;
    r.assert_status(200);
    eprintln!("peak RSS {} MiB, before {} MiB", peak / 1024, before / 1024);
}

#[tokio::test]
async fn a_body_larger_than_the_budget_is_refused_at_start() {
    let out = vpcep(&[
        "serve",
        "--max-body-bytes",
        "1000",
        "--max-buffered-body-bytes",
        "999",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--max-buffered-body-bytes"), "{err}");
}
