//! The local data plane (`vpcep serve --data-plane`): every accepted connection of an interface
//! service listens on its endpoint's address, once per TCP port mapping, and forwards each TCP
//! connection to the service's backend, with a Proxy Protocol v2 header first when the service's
//! `tcp_proxy` asks for one.
//!
//! The routes come from the database (`flows::endpoints::DataPlaneRoutes`), read again every
//! [`INTERVAL`]: a change made through any node (accept, reject, delete, a whitelist) is applied
//! within one interval plus the read. A listener whose route is gone is closed with every
//! connection it forwards. Listeners are bound with `SO_REUSEPORT`, so two nodes on one host
//! (PostgreSQL) both listen on an endpoint's address and the kernel spreads new connections
//! between them; each closes its own when the connection is rejected.

pub mod proxy_protocol;
#[cfg(target_os = "linux")]
mod splice;

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::route::{Header, Listener, Route};
use crate::store::flows::endpoints::DataPlaneRoutes;
use crate::store::SharedStore;

/// How often the routes are read again.
pub const INTERVAL: Duration = Duration::from_millis(250);
/// How long a backend may take to accept a forwarded connection.
const BACKEND_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Per endpoint, what its listeners did since the server started.
#[derive(Default, Debug)]
pub struct EndpointStats {
    /// Connections forwarded (the backend accepted them).
    pub accepted: AtomicU64,
    /// Connections closed at once because the whitelist does not name their source.
    pub refused_by_whitelist: AtomicU64,
    /// Connections being forwarded now.
    pub open: AtomicU64,
    /// Bytes from consumers to the backend.
    pub bytes_in: AtomicU64,
    /// Bytes from the backend to consumers.
    pub bytes_out: AtomicU64,
}

/// This node's figures, every endpoint together (what `/metrics` shows: no endpoint id in a
/// label).
static NODE: EndpointStats = EndpointStats::new();
/// The addresses this node listens on now.
static LISTENERS: AtomicU64 = AtomicU64::new(0);

impl EndpointStats {
    const fn new() -> Self {
        Self {
            accepted: AtomicU64::new(0),
            refused_by_whitelist: AtomicU64::new(0),
            open: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
        }
    }

    /// Adds `n` to one figure of this endpoint and of the node.
    fn add(&self, field: fn(&EndpointStats) -> &AtomicU64, n: u64) {
        field(self).fetch_add(n, Ordering::Relaxed);
        field(&NODE).fetch_add(n, Ordering::Relaxed);
    }
}

/// One forwarded connection in the `open` figures, for as long as this lives.
struct OpenConnection<'a>(&'a EndpointStats);

