//! Prometheus metrics: every name vpcep exports, with its help text and buckets, in one place.
//!
//! The code that counts calls the `metrics` crate's macros with these names (a counter, a
//! histogram); `metrics-exporter-prometheus` keeps them and renders the text format. What other
//! parts of the server already keep (the requests in flight, the store's connection counts, the
//! PostgreSQL pool, the data plane's totals) is read once per scrape, in [`Scrape`], not counted
//! twice. Labels carry only names from fixed sets (operations, flows, statuses, reasons): never an
//! id, a project, an address or a secret.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use metrics::{describe_counter, describe_gauge, describe_histogram, Counter, Histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `operation` and `status`.
pub const HTTP_REQUESTS: &str = "vpcep_http_requests_total";
/// Time from the request's arrival to its answer, by `operation`.
pub const HTTP_DURATION: &str = "vpcep_http_request_duration_seconds";
/// Requests being served now (those that passed `--max-in-flight`).
pub const HTTP_IN_FLIGHT: &str = "vpcep_http_requests_in_flight";
/// 503 and 504 answers by `reason`: the server's own refusals, not the client's mistakes.
pub const HTTP_REFUSALS: &str = "vpcep_http_refusals_total";
/// One storage flow (a transaction, or one statement), by `flow` and `access`.
pub const DB_DURATION: &str = "vpcep_db_call_duration_seconds";
/// SQLite: jobs committed together by the writer in one transaction.
pub const SQLITE_BATCH: &str = "vpcep_sqlite_commit_batch_jobs";
/// SQLite: one group commit, from `BEGIN` to the end of `COMMIT`.
pub const SQLITE_COMMIT: &str = "vpcep_sqlite_commit_duration_seconds";
/// PostgreSQL: waiting for a pooled connection.
pub const PG_POOL_WAIT: &str = "vpcep_postgres_pool_wait_seconds";
/// PostgreSQL: requests for a pooled connection that failed (timed out, or could not connect).
pub const PG_POOL_ERRORS: &str = "vpcep_postgres_pool_errors_total";
/// PostgreSQL: the pool's connections by `state` (`idle`, `in_use`), at the scrape.
pub const PG_POOL_CONNECTIONS: &str = "vpcep_postgres_pool_connections";
/// PostgreSQL: the most connections the pool opens (`--pool-size`).
pub const PG_POOL_MAX: &str = "vpcep_postgres_pool_max_connections";
/// PostgreSQL: callers waiting for a pooled connection, at the scrape.
pub const PG_POOL_WAITING: &str = "vpcep_postgres_pool_waiting";
/// Connections (endpoints of interface services) by `status`, from the store's counters.
pub const CONNECTIONS: &str = "vpcep_connections";
/// Data plane: connections forwarded to a backend.
pub const DP_FORWARDED: &str = "vpcep_dataplane_connections_forwarded_total";
/// Data plane: connections closed at once because the whitelist does not name their source.
pub const DP_REFUSED: &str = "vpcep_dataplane_connections_refused_total";
/// Data plane: connections being forwarded now.
pub const DP_OPEN: &str = "vpcep_dataplane_connections_open";
/// Data plane: bytes forwarded, by `direction` (`to_backend`, `to_consumer`).
pub const DP_BYTES: &str = "vpcep_dataplane_bytes_total";
/// Data plane: addresses this node listens on for accepted connections.
pub const DP_LISTENERS: &str = "vpcep_dataplane_listeners";
/// Always 1, with the version and the storage backend as labels.
pub const BUILD_INFO: &str = "vpcep_build_info";

/// Request and database latencies: from half a millisecond (a cached read) to the 30 s default
/// request timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
];

/// Jobs per SQLite commit: powers of two up to the writer's largest batch.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder (once per process; later calls return the same handle). `None` when
/// another recorder was installed first, which only an embedding program could have done.
/// `serve` calls it before it opens the store: handles taken before it would count nowhere.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(SQLITE_BATCH.into()), BATCH_BUCKETS)
                });
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: cannot set the histogram buckets");
                    return None;
                }
            };
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("metrics: another recorder is installed; /metrics stays empty");
                return None;
            }
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Sets `vpcep_build_info` for the store this server runs on.
pub fn build_info(backend: &'static str) {
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "backend" => backend)
        .set(1.0);
}

