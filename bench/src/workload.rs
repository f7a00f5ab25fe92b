//! The scenarios: how each request is built (signed like the SDK, or with a token), and what a
//! correct answer looks like (checked once per scenario before the load starts).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};
use bytes::Bytes;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::ValueEnum;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{Method, Request};
use http_body_util::Full;
use serde_json::Value;
use uuid::Uuid;

use crate::server::Credential;
use crate::sign::{self, DateCache};

pub type Body = Full<Bytes>;

/// The largest page the API serves, used by both list scenarios.
pub const LIST_LIMIT: usize = 1000;
/// Connections per request of `update-100`.
pub const UPDATE_BATCH: usize = 100;

const CT_JSON: &str = "application/json";
/// What the SDK sends with a body (captured requests, docs/signing.md §10).
const CT_JSON_UTF8: &str = "application/json;charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Kind {
    /// GET / (ListVersionDetails): no authentication, no database.
    #[value(name = "noop")]
    Noop,
    /// The seed operation with one connection per request.
    #[value(name = "update-1")]
    Update1,
    /// SQLite alone: `--clients` connections, each a durable single-row update loop (no vpcep).
    #[value(name = "db-sqlite")]
    DbSqlite,
    /// PostgreSQL alone: `--clients` connections, each a durable single-row update loop (no vpcep).
    #[value(name = "db-postgres")]
    DbPostgres,
    /// The seed operation with 100 connections of one service per request.
    #[value(name = "update-100")]
    Update100,
    /// `update-100` where every client has a service of its own: no two requests share a row.
    #[value(name = "update-100-spread")]
    Update100Spread,
    /// ListServiceConnections with limit=1000.
    #[value(name = "list")]
    List,
    /// ListServiceConnections filtered by one endpoint id.
    #[value(name = "list-id")]
    ListId,
    /// CreateEndpoint to a service with approval disabled.
    #[value(name = "create")]
    Create,
    /// TCP through an endpoint of `serve --data-plane` against straight to its backend: bulk
    /// MiB/s and connection set-up latency. Not HTTP; not in the default list.
    #[value(name = "data-plane")]
    DataPlane,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Noop => "noop",
            Kind::Update1 => "update-1",
            Kind::DbSqlite => "db-sqlite",
            Kind::DbPostgres => "db-postgres",
            Kind::Update100 => "update-100",
            Kind::Update100Spread => "update-100-spread",
            Kind::List => "list",
            Kind::ListId => "list-id",
            Kind::Create => "create",
            Kind::DataPlane => "data-plane",
        }
    }

    /// What one item of `items/s` is.
    pub fn item(self) -> &'static str {
        match self {
            Kind::Noop => "response",
            Kind::Update1 | Kind::Update100 | Kind::Update100Spread => "connection update",
            Kind::DbSqlite | Kind::DbPostgres => "row update",
            Kind::List | Kind::ListId => "connection listed",
            Kind::Create => "endpoint created",
            Kind::DataPlane => "connection set up through the endpoint",
        }
    }

    /// A database-alone scenario: statements straight to the database, no HTTP, no vpcep.
    pub fn is_db(self) -> bool {
        matches!(self, Kind::DbSqlite | Kind::DbPostgres)
    }

    /// The data-plane scenario: TCP through an endpoint, no HTTP request measured.
    pub fn is_data_plane(self) -> bool {
        self == Kind::DataPlane
    }

    /// A scenario that sends the seed operation with a batch of connections per request.
    pub fn is_batch(self) -> bool {
        matches!(self, Kind::Update100 | Kind::Update100Spread)
    }
}

/// A `--scenarios` entry: a scenario by name, or `db`, the database-alone scenario of the run's
/// backend (`db-sqlite`, or `db-postgres` with `--postgres`), so that one list fits both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    One(Kind),
    Db,
}

impl Pick {
    /// The scenario this entry names on the given backend; a database-alone scenario of the
    /// other backend is refused (its database does not exist in this run).
    pub fn resolve(self, postgres: bool) -> Result<Kind> {
        match self {
            Pick::Db if postgres => Ok(Kind::DbPostgres),
            Pick::Db => Ok(Kind::DbSqlite),
            Pick::One(Kind::DbSqlite) if postgres => {
                bail!("`db-sqlite` needs a SQLite run (no --postgres); `db` measures the run's backend")
            }
            Pick::One(Kind::DbPostgres) if !postgres => {
                bail!("`db-postgres` needs --postgres; `db` measures the run's backend")
            }
            Pick::One(kind) => Ok(kind),
        }
    }
}

