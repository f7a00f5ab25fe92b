//! PostgreSQL-specific rules: both migration trees end with the same schema; several `vpcep
//! serve` nodes share one database (marker ids from a sequence, serialized writes, one first
//! credential); a node rides out a PostgreSQL outage (503 with `Retry-After`, recovery without a
//! restart, no acknowledged write lost) and waits for a database that is still coming up.
//!
//! The multi-node tests run a second `vpcep serve` on the database of a `TestApp`. The outage
//! tests start a throwaway PostgreSQL cluster of their own (`initdb` + `pg_ctl`), because the
//! shared server must never be stopped.
//!
//! Everything but the migration-parity test needs `VPCEP_TEST_BACKEND=postgres`; the parity test
//! runs whenever PostgreSQL answers. The throughput figures come from an ignored test:
//! `VPCEP_TEST_BACKEND=postgres cargo test --test api postgres::seed_update_throughput -- --ignored --nocapture`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::support::*;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const LISTENING_PREFIX: &str = "vpcep listening on http://";

/// Multi-node and outage tests need PostgreSQL; say so loudly when they are skipped.
fn postgres_only(test: &str) -> bool {
    if backend() == Backend::Postgres {
        return true;
    }
    eprintln!(
        "\n*** SKIPPED postgres::{test}: it needs PostgreSQL; run with VPCEP_TEST_BACKEND=postgres ***\n"
    );
    false
}

// ---------------------------------------------------------------------------------------------
// A node: one more `vpcep serve` process, on any database URL
// ---------------------------------------------------------------------------------------------

