//! Seeding: the services and one real connection per service are made through the API; the other
//! connections are copies of a real one, inserted straight into the database (server stopped) in
//! a few large transactions, each with its own id, VPC, address and creation time.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, ensure, Context, Result};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{Method, Request};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::load::{connect, send, Sender};
use crate::server::Credential;
use crate::workload::Body;

/// Rows per transaction of the direct insert.
const ROWS_PER_TRANSACTION: usize = 100_000;
/// Rows per statement (PostgreSQL: one `INSERT ... SELECT ... unnest(...)` each).
const PG_ROWS_PER_STATEMENT: usize = 10_000;
/// Seeded connections per consumer VPC (each gets its own address in it).
const CONNECTIONS_PER_VPC: usize = 100;
/// 172.16.0.2, the first address vpcep assigns itself.
const FIRST_IP: i64 = 0xAC10_0002;

const ENDPOINT_COLUMNS: &str = "id, project_id, domain_id, endpoint_service_id, vpc_id, \
     subnet_id, port_ip, enable_dns, description, connection_description, status, ever_accepted, \
     whitelist, enable_whitelist, tags, routetables, policy_document, error, created_at, updated_at";

/// What the API part of the seeding made.
pub struct ApiSeed {
    pub services: Vec<String>,
    /// One connection per service, `connections[s]` to `services[s]`.
    pub connections: Vec<Uuid>,
    pub create_service: String,
    /// The services of `update-100-spread` (none unless asked for).
    pub spread_services: Vec<String>,
    /// One connection per spread service, like `connections`.
    pub spread_connections: Vec<Uuid>,
}

/// One API call with a token; `Value::Null` sends no body. Fails unless the answer is 2xx JSON.
pub async fn api_call(
    sender: &mut Sender,
    host: &str,
    token: &str,
    method: Method,
    path: &str,
    body: &Value,
) -> Result<Value> {
    let req = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(HOST, host)
        .header(CONTENT_TYPE, "application/json")
        .header("x-auth-token", token)
        .body(Body::new(if body.is_null() {
            Bytes::new()
        } else {
            Bytes::from(body.to_string())
        }))?;
    let (status, bytes) = send(sender, req).await?;
    let text = String::from_utf8_lossy(&bytes);
    ensure!(
        status.is_success(),
        "{method} {path} answered {status}: {text}"
    );
    serde_json::from_slice(&bytes).with_context(|| format!("{method} {path}: not JSON: {text}"))
}

fn new_uuid() -> String {
    Uuid::new_v4().to_string()
}

/// The API calls of the seeding, on one keep-alive connection.
struct Api<'a> {
    sender: Sender,
    host: String,
    owner: &'a Credential,
    consumer: &'a Credential,
}

impl Api<'_> {
    /// Creates an endpoint service named `name` (approval disabled, so connections to it are
    /// `accepted`) and returns its id.
    async fn create_service(&mut self, name: &str) -> Result<String> {
        let body = json!({
            "port_id": new_uuid(),
            "vpc_id": new_uuid(),
            "server_type": "VM",
            "service_name": name,
            "approval_enabled": false,
            "description": "vpcep-bench",
            "ports": [{"client_port": 80, "server_port": 8080, "protocol": "TCP"}],
        });
        let path = format!("/v1/{}/vpc-endpoint-services", self.owner.project_id);
        let v = api_call(
            &mut self.sender,
            &self.host,
            &self.owner.token,
            Method::POST,
            &path,
            &body,
        )
        .await?;
        let id = v["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no service id in {v}"))?;
        Ok(id.to_owned())
    }

    /// Creates one service per name.
    async fn create_services(
        &mut self,
        names: impl Iterator<Item = String>,
    ) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for name in names {
            ids.push(self.create_service(&name).await?);
        }
        Ok(ids)
    }

    /// One connection (CreateEndpoint by the consumer) to each service, in order.
    async fn connect_each(&mut self, services: &[String]) -> Result<Vec<Uuid>> {
        let path = format!("/v1/{}/vpc-endpoints", self.consumer.project_id);
        let mut ids = Vec::with_capacity(services.len());
        for service in services {
            let body = json!({
                "endpoint_service_id": service,
                "vpc_id": new_uuid(),
                "subnet_id": new_uuid(),
                "description": "vpcep-bench",
            });
            let v = api_call(
                &mut self.sender,
                &self.host,
                &self.consumer.token,
                Method::POST,
                &path,
                &body,
            )
            .await?;
            ensure!(
                v["status"] == "accepted",
                "a new connection is not accepted: {v}"
            );
            let id = v["id"]
                .as_str()
                .ok_or_else(|| anyhow!("no endpoint id in {v}"))?;
            ids.push(Uuid::parse_str(id)?);
        }
        Ok(ids)
    }
}

