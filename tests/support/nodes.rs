//! More `vpcep serve` processes on any database URL (`Starting`, `Node`), the few operations the
//! PostgreSQL tests need against any of them (`Api`), and what those tests check and wait for:
//! for the multi-node and outage tests of tests/postgres.rs.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::assert::str_of;
use super::cli::{vpcep_command, Credential};
use super::client::{endpoint_body, service_body, Resp};
use super::db::Backend;
use super::server::{TestApp, LISTENING_PREFIX};

pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A `vpcep serve` process that has been spawned but may not be listening yet.
pub struct Starting {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Starting {
    pub fn spawn(db_url: &str, extra: &[&str]) -> Starting {
        let mut cmd = vpcep_command();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", db_url])
            .args(extra)
            .stdout(Stdio::piped());
        if std::env::var_os("TEST_LOG").is_some() {
            cmd.stderr(Stdio::inherit());
        } else {
            cmd.stderr(Stdio::null());
        }
        let mut child = cmd.spawn().expect("spawn `vpcep serve`");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        // Drain stdout for the life of the process so the pipe never fills up.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Starting {
            child: Some(child),
            lines,
            seen: Vec::new(),
        }
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the child is still owned")
    }

    /// Whether the process has printed its listening line so far (without waiting).
    pub fn listening_yet(&mut self) -> bool {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.iter().any(|l| l.starts_with(LISTENING_PREFIX))
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child().try_wait().expect("wait for vpcep")
    }

    /// Waits for the listening line; the lines printed before it are the node's startup lines.
    pub fn ready(mut self, timeout: Duration) -> Node {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self
                .seen
                .iter()
                .position(|l| l.starts_with(LISTENING_PREFIX))
            {
                let addr = self.seen[pos][LISTENING_PREFIX.len()..].to_string();
                let startup_lines = self.seen[..pos].to_vec();
                return Node {
                    child: self.child.take().unwrap(),
                    base: format!("http://{addr}"),
                    startup_lines,
                };
            }
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!(
                    "`vpcep serve` printed no listening line within {timeout:?} ({e}); exit status \
                     {:?}; stdout {:?} (set TEST_LOG=1 to see its stderr)",
                    self.exited(),
                    self.seen
                ),
            }
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A listening `vpcep serve` process, killed when dropped.
pub struct Node {
    child: Child,
    pub base: String,
    /// Stdout lines printed before the listening line.
    pub startup_lines: Vec<String>,
}

impl Node {
    pub fn start(db_url: &str, extra: &[&str]) -> Node {
        Starting::spawn(db_url, extra).ready(READY_TIMEOUT)
    }

    pub fn assert_running(&mut self) {
        let status = self.child.try_wait().expect("wait for vpcep");
        assert!(status.is_none(), "the node exited: {status:?}");
    }

    /// The credential a first start on an empty database printed, if any.
    pub fn printed_credentials(&self) -> Vec<Credential> {
        self.startup_lines
            .iter()
            .map(|line| {
                let v: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("a stdout line before the listening line is not JSON ({e}): {line:?}")
                });
                Credential::from_json(&v)
            })
            .collect()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The typed API against any node
// ---------------------------------------------------------------------------------------------

/// The few operations these tests need, against one node as one credential.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
    project: String,
}

impl Api {
    pub fn new(base: &str, who: &Credential) -> Api {
        Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("build the HTTP client"),
            base: base.to_string(),
            token: who.token.clone(),
            project: who.project_id.clone(),
        }
    }

    pub async fn call(&self, method: Method, rest: &str, body: Option<&Value>) -> Resp {
        let url = format!("{}/v1/{}{rest}", self.base, self.project);
        let mut rb = self
            .client
            .request(method, url)
            .header("X-Auth-Token", &self.token);
        if let Some(body) = body {
            rb = rb.json(body);
        }
        Resp::from_reqwest(rb.send().await.expect("send the request")).await
    }

    pub async fn health(&self) -> Resp {
        let r = self.client.get(format!("{}/health", self.base)).send();
        Resp::from_reqwest(r.await.expect("send GET /health")).await
    }

    pub async fn new_service(&self, approval_enabled: bool) -> String {
        let r = self
            .call(
                Method::POST,
                "/vpc-endpoint-services",
                Some(&service_body(approval_enabled)),
            )
            .await;
        str_of(&r.ok()["id"])
    }

    pub async fn create_endpoint(&self, body: &Value) -> Resp {
        self.call(Method::POST, "/vpc-endpoints", Some(body)).await
    }

    pub async fn new_endpoint(&self, service_id: &str) -> String {
        let r = self.create_endpoint(&endpoint_body(service_id)).await;
        str_of(&r.ok()["id"])
    }

    pub async fn delete_endpoint(&self, id: &str) -> Resp {
        self.call(Method::DELETE, &format!("/vpc-endpoints/{id}"), None)
            .await
    }

    /// Every endpoint of the project, by id.
    pub async fn endpoints(&self) -> BTreeMap<String, Value> {
        let r = self
            .call(Method::GET, "/vpc-endpoints?limit=1000", None)
            .await;
        let body = r.ok();
        let list = body["endpoints"].as_array().expect("endpoints array");
        assert_eq!(body["total_count"], list.len(), "more than one page");
        list.iter().map(|e| (str_of(&e["id"]), e.clone())).collect()
    }

    pub async fn set_descriptions(&self, service_id: &str, pairs: &[(&str, &str)]) -> Resp {
        let items: Vec<Value> = pairs
            .iter()
            .map(|(id, d)| json!({"id": id, "description": d}))
            .collect();
        self.call(
            Method::PUT,
            &format!("/vpc-endpoint-services/{service_id}/connections/description"),
            Some(&json!({ "connections": items })),
        )
        .await
    }

    pub async fn act(&self, service_id: &str, action: &str, endpoint_id: &str) -> Resp {
        self.call(
            Method::POST,
            &format!("/vpc-endpoint-services/{service_id}/connections/action"),
            Some(&json!({"action": action, "endpoints": [endpoint_id]})),
        )
        .await
    }

    /// Every connection of a service, by id.
    pub async fn connections(&self, service_id: &str) -> BTreeMap<String, Value> {
        let r = self
            .call(
                Method::GET,
                &format!("/vpc-endpoint-services/{service_id}/connections?limit=1000"),
                None,
            )
            .await;
        let body = r.ok();
        let list = body["connections"].as_array().expect("connections array");
        assert_eq!(body["total_count"], list.len(), "more than one page");
        list.iter().map(|c| (str_of(&c["id"]), c.clone())).collect()
    }
}

