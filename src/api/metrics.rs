//! `GET /metrics`: the Prometheus text format, without authentication, on the API's address or
//! (`--metrics-listen`) on one of its own. The names and what they mean are in `crate::metrics`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use super::AppState;
use crate::domain::ConnectionStatus;
use crate::store::flows::endpoints::ConnectionTotals;

/// The connection counts are read from the database at most this often, however often anyone
/// scrapes (the endpoint has no authentication).
const COUNTS_MAX_AGE: Duration = Duration::from_secs(1);

/// Connections by status, and when they were read.
type Counts = Option<(Instant, Vec<(ConnectionStatus, u64)>)>;

/// What a scrape reads from: the API's own state (its store, settings and in-flight
/// semaphore), whichever address serves the scrape.
#[derive(Clone)]
pub struct Exporter {
    handle: &'static PrometheusHandle,
    state: AppState,
    counts: Arc<Mutex<Counts>>,
}

impl Exporter {
    pub fn new(handle: &'static PrometheusHandle, state: AppState) -> Self {
        Self {
            handle,
            state,
            counts: Arc::default(),
        }
    }

    /// The connection counts, from the last second's read or a new one. When the database does
    /// not answer, the last figures stay (and the scrape still succeeds: the pool and request
    /// metrics say what is wrong).
    async fn connection_counts(&self) -> Vec<(ConnectionStatus, u64)> {
        let cached = self.counts.lock().ok().and_then(|c| c.clone());
        if let Some((at, counts)) = &cached {
            if at.elapsed() < COUNTS_MAX_AGE {
                return counts.clone();
            }
        }
        match self.state.run(ConnectionTotals).await {
            Ok(counts) => {
                if let Ok(mut c) = self.counts.lock() {
                    *c = Some((Instant::now(), counts.clone()));
                }
                counts
            }
            Err(e) => {
                tracing::debug!(error = %e.message(), "metrics: cannot read the connection counts");
                cached.map(|(_, c)| c).unwrap_or_default()
            }
        }
    }

    async fn render(&self) -> String {
        let scrape = crate::metrics::Scrape {
            in_flight: self
                .state
                .settings
                .max_in_flight
                .saturating_sub(self.state.in_flight.available_permits()),
            connections: self
                .connection_counts()
                .await
                .into_iter()
                .map(|(s, n)| (s.as_str(), n))
                .collect(),
            pool: self.state.store.pool_figures(),
            data_plane: crate::dataplane::totals(),
        };
        scrape.render(self.handle)
    }
}

/// The router of `GET /metrics` alone.
pub fn router(exporter: Exporter) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(exporter)
}

async fn metrics(State(exporter): State<Exporter>) -> Response {
    let body = exporter.render().await;
    let mut res = body.into_response();
    // The text format's own media type (version 0.0.4), which Prometheus asks for first.
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
