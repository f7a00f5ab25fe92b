//! The `data-plane` scenario: TCP through an endpoint of `vpcep serve --data-plane`, against the
//! same traffic straight to the same backend.
//!
//! The backend runs inside the harness (127.0.0.1, a port of the system's choosing). It reads and
//! checks a Proxy Protocol v2 header when one comes first, then looks at the first byte of the
//! payload: [`SINK`] makes it read and discard everything (counting the bytes), anything else makes
//! it echo. Through the API the harness creates one service (approval disabled, `ip` 127.0.0.1,
//! `tcp_proxy` `proxy_open`, one TCP port mapping from a free client port to the backend's port) and
//! one endpoint to it, waits until the endpoint forwards, then measures, each phase with the
//! run's warm-up and duration:
//!
//! 1. bulk throughput: `streams` connections, each writing [`BULK_BUFFER`] bytes in a loop, through
//!    the endpoint, then straight to the backend; bytes are counted where the backend reads them;
//! 2. connection set-up: `clients` loops of connect, write one byte, read its echo, close, through
//!    the endpoint, then straight to the backend.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use hdrhistogram::Histogram;
use http::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::load::{self, Outcome, INTERRUPTED};
use crate::report::{per_second, round};
use crate::seed::api_call;
use crate::server::{self, Credential};

/// What each bulk stream writes at a time.
pub const BULK_BUFFER: usize = 64 * 1024;
/// At most this many bulk streams (`--clients`, capped).
pub const MAX_STREAMS: usize = 8;
/// The targets: bulk throughput via the endpoint at least this share of direct...
pub const TARGET_RATIO: f64 = 0.8;
/// ... and a connection set-up p99 via the endpoint at most this, at 32 concurrent connects.
pub const TARGET_P99_MS: f64 = 2.0;
/// The first payload byte that makes the backend sink the connection; any other byte is echoed.
pub const SINK: u8 = b'S';
/// The byte of a set-up round.
const ECHO: u8 = b'e';
/// The client ports tried: below Linux's default ephemeral range (32768-60999), so that the
/// harness's own outgoing connections do not make a chosen port busy.
const CLIENT_PORTS: std::ops::Range<u16> = 20000..32768;
/// How long the endpoint may take to forward after it is created (routes are read every 250 ms).
const FORWARDING_TIMEOUT: Duration = Duration::from_secs(10);
/// A set-up round, or the probe, that takes longer than this is an error.
const ROUND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long bulk writers may take to stop once asked to.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Latencies are recorded in microseconds, up to this bound.
const MAX_LATENCY_US: u64 = 60 * 1_000_000;

/// Proxy Protocol v2 (<https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>): what the
/// backend needs to skip the header and check what it says.
pub mod ppv2 {
    use std::net::{Ipv4Addr, SocketAddrV4};

    use anyhow::{ensure, Result};

    /// The 12 bytes every v2 header starts with.
    pub const SIGNATURE: [u8; 12] = [
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
    ];
    /// The fixed part: signature, version and command, family, length.
    pub const FIXED: usize = 16;
    /// The custom TLV vpcep puts the connection's marker id in (ASCII digits).
    pub const TLV_MARKER_ID: u8 = 0xE1;
    /// The custom TLV vpcep puts the endpoint id in.
    pub const TLV_ENDPOINT_ID: u8 = 0xE2;

    /// What the first bytes of a connection say.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Prefix {
        /// Too few bytes to tell.
        Incomplete,
        /// No header: the payload starts at once.
        Absent,
        /// A header of this many bytes in all (fixed part included).
        Header(usize),
    }

    /// Whether `buf` (the first bytes read on a connection) starts with a v2 header, and how long
    /// it is. A payload never starts with 0x0D here; bytes that start like the signature and then
    /// differ, or another version than 2, are an error.
    pub fn prefix(buf: &[u8]) -> Result<Prefix> {
        let Some(&first) = buf.first() else {
            return Ok(Prefix::Incomplete);
        };
        if first != SIGNATURE[0] {
            return Ok(Prefix::Absent);
        }
        let n = buf.len().min(SIGNATURE.len());
        ensure!(
            buf[..n] == SIGNATURE[..n],
            "not a Proxy Protocol v2 signature: {:02x?}",
            &buf[..n]
        );
        if buf.len() < FIXED {
            return Ok(Prefix::Incomplete);
        }
        ensure!(
            buf[12] >> 4 == 2,
            "Proxy Protocol version {} instead of 2",
            buf[12] >> 4
        );
        let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
        Ok(Prefix::Header(FIXED + len))
    }

    /// A whole v2 header, read.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Header {
        /// 0x0 LOCAL, 0x1 PROXY.
        pub command: u8,
        /// 0x11 is TCP over IPv4.
        pub family: u8,
        /// Source and destination, for TCP over IPv4.
        pub addresses: Option<(SocketAddrV4, SocketAddrV4)>,
        pub tlvs: Vec<(u8, Vec<u8>)>,
    }

    impl Header {
        pub fn tlv(&self, kind: u8) -> Option<&[u8]> {
            self.tlvs
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, v)| v.as_slice())
        }
    }

    /// Reads a whole header (exactly what [`prefix`] measured).
    pub fn parse(h: &[u8]) -> Result<Header> {
        ensure!(
            prefix(h)? == Prefix::Header(h.len()),
            "not one whole Proxy Protocol v2 header ({} bytes)",
            h.len()
        );
        let family = h[13];
        let mut rest = &h[FIXED..];
        let addresses = if family == 0x11 {
            ensure!(
                rest.len() >= 12,
                "TCP over IPv4 without its 12 address bytes"
            );
            let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            let port = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
            let source = SocketAddrV4::new(ip(&rest[0..4]), port(&rest[8..10]));
            let destination = SocketAddrV4::new(ip(&rest[4..8]), port(&rest[10..12]));
            rest = &rest[12..];
            Some((source, destination))
        } else {
            // Other families are not parsed: their TLVs are not found either.
            rest = &[];
            None
        };
        let mut tlvs = Vec::new();
        while !rest.is_empty() {
            ensure!(rest.len() >= 3, "a truncated TLV: {rest:02x?}");
            let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
            ensure!(
                rest.len() >= 3 + len,
                "TLV 0x{:02X} says {len} bytes, {} left",
                rest[0],
                rest.len() - 3
            );
            tlvs.push((rest[0], rest[3..3 + len].to_vec()));
            rest = &rest[3 + len..];
        }
        Ok(Header {
            command: h[12] & 0x0F,
            family,
            addresses,
            tlvs,
        })
    }
}