/// The (id -> description) items of a seed or action response, asserting its shape.
#[track_caller]
pub fn described(r: &Resp) -> HashMap<String, (String, String)> {
    r.ok()["connections"]
        .as_array()
        .unwrap_or_else(|| panic!("no connections array in {}", r.text))
        .iter()
        .map(|c| {
            (
                str_of(&c["id"]),
                (str_of(&c["description"]), str_of(&c["status"])),
            )
        })
        .collect()
}

/// Asserts a 503 `EndPoint.0001` with a `Retry-After` of whole seconds (docs/api.md §2).
#[track_caller]
pub fn assert_unavailable(r: &Resp, what: &str) {
    assert_eq!(
        r.status, 503,
        "{what}: expected 503, got {} {}",
        r.status, r.text
    );
    let retry = r
        .header("retry-after")
        .unwrap_or_else(|| panic!("{what}: a 503 without Retry-After"));
    assert!(
        retry.trim().parse::<u64>().is_ok_and(|s| s >= 1),
        "{what}: Retry-After {retry:?} is not a positive number of seconds"
    );
}

/// Pool size of the nodes of the multi-node tests: the shared PostgreSQL has other users.
pub const POOL: &[&str] = &["--pool-size", "8"];

/// A `TestApp` on PostgreSQL (node A) and a second node on its database (node B), as the owner
/// on each.
pub fn two_nodes() -> (TestApp, Node, [Api; 2]) {
    let app = TestApp::builder().on(Backend::Postgres).args(POOL).spawn();
    let b = Node::start(&app.db_url, POOL);
    let apis = [
        Api::new(&app.base(), &app.owner),
        Api::new(&b.base, &app.owner),
    ];
    (app, b, apis)
}

/// A request and how long its answer took.
pub async fn timed(request: impl std::future::Future<Output = Resp>) -> (Resp, Duration) {
    let started = Instant::now();
    let r = request.await;
    (r, started.elapsed())
}

/// Waits (bounded) until `/health` of the node says 200.
pub async fn wait_healthy(api: &Api, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let r = api.health().await;
        if r.status == 200 {
            assert_eq!(r.body, json!({"status": "ok"}));
            return started.elapsed();
        }
        assert_unavailable(&r, "/health while recovering");
        assert!(
            started.elapsed() < within,
            "the node did not recover within {within:?} of PostgreSQL coming back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a sequential writer saw while the database went away under it.
pub struct WriterLog {
    /// Index of the last write answered 200.
    pub last_acked: Option<usize>,
    /// Index of the last write sent.
    pub last_sent: usize,
    /// How many writes were answered 503.
    pub unavailable: usize,
}

/// Writes `"{prefix} {i}"` for i = 0, 1, ... to one connection, one at a time, until `stop`.
/// Every answer is 200 or 503 (the database went away); anything else fails the test.
pub fn spawn_writer(
    api: Api,
    sid: String,
    eid: String,
    prefix: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<WriterLog> {
    tokio::spawn(async move {
        let mut log = WriterLog {
            last_acked: None,
            last_sent: 0,
            unavailable: 0,
        };
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) {
            let value = format!("{prefix} {i}");
            log.last_sent = i;
            let r = api.set_descriptions(&sid, &[(&eid, &value)]).await;
            match r.status {
                200 => {
                    assert_eq!(described(&r)[&eid].0, value);
                    log.last_acked = Some(i);
                }
                503 => {
                    r.assert_error(503, "EndPoint.0001");
                    log.unavailable += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => panic!(
                    "write {value:?} while PostgreSQL went away got {other}: {}",
                    r.text
                ),
            }
            i += 1;
        }
        log
    })
}
