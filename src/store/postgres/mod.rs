//! The PostgreSQL backend, for several stateless vpcep nodes sharing one database.
//!
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

mod credentials;
mod endpoints;
mod lifecycle;
mod permissions;
mod rows;
mod services;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use crate::domain::{
    Connection, ConnectionAction, Credential, Endpoint, EndpointId, EndpointService, NewEndpoint,
    NewService, Permission, PermissionRecord, QueryError, ServiceError, ServicePatch, Tenant,
};
use crate::store::{
    ConnectionFilter, DescribeBy, DescriptionUpdate, EndpointFilter, NewPermission, Page,
    PageRequest, ResetCounts, ServiceFilter, Store, StoreError, StoreResult,
};

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
];

/// Attempts of a transaction that keeps failing with a serialization failure or a deadlock.
const MAX_ATTEMPTS: u32 = 5;
/// The advisory lock key that serializes migrations across nodes ("vpcep" in ASCII).
const MIGRATION_LOCK: i64 = 0x0076_7063_6570;

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
        let store = Self { pool };
        store.wait_until_up(options.startup_wait, url).await?;
        store.migrate().await?;
        Ok(store)
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
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("no PostgreSQL connection: {e}")))
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

/// Runs `$body` (an expression using the transaction `$tx`) in a transaction, committing on
/// success, with conflicts retried (`retry_conflicts`).
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        retry_conflicts(|| async {
            let mut client = $store.client().await?;
            let txn = client.transaction().await.map_err(pg_error)?;
            let value = {
                let $tx: &deadpool_postgres::Transaction<'_> = &txn;
                $body.await?
            };
            txn.commit().await.map_err(pg_error)?;
            Ok(value)
        })
        .await
    };
}

#[async_trait]
impl Store for PostgresStore {
    async fn health(&self) -> StoreResult<()> {
        self.client()
            .await?
            .query_one("SELECT 1", &[])
            .await
            .map(|_| ())
            .map_err(pg_error)
    }

    async fn credential_by_token(&self, token_sha256: String) -> StoreResult<Option<Credential>> {
        credentials::by_token(&self.client().await?, &token_sha256).await
    }

    async fn credential_by_access_key(
        &self,
        access_key: String,
    ) -> StoreResult<Option<Credential>> {
        credentials::by_access_key(&self.client().await?, &access_key).await
    }

    async fn create_credential(&self, cred: Credential, token_sha256: String) -> StoreResult<()> {
        in_tx!(self, |tx| credentials::insert(tx, &cred, &token_sha256))
    }

    async fn bootstrap_credential(
        &self,
        cred: Credential,
        token_sha256: String,
    ) -> StoreResult<bool> {
        in_tx!(self, |tx| credentials::bootstrap(tx, &cred, &token_sha256))
    }

    async fn list_credentials(&self) -> StoreResult<Vec<Credential>> {
        credentials::list(&self.client().await?).await
    }

    async fn delete_credential(&self, access_key: String) -> StoreResult<bool> {
        in_tx!(self, |tx| credentials::delete(tx, &access_key))
    }

    async fn reset(&self) -> StoreResult<ResetCounts> {
        in_tx!(self, |tx| services::reset(tx))
    }

    async fn create_service(
        &self,
        owner: Tenant,
        region: String,
        new: NewService,
    ) -> StoreResult<EndpointService> {
        in_tx!(self, |tx| services::create(tx, &owner, &region, &new))
    }