/// `127.<16..31>.<0..255>.0/24` from two random bytes: one of 4,096 blocks of 127.16.0.0/12, so
/// that runs on one machine at the same time do not share endpoint addresses.
pub fn cidr_from(r: [u8; 2]) -> String {
    format!("127.{}.{}.0/24", 16 + (r[0] & 0x0F), r[1])
}

/// A random block for `--data-plane-cidr`.
pub fn pick_cidr() -> String {
    let b = Uuid::new_v4();
    let b = b.as_bytes();
    cidr_from([b[0], b[1]])
}

/// A client port from a random number.
pub fn port_from(r: u16) -> u16 {
    CLIENT_PORTS.start + r % (CLIENT_PORTS.end - CLIENT_PORTS.start)
}

/// A random client port that nothing on this host listens on or is bound to now.
fn free_client_port() -> Result<u16> {
    for _ in 0..100 {
        let b = Uuid::new_v4();
        let b = b.as_bytes();
        let port = port_from(u16::from_be_bytes([b[0], b[1]]));
        if std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free client port found in {CLIENT_PORTS:?} after 100 tries")
}

/// Whether `ip` is in the IPv4 CIDR block `cidr`.
pub fn block_contains(cidr: &str, ip: Ipv4Addr) -> Result<bool> {
    let (addr, bits) = cidr
        .split_once('/')
        .with_context(|| format!("{cidr:?} is not a CIDR block"))?;
    let addr: Ipv4Addr = addr
        .parse()
        .with_context(|| format!("{cidr:?} is not an IPv4 CIDR block"))?;
    let bits: u32 = bits
        .parse()
        .ok()
        .filter(|b| *b <= 32)
        .with_context(|| format!("{cidr:?} has no prefix length of 0 to 32"))?;
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    Ok(u32::from(ip) & mask == u32::from(addr) & mask)
}

/// The `--data-plane-cidr` that `--server-arg`s already give (`--data-plane-cidr=X` or
/// `--data-plane-cidr X`), so that the harness does not give a second one.
pub fn given_cidr(server_args: &[String]) -> Option<String> {
    let mut it = server_args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix("--data-plane-cidr=") {
            return Some(v.to_string());
        }
        if a == "--data-plane-cidr" {
            return it.next().cloned();
        }
    }
    None
}

/// MiB/s of `bytes` in `elapsed`.
pub fn mib_per_s(bytes: u64, elapsed: Duration) -> f64 {
    per_second(bytes, elapsed.as_secs_f64()) / (1024.0 * 1024.0)
}

