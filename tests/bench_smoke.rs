//! The benchmark harness (`bench/`, package `vpcep-bench`) in smoke mode against this build's
//! server: it must start the server, seed it, run every scenario and write a complete report.
//! No timing is asserted; only that every figure is there and nothing failed.
//!
//! The harness is built and run with `cargo run -p vpcep-bench` (same cargo, same target
//! directory, dev profile), so the test always runs the harness of this checkout. With
//! `VPCEP_TEST_BACKEND=postgres` the harness runs on `VPCEP_TEST_POSTGRES` instead of SQLite.
//!
//! A second run measures the `data-plane` scenario alone (not a default one), with short phases
//! (~2 s in all): TCP through an endpoint of this build's server started with `--data-plane`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Building the harness on a cold target directory dominates; the smoke run itself takes ~10 s.
const TIMEOUT: Duration = Duration::from_secs(900);

/// The default scenarios in their order; `db` is the database-alone scenario of the backend.
const SCENARIOS: [&str; 8] = [
    "noop",
    "update-1",
    "db",
    "update-100",
    "update-100-spread",
    "list",
    "list-id",
    "create",
];

/// Whether the harness runs on PostgreSQL (`VPCEP_TEST_BACKEND=postgres`).
fn postgres() -> bool {
    std::env::var("VPCEP_TEST_BACKEND").as_deref() == Ok("postgres")
}

/// Runs the harness in smoke mode against this build's server with `extra` arguments, writing
/// its report to `out`; fails unless it succeeds. Returns its stdout.
fn run_harness(dir: &Path, out: &Path, extra: &[&str]) -> String {
    let server = env!("CARGO_BIN_EXE_vpcep");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--quiet", "-p", "vpcep-bench", "--"])
        .arg("--smoke")
        .arg("--server-bin")
        .arg(server)
        .arg("--out")
        .arg(out)
        .arg("--work-dir")
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if postgres() {
        let base = std::env::var("VPCEP_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string());
        cmd.arg("--postgres").arg(base);
    }
    let child = cmd.spawn().expect("run cargo");
    let output = wait_with_timeout(child, TIMEOUT);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the harness failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

#[test]
fn harness_smoke_run_writes_a_complete_report() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("report.json");
    let stdout = run_harness(dir.path(), &out, &[]);
    let postgres = postgres();
    assert!(
        stdout.contains("| scenario | requests | req/s |"),
        "no Markdown table on stdout:\n{stdout}"
    );

    let report = read_report(&out);
    let ctx = |what: &str| format!("{what} in report:\n{report:#}");
    assert_eq!(report["smoke"], true, "{}", ctx("smoke flag"));
    assert_eq!(
        report["config"]["backend"],
        if postgres { "postgres" } else { "sqlite" },
        "{}",
        ctx("backend")
    );
    assert!(report["machine"]["cores"].as_u64().unwrap_or(0) >= 1);
    assert!(report["started_at"].is_string() && report["finished_at"].is_string());
    assert!(report["server"]["binary"]["path"].is_string());
    assert!(report["server"]["peak_rss_kib"].as_u64().unwrap_or(0) > 0);
    assert_clean_server(&report);
    assert!(report["seed"]["connections_direct"].as_u64().unwrap_or(0) > 0);

    let db = if postgres { "db-postgres" } else { "db-sqlite" };
    let expected: Vec<&str> = SCENARIOS
        .iter()
        .map(|&n| if n == "db" { db } else { n })
        .collect();

    let scenarios = report["scenarios"].as_array().expect("a scenarios array");
    let names: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, expected, "{}", ctx("scenario list"));
    for s in scenarios {
        let name = s["name"].as_str().unwrap();
        let field = |path: &[&str]| -> &Value { path.iter().fold(s, |v, k| &v[*k]) };
        assert!(
            s["requests"].as_u64().unwrap_or(0) > 0,
            "{name}: no requests\n{s:#}"
        );
        assert_eq!(
            s["requests"], s["ok"],
            "{name}: not every request succeeded\n{s:#}"
        );
        assert_eq!(s["errors"]["non_2xx"], 0, "{name}: non-2xx answers\n{s:#}");
        assert_eq!(
            s["errors"]["transport"], 0,
            "{name}: transport errors\n{s:#}"
        );
        for path in [
            &["rps"][..],
            &["items_per_s"],
            &["elapsed_s"],
            &["latency_ms", "p50"],
            &["latency_ms", "p99"],
            &["latency_ms", "max"],
        ] {
            let v = field(path).as_f64();
            assert!(
                v.is_some_and(|v| v > 0.0),
                "{name}: {path:?} missing or not positive\n{s:#}"
            );
        }
        // The database-alone scenario runs without the server: it has no server figures.
        assert!(
            name == db || field(&["server", "peak_rss_kib"]).as_u64().unwrap_or(0) > 0,
            "{name}: no peak RSS\n{s:#}"
        );
        assert!(
            s["ratio_to_noop"].as_f64().is_some(),
            "{name}: no ratio\n{s:#}"
        );
    }
    for name in &expected[1..] {
        let key = format!("{name} / noop");
        assert!(
            report["ratios"][&key].as_f64().is_some(),
            "{}",
            ctx(&format!("ratio {key}"))
        );
    }
    let key = format!("update-1 / {db}");
    assert!(
        report["ratios"][&key].as_f64().is_some_and(|r| r > 0.0),
        "{}",
        ctx(&format!("ratio {key}"))
    );
    assert!(
        stdout.contains(&format!("{key} = ")),
        "no {key} ratio on stdout:\n{stdout}"
    );
}