    async fn get_service(&self, project_id: String, id: String) -> StoreResult<EndpointService> {
        services::get(&self.client().await?, &project_id, &id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn list_services(
        &self,
        project_id: String,
        filter: ServiceFilter,
        page: PageRequest,
    ) -> StoreResult<Page<EndpointService>> {
        services::list(&self.client().await?, &project_id, &filter, page).await
    }

    async fn update_service(
        &self,
        project_id: String,
        id: String,
        region: String,
        patch: ServicePatch,
    ) -> StoreResult<EndpointService> {
        in_tx!(self, |tx| services::update(
            tx,
            &project_id,
            &id,
            &region,
            &patch
        ))
    }

    async fn delete_service(
        &self,
        project_id: String,
        id: String,
        delay_ms: i64,
    ) -> StoreResult<()> {
        in_tx!(self, |tx| services::delete(tx, &project_id, &id, delay_ms))
    }

    async fn describe_service(&self, by: DescribeBy) -> StoreResult<EndpointService> {
        services::describe(&self.client().await?, &by)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn create_endpoint(&self, consumer: Tenant, new: NewEndpoint) -> StoreResult<Endpoint> {
        in_tx!(self, |tx| endpoints::create(tx, &consumer, &new))
    }

    async fn get_endpoint(&self, project_id: String, id: String) -> StoreResult<Endpoint> {
        endpoints::get_endpoint(&self.client().await?, &project_id, &id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn list_endpoints(
        &self,
        project_id: String,
        filter: EndpointFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Endpoint>> {
        endpoints::list(&self.client().await?, &project_id, &filter, page).await
    }

    async fn delete_endpoint(
        &self,
        project_id: String,
        id: String,
        delay_ms: i64,
    ) -> StoreResult<()> {
        in_tx!(self, |tx| endpoints::delete(tx, &project_id, &id, delay_ms))
    }

    async fn settle_due(&self, now_ms: i64) -> StoreResult<u64> {
        in_tx!(self, |tx| lifecycle::settle_due(tx, now_ms))
    }

    async fn fail_endpoint(
        &self,
        project_id: String,
        id: String,
        error: QueryError,
    ) -> StoreResult<Endpoint> {
        in_tx!(self, |tx| endpoints::fail(tx, &project_id, &id, &error))
    }

    async fn fail_service(
        &self,
        project_id: String,
        id: String,
        error: ServiceError,
    ) -> StoreResult<EndpointService> {
        in_tx!(self, |tx| services::fail(tx, &project_id, &id, &error))
    }

    async fn plan_failures(
        &self,
        project_id: String,
        count: u32,
        error: QueryError,
    ) -> StoreResult<()> {
        in_tx!(self, |tx| lifecycle::plan_failures(
            tx,
            &project_id,
            count,
            &error
        ))
    }

    async fn add_or_remove_permissions(
        &self,
        project_id: String,
        service_id: String,
        entries: Vec<Permission>,
        add: bool,
    ) -> StoreResult<Vec<String>> {
        in_tx!(self, |tx| permissions::add_or_remove(
            tx,
            &project_id,
            &service_id,
            &entries,
            add
        ))
    }

    async fn batch_add_permissions(
        &self,
        project_id: String,
        service_id: String,
        items: Vec<NewPermission>,
    ) -> StoreResult<Vec<PermissionRecord>> {
        in_tx!(self, |tx| permissions::batch_add(
            tx,
            &project_id,
            &service_id,
            &items
        ))
    }

    async fn batch_remove_permissions(
        &self,
        project_id: String,
        service_id: String,
        ids: Vec<String>,
    ) -> StoreResult<Vec<PermissionRecord>> {
        in_tx!(self, |tx| permissions::batch_remove(
            tx,
            &project_id,
            &service_id,
            &ids
        ))
    }

    async fn list_permissions(
        &self,
        project_id: String,
        service_id: String,
        permission_like: Option<String>,
        page: PageRequest,
    ) -> StoreResult<Page<PermissionRecord>> {
        permissions::list(
            &self.client().await?,
            &project_id,
            &service_id,
            permission_like.as_deref(),
            page,
        )
        .await
    }

    async fn update_permission_description(
        &self,
        project_id: String,
        service_id: String,
        permission_id: String,
        description: String,
    ) -> StoreResult<PermissionRecord> {
        in_tx!(self, |tx| permissions::update_description(
            tx,
            &project_id,
            &service_id,
            &permission_id,
            &description
        ))
    }

    async fn list_connections(
        &self,
        project_id: String,
        service_id: String,
        filter: ConnectionFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Connection>> {
        endpoints::list_connections(
            &self.client().await?,
            &project_id,
            &service_id,
            &filter,
            page,
        )
        .await
    }

    async fn accept_or_reject(
        &self,
        project_id: String,
        service_id: String,
        endpoint_id: EndpointId,
        action: ConnectionAction,
    ) -> StoreResult<Connection> {
        in_tx!(self, |tx| endpoints::accept_or_reject(
            tx,
            &project_id,
            &service_id,
            &endpoint_id,
            action
        ))
    }

    async fn update_connection_descriptions(
        &self,
        project_id: String,
        service_id: String,
        updates: Vec<DescriptionUpdate>,
    ) -> StoreResult<Vec<Connection>> {
        // One statement in autocommit: no BEGIN/COMMIT round trips (see the function).
        retry_conflicts(|| async {
            let client = self.client().await?;
            endpoints::update_connection_descriptions(&client, &project_id, &service_id, &updates)
                .await
        })
        .await
    }
}
