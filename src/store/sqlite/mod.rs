//! The SQLite backend: one file in WAL mode with `synchronous=FULL`, one writer thread with group
//! commit (`writer`), a pool of readers (`readers`), and migrations embedded in the binary.

mod credentials;
mod endpoints;
mod lifecycle;
mod permissions;
mod readers;
mod rows;
mod services;
mod writer;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode};

use crate::domain::{
    Connection as DomainConnection, ConnectionAction, Credential, Endpoint, EndpointId,
    EndpointService, NewEndpoint, NewService, Permission, PermissionRecord, QueryError,
    ServiceError, ServicePatch, Tenant,
};
use crate::store::{
    ConnectionFilter, DescribeBy, DescriptionUpdate, EndpointFilter, NewPermission, Page,
    PageRequest, ResetCounts, ServiceFilter, Store, StoreError, StoreResult,
};
use readers::Readers;
use writer::Writer;

/// The migrations, in order. File names are shared with the PostgreSQL tree.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        "0002_permissions",
        include_str!("../migrations/sqlite/0002_permissions.sql"),
    ),
    (
        "0003_lifecycle",
        include_str!("../migrations/sqlite/0003_lifecycle.sql"),
    ),
    (
        "0004_connection_counts",
        include_str!("../migrations/sqlite/0004_connection_counts.sql"),
    ),
    (
        "0005_sharded_connection_counts",
        include_str!("../migrations/sqlite/0005_sharded_connection_counts.sql"),
    ),
];

/// Read connections kept open; two cores serve more than enough readers with this.
const READERS: usize = 8;
/// How long a statement waits for a lock held by another process (e.g. the CLI) before failing.
const BUSY_TIMEOUT_MS: u64 = 5_000;
/// Readers run on the async workers, so they may wait only briefly (see `readers`).
const READER_BUSY_TIMEOUT_MS: u64 = 200;

pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
}

/// The file a `sqlite://` URL names. vpcep's SQLite store is one file that a writer connection
/// and several reader connections open each: an in-memory database (`:memory:`, or a `file:`
/// URI) would give every connection its own empty database, so those are refused.
pub fn file_path(path: &str) -> anyhow::Result<PathBuf> {
    if path.is_empty() {
        anyhow::bail!("sqlite:// needs a file path, e.g. sqlite://vpcep-data/vpcep.db");
    }
    if path == ":memory:" || path.starts_with("file:") {
        anyhow::bail!(
            "sqlite://{path} is not supported: vpcep opens its SQLite database from several \
             connections, and each would get its own empty in-memory database. Use a file, e.g. \
             sqlite:///tmp/vpcep-test.db (a fresh path per run gives a throwaway database)."
        );
    }
    Ok(PathBuf::from(path))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its folder, applies migrations and starts
    /// the writer.
    pub async fn open(path: PathBuf) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("cannot create the database folder {}: {e}", dir.display())
            })?;
        }
        // SQLite says only "unable to open database file"; opening it here first gives the
        // operating system's reason (a folder, no permission, a read-only file system).
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                anyhow::anyhow!("cannot open the database file {}: {e}", path.display())
            })?;
        let p = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> anyhow::Result<Connection> {
            let mut conn = open_connection(&p, false)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", p.display()))?;
            migrate(&mut conn)?;
            Ok(conn)
        })
        .await??;
        Ok(Self {
            writer: Writer::start(conn)?,
            readers: Readers::new(path, READERS),
        })
    }
}

/// Opens one connection with the pragmas every connection needs.
fn open_connection(path: &Path, read_only: bool) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(db_error)?;
    let busy = if read_only {
        READER_BUSY_TIMEOUT_MS
    } else {
        BUSY_TIMEOUT_MS
    };
    conn.busy_timeout(std::time::Duration::from_millis(busy))
        .map_err(db_error)?;
    // WAL: readers never wait for the writer. FULL: a commit is on stable storage when it returns,
    // which is what lets a 2xx mean "durable" (docs/api.md §1).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
    .map_err(db_error)?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = ON;")
            .map_err(db_error)?;
    }
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version TEXT PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )?;
    for (version, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let applied: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if !applied {
            tx.execute_batch(sql)
                .map_err(|e| anyhow::anyhow!("migration {version} failed: {e}"))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                rusqlite::params![version, crate::domain::time::now()],
            )?;
            tracing::info!(version, "applied migration");
        }
        tx.commit()?;
    }
    Ok(())
}