/// The request metrics of one operation, registered once: a look-up by labels costs an
/// allocation and a hash, several times per request.
#[derive(Debug)]
pub struct OperationMetrics {
    name: &'static str,
    duration: Histogram,
    /// One counter per status answered so far (a handful per operation).
    answers: RwLock<Vec<(u16, Counter)>>,
}

impl OperationMetrics {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            duration: metrics::histogram!(HTTP_DURATION, "operation" => name),
            answers: RwLock::default(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Counts one answer and its duration.
    pub fn record(&self, status: u16, elapsed: Duration) {
        self.duration.record(elapsed);
        if let Ok(answers) = self.answers.read() {
            if let Some((_, c)) = answers.iter().find(|(s, _)| *s == status) {
                c.increment(1);
                return;
            }
        }
        let counter = metrics::counter!(HTTP_REQUESTS, "operation" => self.name, "status" => status_label(status));
        counter.increment(1);
        if let Ok(mut answers) = self.answers.write() {
            if !answers.iter().any(|(s, _)| *s == status) {
                answers.push((status, counter));
            }
        }
    }
}

/// A status as a label, without an allocation for the statuses vpcep answers.
fn status_label(status: u16) -> metrics::SharedString {
    const KNOWN: [(u16, &str); 25] = [
        (200, "200"),
        (201, "201"),
        (202, "202"),
        (204, "204"),
        (301, "301"),
        (302, "302"),
        (304, "304"),
        (308, "308"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (406, "406"),
        (408, "408"),
        (409, "409"),
        (411, "411"),
        (413, "413"),
        (415, "415"),
        (429, "429"),
        (431, "431"),
        (500, "500"),
        (501, "501"),
        (503, "503"),
        (504, "504"),
    ];
    match KNOWN.iter().find(|(s, _)| *s == status) {
        Some((_, label)) => (*label).into(),
        None => status.to_string().into(),
    }
}

/// The duration histogram of one flow type, registered at its first call and then found by the
/// type's id.
pub fn flow_duration<F: 'static>(access: &'static str) -> Histogram {
    static BY_FLOW: OnceLock<RwLock<HashMap<TypeId, Histogram>>> = OnceLock::new();
    let cache = BY_FLOW.get_or_init(RwLock::default);
    let id = TypeId::of::<F>();
    if let Some(h) = cache.read().ok().and_then(|c| c.get(&id).cloned()) {
        return h;
    }
    let h = metrics::histogram!(DB_DURATION, "flow" => flow_name::<F>(), "access" => access);
    if let Ok(mut c) = cache.write() {
        c.entry(id).or_insert_with(|| h.clone());
    }
    h
}

/// Keeps the histograms' memory bounded between scrapes (the exporter's upkeep, which a program
/// without its HTTP listener must run itself).
pub async fn upkeep(handle: &'static PrometheusHandle) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by operation and HTTP status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its answer, by operation."
    );
    describe_gauge!(
        HTTP_IN_FLIGHT,
        "Requests being served now (at most --max-in-flight)."
    );
    describe_counter!(
        HTTP_REFUSALS,
        "503 and 504 answers by reason: in_flight_limit, body_budget, database_unavailable, \
         database_timeout."
    );
    describe_histogram!(
        DB_DURATION,
        Unit::Seconds,
        "One storage flow (a transaction or one statement), queueing included, by flow and access."
    );
    describe_histogram!(
        SQLITE_BATCH,
        "SQLite: jobs the writer committed together in one transaction (group commit)."
    );
    describe_histogram!(
        SQLITE_COMMIT,
        Unit::Seconds,
        "SQLite: one group commit, from BEGIN to the end of COMMIT."
    );
    describe_histogram!(
        PG_POOL_WAIT,
        Unit::Seconds,
        "PostgreSQL: time spent waiting for a pooled connection."
    );
    describe_counter!(
        PG_POOL_ERRORS,
        "PostgreSQL: requests for a pooled connection that failed (timed out or could not connect)."
    );
    describe_gauge!(
        PG_POOL_CONNECTIONS,
        "PostgreSQL: the pool's open connections by state (idle, in_use)."
    );
    describe_gauge!(
        PG_POOL_MAX,
        "PostgreSQL: the most connections the pool opens (--pool-size)."
    );
    describe_gauge!(
        PG_POOL_WAITING,
        "PostgreSQL: callers waiting for a pooled connection."
    );
    describe_gauge!(
        CONNECTIONS,
        "Connections to endpoint services by status, in the whole database (every node of a \
         cluster reports the same figure: aggregate with max, not sum)."
    );
    describe_counter!(
        DP_FORWARDED,
        "Data plane: connections forwarded to a backend by this node."
    );
    describe_counter!(
        DP_REFUSED,
        "Data plane: connections closed at once because the whitelist does not name their source."
    );
    describe_gauge!(DP_OPEN, "Data plane: connections being forwarded now.");
    describe_counter!(
        DP_BYTES,
        Unit::Bytes,
        "Data plane: bytes forwarded, by direction (to_backend, to_consumer)."
    );
    describe_gauge!(
        DP_LISTENERS,
        "Data plane: addresses this node listens on for accepted connections."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the labels name the version and the storage backend."
    );
}

