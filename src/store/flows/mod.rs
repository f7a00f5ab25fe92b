//! Every storage operation, written once: a flow is a value holding its inputs, whose `run`
//! reads and writes through the primitives of [`Tx`] and decides with the rules of
//! `crate::domain`. [`crate::store::Store::run`] runs it in one transaction of the backend in use;
//! [`Flow::ACCESS`] says what kind.
//!
//! Adding an operation: a flow here, the primitives it needs in `store::tx` (one SQL string
//! each in `store::sqlite` and `store::postgres`), and the handler that builds the flow.

pub mod backends;
pub mod credentials;
pub mod endpoints;
pub mod lifecycle;
pub mod permissions;
pub mod quotas;
pub mod services;
pub mod tags;

use std::future::Future;

use super::tx::{Lock, Tx};
use super::{StoreError, StoreResult};
use crate::domain::quota::{first_shard, rebalance};
use crate::domain::{ProjectId, QuotaKind, ServiceId};

/// What kind of transaction a flow needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads only: SQLite's reader pool, a pooled PostgreSQL connection in autocommit.
    Read,
    /// Reads and writes, all or nothing: SQLite's writer (group commit), a PostgreSQL
    /// transaction retried on serialization failures and deadlocks.
    Write,
    /// One statement that writes: like `Write` on SQLite; on PostgreSQL in autocommit, which
    /// saves the BEGIN and COMMIT round trips. Only for flows that issue exactly one statement.
    Statement,
}

impl Access {
    /// The `access` label of the database metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Statement => "statement",
        }
    }
}

/// Runs one flow's call on a backend and records how long it took, queueing for a connection or
/// the writer included (`metrics::DB_DURATION`).
pub(crate) async fn timed<F: Flow, T>(call: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let out = call.await;
    crate::metrics::flow_duration::<F>(F::ACCESS.as_str()).record(started.elapsed());
    out
}

/// One storage operation.
pub trait Flow: Send + Sync + 'static {
    type Output: Send + 'static;
    const ACCESS: Access;
    fn run<T: Tx>(&self, tx: &mut T) -> impl Future<Output = StoreResult<Self::Output>> + Send;
}

/// 404 unless the service is the caller's.
pub(crate) async fn require_service<T: Tx>(
    tx: &mut T,
    project: &ProjectId,
    service: &ServiceId,
) -> StoreResult<()> {
    if tx.service_exists(project, service).await? {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// EndPoint.1018 unless `project` may create one more resource of `kind`; otherwise the shard
/// of the project's count the new resource `id` is counted in. A create counts in one shard,
/// locked until it commits, while that shard's share of the quota has room; when it has none,
/// the create takes the project's turn, locks every shard, and spreads the room left over them
/// again (`domain::quota::rebalance`). Shares add up to the quota and no shard counts past its
/// share, so creates that race, through any node, cannot pass the quota together.
pub(crate) async fn reserve_quota<T: Tx>(
    tx: &mut T,
    project: &ProjectId,
    kind: QuotaKind,
    quota: u64,
    id: &str,
) -> StoreResult<u32> {
    let first = first_shard(id);
    // A look without a lock first: a full shard goes to the slow path holding no row lock, so
    // the slow path, which locks every shard, never waits on a create that waits on it.
    let seen = tx.quota_shard(project, kind, first, Lock::No).await?;
    if seen.is_some_and(|s| s.has_room_for(quota)) {
        let locked = tx.quota_shard(project, kind, first, Lock::Update).await?;
        if locked.is_some_and(|s| s.has_room_for(quota)) {
            return Ok(first);
        }
        // Another create took the last of this shard's share meanwhile. Holding its row lock
        // into the slow path could deadlock with a slow path that locks every shard, so the
        // transaction starts over (a retried conflict), and its look then finds no room.
        return Err(StoreError::Conflict);
    }
    tx.serialize(&format!("vpcep-quota:{}:{project}", kind.as_str()))
        .await?;
    let shards = tx.quota_shards(project, kind).await?;
    let (limits, chosen) = rebalance(&shards, quota).ok_or(StoreError::QuotaExceeded(kind))?;
    tx.set_quota_shares(project, kind, &limits, quota).await?;
    Ok(chosen)
}
