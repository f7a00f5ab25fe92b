//! Binding and serving: HTTP/1.1 connections with a header read timeout, keep-alive, and a
//! graceful stop that lets in-flight requests finish within a bound.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::config::{ServeArgs, Settings};
use crate::store::SharedStore;

/// A server whose listener is bound, ready to serve.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    /// `--metrics-listen`: `GET /metrics` on an address of its own.
    metrics: Option<(TcpListener, axum::Router)>,
    read_timeout: Duration,
    shutdown_timeout: Duration,
}

impl App {
    pub async fn build(args: &ServeArgs, store: SharedStore) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(args.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
        let settings = Arc::new(Settings::from(args));
        let state = AppState::new(store.clone(), settings.clone());
        let handle = crate::metrics::install();
        crate::metrics::build_info(store.backend_name());
        let exporter = handle.map(|handle| {
            tokio::spawn(crate::metrics::upkeep(handle));
            api::metrics::Exporter::new(handle, state.clone())
        });
        let (here, metrics) = match (args.metrics_listen, exporter) {
            (Some(addr), Some(exporter)) => {
                let listener = TcpListener::bind(addr).await.map_err(|e| {
                    anyhow::anyhow!("cannot listen on {addr} (--metrics-listen): {e}")
                })?;
                (None, Some((listener, api::metrics::router(exporter))))
            }
            (_, exporter) => (exporter, None),
        };
        Ok(Self {
            listener,
            router: api::router(state, here),
            metrics,
            read_timeout: args.read_timeout,
            shutdown_timeout: args.shutdown_timeout,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `GET /metrics` is served when it has an address of its own.
    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics.as_ref().map(|(l, _)| l.local_addr())
    }

    /// Serves until `shutdown` completes, then stops accepting and waits (bounded) for the
    /// requests in flight.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.read_timeout)
            .keep_alive(true);
        let tls_peers = Arc::new(TlsPeers::default());
        // The metrics listener stops with the process: a scrape needs no graceful end.
        let metrics = self.metrics.map(|(listener, router)| {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::warn!(error = %e, "the metrics listener stopped");
                }
            })
        });
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of file descriptors and the like: wait a little, keep serving.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(self.router.clone());
                    let builder = builder.clone();
                    let watcher = graceful.watcher();
                    let tls_peers = tls_peers.clone();
                    let read_timeout = self.read_timeout;
                    tokio::spawn(async move {
                        // A client that sends nothing within the read timeout is closed, as
                        // hyper's header timeout would.
                        let Some(first) = first_byte(&stream, read_timeout).await else {
                            return;
                        };
                        if first == TLS_HANDSHAKE && tls_peers.first_time(peer.ip()) {
                            tracing::warn!(
                                %peer,
                                "a TLS handshake arrived, but this port speaks plain HTTP: use \
                                 http://, not https://"
                            );
                        }
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        if let Err(e) = watcher.watch(conn).await {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        if let Some(m) = metrics {
            m.abort();
        }
        tracing::info!("stopping: waiting for requests in flight");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(self.shutdown_timeout) => {
                tracing::warn!(timeout = ?self.shutdown_timeout, "requests still in flight at the shutdown deadline");
            }
        }
    }
}

/// The first byte of a TLS record of type handshake: what an `https://` client sends first. On
/// this plain-HTTP port hyper would only close such a connection, and the client would see an
/// opaque TLS error; the log says why.
const TLS_HANDSHAKE: u8 = 0x16;

/// The first byte the client sends, peeked so that it stays for hyper; `None` when nothing came
/// within `wait`, or the client closed.
async fn first_byte(stream: &tokio::net::TcpStream, wait: Duration) -> Option<u8> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(wait, stream.peek(&mut first)).await {
        Ok(Ok(1)) => Some(first[0]),
        _ => None,
    }
}

/// The peers already told that this port is not TLS, so that a client retrying in a loop logs
/// one line, not one per attempt. Bounded: past [`TlsPeers::MAX`] peers it starts over.
#[derive(Default)]
struct TlsPeers(std::sync::Mutex<std::collections::HashSet<std::net::IpAddr>>);

impl TlsPeers {
    const MAX: usize = 1024;

    fn first_time(&self, ip: std::net::IpAddr) -> bool {
        let Ok(mut seen) = self.0.lock() else {
            return true;
        };
        if seen.len() >= Self::MAX {
            seen.clear();
        }
        seen.insert(ip)
    }
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled, so a signal that arrives right after the listening line
/// is printed already stops the server gracefully.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
