//! The PostgreSQL backend, for several stateless vpcep nodes sharing one database.
//!
//! - The operations are the flows of `store::flows`, run by [`PostgresStore::run`] over a
//!   [`PgTx`], whose primitives (`store::tx`) are SQL only, one file of this module per kind of
//!   row; `rows` holds the row mappers and the one renderer of list queries.
//! - A connection pool (deadpool) of `--pool-size` connections; start-up waits (bounded, logged)
//!   for a database that is still coming up.
//! - Migrations embedded per backend with the same file names as SQLite's, applied under an
//!   advisory lock so that nodes starting together do not race.
//! - Every write is one READ COMMITTED transaction that locks the rows it changes
//!   (`SELECT ... FOR UPDATE`, in id order), so concurrent changes of one connection through
//!   different nodes serialize and a status change racing a description change loses neither.
//!   Serialization failures, deadlocks and unique-key races are retried a bounded number of
//!   times, then reported as a conflict (409).
//! - A commit returns once PostgreSQL has flushed it (`synchronous_commit` as configured by the
//!   operator; on by default).

pub mod credential_cache;
mod credentials;
mod endpoints;
mod lifecycle;
mod permissions;
mod rows;
mod services;
mod tags;

use std::sync::Arc;
use std::time::{Duration, Instant};

use credential_cache::{CredentialCache, CredentialKey};

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use crate::domain::Credential;
use crate::store::flows::{Access, Flow};
use crate::store::{StoreError, StoreResult};

/// The migrations, in order; file names are shared with the SQLite tree.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        "0002_permissions",
        include_str!("../migrations/postgres/0002_permissions.sql"),
    ),
    (
        "0003_lifecycle",
        include_str!("../migrations/postgres/0003_lifecycle.sql"),
    ),
    (
        "0004_connection_counts",
        include_str!("../migrations/postgres/0004_connection_counts.sql"),
    ),
    (
        "0005_sharded_connection_counts",
        include_str!("../migrations/postgres/0005_sharded_connection_counts.sql"),
    ),
    (
        "0006_project_counts",
        include_str!("../migrations/postgres/0006_project_counts.sql"),
    ),
    (
        "0007_catalogue_editions_policies",
        include_str!("../migrations/postgres/0007_catalogue_editions_policies.sql"),
    ),
    (
        "0008_quota_shards",
        include_str!("../migrations/postgres/0008_quota_shards.sql"),
    ),
    (
        "0009_credential_notify",
        include_str!("../migrations/postgres/0009_credential_notify.sql"),
    ),
    (
        "0010_data_plane",
        include_str!("../migrations/postgres/0010_data_plane.sql"),
    ),
];

/// Attempts of a transaction that keeps failing with a serialization failure or a deadlock.
const MAX_ATTEMPTS: u32 = 5;
/// The advisory lock key that serializes migrations across nodes ("vpcep" in ASCII).
const MIGRATION_LOCK: i64 = 0x0076_7063_6570;

