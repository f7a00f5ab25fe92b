//! Pending transitions, planned failures, and the reset of a test server.

use super::{Access, Flow};
use crate::domain::{time, ProjectId, QueryError};
use crate::store::tx::Tx;
use crate::store::{ResetCounts, StoreResult};

/// Carries out the transitions due at `now_ms` (creating -> settled, deleting -> gone); returns
/// how many. Each happens once, whichever node runs it.
pub struct SettleDue {
    pub now_ms: i64,
}

impl Flow for SettleDue {
    type Output = u64;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<u64> {
        tx.settle_due(self.now_ms, time::now()).await
    }
}

/// The next `count` services or endpoints created in `project` end `failed` with `error` (0
/// cancels the plan).
pub struct PlanFailures {
    pub project: ProjectId,
    pub count: u32,
    pub error: QueryError,
}

impl Flow for PlanFailures {
    type Output = ();
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<()> {
        tx.plan_failures(&self.project, self.count, &self.error)
            .await
    }
}

/// Removes every endpoint service, endpoint (connection), whitelist entry and planned failure
/// of every tenant, in one transaction; credentials stay, and `marker_id`s are not reused.
pub struct Reset;

impl Flow for Reset {
    type Output = ResetCounts;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<ResetCounts> {
        tx.reset_all().await
    }
}
