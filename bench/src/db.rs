//! The database alone (`db-sqlite`, `db-postgres`): what the database does on this machine
//! without vpcep, as the ceiling that `update-1` is compared with.
//!
//! `--clients` clients, each with a connection of its own, repeat one durable single-row update
//! in autocommit, the statement vpcep's seed operation runs for each connection:
//! `UPDATE endpoints SET connection_description = ?, updated_at = ? WHERE id = ?`, a new
//! description each time. Client `c` of `C` rotates over the seeded connections `c`, `c + C`,
//! `c + 2C`, ... (random UUIDs, so random places in the `id` index), so no two clients ever
//! update the same row (with more clients than connections, some share). One committed update
//! is one "request"; a failed statement counts as a transport error. The timing is that of the
//! HTTP scenarios: a warm-up, then the measured time; statements started after the warm-up
//! count, and rates are divided by the time from the end of the warm-up to the last answer.
//!
//! SQLite: a copy of the seeded file ([`copy_sqlite`], made while no server runs), with the
//! pragmas and busy timeout of the server's write connection (`journal_mode = WAL`,
//! `synchronous = FULL`, `foreign_keys = ON`, 5 s), and one client whatever `--clients` says:
//! SQLite admits one writer at a time, and several would wait in its busy handler, which sleeps,
//! so the figure would be the handler's, not the database's.
//! PostgreSQL: the run's database itself (vpcep idle between scenarios), one tokio-postgres
//! connection and prepared statement per client.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, ensure, Context, Result};
use uuid::Uuid;

use crate::load::{Outcome, INTERRUPTED};
use crate::seed::{pg_connect, redact};

const UPDATE_SQLITE: &str =
    "UPDATE endpoints SET connection_description = ?1, updated_at = ?2 WHERE id = ?3";
const UPDATE_POSTGRES: &str =
    "UPDATE endpoints SET connection_description = $1, updated_at = $2 WHERE id = $3";
const SELECT_SQLITE: &str = "SELECT connection_description FROM endpoints WHERE id = ?1";
const SELECT_POSTGRES: &str = "SELECT connection_description FROM endpoints WHERE id = $1";
/// The busy timeout of the server's write connection (src/store/sqlite/mod.rs).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_millis(5_000);
/// A statement without an answer after this long counts as an error (as an HTTP request).
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the database-alone scenario runs.
pub enum Target {
    /// A SQLite file of its own, a copy of the seeded one.
    Sqlite(PathBuf),
    /// The run's PostgreSQL database.
    Postgres(String),
}

/// The measured window of a scenario.
#[derive(Clone, Copy)]
struct Window {
    warm_until: Instant,
    end: Instant,
}

impl Window {
    fn starting_now(warmup: Duration, duration: Duration) -> Window {
        let warm_until = Instant::now() + warmup;
        Window {
            warm_until,
            end: warm_until + duration,
        }
    }

    fn over(&self) -> bool {
        INTERRUPTED.load(Ordering::Relaxed) || Instant::now() >= self.end
    }
}