/// The figures read at each scrape from where they are kept.
#[derive(Debug, Default)]
pub struct Scrape {
    pub in_flight: usize,
    /// `(status, count)`, every status of a connection included (zeros too).
    pub connections: Vec<(&'static str, u64)>,
    pub pool: Option<PoolFigures>,
    pub data_plane: crate::dataplane::Totals,
}

/// The PostgreSQL pool at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct PoolFigures {
    pub max: usize,
    pub open: usize,
    pub idle: usize,
    pub waiting: usize,
}

impl Scrape {
    /// Sets the gauges and counters of this scrape, then renders every metric.
    pub fn render(&self, handle: &PrometheusHandle) -> String {
        metrics::gauge!(HTTP_IN_FLIGHT).set(self.in_flight as f64);
        for (status, n) in &self.connections {
            metrics::gauge!(CONNECTIONS, "status" => *status).set(*n as f64);
        }
        if let Some(p) = self.pool {
            metrics::gauge!(PG_POOL_MAX).set(p.max as f64);
            metrics::gauge!(PG_POOL_CONNECTIONS, "state" => "idle").set(p.idle as f64);
            metrics::gauge!(PG_POOL_CONNECTIONS, "state" => "in_use")
                .set(p.open.saturating_sub(p.idle) as f64);
            metrics::gauge!(PG_POOL_WAITING).set(p.waiting as f64);
        }
        let d = &self.data_plane;
        metrics::counter!(DP_FORWARDED).absolute(d.forwarded);
        metrics::counter!(DP_REFUSED, "reason" => "whitelist").absolute(d.refused_by_whitelist);
        metrics::gauge!(DP_OPEN).set(d.open as f64);
        metrics::counter!(DP_BYTES, "direction" => "to_backend").absolute(d.bytes_to_backend);
        metrics::counter!(DP_BYTES, "direction" => "to_consumer").absolute(d.bytes_to_consumer);
        metrics::gauge!(DP_LISTENERS).set(d.listeners as f64);
        handle.render()
    }
}

/// A flow's name for the `flow` label: its type's path inside `store::flows`
/// (`endpoints::UpdateDescriptions`), a fixed set known at compile time.
pub fn flow_name<F>() -> &'static str {
    let full = std::any::type_name::<F>();
    full.strip_prefix("vpcep::store::flows::").unwrap_or(full)
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_labels_are_the_three_digits() {
        assert_eq!(super::status_label(200).as_ref(), "200");
        assert_eq!(super::status_label(418).as_ref(), "418");
    }

    #[test]
    fn flow_names_are_the_path_inside_flows() {
        assert_eq!(
            super::flow_name::<crate::store::flows::lifecycle::SettleDue>(),
            "lifecycle::SettleDue"
        );
    }
}