/// Maps a SQLite error to the store's terms: the database being unusable is a 503, anything else
/// is a bug (500). The text is for the log only.
fn db_error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Unavailable(format!("database is busy: {e}"))
            }
            ErrorCode::CannotOpen
            | ErrorCode::NotADatabase
            | ErrorCode::DatabaseCorrupt
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::NoLargeFileSupport => return StoreError::Unavailable(e.to_string()),
            _ => {}
        }
    }
    StoreError::Internal(e.to_string())
}

#[async_trait]
impl Store for SqliteStore {
    async fn health(&self) -> StoreResult<()> {
        self.readers
            .read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_error))
            .await?;
        self.writer
            .write(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_error))
            .await
    }

    async fn credential_by_token(&self, token_sha256: String) -> StoreResult<Option<Credential>> {
        self.readers
            .read(move |c| credentials::by_token(c, &token_sha256))
            .await
    }

    async fn credential_by_access_key(
        &self,
        access_key: String,
    ) -> StoreResult<Option<Credential>> {
        self.readers
            .read(move |c| credentials::by_access_key(c, &access_key))
            .await
    }

    async fn create_credential(&self, cred: Credential, token_sha256: String) -> StoreResult<()> {
        self.writer
            .write(move |c| credentials::insert(c, &cred, &token_sha256))
            .await
    }

    async fn bootstrap_credential(
        &self,
        cred: Credential,
        token_sha256: String,
    ) -> StoreResult<bool> {
        self.writer
            .write(move |c| {
                if credentials::any(c)? {
                    return Ok(false);
                }
                credentials::insert(c, &cred, &token_sha256).map(|()| true)
            })
            .await
    }

    async fn list_credentials(&self) -> StoreResult<Vec<Credential>> {
        self.readers.read(credentials::list).await
    }

    async fn delete_credential(&self, access_key: String) -> StoreResult<bool> {
        self.writer
            .write(move |c| credentials::delete(c, &access_key))
            .await
    }

    async fn reset(&self) -> StoreResult<ResetCounts> {
        self.writer.write(services::reset).await
    }

    async fn create_service(
        &self,
        owner: Tenant,
        region: String,
        new: NewService,
    ) -> StoreResult<EndpointService> {
        self.writer
            .write(move |c| services::create(c, &owner, &region, new))
            .await
    }

    async fn get_service(&self, project_id: String, id: String) -> StoreResult<EndpointService> {
        self.readers
            .read(move |c| services::get(c, &project_id, &id)?.ok_or(StoreError::NotFound))
            .await
    }

    async fn list_services(
        &self,
        project_id: String,
        filter: ServiceFilter,
        page: PageRequest,
    ) -> StoreResult<Page<EndpointService>> {
        self.readers
            .read(move |c| services::list(c, &project_id, &filter, page))
            .await
    }

    async fn update_service(
        &self,
        project_id: String,
        id: String,
        region: String,
        patch: ServicePatch,
    ) -> StoreResult<EndpointService> {
        self.writer
            .write(move |c| services::update(c, &project_id, &id, &region, patch))
            .await
    }

    async fn delete_service(
        &self,
        project_id: String,
        id: String,
        delay_ms: i64,
    ) -> StoreResult<()> {
        self.writer
            .write(move |c| services::delete(c, &project_id, &id, delay_ms))
            .await
    }

    async fn describe_service(&self, by: DescribeBy) -> StoreResult<EndpointService> {
        self.readers
            .read(move |c| services::describe(c, &by)?.ok_or(StoreError::NotFound))
            .await
    }

    async fn create_endpoint(&self, consumer: Tenant, new: NewEndpoint) -> StoreResult<Endpoint> {
        self.writer
            .write(move |c| endpoints::create(c, &consumer, new))
            .await
    }

    async fn get_endpoint(&self, project_id: String, id: String) -> StoreResult<Endpoint> {
        self.readers
            .read(move |c| endpoints::get(c, &project_id, &id)?.ok_or(StoreError::NotFound))
            .await
    }

    async fn list_endpoints(
        &self,
        project_id: String,
        filter: EndpointFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Endpoint>> {
        self.readers
            .read(move |c| endpoints::list(c, &project_id, &filter, page))
            .await
    }

    async fn delete_endpoint(
        &self,
        project_id: String,
        id: String,
        delay_ms: i64,
    ) -> StoreResult<()> {
        self.writer
            .write(move |c| endpoints::delete(c, &project_id, &id, delay_ms))
            .await
    }

    async fn settle_due(&self, now_ms: i64) -> StoreResult<u64> {
        self.writer
            .write(move |c| lifecycle::settle_due(c, now_ms))
            .await
    }

    async fn fail_endpoint(
        &self,
        project_id: String,
        id: String,
        error: QueryError,
    ) -> StoreResult<Endpoint> {
        self.writer
            .write(move |c| endpoints::fail(c, &project_id, &id, &error))
            .await
    }

    async fn fail_service(
        &self,
        project_id: String,
        id: String,
        error: ServiceError,
    ) -> StoreResult<EndpointService> {
        self.writer
            .write(move |c| services::fail(c, &project_id, &id, &error))
            .await
    }

    async fn plan_failures(
        &self,
        project_id: String,
        count: u32,
        error: QueryError,
    ) -> StoreResult<()> {
        self.writer
            .write(move |c| lifecycle::plan_failures(c, &project_id, count, &error))
            .await
    }

    async fn add_or_remove_permissions(
        &self,
        project_id: String,
        service_id: String,
        entries: Vec<Permission>,
        add: bool,
    ) -> StoreResult<Vec<String>> {
        self.writer
            .write(move |c| permissions::add_or_remove(c, &project_id, &service_id, &entries, add))
            .await
    }

    async fn batch_add_permissions(
        &self,
        project_id: String,
        service_id: String,
        items: Vec<NewPermission>,
    ) -> StoreResult<Vec<PermissionRecord>> {
        self.writer
            .write(move |c| permissions::batch_add(c, &project_id, &service_id, &items))
            .await
    }

    async fn batch_remove_permissions(
        &self,
        project_id: String,
        service_id: String,
        ids: Vec<String>,
    ) -> StoreResult<Vec<PermissionRecord>> {
        self.writer
            .write(move |c| permissions::batch_remove(c, &project_id, &service_id, &ids))
            .await
    }

    async fn list_permissions(
        &self,
        project_id: String,
        service_id: String,
        permission_like: Option<String>,
        page: PageRequest,
    ) -> StoreResult<Page<PermissionRecord>> {
        self.readers
            .read(move |c| {
                permissions::list(
                    c,
                    &project_id,
                    &service_id,
                    permission_like.as_deref(),
                    page,
                )
            })
            .await
    }

    async fn update_permission_description(
        &self,
        project_id: String,
        service_id: String,
        permission_id: String,
        description: String,
    ) -> StoreResult<PermissionRecord> {
        self.writer
            .write(move |c| {
                permissions::update_description(
                    c,
                    &project_id,
                    &service_id,
                    &permission_id,
                    &description,
                )
            })
            .await
    }

    async fn list_connections(
        &self,
        project_id: String,
        service_id: String,
        filter: ConnectionFilter,
        page: PageRequest,
    ) -> StoreResult<Page<DomainConnection>> {
        self.readers
            .read(move |c| endpoints::list_connections(c, &project_id, &service_id, &filter, page))
            .await
    }

    async fn accept_or_reject(
        &self,
        project_id: String,
        service_id: String,
        endpoint_id: EndpointId,
        action: ConnectionAction,
    ) -> StoreResult<DomainConnection> {
        self.writer
            .write(move |c| {
                endpoints::accept_or_reject(c, &project_id, &service_id, &endpoint_id, action)
            })
            .await
    }

    async fn update_connection_descriptions(
        &self,
        project_id: String,
        service_id: String,
        updates: Vec<DescriptionUpdate>,
    ) -> StoreResult<Vec<DomainConnection>> {
        self.writer
            .write(move |c| {
                endpoints::update_connection_descriptions(c, &project_id, &service_id, &updates)
            })
            .await
    }
}
