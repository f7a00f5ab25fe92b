//! What operators read (the in-flight refusal's count is in status_codes.rs, beside the
//! refusal): `GET /metrics` in the Prometheus text format (checked by Prometheus's own
//! `promtool` where it is installed; scripts/test.sh installs it and makes it required), on the
//! API's address or on one of its own, and `--log-format json`.

use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::support::metrics::{scrape, value};
use crate::support::*;

/// `promtool check metrics` on the text: required when `VPCEP_REQUIRE_PROMTOOL=1` (the test
/// command sets it), skipped with a note where Prometheus's tools are not installed.
fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("VPCEP_REQUIRE_PROMTOOL").as_deref() != Ok("1"),
                "promtool is required (VPCEP_REQUIRE_PROMTOOL=1) but cannot run: {e}"
            );
            eprintln!("promtool not found ({e}): the scrape is not checked by Prometheus's linter");
            return;
        }
    };
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("promtool stdin");
        stdin.write_all(text.as_bytes()).expect("feed promtool");
    }
    let out = child.wait_with_output().expect("promtool ran");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- the scrape:\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn metrics_count_requests_database_calls_and_connections_and_pass_promtool() {
    let app = TestApp::spawn();
    let consumer = app.new_project_in_owner_account();
    let sid = app.new_service(true).await;
    let as_consumer = app.as_(&consumer);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(str_of(&as_consumer.new_endpoint(&sid).await["id"]));
    }
    for id in &ids[..2] {
        app.accept_or_reject(&sid, &json!({"action": "receive", "endpoints": [id]}))
            .await
            .assert_status(200);
    }
    app.set_descriptions(&sid, &[(&ids[0], "billing"), (&ids[1], "search")])
        .await
        .assert_status(200);
    app.get_service("0b7e2d6f-0000-4000-8000-000000000000")
        .await
        .assert_error(404, "EndPoint.0005");
    app.plain(reqwest::Method::GET, "/no/such/route", None)
        .await
        .assert_status(404);

    let (text, all) = scrape(&app, &app.base()).await;
    promtool_check(&text);

    let seed = [
        ("operation", "UpdateEndpointConnectionsDesc"),
        ("status", "200"),
    ];
    assert_eq!(value(&all, "vpcep_http_requests_total", &seed), 1.0);
    assert_eq!(
        value(
            &all,
            "vpcep_http_requests_total",
            &[("operation", "ListServiceDetails"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &all,
            "vpcep_http_requests_total",
            &[("operation", "unrouted"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &all,
            "vpcep_http_requests_total",
            &[("operation", "CreateEndpoint"), ("status", "200")]
        ),
        3.0
    );
    let seed_op = [("operation", "UpdateEndpointConnectionsDesc")];
    assert_eq!(
        value(&all, "vpcep_http_request_duration_seconds_count", &seed_op),
        1.0
    );
    assert!(value(&all, "vpcep_http_request_duration_seconds_sum", &seed_op) > 0.0);
    assert_eq!(
        value(
            &all,
            "vpcep_http_request_duration_seconds_bucket",
            &[
                ("operation", "UpdateEndpointConnectionsDesc"),
                ("le", "+Inf")
            ]
        ),
        1.0
    );
    // The store's own counters, not a count of rows.
    for (status, n) in [
        ("accepted", 2.0),
        ("pendingAcceptance", 1.0),
        ("rejected", 0.0),
        ("creating", 0.0),
        ("deleting", 0.0),
        ("failed", 0.0),
    ] {
        assert_eq!(
            value(&all, "vpcep_connections", &[("status", status)]),
            n,
            "{status}"
        );
    }
    // The seed's storage flow, by its name (its access label is the backend's business).
    let seed_calls: f64 = all
        .iter()
        .filter(|s| {
            s.name == "vpcep_db_call_duration_seconds_count"
                && s.labels.get("flow").map(String::as_str) == Some("endpoints::UpdateDescriptions")
        })
        .map(|s| s.value)
        .sum();
    assert_eq!(seed_calls, 1.0, "{text}");
    assert_eq!(value(&all, "vpcep_http_requests_in_flight", &[]), 0.0);
    let backend_name = match backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(
        value(&all, "vpcep_build_info", &[("backend", backend_name)]),
        1.0
    );
    match backend() {
        Backend::Sqlite => {
            // Every write went through the writer's group commit.
            assert!(value(&all, "vpcep_sqlite_commit_batch_jobs_count", &[]) >= 6.0);
            assert!(value(&all, "vpcep_sqlite_commit_duration_seconds_count", &[]) >= 6.0);
        }
        Backend::Postgres => {
            assert!(value(&all, "vpcep_postgres_pool_wait_seconds_count", &[]) >= 6.0);
            assert!(value(&all, "vpcep_postgres_pool_max_connections", &[]) >= 1.0);
            assert_eq!(value(&all, "vpcep_postgres_pool_waiting", &[]), 0.0);
        }
    }
    assert_eq!(
        value(&all, "vpcep_dataplane_connections_forwarded_total", &[]),
        0.0
    );

    // No label carries an id, a project, a credential or a secret.
    let secrets = [
        app.project_id().to_string(),
        consumer.project_id.clone(),
        app.domain_id().to_string(),
        app.token().to_string(),
        sid.clone(),
        ids[0].clone(),
    ];
    for s in &all {
        for (k, v) in &s.labels {
            assert!(
                !secrets.iter().any(|x| v.contains(x.as_str())),
                "{} label {k}={v:?} names a resource or a credential",
                s.name
            );
            assert!(
                longest_hex_run(v) < 16,
                "{} label {k}={v:?} looks like an id",
                s.name
            );
        }
    }
}

/// The longest run of hex digits in `s` (ids are 32 of them, or a UUID's groups of 8 to 12).
fn longest_hex_run(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn metrics_listen_serves_metrics_on_their_own_address_only() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let app = TestApp::with_args(&["--metrics-listen", &addr]);
    app.list_services("").await.assert_status(200);
    app.plain(reqwest::Method::GET, "/metrics", None)
        .await
        .assert_error(404, "EndPoint.0005");
    let (text, all) = scrape(&app, &format!("http://{addr}")).await;
    promtool_check(&text);
    assert_eq!(
        value(
            &all,
            "vpcep_http_requests_total",
            &[("operation", "ListEndpointService"), ("status", "200")]
        ),
        1.0
    );
}

/// The JSON lines of a log, each parsed (a line that is not an object fails the test).
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"));
            assert!(v.is_object(), "{l:?}");
            v
        })
        .collect()
}

