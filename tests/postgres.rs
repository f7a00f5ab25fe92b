//! The tests that hold on PostgreSQL only: both migration trees end with the same schema;
//! several `vpcep serve` nodes share one database (marker ids from a sequence, serialized writes,
//! one first credential); a node rides out a PostgreSQL outage (503 with `Retry-After`, recovery
//! without a restart, no acknowledged write lost) and waits for a database that is still coming
//! up; what PostgreSQL refuses ends `vpcep serve` at once, with PostgreSQL's own reason.
//!
//! The multi-node tests run a second `vpcep serve` on the database of a `TestApp`. The outage
//! tests start a throwaway PostgreSQL cluster of their own (`initdb` + `pg_ctl`), because the
//! shared server must never be stopped. The harness is `support` (`nodes`, `cluster`, `db`).
//!
//! Every test here runs on PostgreSQL, whatever `VPCEP_TEST_BACKEND` says: the shared server at
//! `VPCEP_TEST_POSTGRES` (default postgres://postgres@127.0.0.1:5432). Without one the tests fail,
//! saying so; scripts/test.sh runs this binary only in its PostgreSQL phase. The throughput
//! figures come from an ignored test:
//! `cargo test --test postgres seed_update_throughput -- --ignored --nocapture`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Read;
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

mod support;

use support::*;

// ---------------------------------------------------------------------------------------------
// Migrations: both trees end with the same tables and columns
// ---------------------------------------------------------------------------------------------

type Schema = BTreeMap<String, BTreeSet<String>>;

