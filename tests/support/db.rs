//! The test databases: which backend a run uses (`VPCEP_TEST_BACKEND`), a fresh SQLite file or a
//! uniquely named PostgreSQL database per test (`TestDb`).

use tempfile::TempDir;

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

/// The PostgreSQL server of the suite (without a database name).
pub fn postgres_base() -> String {
    std::env::var("VPCEP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
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
                .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"));
            tokio::spawn(conn);
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    })
    .join()
    .expect("the PostgreSQL admin thread");
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