/// The log line of the request with this id.
#[track_caller]
fn line_of<'a>(lines: &'a [Value], request_id: &str) -> Option<&'a Value> {
    lines
        .iter()
        .find(|l| l["span"]["request_id"] == request_id && l["fields"].get("status").is_some())
}

#[tokio::test]
async fn json_logs_name_the_request_id_operation_status_and_duration() {
    let app = TestApp::builder()
        .args(&["--log-format", "json"])
        .env("VPCEP_LOG", "debug")
        .capture_log()
        .spawn();
    let ok = app.list_services("").await;
    ok.assert_status(200);
    let missing = app
        .get_service("0b7e2d6f-0000-4000-8000-000000000000")
        .await;
    missing.assert_error(404, "EndPoint.0005");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let lines = json_lines(&app.log());

    let line = line_of(&lines, &ok.request_id()).expect("a line for the successful request");
    assert_eq!(line["level"], "DEBUG");
    assert_eq!(line["fields"]["message"], "request");
    assert_eq!(line["fields"]["status"], 200);
    assert!(line["fields"]["duration_ms"].as_f64().is_some(), "{line}");
    assert_eq!(line["span"]["operation"], "ListEndpointService");
    assert_eq!(line["span"]["method"], "GET");
    assert!(line["timestamp"].is_string() && line["target"].is_string());

    let line = line_of(&lines, &missing.request_id()).expect("a line for the refusal");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["fields"]["status"], 404);
    assert_eq!(line["fields"]["error_code"], "EndPoint.0005");
    assert_eq!(line["fields"]["message"], "request refused");
    assert!(
        line["fields"]["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains("No endpoint service")),
        "{line}"
    );
    assert_eq!(line["span"]["operation"], "ListServiceDetails");
    // No secret in any line.
    let log = app.log();
    assert!(!log.contains(app.token()), "the token is in the log");
}

#[tokio::test]
async fn at_info_json_logs_carry_refusals_but_not_successes() {
    let app = TestApp::builder()
        .env("VPCEP_LOG_FORMAT", "json")
        .env("VPCEP_LOG", "info")
        .capture_log()
        .spawn();
    let ok = app.list_services("").await;
    let missing = app
        .get_service("0b7e2d6f-0000-4000-8000-000000000000")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let lines = json_lines(&app.log());
    assert!(line_of(&lines, &ok.request_id()).is_none());
    assert!(line_of(&lines, &missing.request_id()).is_some());
}

#[test]
fn an_unknown_log_format_is_refused_with_the_choices() {
    let out = vpcep_command()
        .args(["--log-format", "xml", "credentials", "list"])
        .output()
        .expect("run vpcep");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("text") && err.contains("json"), "{err}");
}

/// A real Prometheus server scrapes vpcep: the target is `up` with no scrape error, and a query
/// finds vpcep's series. Runs where Debian's prometheus package is installed (required with
/// `VPCEP_REQUIRE_PROMTOOL=1`, which the test command sets once it installed it).
#[tokio::test]
async fn a_prometheus_server_scrapes_it_cleanly() {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("VPCEP_REQUIRE_PROMTOOL").as_deref() != Ok("1"),
            "the prometheus server is required (VPCEP_REQUIRE_PROMTOOL=1) but cannot run"
        );
        eprintln!("prometheus not found: the scrape by a real server is not tested");
        return;
    }
    let app = TestApp::spawn();
    app.list_services("").await.assert_status(200);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: vpcep\n    static_configs:\n      - targets: ['{}']\n",
            app.addr()
        ),
    )
    .expect("write the config");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let web = format!("127.0.0.1:{port}");
    let _prometheus = KillOnDrop(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let targets = app
                .client
                .get(format!("http://{web}/api/v1/targets"))
                .send()
                .await;
            if let Ok(r) = targets {
                let v: Value = r.json().await.unwrap_or(Value::Null);
                let target = &v["data"]["activeTargets"][0];
                if target["health"] == "up" {
                    assert_eq!(target["lastError"], "", "{target}");
                    break;
                }
                assert_ne!(target["health"], "down", "the scrape failed: {target}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "prometheus did not scrape vpcep within 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let q = app
            .client
            .get(format!("http://{web}/api/v1/query"))
            .query(&[(
                "query",
                "vpcep_http_requests_total{operation=\"ListEndpointService\"}",
            )])
            .send()
            .await
            .expect("query prometheus");
        let v: Value = q.json().await.expect("a query answer");
        assert_eq!(v["status"], "success", "{v}");
        assert_eq!(v["data"]["result"][0]["value"][1], "1", "{v}");
    }
}

/// A child process that is killed when the test ends, failed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
