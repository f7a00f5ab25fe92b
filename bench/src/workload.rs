//! The scenarios: how each request is built (signed like the SDK, or with a token), and what a
//! correct answer looks like (checked once per scenario before the load starts).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};
use bytes::Bytes;
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
    /// The seed operation with 100 connections of one service per request.
    #[value(name = "update-100")]
    Update100,
    /// ListServiceConnections with limit=1000.
    #[value(name = "list")]
    List,
    /// ListServiceConnections filtered by one endpoint id.
    #[value(name = "list-id")]
    ListId,
    /// CreateEndpoint to a service with approval disabled.
    #[value(name = "create")]
    Create,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Noop => "noop",
            Kind::Update1 => "update-1",
            Kind::Update100 => "update-100",
            Kind::List => "list",
            Kind::ListId => "list-id",
            Kind::Create => "create",
        }
    }

    /// What one item of `items/s` is.
    pub fn item(self) -> &'static str {
        match self {
            Kind::Noop => "response",
            Kind::Update1 | Kind::Update100 => "connection update",
            Kind::List | Kind::ListId => "connection listed",
            Kind::Create => "endpoint created",
        }
    }
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
        let connections_paths = data
            .services
            .iter()
            .map(|s| Path::new(service_path(s, "/connections")))
            .collect();
        let create_path = Path::new(format!("/v1/{}/vpc-endpoints", data.consumer.project_id));
        let create_vpcs = (0..create_vpcs)
            .map(|_| (Uuid::new_v4().to_string(), Uuid::new_v4().to_string()))
            .collect();
        Workload {
            kind,
            batch: data.update_batch(),
            data,
            auth,
            counter: AtomicU64::new(0),
            tag: Uuid::new_v4().simple().to_string()[..8].to_string(),
            create_vpcs,
            description_paths,
            connections_paths,
            create_path,
        }
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The next request of this scenario (rotating over services and connections).
    pub fn next(&self, dates: &mut DateCache, want_expect: bool) -> Built {
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
                let mut body = String::with_capacity(32 + self.batch * 90);
                body.push_str(r#"{"connections":["#);
                let mut expected = Vec::new();
                for t in 0..self.batch {
                    let j = (round * self.batch + t) % count;
                    let id = d.connection(s, j).hyphenated();
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
                }
                body.push_str("]}");
                let request = self.request(
                    Method::PUT,
                    &self.description_paths[s],
                    "",
                    Bytes::from(body),
                    CT_JSON_UTF8,
                    &d.owner,
                    dates,
                );
                Built {
                    request,
                    items: self.batch as u64,
                    expect: want_expect.then_some(Expect::Updated(expected)),
                }
            }
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
