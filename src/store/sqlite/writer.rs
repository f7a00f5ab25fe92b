//! The single writer of a SQLite database, with group commit.
//!
//! SQLite admits one writer at a time, and with `synchronous=FULL` every commit costs an fsync.
//! All writes therefore go to one thread that owns the write connection. It takes every job
//! waiting in its queue, runs each inside its own SAVEPOINT of one shared transaction (a job that
//! fails is rolled back alone), commits once, and only then answers each job. So every success
//! reported to a caller is on stable storage, and concurrent requests share the cost of a flush.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::db_error;
use crate::store::{StoreError, StoreResult};

/// How many queued jobs one transaction takes at most.
const MAX_JOBS_PER_COMMIT: usize = 256;
/// How many jobs may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 4096;

trait Job: Send {
    /// Runs the job's statements; true when they succeeded and must be kept.
    fn run(&mut self, conn: &mut Connection) -> bool;
    /// Reports the outcome once the transaction is committed (or failed).
    fn finish(self: Box<Self>, commit: StoreResult<()>);
}

struct Pending<F, T> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    done: oneshot::Sender<StoreResult<T>>,
}

impl<F, T> Job for Pending<F, T>
where
    F: FnOnce(&mut Connection) -> StoreResult<T> + Send,
    T: Send,
{
    fn run(&mut self, conn: &mut Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // The caller gave up (its deadline passed and it answered 504): do not apply a change
        // nobody will be told about.
        if self.done.is_closed() {
            return false;
        }
        let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError::Internal("a write job panicked".into())));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: StoreResult<()>) {
        let outcome = match self.result {
            // The job failed on its own: its error, whatever happened to the others.
            Some(Err(e)) => Err(e),
            Some(Ok(v)) => commit.map(|()| v),
            // Never ran: the transaction could not even start.
            None => Err(commit.err().unwrap_or_else(|| {
                StoreError::Internal("write job finished without running".into())
            })),
        };
        // The caller may have given up (deadline); nothing to do then.
        let _ = self.done.send(outcome);
    }
}

/// A handle to the writer thread. Cloning shares the thread.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub fn start(conn: Connection) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("vpcep-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))?;
        Ok(Self { queue })
    }

    /// Runs `work` in the shared write transaction; the result arrives after the commit.
    pub async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (done, answer) = oneshot::channel();
        let job = Box::new(Pending {
            work: Some(work),
            result: None,
            done,
        });
        self.queue
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }
}

fn writer_loop(mut conn: Connection, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_JOBS_PER_COMMIT);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_JOBS_PER_COMMIT {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let outcome = run_batch(&mut conn, &mut batch);
        metrics::histogram!(crate::metrics::SQLITE_COMMIT).record(started.elapsed());
        metrics::histogram!(crate::metrics::SQLITE_BATCH).record(batch.len() as f64);
        for job in batch.drain(..) {
            job.finish(outcome.clone());
        }
    }
}

/// Runs one cached statement (the transaction-control statements run for every job, and
/// `execute_batch` would parse them each time).
fn exec(conn: &Connection, sql: &str) -> StoreResult<()> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(db_error)
}

/// Runs every job of the batch in one transaction and commits it.
fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> StoreResult<()> {
    exec(conn, "BEGIN IMMEDIATE")?;
    let result = (|| {
        for job in batch.iter_mut() {
            exec(conn, "SAVEPOINT job")?;
            if !job.run(conn) {
                exec(conn, "ROLLBACK TO job")?;
            }
            exec(conn, "RELEASE job")?;
        }
        exec(conn, "COMMIT")
    })();
    if result.is_err() && !conn.is_autocommit() {
        // Nothing of this batch may survive a failed commit; the jobs report the error.
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}