/// Creates `services` endpoint services (approval disabled, so connections are `accepted`) and
/// one connection to each through the API, plus the service that `create` connects to, plus
/// `spread` services of `update-100-spread` with one connection each.
pub async fn api_setup(
    addr: SocketAddr,
    owner: &Credential,
    consumer: &Credential,
    services: usize,
    spread: usize,
) -> Result<ApiSeed> {
    let mut api = Api {
        sender: connect(addr).await?,
        host: addr.to_string(),
        owner,
        consumer,
    };
    let services = api
        .create_services((0..services).map(|s| format!("bench{s}")))
        .await?;
    let create_service = api.create_service("benchcreate").await?;
    // Service names are at most 16 characters.
    let spread_services = api
        .create_services((0..spread).map(|s| format!("spread{s}")))
        .await?;
    let connections = api.connect_each(&services).await?;
    let spread_connections = api.connect_each(&spread_services).await?;
    Ok(ApiSeed {
        services,
        connections,
        create_service,
        spread_services,
        spread_connections,
    })
}

/// The rows to insert directly: connection `i` (for `i` from `first` to `total - 1`) goes to
/// service `i % services`.
pub struct Plan<'a> {
    pub services: &'a [String],
    pub first: usize,
    pub total: usize,
    /// An endpoint made through the API whose other columns every seeded row copies.
    pub template: String,
}

/// A plan and the list that the ids of its new connections are appended to (in order).
pub struct Part<'a> {
    pub plan: Plan<'a>,
    pub ids: &'a mut Vec<Uuid>,
}

/// One generated row.
struct Row {
    id: String,
    service: usize,
    vpc_id: String,
    subnet_id: String,
    port_ip: i64,
    created_at: i64,
}

/// Generates the rows of `plan` in order, `chunk` at a time, appending their ids to `ids`.
struct Rows {
    first: usize,
    next: usize,
    total: usize,
    services: usize,
    now: i64,
    vpc: (String, String),
}

impl Rows {
    fn new(plan: &Plan<'_>) -> Rows {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        Rows {
            first: plan.first,
            next: plan.first,
            total: plan.total,
            services: plan.services.len(),
            now,
            vpc: (new_uuid(), new_uuid()),
        }
    }

    fn take(&mut self, chunk: usize, ids: &mut Vec<Uuid>) -> Vec<Row> {
        let end = self.total.min(self.next + chunk);
        let mut rows = Vec::with_capacity(end - self.next);
        for i in self.next..end {
            let in_vpc = (i - self.first) % CONNECTIONS_PER_VPC;
            if in_vpc == 0 {
                self.vpc = (new_uuid(), new_uuid());
            }
            let id = Uuid::new_v4();
            ids.push(id);
            rows.push(Row {
                id: id.to_string(),
                service: i % self.services,
                vpc_id: self.vpc.0.clone(),
                subnet_id: self.vpc.1.clone(),
                port_ip: FIRST_IP + in_vpc as i64,
                // Older rows first, one second apart, ending before now.
                created_at: self.now - (self.total - i) as i64,
            });
        }
        self.next = end;
        rows
    }
}

/// One statement's rows, column by column: the arrays that `unnest` turns back into rows.
#[derive(Default)]
struct Columns(
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<i64>,
    Vec<i64>,
);