/// Keeps a connection that listens for credential changes (migration 0009) and clears the
/// node's credential cache at each; the cache is used only while it listens. Reconnects after a
/// second when the connection is lost.
async fn listen_for_credential_changes(
    config: tokio_postgres::Config,
    cache: Arc<CredentialCache>,
) {
    // Whether the last failure to connect was logged; a run of them is logged once.
    let mut warned = false;
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
                // The connection delivers notifications as messages; it ends on any failure.
                let pump = tokio::spawn(async move {
                    while let Some(message) =
                        std::future::poll_fn(|cx| connection.poll_message(cx)).await
                    {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(_)) => {
                                if tx.send(()).is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                });
                match client.batch_execute("LISTEN vpcep_credentials").await {
                    Ok(()) => {
                        cache.set_live(true);
                        warned = false;
                        while rx.recv().await.is_some() {
                            cache.invalidate();
                        }
                        cache.set_live(false);
                        tracing::warn!(
                            "credential change notifications: connection lost; credentials are \
                             looked up in the database until it is back"
                        );
                    }
                    Err(e) => {
                        cache.set_live(false);
                        tracing::debug!(error = %e, "LISTEN vpcep_credentials failed");
                    }
                }
                pump.abort();
                drop(client);
            }
            Err(e) => {
                cache.set_live(false);
                if !warned {
                    tracing::warn!(error = %e, "credential change notifications: cannot connect; \
                                    credentials are looked up in the database meanwhile");
                    warned = true;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Settings of the PostgreSQL backend.
#[derive(Clone, Debug)]
pub struct Options {
    pub pool_size: usize,
    /// How long start-up waits for the database to answer.
    pub startup_wait: Duration,
    /// How long a request waits to connect before answering 503.
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            pool_size: 16,
            startup_wait: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

pub struct PostgresStore {
    pool: Pool,
    /// The credentials this node looked up, forgotten at every announced change.
    credentials: Arc<CredentialCache>,
}

/// The reason, with a hint, when a connection failed in a way that waiting will not cure; `None`
/// when the server could not be reached (yet) or said it is starting up.
fn lasting_failure(e: &deadpool_postgres::PoolError, url: &str) -> Option<String> {
    let deadpool_postgres::PoolError::Backend(pg) = e else {
        return None;
    };
    let target = crate::store::redact_url(url);
    if let Some(db) = pg.as_db_error() {
        let code = db.code();
        if *code == SqlState::CANNOT_CONNECT_NOW || *code == SqlState::TOO_MANY_CONNECTIONS {
            return None;
        }
        let hint = if *code == SqlState::INVALID_CATALOG_NAME {
            format!(
                " Create it first ({}), or name an existing database in the URL's path.",
                createdb_command(url)
            )
        } else if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            " Check the user and password in the URL, and the server's pg_hba.conf.".to_owned()
        } else {
            String::new()
        };
        return Some(format!(
            "PostgreSQL at {target} refused the connection: {} (SQLSTATE {}).{hint}",
            db.message(),
            code.code()
        ));
    }
    // Not reached at all (refused, timed out, no route, a name that does not resolve yet): an I/O
    // error somewhere in the chain, worth waiting for. Anything else is the client's own setup,
    // such as `sslmode=require` (vpcep connects without TLS).
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(pg);
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return None;
        }
        cause = c.source();
    }
    let text = pg.to_string();
    let hint = if text.contains("TLS") || text.contains("tls") {
        " vpcep connects to PostgreSQL without TLS: use `sslmode=disable` or `sslmode=prefer` in \
         the URL."
    } else {
        ""
    };
    Some(format!(
        "cannot connect to PostgreSQL at {target}: {text}.{hint}"
    ))
}

/// `createdb` for the database a URL names, to paste.
fn createdb_command(url: &str) -> String {
    let Ok(u) = url::Url::parse(url) else {
        return "createdb NAME".to_owned();
    };
    let mut cmd = String::from("createdb");
    if let Some(host) = u.host_str() {
        cmd.push_str(&format!(" -h {host}"));
    }
    if let Some(port) = u.port() {
        cmd.push_str(&format!(" -p {port}"));
    }
    if !u.username().is_empty() {
        cmd.push_str(&format!(" -U {}", u.username()));
    }
    let name = u.path().trim_start_matches('/');
    cmd.push(' ');
    cmd.push_str(if name.is_empty() { "NAME" } else { name });
    cmd
}

/// The connection's start-up `options` with `plan_cache_mode=force_generic_plan` added (an
/// operator's own setting of it, in the URL's `options`, wins).
///
/// Every statement vpcep runs is a short one keyed by ids, prepared once per pooled connection,
/// and its best plan does not depend on the values it is given. In PostgreSQL's default mode a
/// prepared statement is planned again for its values at every execution whenever the generic
/// plan's estimate is not lower than the average of those value-specific plans, and planning
/// the seed statement costs more than running it: with 43 services of 100 connections each
/// PostgreSQL spent 1.5 ms of CPU per seed update instead of 0.6 (docs/performance.md). A
/// generic plan is still planned again after `ANALYZE` updates a table's statistics, so it
/// follows the table's growth.
fn with_generic_plans(options: Option<&str>) -> String {
    let setting = "-c plan_cache_mode=force_generic_plan";
    match options.map(str::trim).filter(|o| !o.is_empty()) {
        Some(own) if own.contains("plan_cache_mode") => own.to_owned(),
        Some(own) => format!("{setting} {own}"),
        None => setting.to_owned(),
    }
}

/// The innermost cause of an error, where the reason usually is ("Connection refused").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

impl PostgresStore {
    /// Connects (waiting for the database up to `startup_wait`), applies migrations and returns
    /// the store.
    pub async fn open(url: &str, options: &Options) -> anyhow::Result<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid PostgreSQL URL: {e}"))?;
        config.connect_timeout(options.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("vpcep");
        }
        config.options(with_generic_plans(config.get_options()));
        let listener_config = config.clone();
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the PostgreSQL pool: {e}"))?;
        let store = Self {
            pool,
            credentials: Arc::new(CredentialCache::default()),
        };
        store.wait_until_up(options.startup_wait, url).await?;
        store.migrate().await?;
        tokio::spawn(listen_for_credential_changes(
            listener_config,
            store.credentials.clone(),
        ));
        Ok(store)
    }

    /// A credential lookup (`flow`, which finds `key`), answered from the cache when it may be.
    pub async fn credential<F>(
        &self,
        key: CredentialKey,
        flow: F,
    ) -> StoreResult<Option<Credential>>
    where
        F: Flow<Output = Option<Credential>>,
    {
        if let Some(hit) = self.credentials.get(&key) {
            return Ok(Some(hit));
        }
        let generation = self.credentials.generation();
        let read_at = Instant::now();
        let found = self.run(flow).await?;
        if let Some(credential) = &found {
            self.credentials.put(key, credential, generation, read_at);
        }
        Ok(found)
    }

    /// Waits out a database that cannot be reached yet, or that says it is starting; any other
    /// answer (an unknown database or role, a refused password, TLS the server does not offer)
    /// ends the start at once with PostgreSQL's own reason, since waiting will not cure it.
    async fn wait_until_up(&self, wait: Duration, url: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut logged = false;
        loop {
            match self.pool.get().await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    if let Some(reason) = lasting_failure(&e, url) {
                        anyhow::bail!("{reason}");
                    }
                    if tokio::time::Instant::now() >= deadline {
                        anyhow::bail!(
                            "PostgreSQL at {} did not answer within {wait:?} (--database-wait): \
                             {e}: {}",
                            crate::store::redact_url(url),
                            root_cause(&e)
                        );
                    }
                    if !logged {
                        tracing::warn!(error = %e, wait = ?wait, "PostgreSQL is not answering yet; waiting");
                        logged = true;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let mut client = self.pool.get().await?;
        // A session lock: held while this node migrates, so another node waits, then finds the
        // migrations applied.
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let result = async {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                         version TEXT PRIMARY KEY,
                         applied_at BIGINT NOT NULL
                     )",
                )
                .await?;
            for (version, sql) in MIGRATIONS {
                let tx = client.transaction().await?;
                let applied: bool = tx
                    .query_one(
                        "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = $1)",
                        &[version],
                    )
                    .await?
                    .get(0);
                if !applied {
                    tx.batch_execute(sql)
                        .await
                        .map_err(|e| anyhow::anyhow!("migration {version} failed: {e}"))?;
                    tx.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                        &[version, &crate::domain::time::now()],
                    )
                    .await?;
                    tracing::info!(version, "applied migration");
                }
                tx.commit().await?;
            }
            anyhow::Ok(())
        }
        .await;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await?;
        result
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        let started = Instant::now();
        let got = self.pool.get().await;
        metrics::histogram!(crate::metrics::PG_POOL_WAIT).record(started.elapsed());
        got.map_err(|e| {
            metrics::counter!(crate::metrics::PG_POOL_ERRORS).increment(1);
            StoreError::Unavailable(format!("no PostgreSQL connection: {e}"))
        })
    }

    /// The pool at this moment, for `/metrics`.
    pub fn pool_figures(&self) -> crate::metrics::PoolFigures {
        let s = self.pool.status();
        crate::metrics::PoolFigures {
            max: s.max_size,
            open: s.size,
            idle: s.available,
            waiting: s.waiting,
        }
    }

    /// Runs one flow as its [`Access`] says: `Read` on a pooled connection in autocommit,
    /// `Write` in a transaction retried on conflicts, `Statement` (one statement) in autocommit
    /// retried on conflicts.
    pub async fn run<F: Flow>(&self, flow: F) -> StoreResult<F::Output> {
        crate::store::flows::timed::<F, _>(self.run_untimed(flow)).await
    }

    async fn run_untimed<F: Flow>(&self, flow: F) -> StoreResult<F::Output> {
        match F::ACCESS {
            Access::Read => {
                let client = self.client().await?;
                flow.run(&mut PgTx { c: &client }).await
            }
            Access::Write => self.in_transaction(&flow).await,
            Access::Statement => {
                retry_conflicts(|| async {
                    let client = self.client().await?;
                    flow.run(&mut PgTx { c: &client }).await
                })
                .await
            }
        }
    }

    /// Runs `flow` in a transaction, committing on success, with conflicts retried.
    async fn in_transaction<F: Flow>(&self, flow: &F) -> StoreResult<F::Output> {
        retry_conflicts(|| async {
            let mut client = self.client().await?;
            let txn = client.transaction().await.map_err(pg_error)?;
            let value = flow.run(&mut PgTx { c: &txn }).await?;
            txn.commit().await.map_err(pg_error)?;
            Ok(value)
        })
        .await
    }

    /// Succeeds when the database answers.
    pub async fn health(&self) -> StoreResult<()> {
        self.client()
            .await?
            .query_one("SELECT 1", &[])
            .await
            .map(|_| ())
            .map_err(pg_error)
    }
}