#[tokio::test]
async fn migrations_leave_sqlite_and_postgres_with_the_same_tables_and_columns() {
    require_postgres();
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
    let postgres_versions = applied_migrations(&client).await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn endpoints_created_at_once_on_two_nodes_get_unique_marker_ids_and_unique_ips_per_vpc() {
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
        let versions = applied_migrations(&client).await;
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
// PostgreSQL going away and coming (back) up, on a throwaway cluster
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_fail_fast_with_503_while_postgres_is_down_and_the_node_recovers_by_itself() {
    let test = "requests_fail_fast_with_503_while_postgres_is_down_and_the_node_recovers_by_itself";
    let cluster = Cluster::init();
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
    let cluster = Cluster::init();
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
// Start-up: what PostgreSQL refuses ends the start at once
// ---------------------------------------------------------------------------------------------

#[test]
fn postgres_refusals_end_the_start_at_once_with_postgres_own_reason() {
    let base = require_postgres();
    let missing = format!("vpcep_missing_{}", uuid().replace('-', ""));
    assert_refused(
        &format!("{base}/{missing}"),
        &[
            &format!("database \"{missing}\" does not exist"),
            "SQLSTATE 3D000",
            "createdb",
            &missing,
        ],
    );
    let (host_part, _) = base
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once('@'))
        .map(|(_, host)| (host.to_owned(), ()))
        .expect("VPCEP_TEST_POSTGRES is postgres://USER@HOST:PORT");
    assert_refused(
        &format!("postgres://vpcep_no_such_role@{host_part}/postgres"),
        &[
            "role \"vpcep_no_such_role\" does not exist",
            "SQLSTATE 28000",
            "pg_hba.conf",
        ],
    );
    assert_refused(
        &format!("{base}/postgres?sslmode=require"),
        &["TLS", "sslmode=disable"],
    );
    assert_refused("postgres://user@[not-a-host", &["invalid PostgreSQL URL"]);
}

// ---------------------------------------------------------------------------------------------
// Throughput (by hand)
// ---------------------------------------------------------------------------------------------

/// Seed updates per second through one node and through two nodes on one database. No
/// assertion on the figures: they are printed, to be read.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement; run by hand with --ignored --nocapture"]
async fn seed_update_throughput_through_one_node_and_through_two_nodes() {
    const CLIENTS: usize = 32;
    const PHASE: Duration = Duration::from_secs(5);
    let app = TestApp::builder().on(Backend::Postgres).spawn();
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

/// The quota holds under creates racing through two nodes, with the project's count spread over
/// shards (migration 0008): 24 clients, 12 per node, race for 40 endpoints; exactly 40 are made,
/// and after 10 deletes, racing again makes exactly 10 more. Far from the quota, creates count
/// in one shard each (no common lock); near it, they take the project's turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_holds_when_creates_race_through_two_nodes() {
    let app = TestApp::builder()
        .on(Backend::Postgres)
        .args(POOL)
        .args(&["--quota-endpoints", "40"])
        .spawn();
    let b = Node::start(
        &app.db_url,
        &["--pool-size", "8", "--quota-endpoints", "40"],
    );
    let nodes = [
        Api::new(&app.base(), &app.owner),
        Api::new(&b.base, &app.owner),
    ];
    let sid = nodes[0].new_service(false).await;
    let race = |attempts: usize| {
        let mut tasks = Vec::new();
        for client in 0..24 {
            let api = nodes[client % 2].clone();
            let sid = sid.clone();
            tasks.push(tokio::spawn(async move {
                let mut made = Vec::new();
                for _ in 0..attempts {
                    let r = api.create_endpoint(&endpoint_body(&sid)).await;
                    match r.status {
                        200 => made.push(str_of(&r.ok()["id"])),
                        _ => {
                            r.assert_error(400, "EndPoint.1018");
                        }
                    }
                }
                made
            }));
        }
        tasks
    };
    let mut made = Vec::new();
    for t in race(4) {
        made.extend(t.await.expect("client"));
    }
    assert_eq!(made.len(), 40, "96 creates racing for a quota of 40");
    let quotas = nodes[1]
        .call(Method::GET, "/quotas?type=endpoint", None)
        .await;
    assert_eq!(quotas.ok()["quotas"]["resources"][0]["used"], 40);
    for id in &made[..10] {
        nodes[1].delete_endpoint(id).await.assert_status(204);
    }
    let mut again = 0;
    for t in race(2) {
        again += t.await.expect("client").len();
    }
    assert_eq!(again, 10, "48 creates racing for the 10 places freed");
    let quotas = nodes[0]
        .call(Method::GET, "/quotas?type=endpoint", None)
        .await;
    assert_eq!(quotas.ok()["quotas"]["resources"][0]["used"], 40);
}

/// Polls `api` until a credential's request is refused (401), for at most `within`; how long
/// it took.
async fn refused_within(api: &Api, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        let r = api.call(Method::GET, "/vpc-endpoint-services", None).await;
        if r.status == 401 {
            return Some(start.elapsed());
        }
        r.assert_status(200);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Each node keeps the credentials it looked up (no database round trip for them), and a
/// revocation through the command line reaches both nodes at once through LISTEN/NOTIFY; while
/// a node's listener is down it does not use its cache, so a revocation then works at once too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_credential_stops_working_on_every_node_at_once() {
    let (app, _b, _owners) = two_nodes();
    let nodes = |who: &Credential| [Api::new(&app.base(), who), Api::new(&_b.base, who)];

    // A credential used on both nodes (so both cached it), then revoked with the CLI.
    let who = create_credential(&app.db_url, &["--name", "revoked"]);
    let apis = nodes(&who);
    for api in &apis {
        for _ in 0..5 {
            api.call(Method::GET, "/vpc-endpoint-services", None)
                .await
                .assert_status(200);
        }
    }
    let out = vpcep(&[
        "credentials",
        "delete",
        "--database",
        &app.db_url,
        "--access-key",
        &who.access_key,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, api) in apis.iter().enumerate() {
        let took = refused_within(api, Duration::from_secs(2)).await;
        assert!(
            took.is_some(),
            "node {i} still accepts a revoked credential after 2 s"
        );
        eprintln!("node {i}: refused {:?} after the revocation", took);
    }

    // A new credential works at once on both nodes (nothing is cached for unknown keys).
    let fresh = create_credential(&app.db_url, &["--name", "fresh"]);
    for api in nodes(&fresh) {
        api.call(Method::GET, "/vpc-endpoint-services", None)
            .await
            .assert_status(200);
    }

    // With the listeners' connections killed, the nodes look credentials up in the database
    // until they listen again: a revocation meanwhile is still refused at once.
    let db = app.db_url.rsplit('/').next().unwrap_or_default().to_owned();
    postgres_admin(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = '{db}' AND query = 'LISTEN vpcep_credentials'"
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = vpcep(&[
        "credentials",
        "delete",
        "--database",
        &app.db_url,
        "--access-key",
        &fresh.access_key,
    ]);
    assert!(out.status.success());
    for (i, api) in nodes(&fresh).iter().enumerate() {
        let took = refused_within(api, Duration::from_secs(2)).await;
        assert!(
            took.is_some(),
            "node {i} accepts a credential revoked while it was not listening"
        );
    }
}

/// Two nodes started with `--data-plane` on one host share each endpoint's address
/// (`SO_REUSEPORT`: both listen, the kernel spreads new connections over them). A reject through
/// either node closes the open connections of both within a second, and one node alone keeps
/// serving when the other stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_data_plane_nodes_on_one_host_share_the_endpoint_addresses() {
    use support::data_plane::*;
    let (block, port) = block_and_port();
    let args = [
        "--pool-size",
        "4",
        "--data-plane",
        "--data-plane-cidr",
        &block,
    ];
    let mut app = TestApp::builder().on(Backend::Postgres).args(&args).spawn();
    let b = Node::start(&app.db_url, &args);
    let (a_api, b_api) = (
        Api::new(&app.base(), &app.owner),
        Api::new(&b.base, &app.owner),
    );
    let (backend_port, _seen) = backend(false).await;
    let sid = str_of(
        &a_api
            .call(
                Method::POST,
                "/vpc-endpoint-services",
                Some(&json!({
                    "port_id": uuid(), "vpc_id": uuid(), "server_type": "VM",
                    "ip": "127.0.0.1", "approval_enabled": true,
                    "ports": [{"client_port": port, "server_port": backend_port, "protocol": "TCP"}],
                })),
            )
            .await
            .ok()["id"],
    );
    let eid = b_api.new_endpoint(&sid).await;
    a_api.act(&sid, "receive", &eid).await.assert_status(200);
    let ip = str_of(
        &a_api
            .call(Method::GET, &format!("/vpc-endpoints/{eid}"), None)
            .await
            .ok()["ip"],
    );
    let addr = std::net::SocketAddrV4::new(ip.parse().expect("ip"), port);
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(open_within(addr, Duration::from_secs(2)).await);
    }
    // Reject through the other node: every open connection closes, whichever node carried it.
    b_api.act(&sid, "reject", &eid).await.assert_status(200);
    for (i, s) in open.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(1)).await,
            "connection {i} outlived the reject by a second"
        );
    }
    refused_within(addr, Duration::from_secs(1)).await;
    // Accepted again, then the first node stops: the second serves alone.
    b_api.act(&sid, "receive", &eid).await.assert_status(200);
    let _ = open_within(addr, Duration::from_secs(2)).await;
    app.stop("TERM");
    for _ in 0..8 {
        let _ = open_within(addr, Duration::from_secs(2)).await;
    }
}
