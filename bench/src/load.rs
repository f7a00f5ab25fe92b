//! The load generator: C virtual clients, each with its own keep-alive HTTP/1.1 connection
//! (hyper's client connection, no pool), in a closed loop: send, read the whole answer, repeat.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::sign::DateCache;
use crate::workload::{check, Body, Workload};

/// Set on Ctrl-C: clients stop at once and the harness cleans up.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// A request that has no answer after this long counts as a transport error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Latencies are recorded in microseconds, up to this bound.
const MAX_LATENCY_US: u64 = 10 * 60 * 1_000_000;

pub type Sender = SendRequest<Body>;

pub async fn connect(addr: SocketAddr) -> Result<Sender> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request and reads the whole answer.
pub async fn send(sender: &mut Sender, req: Request<Body>) -> Result<(StatusCode, Bytes)> {
    let fut = async {
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, body))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(anyhow!("no answer within {REQUEST_TIMEOUT:?}")),
    }
}

/// One request of the scenario on a connection of its own, checked against what it must answer.
pub async fn preflight(workload: &Workload, addr: SocketAddr) -> Result<()> {
    let mut sender = connect(addr).await?;
    let mut dates = DateCache::default();
    let built = workload.next(0, &mut dates, true);
    let (status, body) = send(&mut sender, built.request).await?;
    let expect = built.expect.expect("asked for an expectation");
    check(&expect, status.as_u16(), &body)
        .with_context(|| format!("preflight of `{}`", workload.kind.name()))
}

/// What the clients of one scenario measured, warm-up excluded.
pub struct Outcome {
    /// Responses (any status) plus transport errors.
    pub requests: u64,
    pub ok: u64,
    pub non_2xx: u64,
    pub transport_errors: u64,
    /// Connections re-opened because the server had closed an idle one (not errors).
    pub reconnects: u64,
    /// Items of the 2xx answers (connections updated or listed, endpoints created).
    pub items: u64,
    pub statuses: BTreeMap<u16, u64>,
    /// Latency of every response, in microseconds.
    pub latency_us: Histogram<u64>,
    pub first_error: Option<String>,
    /// From the end of the warm-up to the last measured answer.
    pub elapsed: Duration,
}

impl Outcome {
    pub fn new() -> Outcome {
        Outcome {
            requests: 0,
            ok: 0,
            non_2xx: 0,
            transport_errors: 0,
            reconnects: 0,
            items: 0,
            statuses: BTreeMap::new(),
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid bounds"),
            first_error: None,
            elapsed: Duration::ZERO,
        }
    }

    /// Adds another client's figures (not `elapsed`, which is the run's).
    pub fn merge(&mut self, o: Outcome) {
        self.requests += o.requests;
        self.ok += o.ok;
        self.non_2xx += o.non_2xx;
        self.transport_errors += o.transport_errors;
        self.reconnects += o.reconnects;
        self.items += o.items;
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.latency_us
            .add(&o.latency_us)
            .expect("histograms of the same bounds");
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

struct ClientOutcome {
    outcome: Outcome,
    last_done: Option<Instant>,
}

/// Runs `clients` closed-loop clients for `warmup` (not measured) then `duration`.
pub async fn run(
    workload: Arc<Workload>,
    addr: SocketAddr,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> Outcome {
    let start = Instant::now();
    let warm_until = start + warmup;
    let end = warm_until + duration;
    let handles: Vec<_> = (0..clients)
        .map(|c| tokio::spawn(client(workload.clone(), c, addr, warm_until, end)))
        .collect();
    let mut total = Outcome::new();
    let mut last = end;
    for h in handles {
        match h.await {
            Ok(c) => {
                if let Some(t) = c.last_done {
                    last = last.max(t);
                }
                total.merge(c.outcome);
            }
            Err(e) => {
                total.transport_errors += 1;
                total
                    .first_error
                    .get_or_insert_with(|| format!("client task failed: {e}"));
            }
        }
    }
    total.elapsed = last.saturating_duration_since(warm_until);
    total
}

async fn client(
    workload: Arc<Workload>,
    index: usize,
    addr: SocketAddr,
    warm_until: Instant,
    end: Instant,
) -> ClientOutcome {
    let mut out = Outcome::new();
    let mut last_done = None;
    let mut dates = DateCache::default();
    let mut conn: Option<Sender> = None;
    loop {
        if INTERRUPTED.load(Ordering::Relaxed) {
            break;
        }
        let now = Instant::now();
        if now >= end {
            break;
        }
        let measured = now >= warm_until;
        // A connection the server closed after an answer is re-opened, not counted as an error:
        // no request was lost on it.
        if let Some(s) = conn.as_mut() {
            if s.ready().await.is_err() {
                conn = None;
                if measured {
                    out.reconnects += 1;
                }
            }
        }
        let sender = match conn.as_mut() {
            Some(s) => s,
            None => match connect(addr).await {
                Ok(s) => conn.insert(s),
                Err(e) => {
                    if measured {
                        out.requests += 1;
                        out.transport_errors += 1;
                        out.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let built = workload.next(index, &mut dates, false);
        let t0 = Instant::now();
        let measured = t0 >= warm_until;
        let result = send(sender, built.request).await;
        let t1 = Instant::now();
        if !measured {
            if result.is_err() {
                conn = None;
            }
            continue;
        }
        out.requests += 1;
        last_done = Some(t1);
        match result {
            Ok((status, body)) => {
                let us = (t1 - t0).as_micros().max(1) as u64;
                out.latency_us.saturating_record(us);
                *out.statuses.entry(status.as_u16()).or_default() += 1;
                if status.is_success() {
                    out.ok += 1;
                    out.items += built.items;
                } else {
                    out.non_2xx += 1;
                    out.first_error.get_or_insert_with(|| {
                        let text = String::from_utf8_lossy(&body);
                        format!(
                            "HTTP {}: {}",
                            status.as_u16(),
                            text.chars().take(300).collect::<String>()
                        )
                    });
                }
            }
            Err(e) => {
                out.transport_errors += 1;
                out.first_error
                    .get_or_insert_with(|| format!("transport: {e:#}"));
                conn = None;
            }
        }
    }
    ClientOutcome {
        outcome: out,
        last_done,
    }
}