/// Parses a `--scenarios` entry: every [`Kind`] by its name, plus `db`.
pub fn pick_parser() -> impl TypedValueParser<Value = Pick> {
    let values = Kind::value_variants()
        .iter()
        .filter_map(ValueEnum::to_possible_value)
        .chain([PossibleValue::new("db")
            .help("db-sqlite or db-postgres, whichever backend the run uses")]);
    PossibleValuesParser::new(values)
        .map(|name| Kind::from_str(&name, false).map_or(Pick::Db, Pick::One))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// AK/SK request signing, SDK-HMAC-SHA256, as the official SDKs send it.
    #[value(name = "aksk")]
    Aksk,
    /// `X-Auth-Token: <token>`.
    #[value(name = "token")]
    Token,
}

impl AuthMode {
    pub fn name(self) -> &'static str {
        match self {
            AuthMode::Aksk => "aksk",
            AuthMode::Token => "token",
        }
    }
}

/// What the server holds: connection `i` belongs to service `i % services.len()`.
pub struct Data {
    /// The `Host` header: `127.0.0.1:PORT`, as an SDK configured with `http://127.0.0.1:PORT` sends.
    pub host: String,
    pub owner: Credential,
    pub consumer: Credential,
    pub services: Vec<String>,
    pub connections: Vec<Uuid>,
    /// The service (approval disabled) that `create` connects to.
    pub create_service: String,
    /// The services of `update-100-spread` (empty unless it runs): one per client, apart from
    /// `services`, so that no other scenario touches their connections.
    ///
    /// Why services of their own: the seed operation names one service per request, and with the
    /// default data (10 services of 100 connections) `update-100`'s 32 clients name the same
    /// rows, so on PostgreSQL they queue on row locks. Disjoint 100-connection slices of the
    /// seeded services would need `--clients` × 100 connections in them, which small runs do not
    /// have; `--clients` extra services of exactly 100 connections each give every client rows
    /// (and a service) no other request in flight names, whatever `--services` and
    /// `--connections` are, at the cost of `--clients` × 100 more rows in the table.
    pub spread_services: Vec<String>,
    /// Their connections, [`UPDATE_BATCH`] per service: connection `i` belongs to spread
    /// service `i % spread_services.len()`.
    pub spread_connections: Vec<Uuid>,
}

impl Data {
    /// Connections of service `s`.
    pub fn per_service(&self, s: usize) -> usize {
        let n = self.services.len();
        let m = self.connections.len();
        (m + n - 1 - s) / n
    }

    /// The `j`-th connection of service `s`.
    fn connection(&self, s: usize, j: usize) -> &Uuid {
        &self.connections[s + j * self.services.len()]
    }

    /// Connections per request of `update-100`: 100, or fewer when a service has fewer.
    pub fn update_batch(&self) -> usize {
        UPDATE_BATCH.min(self.connections.len() / self.services.len())
    }

    /// The connections of spread service `s`, in seeding order.
    fn spread_of(&self, s: usize) -> impl Iterator<Item = &Uuid> {
        let n = self.spread_services.len();
        self.spread_connections.iter().skip(s).step_by(n.max(1))
    }
}

/// A raw path and its canonical form for signing.
struct Path {
    raw: String,
    canonical: String,
}

impl Path {
    fn new(raw: String) -> Path {
        let canonical = sign::canonical_uri(&raw);
        Path { raw, canonical }
    }
}

/// What a correct answer holds; checked by the preflight request only.
#[derive(Debug)]
pub enum Expect {
    Versions,
    Updated(Vec<(String, String)>),
    List { total: usize, page: usize },
    ListId(String),
    Created(String),
}

pub struct Built {
    pub request: Request<Body>,
    /// Items this request handles when it succeeds (connections updated or listed, ...).
    pub items: u64,
    pub expect: Option<Expect>,
}