impl<'a> OpenConnection<'a> {
    fn new(stats: &'a EndpointStats) -> Self {
        stats.add(|s| &s.open, 1);
        Self(stats)
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        NODE.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// This node's data-plane figures since it started, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub forwarded: u64,
    pub refused_by_whitelist: u64,
    pub open: u64,
    pub bytes_to_backend: u64,
    pub bytes_to_consumer: u64,
    pub listeners: u64,
}

pub fn totals() -> Totals {
    Totals {
        forwarded: NODE.accepted.load(Ordering::Relaxed),
        refused_by_whitelist: NODE.refused_by_whitelist.load(Ordering::Relaxed),
        open: NODE.open.load(Ordering::Relaxed),
        bytes_to_backend: NODE.bytes_in.load(Ordering::Relaxed),
        bytes_to_consumer: NODE.bytes_out.load(Ordering::Relaxed),
        listeners: LISTENERS.load(Ordering::Relaxed),
    }
}

/// One bound listener; dropping `route` stops it and every connection it forwards.
struct Active {
    listener: Listener,
    route: watch::Sender<Route>,
    task: JoinHandle<()>,
}

/// The listeners of one node, and what it has logged once.
#[derive(Default)]
struct DataPlane {
    active: HashMap<SocketAddrV4, Active>,
    /// The figures of every endpoint served, by endpoint id (connections hold their own
    /// handle, so an entry may go with its route while a connection still counts into it).
    stats: HashMap<String, Arc<EndpointStats>>,
    /// Notes logged once ("toa:<endpoint>", "bind:<address>", "no-backend:<endpoint>"), kept
    /// while their route is there, so that a route that cannot be served does not log at every
    /// read and one that comes back is told again.
    told: HashSet<String>,
    /// Accepted connections without a backend at the last read.
    unserved: usize,
}

/// Keeps the listeners in line with the database until the task is aborted.
pub async fn run(store: SharedStore) {
    let mut plane = DataPlane::default();
    let mut failing = false;
    loop {
        match store.run(DataPlaneRoutes).await {
            Ok(routes) => {
                failing = false;
                plane.apply(routes);
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "data plane: cannot read the routes; keeping the listeners as they are");
            }
            Err(_) => {}
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

impl DataPlane {
    /// Runs `log` unless the note `key` was logged already; either way the note is kept.
    fn once(&mut self, seen: &mut HashSet<String>, key: String, log: impl FnOnce()) {
        if !self.told.contains(&key) {
            log();
        }
        seen.insert(key);
    }

    fn apply(&mut self, routes: Vec<Route>) {
        let mut wanted: HashMap<SocketAddrV4, (Listener, Route)> = HashMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut unserved = 0usize;
        for route in routes {
            let id = route.endpoint_id.clone();
            if route.backend_host().is_none() {
                unserved += 1;
                self.once(&mut seen, format!("no-backend:{id}"), || {
                    tracing::debug!(
                        endpoint_id = %id,
                        "data plane: not listening for this endpoint: its service has no ip and no address is registered for its port_id"
                    )
                });
                continue;
            }
            if route.header() == Header::TcpOptionUnsupported {
                self.once(&mut seen, format!("toa:{id}"), || {
                    tracing::info!(
                        endpoint_id = %id,
                        "data plane: tcp_proxy toa_open carries the client address in a TCP option, which a user-space proxy cannot write: forwarding without it"
                    )
                });
            }
            for listener in route.listeners() {
                wanted.insert(listener.listen, (listener, route.clone()));
            }
        }
        // One line when the number of connections without a backend changes, not one per
        // endpoint (a database can hold many).
        if unserved > 0 && unserved != self.unserved {
            tracing::info!(
                connections = unserved,
                "data plane: accepted connections not served: their services have no ip and no address is registered for their port_id (vpcep backends set); `debug` names them"
            );
        }
        self.unserved = unserved;
        // Stop what is no longer wanted, or now forwards elsewhere.
        self.active.retain(|addr, a| {
            let keep = wanted.get(addr).is_some_and(|(l, _)| *l == a.listener);
            if !keep {
                tracing::debug!(listen = %addr, "data plane: closing a listener and its connections");
                a.task.abort();
            }
            keep
        });
        let served: HashSet<&str> = wanted
            .values()
            .map(|(_, r)| r.endpoint_id.as_str())
            .collect();
        self.stats.retain(|id, _| served.contains(id.as_str()));
        for (addr, (listener, route)) in wanted {
            if let Some(a) = self.active.get(&addr) {
                // Same listener: the whitelist, the header or the marker may have changed; new
                // connections see the change.
                a.route.send_if_modified(|current| {
                    let changed = *current != route;
                    if changed {
                        *current = route.clone();
                    }
                    changed
                });
                continue;
            }
            let socket = match bind(addr) {
                Ok(s) => s,
                Err(e) => {
                    let id = route.endpoint_id.clone();
                    self.once(&mut seen, format!("bind:{addr}"), || {
                        tracing::warn!(listen = %addr, endpoint_id = %id, error = %e, "data plane: cannot listen; trying again")
                    });
                    continue;
                }
            };
            let endpoint_stats = self
                .stats
                .entry(route.endpoint_id.clone())
                .or_default()
                .clone();
            tracing::debug!(listen = %addr, backend = ?listener.backend, endpoint_id = %route.endpoint_id, "data plane: listening");
            let (tx, rx) = watch::channel(route);
            let task = tokio::spawn(serve(socket, listener.clone(), rx, endpoint_stats));
            self.active.insert(
                addr,
                Active {
                    listener,
                    route: tx,
                    task,
                },
            );
        }
        self.told = seen;
        LISTENERS.store(self.active.len() as u64, Ordering::Relaxed);
    }
}

fn bind(addr: SocketAddrV4) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    socket.bind(SocketAddr::V4(addr))?;
    socket.listen(1024)
}

/// Accepts on one listener until its route is dropped (the task is aborted then, which closes
/// the listener; the connections see the route's sender go and close too).
async fn serve(
    listener: TcpListener,
    spec: Listener,
    route: watch::Receiver<Route>,
    stats: Arc<EndpointStats>,
) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(listen = %spec.listen, error = %e, "data plane: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let SocketAddr::V4(source) = peer else {
            continue;
        };
        let current = route.borrow().clone();
        if !current.admits(*source.ip()) {
            stats.add(|s| &s.refused_by_whitelist, 1);
            tracing::debug!(%source, endpoint_id = %current.endpoint_id, "data plane: source not in the endpoint's whitelist; closed");
            drop(client);
            continue;
        }
        let _ = client.set_nodelay(true);
        let backend = spec.backend.clone();
        let mut gone = route.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = forward(client, source, spec.listen, backend, &current, &stats) => {}
                // The route's sender is dropped when the connection is no longer accepted.
                _ = async { while gone.changed().await.is_ok() {} } => {
                    tracing::debug!(%source, endpoint_id = %current.endpoint_id, "data plane: the connection is no longer accepted; closed");
                }
            }
        });
    }
}