#[test]
fn harness_smoke_run_measures_the_data_plane() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("report.json");
    let stdout = run_harness(
        dir.path(),
        &out,
        &[
            "--scenarios",
            "data-plane",
            "--duration",
            "250ms",
            "--warmup",
            "50ms",
        ],
    );
    assert!(
        stdout.contains("#### Data plane (`data-plane`)") && stdout.contains("| bulk MiB/s"),
        "no data-plane section on stdout:\n{stdout}"
    );
    assert!(
        !stdout.contains("| scenario | requests | req/s |"),
        "an HTTP table without HTTP scenarios:\n{stdout}"
    );

    let report = read_report(&out);
    let ctx = |what: &str| format!("{what} in report:\n{report:#}");
    assert_clean_server(&report);
    let cidr = report["config"]["data_plane_cidr"].as_str().unwrap_or("");
    assert!(
        cidr.starts_with("127.") && cidr.ends_with("/24"),
        "{}",
        ctx("data_plane_cidr")
    );
    let scenarios = report["scenarios"].as_array().expect("a scenarios array");
    assert_eq!(scenarios.len(), 1, "{}", ctx("scenario list"));
    let s = &scenarios[0];
    assert_eq!(s["name"], "data-plane", "{}", ctx("scenario name"));
    assert!(s["requests"].as_u64().unwrap_or(0) > 0, "no rounds\n{s:#}");
    assert_eq!(s["requests"], s["ok"], "failed rounds\n{s:#}");
    assert!(s["ratio_to_noop"].is_null(), "a ratio to noop\n{s:#}");

    let d = &s["data_plane"];
    let num = |path: &[&str]| -> f64 {
        path.iter()
            .fold(d, |v, k| &v[*k])
            .as_f64()
            .unwrap_or_else(|| panic!("{path:?} missing\n{d:#}"))
    };
    for path in [
        &["throughput", "via_endpoint", "mib_per_s"][..],
        &["throughput", "direct", "mib_per_s"],
        &["throughput", "via_endpoint", "bytes"],
        &["throughput", "direct", "bytes"],
        &["throughput", "ratio"],
        &["setup", "via_endpoint", "rounds"],
        &["setup", "direct", "rounds"],
        &["setup", "via_endpoint", "connects_per_s"],
        &["setup", "direct", "connects_per_s"],
        &["setup", "via_endpoint", "latency_ms", "p50"],
        &["setup", "via_endpoint", "latency_ms", "p99"],
        &["setup", "via_endpoint", "latency_ms", "max"],
        &["setup", "direct", "latency_ms", "p50"],
        &["setup", "direct", "latency_ms", "p99"],
        &["setup", "direct", "latency_ms", "max"],
    ] {
        assert!(num(path) > 0.0, "{path:?} not positive\n{d:#}");
    }
    for phase in ["throughput", "setup"] {
        for path in ["via_endpoint", "direct"] {
            let p = &d[phase][path];
            assert_eq!(p["errors"], 0, "{phase} {path}: errors\n{d:#}");
            assert_eq!(
                p["backend_errors"], 0,
                "{phase} {path}: backend errors\n{d:#}"
            );
        }
        // Through the endpoint every backend connection starts with the Proxy Protocol v2
        // header (tcp_proxy proxy_open); straight to the backend none does.
        let via = &d[phase]["via_endpoint"];
        assert!(
            via["backend_connections"].as_u64().unwrap_or(0) > 0,
            "{d:#}"
        );
        assert_eq!(
            via["backend_connections_with_proxy_header"], via["backend_connections"],
            "{phase}: connections via the endpoint without a header\n{d:#}"
        );
        assert_eq!(
            d[phase]["direct"]["backend_connections_with_proxy_header"], 0,
            "{phase}: direct connections with a header\n{d:#}"
        );
    }
    assert_eq!(
        d["proxy_header"]["endpoint_id"], d["endpoint_id"],
        "the header's endpoint id\n{d:#}"
    );
    assert_eq!(
        d["proxy_header"]["destination"], d["endpoint"],
        "the header's destination\n{d:#}"
    );
    assert_eq!(d["problems"], serde_json::json!([]), "problems\n{d:#}");
    assert!(
        report["ratios"]["data-plane via endpoint / direct"]
            .as_f64()
            .is_some_and(|r| r > 0.0),
        "{}",
        ctx("the data-plane ratio")
    );
}

fn read_report(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no report at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the report is not JSON ({e}): {text}"))
}

/// Waits for the child, reading its output on threads so that it never blocks on a full pipe;
/// kills it after `timeout`.
fn wait_with_timeout(mut child: std::process::Child, timeout: Duration) -> std::process::Output {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the harness") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the harness did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    std::process::Output {
        status,
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    }
}

/// The server under test logged no error and exited with status 0.
fn assert_clean_server(report: &serde_json::Value) {
    let ctx = |what: &str| format!("{what} in report:\n{report:#}");
    assert_eq!(report["server"]["log"]["error"], 0, "{}", ctx("server log"));
    assert!(
        report["server"]["exit"]
            .as_str()
            .is_some_and(|s| s.contains("status: 0")),
        "{}",
        ctx("server exit")
    );
}