/// One scenario's request factory, shared by all virtual clients.
pub struct Workload {
    pub kind: Kind,
    data: Arc<Data>,
    auth: AuthMode,
    counter: AtomicU64,
    /// Distinguishes this run's descriptions from any earlier text.
    tag: String,
    batch: usize,
    /// `(vpc_id, subnet_id)` pairs that `create` rotates over; empty: a fresh VPC per request.
    create_vpcs: Vec<(String, String)>,
    description_paths: Vec<Path>,
    /// The description paths of the spread services, `update-100-spread` only.
    spread_paths: Vec<Path>,
    connections_paths: Vec<Path>,
    create_path: Path,
}

impl Workload {
    pub fn new(kind: Kind, data: Arc<Data>, auth: AuthMode, create_vpcs: usize) -> Workload {
        let owner = &data.owner.project_id;
        let service_path =
            |sid: &str, tail: &str| format!("/v1/{owner}/vpc-endpoint-services/{sid}{tail}");
        let description_paths = data
            .services
            .iter()
            .map(|s| Path::new(service_path(s, "/connections/description")))
            .collect();
        let spread_paths = data
            .spread_services
            .iter()
            .map(|s| Path::new(service_path(s, "/connections/description")))
            .collect();
        let connections_paths = data
            .services
            .iter()
            .map(|s| Path::new(service_path(s, "/connections")))
            .collect();
        let create_path = Path::new(format!("/v1/{}/vpc-endpoints", data.consumer.project_id));
        let create_vpcs = (0..create_vpcs)
            .map(|_| (Uuid::new_v4().to_string(), Uuid::new_v4().to_string()))
            .collect();
        let batch = match kind {
            Kind::Update100Spread => UPDATE_BATCH,
            _ => data.update_batch(),
        };
        Workload {
            kind,
            batch,
            data,
            auth,
            counter: AtomicU64::new(0),
            tag: Uuid::new_v4().simple().to_string()[..8].to_string(),
            create_vpcs,
            description_paths,
            spread_paths,
            connections_paths,
            create_path,
        }
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The next request of this scenario (rotating over services and connections) for virtual
    /// client `client` (`0..clients`; only `update-100-spread` gives each client its own rows).
    pub fn next(&self, client: usize, dates: &mut DateCache, want_expect: bool) -> Built {
        let k = self.counter.fetch_add(1, Ordering::Relaxed);
        let d = &*self.data;
        let n = d.services.len();
        let m = d.connections.len();
        match self.kind {
            Kind::Noop => {
                let request = Request::builder()
                    .method(Method::GET)
                    .uri("/")
                    .header(HOST, &d.host)
                    .body(Body::new(Bytes::new()))
                    .expect("a valid request");
                Built {
                    request,
                    items: 1,
                    expect: want_expect.then_some(Expect::Versions),
                }
            }
            Kind::Update1 => {
                let i = (k % m as u64) as usize;
                let id = d.connections[i].hyphenated();
                let description = format!("bench {} {k}", self.tag);
                let body =
                    format!(r#"{{"connections":[{{"id":"{id}","description":"{description}"}}]}}"#);
                let expect = want_expect
                    .then(|| Expect::Updated(vec![(id.to_string(), description.clone())]));
                let request = self.request(
                    Method::PUT,
                    &self.description_paths[i % n],
                    "",
                    Bytes::from(body),
                    CT_JSON_UTF8,
                    &d.owner,
                    dates,
                );
                Built {
                    request,
                    items: 1,
                    expect,
                }
            }
            Kind::Update100 => {
                let s = (k % n as u64) as usize;
                let round = (k / n as u64) as usize;
                let count = d.per_service(s);
                let ids =
                    (0..self.batch).map(|t| d.connection(s, (round * self.batch + t) % count));
                self.update_many(&self.description_paths[s], ids, k, dates, want_expect)
            }
            Kind::Update100Spread => {
                // Client `c` always names all the connections of spread service `c`, so the
                // requests in flight at any time never share a row (nor a service).
                let s = client % self.spread_paths.len().max(1);
                let ids = d.spread_of(s);
                self.update_many(&self.spread_paths[s], ids, k, dates, want_expect)
            }
            Kind::DbSqlite | Kind::DbPostgres => {
                unreachable!("the database-alone scenarios send no HTTP request")
            }
            Kind::DataPlane => unreachable!("the data-plane scenario sends no HTTP request"),
            Kind::List => {
                let s = (k % n as u64) as usize;
                let total = d.per_service(s);
                let page = total.min(LIST_LIMIT);
                let request = self.request(
                    Method::GET,
                    &self.connections_paths[s],
                    "limit=1000",
                    Bytes::new(),
                    CT_JSON,
                    &d.owner,
                    dates,
                );
                Built {
                    request,
                    items: page as u64,
                    expect: want_expect.then_some(Expect::List { total, page }),
                }
            }
            Kind::ListId => {
                let i = (k % m as u64) as usize;
                let id = d.connections[i].hyphenated().to_string();
                // The SDK sends its query sorted, which is also the canonical query.
                let query = format!("id={id}&limit=1000");
                let request = self.request(
                    Method::GET,
                    &self.connections_paths[i % n],
                    &query,
                    Bytes::new(),
                    CT_JSON,
                    &d.owner,
                    dates,
                );
                Built {
                    request,
                    items: 1,
                    expect: want_expect.then_some(Expect::ListId(id)),
                }
            }
            Kind::Create => {
                let fresh;
                let (vpc, subnet) = if self.create_vpcs.is_empty() {
                    fresh = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
                    (&fresh.0, &fresh.1)
                } else {
                    let p = &self.create_vpcs[(k % self.create_vpcs.len() as u64) as usize];
                    (&p.0, &p.1)
                };
                let body = format!(
                    r#"{{"endpoint_service_id":"{}","vpc_id":"{vpc}","subnet_id":"{subnet}","description":"bench {} {k}"}}"#,
                    d.create_service, self.tag
                );
                let request = self.request(
                    Method::POST,
                    &self.create_path,
                    "",
                    Bytes::from(body),
                    CT_JSON_UTF8,
                    &d.consumer,
                    dates,
                );
                Built {
                    request,
                    items: 1,
                    expect: want_expect.then(|| Expect::Created(d.create_service.clone())),
                }
            }
        }
    }

    /// The seed operation on `path` naming `ids`, each with a new description.
    fn update_many<'a>(
        &self,
        path: &Path,
        ids: impl Iterator<Item = &'a Uuid>,
        k: u64,
        dates: &mut DateCache,
        want_expect: bool,
    ) -> Built {
        let mut body = String::with_capacity(32 + self.batch * 90);
        body.push_str(r#"{"connections":["#);
        let mut expected = Vec::new();
        let mut items = 0;
        for (t, id) in ids.enumerate() {
            let id = id.hyphenated();
            if t > 0 {
                body.push(',');
            }
            let _ = write!(
                body,
                r#"{{"id":"{id}","description":"bench {} {k}.{t}"}}"#,
                self.tag
            );
            if want_expect {
                expected.push((id.to_string(), format!("bench {} {k}.{t}", self.tag)));
            }
            items += 1;
        }
        body.push_str("]}");
        let request = self.request(
            Method::PUT,
            path,
            "",
            Bytes::from(body),
            CT_JSON_UTF8,
            &self.data.owner,
            dates,
        );
        Built {
            request,
            items,
            expect: want_expect.then_some(Expect::Updated(expected)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: Method,
        path: &Path,
        query: &str,
        body: Bytes,
        content_type: &'static str,
        cred: &Credential,
        dates: &mut DateCache,
    ) -> Request<Body> {
        let uri = if query.is_empty() {
            path.raw.clone()
        } else {
            format!("{}?{query}", path.raw)
        };
        let host = &self.data.host;
        let mut b = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(HOST, host)
            .header(CONTENT_TYPE, content_type);
        match self.auth {
            AuthMode::Token => b = b.header("x-auth-token", &cred.token),
            AuthMode::Aksk => {
                let date = dates.now();
                let authorization = sign::authorization(
                    &cred.access_key,
                    &cred.secret_key,
                    method.as_str(),
                    &path.canonical,
                    query,
                    content_type,
                    host,
                    &cred.project_id,
                    date,
                    &body,
                );
                b = b
                    .header("x-project-id", &cred.project_id)
                    .header("x-sdk-date", date)
                    .header(AUTHORIZATION, authorization);
            }
        }
        b.body(Body::new(body)).expect("a valid request")
    }
}

/// Checks a preflight answer against what the request expected.
pub fn check(expect: &Expect, status: u16, body: &[u8]) -> Result<()> {
    let text = String::from_utf8_lossy(body);
    ensure!(
        (200..300).contains(&status),
        "status {status}, body {}",
        text.chars().take(500).collect::<String>()
    );
    let v: Value = serde_json::from_slice(body).with_context(|| format!("not JSON: {text}"))?;
    let conns = || -> Result<&Vec<Value>> {
        v["connections"]
            .as_array()
            .with_context(|| format!("no `connections` array: {text}"))
    };
    match expect {
        Expect::Versions => ensure!(
            v["versions"].as_array().is_some_and(|a| !a.is_empty()),
            "no versions: {text}"
        ),
        Expect::Updated(items) => {
            let got = conns()?;
            ensure!(
                got.len() == items.len(),
                "{} connections answered, {} sent",
                got.len(),
                items.len()
            );
            for (id, description) in items {
                let Some(c) = got.iter().find(|c| c["id"] == id.as_str()) else {
                    bail!("connection {id} missing from the answer")
                };
                ensure!(
                    c["description"] == description.as_str(),
                    "connection {id}: description {} instead of {description:?}",
                    c["description"]
                );
            }
        }
        Expect::List { total, page } => {
            ensure!(
                v["total_count"].as_u64() == Some(*total as u64),
                "total_count {} instead of {total}",
                v["total_count"]
            );
            ensure!(
                conns()?.len() == *page,
                "{} connections listed instead of {page}",
                conns()?.len()
            );
        }
        Expect::ListId(id) => {
            let got = conns()?;
            ensure!(
                got.len() == 1 && got[0]["id"] == id.as_str(),
                "filter by id {id} answered {text}"
            );
            ensure!(v["total_count"].as_u64() == Some(1), "total_count: {text}");
        }
        Expect::Created(service) => {
            ensure!(
                v["endpoint_service_id"] == service.as_str(),
                "endpoint_service_id: {text}"
            );
            ensure!(v["status"] == "accepted", "status: {text}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> Credential {
        Credential {
            domain_id: "d".into(),
            project_id: "p".into(),
            access_key: "ak".into(),
            secret_key: "sk".into(),
            token: "t".into(),
        }
    }

    fn data(spread: usize) -> Data {
        Data {
            host: "127.0.0.1:1".into(),
            owner: credential(),
            consumer: credential(),
            services: vec!["s0".into()],
            connections: (0..10).map(|_| Uuid::new_v4()).collect(),
            create_service: "c".into(),
            spread_services: (0..spread).map(|s| format!("spread{s}")).collect(),
            spread_connections: (0..spread * UPDATE_BATCH).map(|_| Uuid::new_v4()).collect(),
        }
    }

    /// The ids a request names, from its expectation.
    fn ids(w: &Workload, client: usize) -> Vec<String> {
        let built = w.next(client, &mut DateCache::default(), true);
        match built.expect {
            Some(Expect::Updated(items)) => items.into_iter().map(|(id, _)| id).collect(),
            other => panic!("not an update: {other:?}"),
        }
    }

    #[test]
    fn spread_clients_name_disjoint_connections_of_their_own_service() {
        let w = Workload::new(Kind::Update100Spread, Arc::new(data(3)), AuthMode::Token, 0);
        assert_eq!(w.batch(), UPDATE_BATCH);
        let mut seen = std::collections::HashSet::new();
        for c in 0..3 {
            let first = ids(&w, c);
            assert_eq!(first.len(), UPDATE_BATCH);
            assert_eq!(ids(&w, c), first, "a client always names the same rows");
            let built = w.next(c, &mut DateCache::default(), false);
            assert!(built.request.uri().path().contains(&format!("/spread{c}/")));
            for id in first {
                assert!(seen.insert(id), "two clients name the same connection");
            }
        }
    }

    #[test]
    fn db_picks_the_run_backend() {
        assert_eq!(Pick::Db.resolve(false).ok(), Some(Kind::DbSqlite));
        assert_eq!(Pick::Db.resolve(true).ok(), Some(Kind::DbPostgres));
        assert!(Pick::One(Kind::DbPostgres).resolve(false).is_err());
        assert!(Pick::One(Kind::DbSqlite).resolve(true).is_err());
        assert_eq!(
            Pick::One(Kind::Update1).resolve(true).ok(),
            Some(Kind::Update1)
        );
    }
}
