//! The test databases: which backend a run uses (`VPCEP_TEST_BACKEND`), a fresh SQLite file or a
//! uniquely named PostgreSQL database per test (`TestDb`), and direct access to both.

use std::path::Path;

use tempfile::TempDir;

use super::cli::vpcep;

/// The `sqlite:///abs/path` URL of a database file at `relative` inside `dir`.
pub fn sqlite_url(dir: &TempDir, relative: &str) -> String {
    let path = dir.path().join(relative);
    assert!(path.is_absolute());
    format!("sqlite://{}", path.display())
}

/// The database backend the suite runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend of this run of the `api` binary: `VPCEP_TEST_BACKEND=postgres`, else SQLite.
pub fn backend() -> Backend {
    match std::env::var("VPCEP_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// Where the suite's PostgreSQL server is when `VPCEP_TEST_POSTGRES` does not say.
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// The PostgreSQL server of the suite (without a database name).
pub fn postgres_base() -> String {
    std::env::var("VPCEP_TEST_POSTGRES")
        .unwrap_or_else(|_| DEFAULT_POSTGRES.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// Runs administrative SQL on the PostgreSQL server's `postgres` database, on a thread of its own
/// (tests call this from inside their own runtime).
pub fn postgres_admin(sql: String) {
    let url = format!("{}/postgres", postgres_base());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot reach PostgreSQL at {url} ({e}): this test needs the suite's \
                         PostgreSQL server, VPCEP_TEST_POSTGRES (default {DEFAULT_POSTGRES}); \
                         start one there or point VPCEP_TEST_POSTGRES at one"
                    )
                });
            tokio::spawn(conn);
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    })
    .join()
    // The thread's own panic (which says what is missing) becomes the test's.
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

/// Fails the test, naming `VPCEP_TEST_POSTGRES`, unless the suite's PostgreSQL server answers;
/// returns its base URL. For the tests that talk to it without a [`TestDb`].
pub fn require_postgres() -> String {
    postgres_admin("SELECT 1".to_string());
    postgres_base()
}

/// A test's database: a SQLite file, or a PostgreSQL database dropped when the test ends.
pub struct TestDb {
    pub url: String,
    postgres_name: Option<String>,
}

impl TestDb {
    pub fn sqlite(dir: &TempDir, relative: &str) -> TestDb {
        TestDb {
            url: sqlite_url(dir, relative),
            postgres_name: None,
        }
    }

    pub fn postgres() -> TestDb {
        let name = format!("vpcep_test_{}", uuid::Uuid::new_v4().simple());
        postgres_admin(format!("CREATE DATABASE {name}"));
        TestDb {
            url: format!("{}/{name}", postgres_base()),
            postgres_name: Some(name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres_name {
            postgres_admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The migration files of one backend's tree (`sqlite`, `postgres`), sorted by name.
pub fn migration_files(backend: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/store/migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `vpcep credentials create`, which creates (and so migrates) the database; `list` refuses a
/// SQLite file that does not exist yet.
pub fn migrate_with_the_cli(db_url: &str) {
    let out = vpcep(&["credentials", "create", "--database", db_url]);
    assert!(
        out.status.success(),
        "`vpcep credentials create --database {db_url}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A direct connection to a PostgreSQL database, driven by the test's runtime.
/// The migration versions a PostgreSQL database has recorded, in order.
pub async fn applied_migrations(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

pub async fn postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(conn);
    client
}

/// Takes SQLite's write lock on the database file of a `sqlite://` URL from this (test) process,
/// until the returned connection rolls back or is dropped.
pub fn hold_sqlite_write_lock(db_url: &str) -> rusqlite::Connection {
    let path = db_url.strip_prefix("sqlite://").expect("a sqlite:// URL");
    let conn = rusqlite::Connection::open(path).expect("open the database file");
    conn.execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    conn
}
