//! The SQLite backend: one file in WAL mode with `synchronous=FULL`, one writer thread with group
//! commit (`writer`), a pool of readers (`readers`), and migrations embedded in the binary.

mod credentials;
mod endpoints;
mod lifecycle;
mod permissions;
mod readers;
mod rows;
mod services;
mod tags;
mod writer;

use std::path::{Path, PathBuf};

use std::future::Future;
use std::task::{Context, Poll, Waker};

use rusqlite::{Connection, ErrorCode};

use crate::store::flows::{Access, Flow};
use crate::store::{StoreError, StoreResult};
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
    (
        "0006_project_counts",
        include_str!("../migrations/sqlite/0006_project_counts.sql"),
    ),
    (
        "0007_catalogue_editions_policies",
        include_str!("../migrations/sqlite/0007_catalogue_editions_policies.sql"),
    ),
    (
        "0008_quota_shards",
        include_str!("../migrations/sqlite/0008_quota_shards.sql"),
    ),
    (
        "0009_credential_notify",
        include_str!("../migrations/sqlite/0009_credential_notify.sql"),
    ),
    (
        "0010_data_plane",
        include_str!("../migrations/sqlite/0010_data_plane.sql"),
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

/// One transaction of the SQLite backend: the writer's shared transaction (inside the job's
/// SAVEPOINT) or a reader's connection. Its primitives (in the resource modules) are synchronous.
pub struct SqliteTx<'a> {
    c: &'a mut Connection,
}

impl<'a> SqliteTx<'a> {
    fn new(c: &'a mut Connection) -> Self {
        Self { c }
    }

    /// Runs one cached statement; the number of rows it changed.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> StoreResult<usize> {
        self.c
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(db_error)
    }
}

impl crate::store::tx::Tx for SqliteTx<'_> {
    /// A no-op: the one writer already runs write transactions one at a time.
    async fn serialize(&mut self, _key: &str) -> StoreResult<()> {
        Ok(())
    }
}

/// Runs a flow's future to its end on this thread. Every SQLite primitive is synchronous, so
/// the future completes on its first poll; one that does not is a bug, reported as such.
fn ready<T>(future: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::Internal(
            "a SQLite flow waited on something other than SQLite".into(),
        )),
    }
}

impl SqliteStore {
    /// Runs a flow: reads on a reader, writes in the writer's group-committed transaction.
    pub async fn run<F: Flow>(&self, flow: F) -> StoreResult<F::Output> {
        crate::store::flows::timed::<F, _>(async move {
            match F::ACCESS {
                Access::Read => {
                    self.readers
                        .read(move |c| ready(flow.run(&mut SqliteTx::new(c))))
                        .await
                }
                Access::Write | Access::Statement => {
                    self.writer
                        .write(move |c| ready(flow.run(&mut SqliteTx::new(c))))
                        .await
                }
            }
        })
        .await
    }

    /// Succeeds when a reader and the writer answer.
    pub async fn health(&self) -> StoreResult<()> {
        self.readers
            .read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_error))
            .await?;
        self.writer
            .write(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_error))
            .await
    }
}