/// One client's figures and the end of its last measured statement.
struct Tally {
    outcome: Outcome,
    last_done: Option<Instant>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            outcome: Outcome::new(),
            last_done: None,
        }
    }

    /// Records a statement run from `t0` to `t1` that changed `result` rows (one is right);
    /// statements started during the warm-up are not counted.
    fn record(&mut self, window: Window, t0: Instant, t1: Instant, result: Result<u64>) {
        if t0 < window.warm_until {
            return;
        }
        let o = &mut self.outcome;
        o.requests += 1;
        self.last_done = Some(t1);
        match result {
            Ok(1) => {
                o.ok += 1;
                o.items += 1;
                o.latency_us
                    .saturating_record((t1 - t0).as_micros().max(1) as u64);
            }
            Ok(n) => {
                o.transport_errors += 1;
                o.first_error
                    .get_or_insert_with(|| format!("the update changed {n} rows instead of 1"));
            }
            Err(e) => {
                o.transport_errors += 1;
                o.first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
}

/// The clients' figures together, over the window.
fn total(tallies: impl IntoIterator<Item = Tally>, window: Window) -> Outcome {
    let mut total = Outcome::new();
    let mut last = window.end;
    for t in tallies {
        if let Some(done) = t.last_done {
            last = last.max(done);
        }
        total.merge(t.outcome);
    }
    total.elapsed = last.saturating_duration_since(window.warm_until);
    total
}

/// The rows client `c` of `clients` updates: connections `c`, `c + clients`, ...; a client
/// beyond the last connection shares the row `c % len`.
fn rows_of(ids: &[Uuid], clients: usize, c: usize) -> Vec<String> {
    let mine: Vec<String> = ids
        .iter()
        .skip(c)
        .step_by(clients.max(1))
        .map(Uuid::to_string)
        .collect();
    if mine.is_empty() && !ids.is_empty() {
        vec![ids[c % ids.len()].to_string()]
    } else {
        mine
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Runs the database-alone scenario on `target`: `clients` clients over the connections `ids`
/// for `warmup` (not measured) then `duration`, after one checked update.
pub fn run(
    target: &Target,
    rt: &tokio::runtime::Runtime,
    ids: &[Uuid],
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Outcome> {
    ensure!(!ids.is_empty(), "no seeded connection to update");
    // Distinguishes this run's descriptions from those of update-1 and earlier runs.
    let tag = Uuid::new_v4().simple().to_string()[..8].to_string();
    match target {
        Target::Sqlite(path) => {
            sqlite_preflight(path, &ids[0], &tag).context("preflight of `db-sqlite`")?;
            // One writer: SQLite admits one at a time, and more would sleep in its busy handler
            // (1 to 100 ms at a time), which measures the handler, not the database (32 clients:
            // about 400 updates/s, against over 5,000 for one).
            let _ = clients;
            sqlite(path, ids, 1, &tag, warmup, duration)
        }
        Target::Postgres(url) => rt.block_on(async {
            postgres_preflight(url, &ids[0], &tag)
                .await
                .context("preflight of `db-postgres`")?;
            postgres(url, ids, clients, &tag, warmup, duration).await
        }),
    }
}

/// Copies the seeded SQLite database at `src` (no server may have it open) to `dst`, for
/// `db-sqlite` to write to instead of the server's file; checks that the copy opens in WAL mode.
pub fn copy_sqlite(src: &Path, dst: &Path) -> Result<()> {
    let wal = PathBuf::from(format!("{}-wal", src.display()));
    let pending = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    ensure!(
        pending == 0,
        "{} holds {pending} bytes not checkpointed into {}: is a server still running on it?",
        wal.display(),
        src.display()
    );
    std::fs::copy(src, dst)
        .with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))?;
    let conn = open_sqlite(dst)?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    ensure!(
        mode.eq_ignore_ascii_case("wal"),
        "{} is in journal mode {mode}, not WAL",
        dst.display()
    );
    Ok(())
}

/// A connection with the pragmas and busy timeout of the server's write connection.
fn open_sqlite(path: &Path) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
    .with_context(|| format!("cannot set the pragmas of {}", path.display()))?;
    Ok(conn)
}

/// One update, read back.
fn sqlite_preflight(path: &Path, id: &Uuid, tag: &str) -> Result<()> {
    let conn = open_sqlite(path)?;
    let description = format!("db {tag} preflight");
    let id = id.to_string();
    let n = conn.execute(
        UPDATE_SQLITE,
        rusqlite::params![description, now_secs(), id],
    )?;
    ensure!(n == 1, "the update of connection {id} changed {n} rows");
    let got: String = conn.query_row(SELECT_SQLITE, [&id], |r| r.get(0))?;
    ensure!(
        got == description,
        "connection {id} has description {got:?}, not {description:?}"
    );
    Ok(())
}

fn sqlite(
    path: &Path,
    ids: &[Uuid],
    clients: usize,
    tag: &str,
    warmup: Duration,
    duration: Duration,
) -> Result<Outcome> {
    let window = Window::starting_now(warmup, duration);
    let tallies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let rows = rows_of(ids, clients, c);
                scope.spawn(move || sqlite_client(path, &rows, tag, window))
            })
            .collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(c, h)| match h.join() {
                Ok(r) => r.with_context(|| format!("db-sqlite client {c}")),
                Err(_) => Err(anyhow!("db-sqlite client {c} panicked")),
            })
            .collect::<Result<Vec<Tally>>>()
    })?;
    Ok(total(tallies, window))
}

/// One client: its own connection and prepared statement, updates until the window ends.
fn sqlite_client(path: &Path, rows: &[String], tag: &str, window: Window) -> Result<Tally> {
    let conn = open_sqlite(path)?;
    let mut stmt = conn.prepare(UPDATE_SQLITE)?;
    let mut tally = Tally::new();
    for (n, id) in rows.iter().cycle().enumerate() {
        if window.over() {
            break;
        }
        let description = format!("db {tag} {n}");
        let t0 = Instant::now();
        let result = stmt.execute(rusqlite::params![description, now_secs(), id]);
        let t1 = Instant::now();
        tally.record(
            window,
            t0,
            t1,
            result.map(|n| n as u64).map_err(anyhow::Error::from),
        );
    }
    Ok(tally)
}