/// A transaction of the PostgreSQL backend (or, for `Read` and `Statement` flows, a connection
/// in autocommit): the primitives of `store::tx`, each one SQL statement (or a few) on `c`.
pub struct PgTx<'a, C> {
    c: &'a C,
}

impl<C: GenericClient> crate::store::tx::Tx for PgTx<'_, C> {
    async fn serialize(&mut self, key: &str) -> StoreResult<()> {
        rows::x(
            self.c,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&key],
        )
        .await
        .map(|_| ())
        .map_err(pg_error)
    }
}

/// Maps a PostgreSQL error to the store's terms: a lost or refused connection is 503;
/// serialization failures, deadlocks and unique-key races are conflicts (retried); the rest is
/// a bug (500). The text is for the log only.
fn pg_error(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::UNIQUE_VIOLATION
        {
            return StoreError::Conflict;
        }
        let class = &code.code()[..2.min(code.code().len())];
        // 08: connection exception; 53: insufficient resources; 57: operator intervention
        // (shutdown, cannot connect now).
        if matches!(class, "08" | "53" | "57") {
            return StoreError::Unavailable(e.to_string());
        }
        return StoreError::Internal(e.to_string());
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Internal(e.to_string())
    }
}

/// Runs `attempt` until it does not fail with a conflict (a serialization failure or a
/// deadlock), at most `MAX_ATTEMPTS` times, with a short backoff.
async fn retry_conflicts<T, F, Fut>(mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let mut n = 1u32;
    loop {
        match attempt().await {
            Err(StoreError::Conflict) if n < MAX_ATTEMPTS => {
                tracing::debug!(attempt = n, "write conflict; retrying");
                tokio::time::sleep(Duration::from_millis(u64::from(n) * 5)).await;
                n += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_generic_plans;

    #[test]
    fn generic_plans_are_asked_for_unless_the_operator_chose() {
        let ours = "-c plan_cache_mode=force_generic_plan";
        assert_eq!(with_generic_plans(None), ours);
        assert_eq!(with_generic_plans(Some("  ")), ours);
        assert_eq!(
            with_generic_plans(Some("-c statement_timeout=5s")),
            format!("{ours} -c statement_timeout=5s")
        );
        let own = "-c plan_cache_mode=auto";
        assert_eq!(with_generic_plans(Some(own)), own);
    }
}