/// What the backend saw, all connections together.
#[derive(Default)]
struct BackendStats {
    /// Connections accepted.
    connections: AtomicU64,
    /// Connections that started with a whole Proxy Protocol v2 header.
    with_header: AtomicU64,
    /// Payload bytes of sinking connections.
    sunk: AtomicU64,
    /// Connections that ended in an error (a read or write error, a wrong header).
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// The first header seen, whole.
    first_header: Mutex<Option<Vec<u8>>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Snapshot {
    connections: u64,
    with_header: u64,
    sunk: u64,
    errors: u64,
}

impl BackendStats {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            connections: self.connections.load(Ordering::Relaxed),
            with_header: self.with_header.load(Ordering::Relaxed),
            sunk: self.sunk.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    fn first_error(&self) -> Option<String> {
        self.first_error.lock().ok().and_then(|e| e.clone())
    }
}

/// The backend of the scenario's service, inside the harness.
struct Backend {
    addr: SocketAddr,
    stats: Arc<BackendStats>,
    task: JoinHandle<()>,
}

impl Backend {
    async fn start() -> Result<Backend> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("cannot listen for the data-plane backend on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(BackendStats::default());
        let s = stats.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                s.connections.fetch_add(1, Ordering::Relaxed);
                let s = s.clone();
                tokio::spawn(async move {
                    if let Err(e) = backend_connection(stream, &s).await {
                        s.errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut first) = s.first_error.lock() {
                            first.get_or_insert_with(|| format!("{e:#}"));
                        }
                    }
                });
            }
        });
        Ok(Backend { addr, stats, task })
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One backend connection: skip the header when there is one, then sink or echo.
async fn backend_connection(mut s: TcpStream, stats: &BackendStats) -> Result<()> {
    let _ = s.set_nodelay(true);
    // Large enough for any header (16 + 65,535 bytes) is not needed: vpcep's are ~80 bytes, and a
    // longer one grows the buffer.
    let mut buf = vec![0u8; 4096];
    let mut have = 0;
    let skip = loop {
        match ppv2::prefix(&buf[..have])? {
            ppv2::Prefix::Absent => break 0,
            ppv2::Prefix::Header(len) if have >= len => {
                stats.with_header.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = stats.first_header.lock() {
                    first.get_or_insert_with(|| buf[..len].to_vec());
                }
                break len;
            }
            ppv2::Prefix::Header(len) if len > buf.len() => buf.resize(len, 0),
            _ => {}
        }
        let n = s.read(&mut buf[have..]).await.context("backend read")?;
        if n == 0 {
            // Closed before any payload (or within the header).
            ensure!(have == 0, "closed within a Proxy Protocol header");
            return Ok(());
        }
        have += n;
    };
    let (mut start, mut end) = (skip, have);
    while start == end {
        let n = s.read(&mut buf).await.context("backend read")?;
        if n == 0 {
            return Ok(());
        }
        (start, end) = (0, n);
    }
    if buf[start] == SINK {
        stats
            .sunk
            .fetch_add((end - start) as u64, Ordering::Relaxed);
        let mut big = vec![0u8; 256 * 1024];
        loop {
            let n = s.read(&mut big).await.context("backend read")?;
            if n == 0 {
                return Ok(());
            }
            stats.sunk.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
    s.write_all(&buf[start..end])
        .await
        .context("backend write")?;
    loop {
        let n = s.read(&mut buf).await.context("backend read")?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&buf[..n]).await.context("backend write")?;
    }
}

/// The settings of the scenario.
pub struct Params {
    /// The API of the server under test.
    pub api: SocketAddr,
    pub server_pid: u32,
    /// The server's `--data-plane-cidr`.
    pub cidr: String,
    pub streams: usize,
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one phase's traffic did, besides its main figure.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// Connections the backend accepted in the phase (warm-up included).
    pub connections: u64,
    /// How many of them started with a Proxy Protocol v2 header.
    pub with_header: u64,
    /// Backend connections that ended in an error.
    pub backend_errors: u64,
    /// Client-side failures: streams that broke, rounds that failed.
    pub errors: u64,
    pub first_error: Option<String>,
    /// The measured time.
    pub elapsed: Duration,
    /// The server's CPU time in the measured time.
    pub server_cpu_s: Option<f64>,
}

impl Flow {
    fn to_json(&self) -> Value {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        json!({
            "elapsed_s": round(self.elapsed.as_secs_f64(), 3),
            "errors": self.errors,
            "first_error": self.first_error,
            "backend_connections": self.connections,
            "backend_connections_with_proxy_header": self.with_header,
            "backend_errors": self.backend_errors,
            "server_cpu_s": self.server_cpu_s.map(|c| round(c, 3)),
            "server_cpu_cores_busy": self.server_cpu_s.map(|c| round(c / secs, 2)),
        })
    }
}

/// Bulk throughput of one path.
#[derive(Debug, Clone, Default)]
pub struct Bulk {
    /// Bytes the backend read in the measured time.
    pub bytes: u64,
    pub flow: Flow,
}

impl Bulk {
    pub fn mib_per_s(&self) -> f64 {
        mib_per_s(self.bytes, self.flow.elapsed)
    }

    fn to_json(&self) -> Value {
        let mut v = self.flow.to_json();
        v["bytes"] = json!(self.bytes);
        v["mib_per_s"] = json!(round(self.mib_per_s(), 1));
        v
    }
}

/// Connection set-up rounds of one path.
#[derive(Debug, Clone)]
pub struct SetUp {
    pub rounds: u64,
    /// Each round: connect, write a byte, read its echo (close is not timed).
    pub latency_us: Histogram<u64>,
    pub flow: Flow,
}

impl SetUp {
    fn new() -> SetUp {
        SetUp {
            rounds: 0,
            latency_us: histogram(),
            flow: Flow::default(),
        }
    }

    pub fn per_s(&self) -> f64 {
        per_second(self.rounds, self.flow.elapsed.as_secs_f64())
    }

    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latency_us.max() as f64 / 1000.0
    }

    fn to_json(&self) -> Value {
        let h = &self.latency_us;
        let mut v = self.flow.to_json();
        v["rounds"] = json!(self.rounds);
        v["connects_per_s"] = json!(round(self.per_s(), 1));
        v["latency_ms"] = crate::report::latency_json(h);
        v
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid bounds")
}

/// Every figure of the scenario.
#[derive(Debug, Clone)]
pub struct Figures {
    pub cidr: String,
    pub service_id: String,
    pub endpoint_id: String,
    /// `<endpoint ip>:<client_port>`.
    pub endpoint: SocketAddrV4,
    pub backend: SocketAddr,
    /// From the endpoint's creation to the first echo through it.
    pub forwarding_after: Duration,
    /// The probe's header, read by the backend.
    pub header: ppv2::Header,
    pub streams: usize,
    pub clients: usize,
    pub bulk_via: Bulk,
    pub bulk_direct: Bulk,
    pub setup_via: SetUp,
    pub setup_direct: SetUp,
}

impl Figures {
    /// Bulk MiB/s via the endpoint ÷ direct.
    pub fn ratio(&self) -> Option<f64> {
        let direct = self.bulk_direct.mib_per_s();
        (direct > 0.0).then(|| self.bulk_via.mib_per_s() / direct)
    }

    /// Anything that makes the figures doubtful: errors, and headers where there must be one
    /// (every connection through the endpoint) or none (every direct one).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let phases = [
            ("bulk via endpoint", &self.bulk_via.flow, true),
            ("bulk direct", &self.bulk_direct.flow, false),
            ("set-up via endpoint", &self.setup_via.flow, true),
            ("set-up direct", &self.setup_direct.flow, false),
        ];
        for (name, f, via) in phases {
            if f.errors > 0 {
                out.push(format!(
                    "{name}: {} errors, first: {}",
                    f.errors,
                    f.first_error.as_deref().unwrap_or("?")
                ));
            }
            if f.backend_errors > 0 {
                out.push(format!(
                    "{name}: {} backend connections ended in an error",
                    f.backend_errors
                ));
            }
            if via && f.with_header != f.connections {
                out.push(format!(
                    "{name}: {} of {} backend connections had a Proxy Protocol v2 header",
                    f.with_header, f.connections
                ));
            }
            if !via && f.with_header > 0 {
                out.push(format!(
                    "{name}: {} direct connections had a Proxy Protocol v2 header",
                    f.with_header
                ));
            }
        }
        if self.bulk_via.bytes == 0 || self.bulk_direct.bytes == 0 {
            out.push("bulk: no bytes reached the backend on one path".into());
        }
        if self.setup_via.rounds == 0 || self.setup_direct.rounds == 0 {
            out.push("set-up: no round completed on one path".into());
        }
        out
    }

    /// The set-up rounds through the endpoint as the figures every scenario has (requests,
    /// latency, errors), so that the common report fields mean something for this one too.
    pub fn outcome(&self) -> Outcome {
        let s = &self.setup_via;
        let mut o = Outcome::new();
        o.requests = s.rounds + s.flow.errors;
        o.ok = s.rounds;
        o.items = s.rounds;
        o.transport_errors = s.flow.errors;
        o.first_error = s.flow.first_error.clone();
        o.elapsed = s.flow.elapsed;
        let _ = o.latency_us.add(&s.latency_us);
        o
    }

    pub fn to_json(&self) -> Value {
        let (source, destination) = self
            .header
            .addresses
            .map(|(s, d)| (Some(s.to_string()), Some(d.to_string())))
            .unwrap_or((None, None));
        let tlv = |k| {
            self.header
                .tlv(k)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let via_p99 = self.setup_via.quantile_ms(0.99);
        json!({
            "cidr": self.cidr,
            "service_id": self.service_id,
            "endpoint_id": self.endpoint_id,
            "endpoint": self.endpoint.to_string(),
            "backend": self.backend.to_string(),
            "tcp_proxy": "proxy_open",
            "forwarding_after_ms": round(self.forwarding_after.as_secs_f64() * 1000.0, 1),
            "proxy_header": {
                "source": source,
                "destination": destination,
                "marker_id": tlv(ppv2::TLV_MARKER_ID),
                "endpoint_id": tlv(ppv2::TLV_ENDPOINT_ID),
            },
            "throughput": {
                "streams": self.streams,
                "buffer_bytes": BULK_BUFFER,
                "via_endpoint": self.bulk_via.to_json(),
                "direct": self.bulk_direct.to_json(),
                "ratio": self.ratio().map(|r| round(r, 4)),
                "target_ratio": TARGET_RATIO,
                "meets_target": self.ratio().map(|r| r >= TARGET_RATIO),
            },
            "setup": {
                "clients": self.clients,
                "via_endpoint": self.setup_via.to_json(),
                "direct": self.setup_direct.to_json(),
                "target_p99_ms": TARGET_P99_MS,
                "meets_target": (self.setup_via.rounds > 0).then_some(via_p99 <= TARGET_P99_MS),
            },
            "problems": self.problems(),
        })
    }
}