/// What the direct insert did.
pub struct DirectSeed {
    pub rows: usize,
    pub transactions: usize,
    pub seconds: f64,
    /// Post-insert maintenance (PostgreSQL `VACUUM ANALYZE`, SQLite WAL checkpoint).
    pub maintenance_seconds: f64,
}

/// Direct insert into a SQLite database file, part after part, then one WAL checkpoint.
pub fn sqlite(path: &Path, parts: &mut [Part<'_>]) -> Result<DirectSeed> {
    let started = Instant::now();
    let mut conn = rusqlite::Connection::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(30))?;
    // Our own connection only: the server's durability settings are its own business.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;
         PRAGMA foreign_keys = ON;",
    )?;
    let mut done = 0;
    let mut transactions = 0;
    for part in parts.iter_mut() {
        let (rows, txs) = sqlite_part(&mut conn, &part.plan, part.ids)?;
        done += rows;
        transactions += txs;
    }
    let seconds = started.elapsed().as_secs_f64();
    let m = Instant::now();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM endpoints", [], |r| r.get(0))?;
    check_count(count, parts)?;
    Ok(DirectSeed {
        rows: done,
        transactions,
        seconds,
        maintenance_seconds: m.elapsed().as_secs_f64(),
    })
}

/// Inserts the rows of one plan: (rows, transactions).
fn sqlite_part(
    conn: &mut rusqlite::Connection,
    plan: &Plan<'_>,
    ids: &mut Vec<Uuid>,
) -> Result<(usize, usize)> {
    let started = Instant::now();
    let sql = format!(
        "INSERT INTO endpoints ({ENDPOINT_COLUMNS})
         SELECT ?1, project_id, domain_id, ?2, ?3, ?4, ?5, enable_dns, description,
                connection_description, status, ever_accepted, whitelist, enable_whitelist, tags,
                routetables, policy_document, error, ?6, ?6
         FROM endpoints WHERE id = ?7"
    );
    let mut rows = Rows::new(plan);
    let mut done = 0;
    let mut transactions = 0;
    while rows.next < rows.total {
        let batch = rows.take(ROWS_PER_TRANSACTION, ids);
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(&sql)?;
            for r in &batch {
                let n = stmt.execute(rusqlite::params![
                    r.id,
                    plan.services[r.service],
                    r.vpc_id,
                    r.subnet_id,
                    r.port_ip,
                    r.created_at,
                    plan.template,
                ])?;
                ensure!(n == 1, "the template endpoint {} is missing", plan.template);
            }
        }
        tx.commit()?;
        transactions += 1;
        done += batch.len();
        progress(done, plan.total - plan.first, started);
    }
    Ok((done, transactions))
}