/// One update, read back.
async fn postgres_preflight(url: &str, id: &Uuid, tag: &str) -> Result<()> {
    let client = pg_connect(url).await?;
    let description = format!("db {tag} preflight");
    let id = id.to_string();
    let n = client
        .execute(UPDATE_POSTGRES, &[&description, &now_secs(), &id])
        .await?;
    ensure!(n == 1, "the update of connection {id} changed {n} rows");
    let got: String = client.query_one(SELECT_POSTGRES, &[&id]).await?.get(0);
    ensure!(
        got == description,
        "connection {id} has description {got:?}, not {description:?}"
    );
    Ok(())
}

async fn postgres(
    url: &str,
    ids: &[Uuid],
    clients: usize,
    tag: &str,
    warmup: Duration,
    duration: Duration,
) -> Result<Outcome> {
    let window = Window::starting_now(warmup, duration);
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let rows = rows_of(ids, clients, c);
            tokio::spawn(postgres_client(
                url.to_owned(),
                rows,
                tag.to_owned(),
                window,
            ))
        })
        .collect();
    let mut tallies = Vec::with_capacity(clients);
    for (c, h) in handles.into_iter().enumerate() {
        match h.await {
            Ok(r) => tallies.push(r.with_context(|| format!("db-postgres client {c}"))?),
            Err(e) => bail!("db-postgres client {c} failed: {e}"),
        }
    }
    Ok(total(tallies, window))
}

/// One client: its own connection and prepared statement, updates until the window ends; a
/// connection that breaks is opened again.
async fn postgres_client(
    url: String,
    rows: Vec<String>,
    tag: String,
    window: Window,
) -> Result<Tally> {
    let mut client = pg_connect(&url).await?;
    let mut stmt = client.prepare(UPDATE_POSTGRES).await?;
    let mut tally = Tally::new();
    for (n, id) in rows.iter().cycle().enumerate() {
        if window.over() {
            break;
        }
        if client.is_closed() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let reopened = async {
                let c = pg_connect(&url).await?;
                let s = c.prepare(UPDATE_POSTGRES).await?;
                Ok::<_, anyhow::Error>((c, s))
            };
            match reopened.await {
                Ok((c, s)) => (client, stmt) = (c, s),
                Err(e) => {
                    let now = Instant::now();
                    tally.record(window, now, now, Err(e));
                    continue;
                }
            }
        }
        let description = format!("db {tag} {n}");
        let t0 = Instant::now();
        let now = now_secs();
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&description, &now, id];
        let update = client.execute(&stmt, &params);
        let result = match tokio::time::timeout(STATEMENT_TIMEOUT, update).await {
            Ok(r) => r.with_context(|| format!("UPDATE on {}", redact(&url))),
            Err(_) => Err(anyhow!("no answer within {STATEMENT_TIMEOUT:?}")),
        };
        let t1 = Instant::now();
        tally.record(window, t0, t1, result);
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_get_disjoint_rows_that_cover_every_connection() {
        let ids: Vec<Uuid> = (0..10).map(|_| Uuid::new_v4()).collect();
        let slices: Vec<Vec<String>> = (0..4).map(|c| rows_of(&ids, 4, c)).collect();
        assert_eq!(slices[0].len(), 3);
        assert_eq!(slices[3].len(), 2);
        let mut all: Vec<String> = slices.concat();
        all.sort();
        let mut want: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        want.sort();
        assert_eq!(all, want, "every row once, none twice");
    }

    #[test]
    fn clients_beyond_the_connections_share_rows() {
        let ids: Vec<Uuid> = (0..2).map(|_| Uuid::new_v4()).collect();
        assert_eq!(rows_of(&ids, 5, 4), vec![ids[0].to_string()]);
        assert_eq!(rows_of(&ids, 5, 1), vec![ids[1].to_string()]);
    }

    #[test]
    fn the_sqlite_loop_commits_durable_updates() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let src = dir.path().join("src.db");
        let ids: Vec<Uuid> = (0..8).map(|_| Uuid::new_v4()).collect();
        {
            let conn = rusqlite::Connection::open(&src).expect("open");
            conn.execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE endpoints (marker_id INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
                     connection_description TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL);",
            )
            .expect("schema");
            for id in &ids {
                conn.execute(
                    "INSERT INTO endpoints (id, updated_at) VALUES (?1, 0)",
                    [id.to_string()],
                )
                .expect("insert");
            }
        }
        let copy = dir.path().join("copy.db");
        copy_sqlite(&src, &copy).expect("copy");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let target = Target::Sqlite(copy);
        let o = run(
            &target,
            &rt,
            &ids,
            3,
            Duration::from_millis(20),
            Duration::from_millis(200),
        )
        .expect("the scenario runs");
        assert!(o.requests > 0, "no update counted");
        assert_eq!(o.requests, o.ok, "{:?}", o.first_error);
        assert_eq!(o.items, o.ok);
        assert!(o.elapsed >= Duration::from_millis(200));
    }
}
