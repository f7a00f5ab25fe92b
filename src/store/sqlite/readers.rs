//! A small pool of read-only SQLite connections. In WAL mode readers never wait for the writer and
//! always see the last committed transaction, so a read after an acknowledged write sees it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::open_connection;
use crate::store::{StoreError, StoreResult};

pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    pub fn new(path: PathBuf, size: usize) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size),
        }
    }

    /// Runs `work` on an idle read connection (opening one if none is idle).
    pub async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Internal("reader pool closed".into()))?;
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        // Reads run right here, on the async worker: they are indexed lookups of microseconds
        // in WAL mode, where a reader never waits for the writer, and a hop to the blocking
        // pool costs more than the read itself. A reader's busy timeout is short, so even a
        // rare wait (WAL recovery) stays bounded.
        let mut conn = match idle {
            Some(c) => c,
            None => open_connection(&self.path, true)?,
        };
        let result = catch_unwind(AssertUnwindSafe(|| work(&mut conn)))
            .unwrap_or_else(|_| Err(StoreError::Internal("a read job panicked".into())));
        if let Ok(mut v) = self.idle.lock() {
            v.push(conn);
        }
        result
    }
}