/// The table must hold at least every planned connection after seeding.
fn check_count(count: i64, parts: &[Part<'_>]) -> Result<()> {
    let planned: usize = parts.iter().map(|p| p.plan.total).sum();
    ensure!(
        count as usize >= planned,
        "{count} endpoints after seeding, expected at least {planned}"
    );
    Ok(())
}

fn progress(done: usize, total: usize, started: Instant) {
    if total >= 2 * ROWS_PER_TRANSACTION {
        eprintln!(
            "  seeded {done}/{total} connections ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
}

pub async fn pg_connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Direct insert into a PostgreSQL database, part after part, then one `VACUUM ANALYZE`.
pub async fn postgres(url: &str, parts: &mut [Part<'_>]) -> Result<DirectSeed> {
    let started = Instant::now();
    let mut client = pg_connect(url).await?;
    let mut done = 0;
    let mut transactions = 0;
    for part in parts.iter_mut() {
        let (rows, txs) = postgres_part(&mut client, &part.plan, part.ids).await?;
        done += rows;
        transactions += txs;
    }
    let seconds = started.elapsed().as_secs_f64();
    let m = Instant::now();
    // What autovacuum would do soon anyway; done now so that it does not run during a scenario.
    client.batch_execute("VACUUM ANALYZE endpoints").await?;
    let count: i64 = client
        .query_one("SELECT COUNT(*) FROM endpoints", &[])
        .await?
        .get(0);
    check_count(count, parts)?;
    Ok(DirectSeed {
        rows: done,
        transactions,
        seconds,
        maintenance_seconds: m.elapsed().as_secs_f64(),
    })
}

/// Inserts the rows of one plan: (rows, transactions).
async fn postgres_part(
    client: &mut tokio_postgres::Client,
    plan: &Plan<'_>,
    ids: &mut Vec<Uuid>,
) -> Result<(usize, usize)> {
    let started = Instant::now();
    let sql = format!(
        "INSERT INTO endpoints ({ENDPOINT_COLUMNS})
         SELECT u.id, t.project_id, t.domain_id, u.sid, u.vpc, u.subnet, u.ip, t.enable_dns,
                t.description, t.connection_description, t.status, t.ever_accepted, t.whitelist,
                t.enable_whitelist, t.tags, t.routetables, t.policy_document, t.error, u.ts, u.ts
         FROM endpoints t,
              unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[])
                AS u(id, sid, vpc, subnet, ip, ts)
         WHERE t.id = $7"
    );
    let mut rows = Rows::new(plan);
    let mut done = 0;
    let mut transactions = 0;
    while rows.next < rows.total {
        let tx = client.transaction().await?;
        let stmt = tx.prepare(&sql).await?;
        let mut in_tx = 0;
        while in_tx < ROWS_PER_TRANSACTION && rows.next < rows.total {
            let batch = rows.take(PG_ROWS_PER_STATEMENT.min(ROWS_PER_TRANSACTION - in_tx), ids);
            let mut cols = Columns::default();
            for r in batch {
                cols.0.push(r.id);
                cols.1.push(plan.services[r.service].clone());
                cols.2.push(r.vpc_id);
                cols.3.push(r.subnet_id);
                cols.4.push(r.port_ip);
                cols.5.push(r.created_at);
            }
            let n = tx
                .execute(
                    &stmt,
                    &[
                        &cols.0,
                        &cols.1,
                        &cols.2,
                        &cols.3,
                        &cols.4,
                        &cols.5,
                        &plan.template,
                    ],
                )
                .await?;
            ensure!(
                n as usize == cols.0.len(),
                "inserted {n} rows of {}: is the template endpoint {} missing?",
                cols.0.len(),
                plan.template
            );
            in_tx += cols.0.len();
        }
        tx.commit().await?;
        transactions += 1;
        done += in_tx;
        progress(done, plan.total - plan.first, started);
    }
    Ok((done, transactions))
}

/// A URL without its password.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A uniquely named PostgreSQL database made for this run and dropped after it.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    /// `base` is a server URL (`postgres://user@host:port`), with or without a database name; the
    /// new database is created from that database (default `postgres`).
    pub async fn create(base: &str) -> Result<PgDatabase> {
        let mut admin = url::Url::parse(base).with_context(|| format!("bad URL {base:?}"))?;
        if !matches!(admin.scheme(), "postgres" | "postgresql") {
            bail!("--postgres needs a postgres:// URL, got {}", redact(base));
        }
        if admin.path().trim_matches('/').is_empty() {
            admin.set_path("/postgres");
        }
        let name = format!("vpcep_bench_{}", &Uuid::new_v4().simple().to_string()[..12]);
        let mut url = admin.clone();
        url.set_path(&format!("/{name}"));
        let client = pg_connect(admin.as_str()).await?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        Ok(PgDatabase {
            admin_url: admin.to_string(),
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // A thread of its own: this may run inside or outside the harness's runtime.
        let done = std::thread::spawn(move || -> Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let client = pg_connect(&admin).await?;
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                Ok(())
            })
        })
        .join();
        match done {
            Ok(Ok(())) => eprintln!("dropped PostgreSQL database {}", self.name),
            Ok(Err(e)) => eprintln!("could not drop PostgreSQL database {}: {e:#}", self.name),
            Err(_) => eprintln!("could not drop PostgreSQL database {}", self.name),
        }
    }
}