/// A `vpcep serve` process that has been spawned but may not be listening yet.
struct Starting {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Starting {
    fn spawn(db_url: &str, extra: &[&str]) -> Starting {
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
    fn listening_yet(&mut self) -> bool {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.iter().any(|l| l.starts_with(LISTENING_PREFIX))
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child().try_wait().expect("wait for vpcep")
    }

    /// Waits for the listening line; the lines printed before it are the node's startup lines.
    fn ready(mut self, timeout: Duration) -> Node {
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
struct Node {
    child: Child,
    base: String,
    startup_lines: Vec<String>,
}

impl Node {
    fn start(db_url: &str, extra: &[&str]) -> Node {
        Starting::spawn(db_url, extra).ready(READY_TIMEOUT)
    }

    fn assert_running(&mut self) {
        let status = self.child.try_wait().expect("wait for vpcep");
        assert!(status.is_none(), "the node exited: {status:?}");
    }

    /// The credential a first start on an empty database printed, if any.
    fn printed_credentials(&self) -> Vec<Credential> {
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
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
    project: String,
}

impl Api {
    fn new(base: &str, who: &Credential) -> Api {
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

    async fn call(&self, method: Method, rest: &str, body: Option<&Value>) -> Resp {
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

    async fn health(&self) -> Resp {
        let r = self.client.get(format!("{}/health", self.base)).send();
        Resp::from_reqwest(r.await.expect("send GET /health")).await
    }

    async fn new_service(&self, approval_enabled: bool) -> String {
        let r = self
            .call(
                Method::POST,
                "/vpc-endpoint-services",
                Some(&service_body(approval_enabled)),
            )
            .await;
        str_of(&r.ok()["id"])
    }

    async fn create_endpoint(&self, body: &Value) -> Resp {
        self.call(Method::POST, "/vpc-endpoints", Some(body)).await
    }

    async fn new_endpoint(&self, service_id: &str) -> String {
        let r = self.create_endpoint(&endpoint_body(service_id)).await;
        str_of(&r.ok()["id"])
    }

    async fn delete_endpoint(&self, id: &str) -> Resp {
        self.call(Method::DELETE, &format!("/vpc-endpoints/{id}"), None)
            .await
    }

    /// Every endpoint of the project, by id.
    async fn endpoints(&self) -> BTreeMap<String, Value> {
        let r = self
            .call(Method::GET, "/vpc-endpoints?limit=1000", None)
            .await;
        let body = r.ok();
        let list = body["endpoints"].as_array().expect("endpoints array");
        assert_eq!(body["total_count"], list.len(), "more than one page");
        list.iter().map(|e| (str_of(&e["id"]), e.clone())).collect()
    }

    async fn set_descriptions(&self, service_id: &str, pairs: &[(&str, &str)]) -> Resp {
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

    async fn act(&self, service_id: &str, action: &str, endpoint_id: &str) -> Resp {
        self.call(
            Method::POST,
            &format!("/vpc-endpoint-services/{service_id}/connections/action"),
            Some(&json!({"action": action, "endpoints": [endpoint_id]})),
        )
        .await
    }

    /// Every connection of a service, by id.
    async fn connections(&self, service_id: &str) -> BTreeMap<String, Value> {
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
fn described(r: &Resp) -> HashMap<String, (String, String)> {
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
fn assert_unavailable(r: &Resp, what: &str) {
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

// ---------------------------------------------------------------------------------------------
// Migrations: both trees end with the same tables and columns
// ---------------------------------------------------------------------------------------------

type Schema = BTreeMap<String, BTreeSet<String>>;

fn migration_files(backend: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/store/migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `vpcep credentials create`, which creates (and so migrates) the database; `list` refuses a
/// SQLite file that does not exist yet.
fn migrate_with_the_cli(db_url: &str) {
    let out = vpcep(&["credentials", "create", "--database", db_url]);
    assert!(
        out.status.success(),
        "`vpcep credentials create --database {db_url}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(conn);
    client
}

#[tokio::test]
async fn migrations_leave_sqlite_and_postgres_with_the_same_tables_and_columns() {
    let admin_url = format!("{}/postgres", postgres_base());
    if let Err(e) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
        eprintln!(
            "\n*** SKIPPED postgres::migrations_leave_sqlite_and_postgres_with_the_same_tables_and_columns: \
             PostgreSQL at {admin_url} does not answer ({e}); set VPCEP_TEST_POSTGRES ***\n"
        );
        return;
    }

    // The same migration files, by name, in both trees.
    let sqlite_files = migration_files("sqlite");
    let postgres_files = migration_files("postgres");
    assert!(!sqlite_files.is_empty(), "no SQLite migrations found");
    assert_eq!(
        sqlite_files, postgres_files,
        "the migration trees hold different file names"
    );
    let versions: Vec<String> = sqlite_files
        .iter()
        .map(|f| {
            f.strip_suffix(".sql")
                .unwrap_or_else(|| panic!("{f} is not a .sql file"))
                .to_string()
        })
        .collect();

    // SQLite, migrated for real.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = TestDb::sqlite(&dir, "parity.db");
    migrate_with_the_cli(&sqlite.url);
    let conn = rusqlite::Connection::open(dir.path().join("parity.db")).unwrap();
    let mut sqlite_schema = Schema::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in tables {
        let columns: BTreeSet<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .unwrap()
            .query_map([&table], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        sqlite_schema.insert(table, columns);
    }
    let sqlite_versions: Vec<String> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();

    // PostgreSQL, migrated for real.
    let pg = TestDb::postgres();
    migrate_with_the_cli(&pg.url);
    let client = postgres_client(&pg.url).await;
    let mut postgres_schema = Schema::new();
    for row in client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            &[],
        )
        .await
        .unwrap()
    {
        postgres_schema.insert(row.get(0), BTreeSet::new());
    }
    for row in client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap()
    {
        let table: String = row.get(0);
        postgres_schema
            .get_mut(&table)
            .unwrap_or_else(|| panic!("columns of {table}, which is not a base table"))
            .insert(row.get(1));
    }
    let postgres_versions: Vec<String> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();

    assert!(
        sqlite_schema.contains_key("endpoints") && sqlite_schema.contains_key("credentials"),
        "the SQLite schema lacks the core tables: {sqlite_schema:?}"
    );
    let sqlite_tables: BTreeSet<_> = sqlite_schema.keys().collect();
    let postgres_tables: BTreeSet<_> = postgres_schema.keys().collect();
    assert_eq!(
        sqlite_tables, postgres_tables,
        "the backends end with different tables"
    );
    for (table, columns) in &sqlite_schema {
        assert_eq!(
            columns, &postgres_schema[table],
            "table {table} has different columns on SQLite (left) and PostgreSQL (right)"
        );
    }
    assert_eq!(
        sqlite_versions, versions,
        "SQLite recorded other migrations than the files"
    );
    assert_eq!(
        postgres_versions, versions,
        "PostgreSQL recorded other migrations than the files"
    );
}

// ---------------------------------------------------------------------------------------------
// Several nodes on one database
// ---------------------------------------------------------------------------------------------

/// Pool size of the nodes of the multi-node tests: the shared PostgreSQL has other users.
const POOL: &[&str] = &["--pool-size", "8"];

/// A `TestApp` (node A) and a second node on its database (node B), as the owner on each.
fn two_nodes() -> (TestApp, Node, [Api; 2]) {
    let app = TestApp::with_args(POOL);
    let b = Node::start(&app.db_url, POOL);
    let apis = [
        Api::new(&app.base(), &app.owner),
        Api::new(&b.base, &app.owner),
    ];
    (app, b, apis)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn endpoints_created_at_once_on_two_nodes_get_unique_marker_ids_and_unique_ips_per_vpc() {
    if !postgres_only(
        "endpoints_created_at_once_on_two_nodes_get_unique_marker_ids_and_unique_ips_per_vpc",
    ) {
        return;
    }
    let (_app, _b, nodes) = two_nodes();
    let sid = nodes[0].new_service(false).await;
    let vpcs = [uuid(), uuid()];

    // 16 clients, 8 per node, each creating 3 endpoints alternately in two shared VPCs. Every
    // answer is kept; the refusals are judged last, after the invariants of what was created.
    let create_round = |round: usize| {
        let mut tasks = Vec::new();
        for client in 0..16 {
            let api = nodes[client % 2].clone();
            let (sid, vpcs) = (sid.clone(), vpcs.clone());
            tasks.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for i in 0..3 {
                    let body = json!({
                        "endpoint_service_id": sid,
                        "vpc_id": vpcs[(client + i) % 2],
                        "subnet_id": uuid(),
                    });
                    let r = api.create_endpoint(&body).await;
                    answers.push((format!("round {round}, client {client}, create {i}"), r));
                }
                answers
            }));
        }
        tasks
    };
    let mut ever: Vec<Value> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut attempts = 0;
    let mut collect = |answers: Vec<(String, Resp)>, ever: &mut Vec<Value>| {
        for (what, r) in answers {
            attempts += 1;
            if r.status == 200 {
                ever.push(r.ok().clone());
            } else {
                refused.push(format!("{what}: {} {}", r.status, r.text));
            }
        }
    };

    for t in create_round(1) {
        collect(t.await.unwrap(), &mut ever);
    }
    // Delete every other endpoint through the other node, then create again: marker ids are
    // never handed out twice, even for deleted rows.
    let mut deleted = HashSet::new();
    for (i, e) in ever.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let id = str_of(&e["id"]);
        nodes[(i / 2 + 1) % 2]
            .delete_endpoint(&id)
            .await
            .assert_status(204);
        deleted.insert(id);
    }
    for t in create_round(2) {
        collect(t.await.unwrap(), &mut ever);
    }
    assert_eq!(attempts, 96);

    let mut markers = HashSet::new();
    for e in &ever {
        let marker = e["marker_id"]
            .as_u64()
            .unwrap_or_else(|| panic!("marker_id is not a positive integer: {e}"));
        assert!(
            markers.insert(marker),
            "marker_id {marker} handed out twice"
        );
    }

    // The live endpoints, as each node lists them: unique addresses per VPC, all automatic
    // addresses in 172.16.0.0/12, and exactly what the create responses said.
    let live: BTreeMap<String, &Value> = ever
        .iter()
        .map(|e| (str_of(&e["id"]), e))
        .filter(|(id, _)| !deleted.contains(id))
        .collect();
    for node in &nodes {
        let listed = node.endpoints().await;
        assert_eq!(
            listed.keys().collect::<Vec<_>>(),
            live.keys().collect::<Vec<_>>(),
            "the listed endpoints are not the live ones"
        );
        let mut per_vpc: HashSet<(String, Ipv4Addr)> = HashSet::new();
        for (id, e) in &listed {
            assert_eq!(e["marker_id"], live[id]["marker_id"], "marker_id of {id}");
            assert_eq!(e["ip"], live[id]["ip"], "ip of {id}");
            let ip: Ipv4Addr = str_of(&e["ip"]).parse().expect("an IPv4 ip");
            let o = ip.octets();
            assert!(
                o[0] == 172 && (16..=31).contains(&o[1]),
                "{ip} is not in 172.16.0.0/12"
            );
            assert!(
                per_vpc.insert((str_of(&e["vpc_id"]), ip)),
                "{ip} assigned twice in VPC {}",
                e["vpc_id"]
            );
        }
    }

    // Contention between nodes is the server's to resolve: SQLite (one writer) creates all of
    // these, and so must a deployment of several nodes.
    assert!(
        refused.is_empty(),
        "{} of {attempts} concurrent CreateEndpoint calls (two nodes, two shared VPCs) were \
         refused; what was created is unique. First refusals: {:#?}",
        refused.len(),
        &refused[..refused.len().min(3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_seed_updates_through_two_nodes_serialize_and_last_acknowledged_write_wins() {
    if !postgres_only(
        "concurrent_seed_updates_through_two_nodes_serialize_and_last_acknowledged_write_wins",
    ) {
        return;
    }
    let (_app, _b, nodes) = two_nodes();
    let sid = nodes[0].new_service(false).await;
    let single = nodes[0].new_endpoint(&sid).await;
    let (pair_a, pair_b) = (
        nodes[1].new_endpoint(&sid).await,
        nodes[0].new_endpoint(&sid).await,
    );

    // 16 writers, 8 per node. Each writes its own values: alternately one connection alone,
    // and a batch that sets two connections to one value (ids in either order).
    let mut tasks = Vec::new();
    for writer in 0..16 {
        let api = nodes[writer % 2].clone();
        let (sid, single, pair_a, pair_b) =
            (sid.clone(), single.clone(), pair_a.clone(), pair_b.clone());
        tasks.push(tokio::spawn(async move {
            let (mut singles, mut pairs) = (Vec::new(), Vec::new());
            for i in 0..12 {
                let value = format!("writer {writer} write {i} 中文");
                let pairs_in = if i % 2 == 0 {
                    vec![(single.as_str(), value.as_str())]
                } else if writer % 2 == 0 {
                    vec![(pair_a.as_str(), value.as_str()), (pair_b.as_str(), &value)]
                } else {
                    vec![(pair_b.as_str(), value.as_str()), (pair_a.as_str(), &value)]
                };
                let r = api.set_descriptions(&sid, &pairs_in).await;
                // Contention alone never turns a seed update into a 409 or a 503 (docs/api.md §1).
                assert_eq!(r.status, 200, "writer {writer} write {i}: {}", r.text);
                let got = described(&r);
                assert_eq!(got.len(), pairs_in.len(), "{}", r.text);
                for (id, _) in &pairs_in {
                    assert_eq!(
                        got[*id].0, value,
                        "a response does not show the value its own write produced: {}",
                        r.text
                    );
                }
                if i % 2 == 0 {
                    singles.push(value);
                } else {
                    pairs.push(value);
                }
            }
            (singles, pairs)
        }));
    }
    let (mut acked_singles, mut acked_pairs) = (HashSet::new(), HashSet::new());
    for t in tasks {
        let (s, p) = t.await.unwrap();
        acked_singles.extend(s);
        acked_pairs.extend(p);
    }

    for node in &nodes {
        let conns = node.connections(&sid).await;
        let text = |id: &str| str_of(&conns[id]["description"]);
        assert!(
            acked_singles.contains(&text(&single)),
            "the final value {:?} is not one of the acknowledged writes",
            text(&single)
        );
        assert!(
            acked_pairs.contains(&text(&pair_a)),
            "the final value {:?} is not one of the acknowledged writes",
            text(&pair_a)
        );
        assert_eq!(
            text(&pair_a),
            text(&pair_b),
            "a batch write is torn: its two connections hold values of different writes"
        );
    }

    // Once the writers are done, a write through one node is what the other one reads.
    for (from, to) in [(0, 1), (1, 0)] {
        let value = format!("settled via node {from}");
        nodes[from]
            .set_descriptions(&sid, &[(&single, &value), (&pair_a, &value)])
            .await
            .ok();
        let conns = nodes[to].connections(&sid).await;
        assert_eq!(conns[&single]["description"], value);
        assert_eq!(conns[&pair_a]["description"], value);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accept_or_reject_racing_description_updates_on_two_nodes_loses_neither_change() {
    if !postgres_only(
        "accept_or_reject_racing_description_updates_on_two_nodes_loses_neither_change",
    ) {
        return;
    }
    let (_app, _b, nodes) = two_nodes();
    let sid = nodes[0].new_service(false).await;
    let conns = [
        nodes[0].new_endpoint(&sid).await,
        nodes[1].new_endpoint(&sid).await,
    ];
    const ROUNDS: usize = 40;

    // For each connection: one task flips receive/reject through one node while another writes
    // descriptions through the other node (the two connections use the nodes the other way
    // round). Each task is sequential, so its last acknowledged request is its last change.
    let mut flips = Vec::new();
    let mut writes = Vec::new();
    for (k, eid) in conns.iter().enumerate() {
        let (flipper, writer) = (nodes[k % 2].clone(), nodes[(k + 1) % 2].clone());
        let (sid_f, eid_f) = (sid.clone(), eid.clone());
        flips.push(tokio::spawn(async move {
            let mut last = String::new();
            for i in 0..ROUNDS {
                let (action, status) = if i % 2 == 0 {
                    ("reject", "rejected")
                } else {
                    ("receive", "accepted")
                };
                let r = flipper.act(&sid_f, action, &eid_f).await;
                assert_eq!(r.status, 200, "{action} #{i}: {}", r.text);
                assert_eq!(described(&r)[&eid_f].1, status, "{action} #{i}: {}", r.text);
                last = status.to_string();
            }
            last
        }));
        let (sid_w, eid_w) = (sid.clone(), eid.clone());
        writes.push(tokio::spawn(async move {
            let mut last = String::new();
            for i in 0..ROUNDS {
                let value = format!("connection {k} description {i}");
                let r = writer.set_descriptions(&sid_w, &[(&eid_w, &value)]).await;
                assert_eq!(r.status, 200, "description #{i}: {}", r.text);
                let (text, status) = described(&r)[&eid_w].clone();
                assert_eq!(text, value, "description #{i}: {}", r.text);
                assert!(
                    status == "accepted" || status == "rejected",
                    "description #{i} shows status {status}"
                );
                last = value;
            }
            last
        }));
    }
    let mut expected = Vec::new();
    for (f, w) in flips.into_iter().zip(writes) {
        expected.push((f.await.unwrap(), w.await.unwrap()));
    }

    for node in &nodes {
        let listed = node.connections(&sid).await;
        for (eid, (status, text)) in conns.iter().zip(&expected) {
            assert_eq!(
                listed[eid]["status"], *status,
                "the last acknowledged action was lost on {eid}"
            );
            assert_eq!(
                listed[eid]["description"], *text,
                "the last acknowledged description was lost on {eid}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_started_together_on_an_empty_database_both_come_up_and_one_prints_a_credential()
{
    if !postgres_only(
        "two_nodes_started_together_on_an_empty_database_both_come_up_and_one_prints_a_credential",
    ) {
        return;
    }
    // A few rounds, each on a new empty database, to give the race a chance to show.
    for round in 0..3 {
        let db = TestDb::postgres();
        let starting = [
            Starting::spawn(&db.url, POOL),
            Starting::spawn(&db.url, POOL),
        ];
        let nodes: Vec<Node> = starting
            .into_iter()
            .map(|s| s.ready(READY_TIMEOUT))
            .collect();
        let printed: Vec<Vec<Credential>> = nodes.iter().map(Node::printed_credentials).collect();
        assert_eq!(
            printed.iter().map(Vec::len).sum::<usize>(),
            1,
            "round {round}: the two nodes printed {} first credentials, expected exactly one; \
             stdout before listening: {:?} and {:?}",
            printed.iter().map(Vec::len).sum::<usize>(),
            nodes[0].startup_lines,
            nodes[1].startup_lines
        );
        let first = printed.into_iter().flatten().next().unwrap();

        let out = vpcep(&["credentials", "list", "--database", &db.url]);
        assert!(out.status.success());
        let listed = single_json(&out.stdout);
        let listed = listed.as_array().expect("credentials list prints an array");
        assert_eq!(listed.len(), 1, "round {round}: {listed:?}");
        assert_eq!(listed[0]["access_key"], first.access_key.as_str());

        // Migrations ran once: each version recorded once. The printed token works on both.
        let client = postgres_client(&db.url).await;
        let versions: Vec<String> = client
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let files: Vec<String> = migration_files("postgres")
            .iter()
            .map(|f| f.trim_end_matches(".sql").to_string())
            .collect();
        assert_eq!(versions, files, "round {round}");
        drop(client);
        for node in &nodes {
            let api = Api::new(&node.base, &first);
            api.call(Method::GET, "/vpc-endpoint-services", None)
                .await
                .ok();
        }
        drop(nodes);
    }
}

// ---------------------------------------------------------------------------------------------
// A throwaway PostgreSQL cluster, for outages
// ---------------------------------------------------------------------------------------------

/// The folder with `initdb` and `pg_ctl`: /usr/local/bin, or the newest /usr/lib/postgresql/*/bin.
fn postgres_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let local = PathBuf::from("/usr/local/bin");
    if has_both(&local) {
        return Some(local);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// A PostgreSQL cluster of its own in a temp folder, on a free port; stopped when dropped.
struct Cluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// `initdb` refuses root: run the binaries as the `postgres` OS user then.
    as_postgres_user: bool,
}

impl Cluster {
    /// Initializes (does not start) a cluster; `None` when this machine has no PostgreSQL
    /// binaries.
    fn init(test: &str) -> Option<Cluster> {
        let Some(bin) = postgres_binaries() else {
            eprintln!(
                "\n*** SKIPPED postgres::{test}: no initdb/pg_ctl in /usr/local/bin or \
                 /usr/lib/postgresql/*/bin ***\n"
            );
            return None;
        };
        let uid = Command::new("id").arg("-u").output().expect("run `id -u`");
        let as_postgres_user = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = tempfile::tempdir().expect("a temp dir");
        if as_postgres_user {
            let chown = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(chown.success(), "chown of the cluster folder to postgres");
        }
        let cluster = Cluster {
            dir,
            bin,
            port: free_port(),
            as_postgres_user,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "-N"],
        );
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The URL of the cluster's own `postgres` database (the whole cluster is the test's).
    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(exe);
            cmd
        } else {
            Command::new(exe)
        };
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    #[track_caller]
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed ({}): {} {}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let (data, log) = (
            self.data(),
            self.dir.path().join("log").display().to_string(),
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
    }

    /// `pg_ctl stop -m MODE` (`fast`, `immediate`), waiting until it is down.
    fn stop(&self, mode: &str) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", &data, "-m", mode, "-w", "-t", "60", "stop"],
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A request and how long its answer took.
async fn timed(request: impl std::future::Future<Output = Resp>) -> (Resp, Duration) {
    let started = Instant::now();
    let r = request.await;
    (r, started.elapsed())
}

/// Waits (bounded) until `/health` of the node says 200.
async fn wait_healthy(api: &Api, within: Duration) -> Duration {
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
struct WriterLog {
    /// Index of the last write answered 200.
    last_acked: Option<usize>,
    /// Index of the last write sent.
    last_sent: usize,
    unavailable: usize,
}

/// Writes `"{prefix} {i}"` for i = 0, 1, ... to one connection, one at a time, until `stop`.
/// Every answer is 200 or 503 (the database went away); anything else fails the test.
fn spawn_writer(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_fail_fast_with_503_while_postgres_is_down_and_the_node_recovers_by_itself() {
    let test = "requests_fail_fast_with_503_while_postgres_is_down_and_the_node_recovers_by_itself";
    if !postgres_only(test) {
        return;
    }
    let Some(cluster) = Cluster::init(test) else {
        return;
    };
    cluster.start();
    let url = cluster.url();
    let owner = create_credential(&url, &["--name", "owner"]);
    let mut node = Node::start(&url, &["--connect-timeout", "1s", "--pool-size", "4"]);
    let api = Api::new(&node.base, &owner);
    assert_eq!(api.health().await.status, 200);

    // Acknowledged writes, remembered as the state every later read must show.
    let sid = api.new_service(false).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(api.new_endpoint(&sid).await);
    }
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        let text = format!("before any outage {i}");
        api.set_descriptions(&sid, &[(id, &text)]).await.ok();
        expected.insert(id.clone(), text);
    }
    let endpoints_before = api.endpoints().await;

    for mode in ["fast", "immediate"] {
        // A writer keeps going while PostgreSQL stops under it.
        let stop = Arc::new(AtomicBool::new(false));
        let prefix = format!("during {mode} stop");
        let writer = spawn_writer(
            api.clone(),
            sid.clone(),
            ids[0].clone(),
            prefix.clone(),
            stop.clone(),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        cluster.stop(mode);

        // Every kind of request answers 503 with Retry-After, fast: well under what a client
        // would wait for (the node runs with --connect-timeout 1s), and so does /health.
        let mut slowest = Duration::ZERO;
        for attempt in 0..3 {
            let after = format!("after `pg_ctl stop -m {mode}` (attempt {attempt})");
            let (r, took) = timed(api.health()).await;
            slowest = slowest.max(took);
            assert_unavailable(&r, &format!("/health {after}"));
            assert_eq!(r.body, json!({"status": "unavailable"}), "/health {after}");
            assert!(
                took < Duration::from_secs(3),
                "/health {after} took {took:?}"
            );
            let list = format!("/vpc-endpoint-services/{sid}/connections");
            let requests = [
                (
                    "ListServiceConnections",
                    timed(api.call(Method::GET, &list, None)).await,
                ),
                (
                    "ListEndpoints",
                    timed(api.call(Method::GET, "/vpc-endpoints", None)).await,
                ),
                (
                    "the seed operation",
                    timed(api.set_descriptions(&sid, &[(&ids[1], "written while down")])).await,
                ),
                (
                    "CreateEndpoint",
                    timed(api.create_endpoint(&endpoint_body(&sid))).await,
                ),
            ];
            for (what, (r, took)) in &requests {
                assert_unavailable(r, &format!("{what} {after}"));
                r.assert_error(503, "EndPoint.0001");
                slowest = slowest.max(*took);
                assert!(
                    *took < Duration::from_secs(3),
                    "{what} {after} took {took:?} to answer 503"
                );
            }
        }
        stop.store(true, Ordering::SeqCst);
        let log = writer.await.unwrap();
        assert!(
            log.last_acked.is_some() && log.unavailable > 0,
            "the writer did not see both sides of the outage (-m {mode}): {} acknowledged, {} \
             answered 503",
            log.last_acked.map_or(0, |i| i + 1),
            log.unavailable
        );
        eprintln!(
            "postgres::{test}: -m {mode}: slowest 503 {slowest:?}; writer: last acknowledged \
             write {:?}, last sent {}, {} answered 503",
            log.last_acked, log.last_sent, log.unavailable
        );

        cluster.start();
        let took = wait_healthy(&api, Duration::from_secs(20)).await;
        node.assert_running();
        eprintln!("postgres::{test}: recovered {took:?} after `pg_ctl start` (-m {mode})");

        // No acknowledged write is lost. The writer's connection holds its last acknowledged
        // value or a later one it sent (an answer lost with the connection may have committed).
        let conns = api.connections(&sid).await;
        let got = str_of(&conns[&ids[0]]["description"]);
        let index = got
            .strip_prefix(&format!("{prefix} "))
            .and_then(|i| i.parse::<usize>().ok());
        match (index, log.last_acked) {
            (Some(i), Some(acked)) => assert!(
                acked <= i && i <= log.last_sent,
                "after -m {mode} the connection holds write {i}, but write {acked} was \
                 acknowledged (last sent {})",
                log.last_sent
            ),
            (None, None) => assert_eq!(got, expected[&ids[0]], "no write was acknowledged"),
            _ => panic!(
                "after -m {mode} the connection holds {got:?}; last acknowledged write: {:?}",
                log.last_acked
            ),
        }
        expected.insert(ids[0].clone(), got);
        for id in &ids[2..] {
            assert_eq!(
                conns[id]["description"], expected[id],
                "an acknowledged write was lost (-m {mode})"
            );
        }
        // ids[1] may hold "written while down" only if a 503 had committed, which must not be.
        assert_eq!(
            conns[&ids[1]]["description"], expected[&ids[1]],
            "a write answered 503 was applied (-m {mode})"
        );
        let endpoints_now = api.endpoints().await;
        for (id, before) in &endpoints_before {
            assert_eq!(
                endpoints_now[id]["marker_id"], before["marker_id"],
                "endpoint {id} after -m {mode}"
            );
        }
        assert_eq!(
            endpoints_now.len(),
            endpoints_before.len(),
            "a CreateEndpoint answered 503 was applied (-m {mode})"
        );

        // And the node takes writes again.
        for (i, id) in ids.iter().enumerate() {
            let text = format!("after {mode} restart {i}");
            let r = api.set_descriptions(&sid, &[(id, &text)]).await;
            assert_eq!(described(&r)[id].0, text);
            expected.insert(id.clone(), text);
        }
    }

    // One last look through a fresh node process: what the first node acknowledged is there.
    let fresh = Node::start(&url, &[]);
    let conns = Api::new(&fresh.base, &owner).connections(&sid).await;
    for (id, text) in &expected {
        assert_eq!(conns[id]["description"], *text, "connection {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_started_before_postgres_waits_for_it_and_comes_up_once_it_starts() {
    let test = "serve_started_before_postgres_waits_for_it_and_comes_up_once_it_starts";
    if !postgres_only(test) {
        return;
    }
    let Some(cluster) = Cluster::init(test) else {
        return;
    };
    let mut starting = Starting::spawn(
        &cluster.url(),
        &["--database-wait", "20s", "--connect-timeout", "1s"],
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        starting.exited(),
        None,
        "serve gave up within 3 s although --database-wait is 20s"
    );
    assert!(
        !starting.listening_yet(),
        "serve listened before its database answered"
    );

    cluster.start();
    let node = starting.ready(Duration::from_secs(25));
    // The database was empty: this start migrated it and printed the first credential.
    let printed = node.printed_credentials();
    assert_eq!(printed.len(), 1, "{:?}", node.startup_lines);
    let api = Api::new(&node.base, &printed[0]);
    assert_eq!(api.health().await.status, 200);
    let sid = api.new_service(false).await;
    api.new_endpoint(&sid).await;
}

#[tokio::test]
async fn serve_without_postgres_exits_non_zero_after_database_wait_with_a_clear_message() {
    if !postgres_only(
        "serve_without_postgres_exits_non_zero_after_database_wait_with_a_clear_message",
    ) {
        return;
    }
    let url = format!("postgres://postgres@127.0.0.1:{}/vpcep", free_port());
    let mut child = vpcep_command()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url])
        .args(["--database-wait", "1s", "--connect-timeout", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn `vpcep serve`");
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve with --database-wait 1s and no database did not exit within 15 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let stderr = err_reader.join().unwrap();
    assert!(!status.success(), "serve exited with {status}");
    assert!(
        !stdout.contains(LISTENING_PREFIX),
        "serve listened without a database: {stdout:?}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("vpcep: ")
            && last.contains("did not answer within 1s (--database-wait)")
            && last.contains("Connection refused"),
        "the last stderr line does not say that PostgreSQL did not answer within 1s, and why: \
         {stderr:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Throughput (by hand)
// ---------------------------------------------------------------------------------------------

/// Seed updates per second through one node and through two nodes on one database. No
/// assertion on the figures: they are printed, to be read.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement; run by hand with --ignored --nocapture"]
async fn seed_update_throughput_through_one_node_and_through_two_nodes() {
    if !postgres_only("seed_update_throughput_through_one_node_and_through_two_nodes") {
        return;
    }
    const CLIENTS: usize = 32;
    const PHASE: Duration = Duration::from_secs(5);
    let app = TestApp::spawn();
    let b = Node::start(&app.db_url, &[]);
    let nodes = [
        Api::new(&app.base(), &app.owner),
        Api::new(&b.base, &app.owner),
    ];
    let sid = nodes[0].new_service(false).await;
    let mut ids = Vec::new();
    for _ in 0..CLIENTS {
        ids.push(nodes[0].new_endpoint(&sid).await);
    }

    let mut rates = Vec::new();
    for node_count in [1usize, 2] {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (client, id) in ids.iter().enumerate() {
            let api = nodes[client % node_count].clone();
            let (sid, id) = (sid.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let mut done = 0u64;
                while started.elapsed() < PHASE {
                    let value = format!("{node_count} nodes, client {client}, update {done}");
                    let r = api.set_descriptions(&sid, &[(&id, &value)]).await;
                    assert_eq!(r.status, 200, "{}", r.text);
                    done += 1;
                }
                done
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        let rate = total as f64 / started.elapsed().as_secs_f64();
        eprintln!(
            "seed updates through {node_count} node(s), {CLIENTS} clients, {PHASE:?}: \
             {total} updates, {rate:.0}/s"
        );
        rates.push(rate);
    }
    eprintln!(
        "two nodes / one node: {:.2} (machine: {} CPUs, debug={})",
        rates[1] / rates[0],
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cfg!(debug_assertions)
    );
}