async fn forward(
    client: TcpStream,
    source: SocketAddrV4,
    destination: SocketAddrV4,
    backend: (String, u16),
    route: &Route,
    stats: &EndpointStats,
) {
    let connect = TcpStream::connect((backend.0.as_str(), backend.1));
    let mut upstream = match tokio::time::timeout(BACKEND_CONNECT_TIMEOUT, connect).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(?backend, endpoint_id = %route.endpoint_id, error = %e, "data plane: the backend refused the connection");
            return;
        }
        Err(_) => {
            tracing::debug!(?backend, endpoint_id = %route.endpoint_id, "data plane: the backend did not answer in time");
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    if route.header() == Header::ProxyV2 {
        let header =
            proxy_protocol::header(source, destination, route.marker_id, &route.endpoint_id);
        if upstream.write_all(&header).await.is_err() {
            return;
        }
    }
    stats.add(|s| &s.accepted, 1);
    // Counted open until this future ends or is dropped (a reject drops it mid-copy).
    let _open = OpenConnection::new(stats);
    // On Linux the bytes move inside the kernel (splice through a pipe); elsewhere through a
    // buffer.
    #[cfg(target_os = "linux")]
    let (to_backend, to_client) = tokio::join!(
        splice::copy(&client, &upstream, |n| stats.add(|s| &s.bytes_in, n)),
        splice::copy(&upstream, &client, |n| stats.add(|s| &s.bytes_out, n)),
    );
    #[cfg(not(target_os = "linux"))]
    let (to_backend, to_client) = {
        let mut client = client;
        let (mut client_read, mut client_write) = client.split();
        let (mut upstream_read, mut upstream_write) = upstream.split();
        tokio::join!(
            copy_counted(&mut client_read, &mut upstream_write, |n| {
                stats.add(|s| &s.bytes_in, n)
            }),
            copy_counted(&mut upstream_read, &mut client_write, |n| {
                stats.add(|s| &s.bytes_out, n)
            }),
        )
    };
    drop(_open);
    tracing::debug!(
        %source,
        endpoint_id = %route.endpoint_id,
        bytes_in = to_backend,
        bytes_out = to_client,
        accepted = stats.accepted.load(Ordering::Relaxed),
        refused_by_whitelist = stats.refused_by_whitelist.load(Ordering::Relaxed),
        open = stats.open.load(Ordering::Relaxed),
        "data plane: connection closed"
    );
}

#[cfg(not(target_os = "linux"))]
/// Copies until end of stream (then half-closes the writer) or an error, adding each chunk to
/// `counter` as it goes, so that the figures hold for a connection closed in the middle too.
async fn copy_counted<R, W>(from: &mut R, to: &mut W, count: impl Fn(u64)) -> u64
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        count(n as u64);
        total += n as u64;
    }
    let _ = to.shutdown().await;
    total
}