/// The whole scenario: backend, service, endpoint, the wait for forwarding, the four phases.
pub async fn run(p: &Params, owner: &Credential, consumer: &Credential) -> Result<Figures> {
    let backend = Backend::start().await?;
    let client_port = free_client_port()?;
    let mut api = load::connect(p.api).await?;
    let host = p.api.to_string();

    let service = json!({
        "port_id": Uuid::new_v4().to_string(),
        "vpc_id": Uuid::new_v4().to_string(),
        "server_type": "VM",
        "service_name": "benchdataplane",
        "approval_enabled": false,
        "description": "vpcep-bench data-plane",
        "ip": "127.0.0.1",
        "tcp_proxy": "proxy_open",
        "ports": [{
            "client_port": client_port,
            "server_port": backend.addr.port(),
            "protocol": "TCP",
        }],
    });
    let path = format!("/v1/{}/vpc-endpoint-services", owner.project_id);
    let v = api_call(&mut api, &host, &owner.token, Method::POST, &path, &service)
        .await
        .context("creating the data-plane service")?;
    let service_id = v["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no service id in {v}"))?
        .to_string();
    ensure!(
        v["ip"] == "127.0.0.1" && v["tcp_proxy"] == "proxy_open",
        "the service does not have the ip and tcp_proxy asked for: {v}"
    );

    let path = format!("/v1/{}/vpc-endpoints", consumer.project_id);
    let body = json!({
        "endpoint_service_id": service_id,
        "vpc_id": Uuid::new_v4().to_string(),
        "subnet_id": Uuid::new_v4().to_string(),
        "description": "vpcep-bench data-plane",
    });
    let v = api_call(&mut api, &host, &consumer.token, Method::POST, &path, &body)
        .await
        .context("creating the data-plane endpoint")?;
    let created = Instant::now();
    ensure!(
        v["status"] == "accepted",
        "the data-plane endpoint is not accepted: {v}"
    );
    let endpoint_id = v["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no endpoint id in {v}"))?
        .to_string();
    let shown = api_call(
        &mut api,
        &host,
        &consumer.token,
        Method::GET,
        &format!("{path}/{endpoint_id}"),
        &Value::Null,
    )
    .await
    .context("reading the data-plane endpoint")?;
    let ip = endpoint_ip(&v, &shown)?;
    ensure!(
        block_contains(&p.cidr, ip)?,
        "the endpoint's ip {ip} is not in the server's --data-plane-cidr {}",
        p.cidr
    );
    drop(api);
    let endpoint = SocketAddrV4::new(ip, client_port);

    wait_for_forwarding(SocketAddr::V4(endpoint), p.server_pid).await?;
    let forwarding_after = created.elapsed();
    let header = backend
        .stats
        .first_header
        .lock()
        .ok()
        .and_then(|h| h.clone())
        .context("the probe through the endpoint reached the backend without a Proxy Protocol v2 header (tcp_proxy proxy_open)")?;
    let header = ppv2::parse(&header).context("the probe's Proxy Protocol v2 header")?;
    check_header(&header, endpoint, &endpoint_id)?;
    eprintln!(
        "vpcep-bench: data-plane        endpoint {endpoint} forwards to {} after {:.0} ms",
        backend.addr,
        forwarding_after.as_secs_f64() * 1000.0
    );

    let direct = backend.addr;
    let via = SocketAddr::V4(endpoint);
    let bulk_via = bulk(via, p, &backend).await;
    check_interrupted()?;
    let bulk_direct = bulk(direct, p, &backend).await;
    check_interrupted()?;
    let setup_via = setup(via, p, &backend).await;
    check_interrupted()?;
    let setup_direct = setup(direct, p, &backend).await;
    check_interrupted()?;
    Ok(Figures {
        cidr: p.cidr.clone(),
        service_id,
        endpoint_id,
        endpoint,
        backend: backend.addr,
        forwarding_after,
        header,
        streams: p.streams,
        clients: p.clients,
        bulk_via,
        bulk_direct,
        setup_via,
        setup_direct,
    })
}

fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        bail!("interrupted");
    }
    Ok(())
}

/// The endpoint's `ip`: from the create answer, which must agree with GET when both show one.
fn endpoint_ip(created: &Value, shown: &Value) -> Result<Ipv4Addr> {
    let parse = |v: &Value| -> Result<Option<Ipv4Addr>> {
        match v["ip"].as_str() {
            Some(s) if !s.is_empty() => {
                Ok(Some(s.parse().with_context(|| {
                    format!("the endpoint's ip {s:?} is not IPv4")
                })?))
            }
            _ => Ok(None),
        }
    };
    match (parse(created)?, parse(shown)?) {
        (Some(a), Some(b)) if a != b => {
            bail!("the endpoint's ip is {a} in the create answer but {b} in GET")
        }
        (_, Some(ip)) | (Some(ip), None) => Ok(ip),
        (None, None) => bail!(
            "the accepted endpoint has no ip (is the server started with --data-plane?): {shown}"
        ),
    }
}

/// The probe's header must name the endpoint as destination, and its id.
fn check_header(h: &ppv2::Header, endpoint: SocketAddrV4, endpoint_id: &str) -> Result<()> {
    ensure!(
        h.command == 1 && h.family == 0x11,
        "Proxy Protocol v2 command {} family 0x{:02X} instead of PROXY, TCP over IPv4",
        h.command,
        h.family
    );
    let destination = h.addresses.map(|(_, d)| d);
    ensure!(
        destination == Some(endpoint),
        "the Proxy Protocol v2 destination is {destination:?} instead of {endpoint}"
    );
    let id = h.tlv(ppv2::TLV_ENDPOINT_ID);
    ensure!(
        id == Some(endpoint_id.as_bytes()),
        "the Proxy Protocol v2 endpoint-id TLV is {:?} instead of {endpoint_id}",
        id.map(String::from_utf8_lossy)
    );
    Ok(())
}

/// One echo through `target`: connect, write a byte, read it back.
async fn echo_round(target: SocketAddr) -> Result<()> {
    let mut s = TcpStream::connect(target)
        .await
        .with_context(|| format!("cannot connect to {target}"))?;
    s.set_nodelay(true).context("TCP_NODELAY")?;
    s.write_all(&[ECHO])
        .await
        .with_context(|| format!("write to {target}"))?;
    let mut b = [0u8; 1];
    s.read_exact(&mut b)
        .await
        .with_context(|| format!("no echo from {target}"))?;
    ensure!(b[0] == ECHO, "echo {:#04x} instead of {ECHO:#04x}", b[0]);
    Ok(())
}

/// Probes the endpoint until an echo comes back through it.
async fn wait_for_forwarding(target: SocketAddr, server_pid: u32) -> Result<()> {
    let deadline = Instant::now() + FORWARDING_TIMEOUT;
    loop {
        let error = match tokio::time::timeout(ROUND_TIMEOUT, echo_round(target)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => format!("no echo within {ROUND_TIMEOUT:?}"),
        };
        check_interrupted()?;
        if Instant::now() >= deadline {
            bail!(
                "the endpoint {target} did not forward to the backend within {FORWARDING_TIMEOUT:?} \
                 (the server reads its routes every 250 ms; is it vpcep serve --data-plane, pid \
                 {server_pid}? see its log); last: {error}"
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn server_cpu(pid: u32) -> Option<f64> {
    server::cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// Sleeps through the warm-up and the measured time; the backend and the server's CPU are read at
/// both ends of the measured time.
async fn measure(
    start: Instant,
    p: &Params,
    backend: &Backend,
) -> (Snapshot, Snapshot, Option<f64>, Duration) {
    tokio::time::sleep_until((start + p.warmup).into()).await;
    let (b0, c0, t0) = (
        backend.stats.snapshot(),
        server_cpu(p.server_pid),
        Instant::now(),
    );
    tokio::time::sleep_until((t0 + p.duration).into()).await;
    let (b1, c1, t1) = (
        backend.stats.snapshot(),
        server_cpu(p.server_pid),
        Instant::now(),
    );
    let cpu = match (c0, c1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    (b0, b1, cpu, t1 - t0)
}

/// The whole phase's connections as the backend saw them (warm-up included).
fn flow_between(before: Snapshot, after: Snapshot, backend: &Backend) -> Flow {
    Flow {
        connections: after.connections - before.connections,
        with_header: after.with_header - before.with_header,
        backend_errors: after.errors - before.errors,
        first_error: (after.errors > before.errors)
            .then(|| backend.stats.first_error())
            .flatten()
            .map(|e| format!("backend: {e}")),
        ..Flow::default()
    }
}

/// Backend connections of a phase still being set up or closed when its clients are done:
/// waits (briefly) until the backend's counts stop moving.
async fn settle(backend: &Backend) -> Snapshot {
    let mut last = backend.stats.snapshot();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = backend.stats.snapshot();
        if now.connections == last.connections && now.with_header == last.with_header {
            return now;
        }
        last = now;
    }
    last
}

/// `p.streams` connections to `target`, each writing [`BULK_BUFFER`] bytes at a time.
async fn bulk(target: SocketAddr, p: &Params, backend: &Backend) -> Bulk {
    let before = backend.stats.snapshot();
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<JoinHandle<Result<()>>> = (0..p.streams)
        .map(|_| tokio::spawn(bulk_writer(target, stop.clone())))
        .collect();
    let (b0, b1, cpu, elapsed) = measure(start, p, backend).await;
    stop.store(true, Ordering::Relaxed);
    let mut errors = 0;
    let mut first_error = None;
    for w in writers {
        let failed = match tokio::time::timeout(STOP_TIMEOUT, w).await {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err(e))) => Some(format!("{e:#}")),
            Ok(Err(e)) => Some(format!("a writer task failed: {e}")),
            Err(_) => Some(format!("a writer did not stop within {STOP_TIMEOUT:?}")),
        };
        if let Some(e) = failed {
            errors += 1;
            first_error.get_or_insert(e);
        }
    }
    let after = settle(backend).await;
    let mut flow = flow_between(before, after, backend);
    flow.errors = errors;
    flow.first_error = first_error.or(flow.first_error);
    flow.elapsed = elapsed;
    flow.server_cpu_s = cpu;
    Bulk {
        bytes: b1.sunk - b0.sunk,
        flow,
    }
}

async fn bulk_writer(target: SocketAddr, stop: Arc<AtomicBool>) -> Result<()> {
    let mut s = TcpStream::connect(target)
        .await
        .with_context(|| format!("cannot connect to {target}"))?;
    let buf = vec![SINK; BULK_BUFFER];
    while !stop.load(Ordering::Relaxed) && !INTERRUPTED.load(Ordering::Relaxed) {
        s.write_all(&buf)
            .await
            .with_context(|| format!("write to {target}"))?;
    }
    s.shutdown()
        .await
        .with_context(|| format!("shutdown of {target}"))
}

/// `p.clients` loops of [`echo_round`] on a new connection each.
async fn setup(target: SocketAddr, p: &Params, backend: &Backend) -> SetUp {
    let before = backend.stats.snapshot();
    let start = Instant::now();
    let warm_until = start + p.warmup;
    let end = warm_until + p.duration;
    let loops: Vec<JoinHandle<(SetUp, Option<Instant>)>> = (0..p.clients)
        .map(|_| tokio::spawn(setup_loop(target, warm_until, end)))
        .collect();
    let (_, _, cpu, _) = measure(start, p, backend).await;
    let mut total = SetUp::new();
    let mut last = end;
    for l in loops {
        match l.await {
            Ok((s, done)) => {
                total.rounds += s.rounds;
                total.flow.errors += s.flow.errors;
                if total.flow.first_error.is_none() {
                    total.flow.first_error = s.flow.first_error;
                }
                let _ = total.latency_us.add(&s.latency_us);
                if let Some(t) = done {
                    last = last.max(t);
                }
            }
            Err(e) => {
                total.flow.errors += 1;
                total
                    .flow
                    .first_error
                    .get_or_insert_with(|| format!("a set-up task failed: {e}"));
            }
        }
    }
    let after = settle(backend).await;
    let flow = flow_between(before, after, backend);
    total.flow = Flow {
        errors: total.flow.errors,
        first_error: total.flow.first_error.or(flow.first_error.clone()),
        elapsed: last.saturating_duration_since(warm_until),
        server_cpu_s: cpu,
        ..flow
    };
    total
}

async fn setup_loop(
    target: SocketAddr,
    warm_until: Instant,
    end: Instant,
) -> (SetUp, Option<Instant>) {
    let mut out = SetUp::new();
    let mut last_done = None;
    loop {
        let t0 = Instant::now();
        if t0 >= end || INTERRUPTED.load(Ordering::Relaxed) {
            break;
        }
        let result = tokio::time::timeout(ROUND_TIMEOUT, echo_round(target)).await;
        let t1 = Instant::now();
        let measured = t0 >= warm_until;
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("{e:#}")),
            Err(_) => Some(format!("no echo from {target} within {ROUND_TIMEOUT:?}")),
        };
        if measured {
            last_done = Some(t1);
            match &error {
                None => {
                    out.rounds += 1;
                    out.latency_us
                        .saturating_record((t1 - t0).as_micros().max(1) as u64);
                }
                Some(e) => {
                    out.flow.errors += 1;
                    out.flow.first_error.get_or_insert_with(|| e.clone());
                }
            }
        }
        if error.is_some() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    (out, last_done)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as vpcep writes it (src/dataplane/proxy_protocol.rs), built here by hand.
    fn vpcep_header(id: &str) -> Vec<u8> {
        let mut h = ppv2::SIGNATURE.to_vec();
        h.extend_from_slice(&[0x21, 0x11]);
        h.extend_from_slice(&(12u16 + 3 + 8 + 3 + 36).to_be_bytes());
        h.extend_from_slice(&[127, 0, 0, 1, 127, 16, 0, 2]);
        h.extend_from_slice(&40000u16.to_be_bytes());
        h.extend_from_slice(&80u16.to_be_bytes());
        h.extend_from_slice(&[0xE1, 0, 8]);
        h.extend_from_slice(b"16777216");
        h.extend_from_slice(&[0xE2, 0, 36]);
        h.extend_from_slice(id.as_bytes());
        h
    }

    const ID: &str = "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

    #[test]
    fn the_prefix_tells_header_payload_and_too_little() {
        let h = vpcep_header(ID);
        assert_eq!(h.len(), 78);
        for cut in 0..ppv2::FIXED {
            assert_eq!(
                ppv2::prefix(&h[..cut]).ok(),
                Some(ppv2::Prefix::Incomplete),
                "{cut} bytes"
            );
        }
        for cut in ppv2::FIXED..=h.len() {
            assert_eq!(ppv2::prefix(&h[..cut]).ok(), Some(ppv2::Prefix::Header(78)));
        }
        let mut with_payload = h.clone();
        with_payload.push(SINK);
        assert_eq!(
            ppv2::prefix(&with_payload).ok(),
            Some(ppv2::Prefix::Header(78))
        );
        assert_eq!(ppv2::prefix(b"e").ok(), Some(ppv2::Prefix::Absent));
        assert_eq!(ppv2::prefix(&[SINK; 64]).ok(), Some(ppv2::Prefix::Absent));
        // Starts like the signature, then differs; another version.
        assert!(ppv2::prefix(&[0x0D, 0x0A, 0x0D, 0x0B]).is_err());
        let mut v1 = h.clone();
        v1[12] = 0x11;
        assert!(ppv2::prefix(&v1).is_err());
    }

    #[test]
    fn the_header_is_read_back() {
        let h = ppv2::parse(&vpcep_header(ID)).expect("a header");
        assert_eq!(h.command, 1);
        assert_eq!(h.family, 0x11);
        assert_eq!(
            h.addresses,
            Some((
                "127.0.0.1:40000".parse().expect("addr"),
                "127.16.0.2:80".parse().expect("addr")
            ))
        );
        assert_eq!(h.tlv(ppv2::TLV_MARKER_ID), Some(&b"16777216"[..]));
        assert_eq!(h.tlv(ppv2::TLV_ENDPOINT_ID), Some(ID.as_bytes()));
        let endpoint: SocketAddrV4 = "127.16.0.2:80".parse().expect("addr");
        assert!(check_header(&h, endpoint, ID).is_ok());
        assert!(check_header(&h, "127.16.0.3:80".parse().expect("addr"), ID).is_err());
        assert!(check_header(&h, endpoint, "another").is_err());
        // A length that does not match, a TLV longer than what is left.
        let mut short = vpcep_header(ID);
        short.pop();
        assert!(ppv2::parse(&short).is_err());
        let mut bad = vpcep_header(ID);
        let at = bad.len() - 37;
        bad[at] = 0xFF;
        assert!(ppv2::parse(&bad).is_err());
    }

    #[tokio::test]
    async fn the_backend_skips_the_header_then_echoes_or_sinks() {
        let backend = Backend::start().await.expect("a backend");
        // Through vpcep: header, then a set-up round, the header split over two writes.
        let mut s = TcpStream::connect(backend.addr).await.expect("connect");
        let h = vpcep_header(ID);
        s.write_all(&h[..10]).await.expect("write");
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.write_all(&h[10..]).await.expect("write");
        s.write_all(&[ECHO]).await.expect("write");
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.expect("echo");
        assert_eq!(b[0], ECHO);
        drop(s);
        // Direct: no header.
        echo_round(backend.addr).await.expect("a direct round");
        // Sinking, with a header and the payload in the same write.
        let mut s = TcpStream::connect(backend.addr).await.expect("connect");
        let mut data = vpcep_header(ID);
        data.extend_from_slice(&[SINK; 1000]);
        s.write_all(&data).await.expect("write");
        s.write_all(&[SINK; 24]).await.expect("write");
        s.shutdown().await.expect("shutdown");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.expect("EOF");
        assert!(rest.is_empty(), "a sink answers nothing");
        let snap = settle(&backend).await;
        assert_eq!(snap.connections, 3);
        assert_eq!(snap.with_header, 2);
        assert_eq!(snap.sunk, 1024);
        assert_eq!(snap.errors, 0, "{:?}", backend.stats.first_error());
        let first = backend
            .stats
            .first_header
            .lock()
            .expect("lock")
            .clone()
            .expect("a header");
        assert_eq!(first, vpcep_header(ID));
    }

    #[test]
    fn blocks_are_24s_inside_127_16_0_0_12() {
        let mut seen = std::collections::HashSet::new();
        for a in [0u8, 1, 15, 16, 0xF0, 0xFF] {
            for b in [0u8, 1, 128, 255] {
                let cidr = cidr_from([a, b]);
                assert!(cidr.ends_with(".0/24"), "{cidr}");
                let network: Ipv4Addr = cidr.trim_end_matches("/24").parse().expect("an address");
                assert!(block_contains("127.16.0.0/12", network).expect("a block"));
                assert!(
                    block_contains(&cidr, Ipv4Addr::from(u32::from(network) + 254))
                        .expect("a block")
                );
                assert!(
                    !block_contains(&cidr, Ipv4Addr::from(u32::from(network) + 256))
                        .expect("a block")
                );
                seen.insert(cidr);
            }
        }
        assert_eq!(cidr_from([0, 7]), "127.16.7.0/24");
        assert_eq!(cidr_from([0xFF, 255]), "127.31.255.0/24");
        assert_eq!(cidr_from([0x10, 0]), cidr_from([0, 0]));
        assert_eq!(
            seen.len(),
            3 * 4,
            "127.16, 127.17 and 127.31, four third octets each"
        );
        assert!(pick_cidr().starts_with("127."));
        assert!(
            block_contains("127.16.0.0/12", "127.32.0.1".parse().expect("addr")).ok()
                == Some(false)
        );
        assert!(block_contains("127.16.0.0", Ipv4Addr::LOCALHOST).is_err());
        assert!(block_contains("127.16.0.0/33", Ipv4Addr::LOCALHOST).is_err());
        assert_eq!(
            block_contains("0.0.0.0/0", Ipv4Addr::LOCALHOST).ok(),
            Some(true)
        );
    }

    #[test]
    fn client_ports_stay_below_the_ephemeral_range() {
        for r in [0u16, 1, 12767, 12768, 40000, u16::MAX] {
            assert!(CLIENT_PORTS.contains(&port_from(r)), "{r}");
        }
        assert_eq!(port_from(0), 20000);
        assert_eq!(port_from(12767), 32767);
        assert_eq!(port_from(12768), 20000);
    }

    #[test]
    fn a_given_cidr_is_found_in_both_spellings() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(given_cidr(&args(&["--max-batch=10"])), None);
        assert_eq!(
            given_cidr(&args(&["--data-plane-cidr=127.20.0.0/16"])).as_deref(),
            Some("127.20.0.0/16")
        );
        assert_eq!(
            given_cidr(&args(&["--x", "--data-plane-cidr", "127.20.1.0/24"])).as_deref(),
            Some("127.20.1.0/24")
        );
    }

    #[test]
    fn the_endpoint_ip_comes_from_either_answer_when_they_agree() {
        let ip = |s: &str| json!({"ip": s});
        assert_eq!(
            endpoint_ip(&ip("127.20.0.2"), &ip("127.20.0.2")).ok(),
            Some(Ipv4Addr::new(127, 20, 0, 2))
        );
        assert_eq!(
            endpoint_ip(&json!({}), &ip("127.20.0.3")).ok(),
            Some(Ipv4Addr::new(127, 20, 0, 3))
        );
        assert_eq!(
            endpoint_ip(&ip("127.20.0.4"), &json!({"ip": null})).ok(),
            Some(Ipv4Addr::new(127, 20, 0, 4))
        );
        assert!(endpoint_ip(&ip("127.20.0.2"), &ip("127.20.0.5")).is_err());
        assert!(endpoint_ip(&json!({}), &json!({})).is_err());
        assert!(endpoint_ip(&ip("nope"), &json!({})).is_err());
    }

    #[test]
    fn throughput_is_in_mib_per_second() {
        assert_eq!(mib_per_s(10 * 1024 * 1024, Duration::from_secs(2)), 5.0);
        assert_eq!(mib_per_s(1, Duration::ZERO), 0.0);
    }
}
