//! ListQuotaDetails: each kind's quota and how much of it the project uses.

use super::{Access, Flow};
use crate::domain::{ProjectId, QuotaKind, Quotas};
use crate::store::tx::Tx;
use crate::store::StoreResult;

/// One kind's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaUse {
    pub kind: QuotaKind,
    pub used: u64,
    pub quota: u64,
}

pub struct List {
    pub project: ProjectId,
    /// The kinds asked for, in the order they are answered.
    pub kinds: Vec<QuotaKind>,
    pub quotas: Quotas,
}

impl Flow for List {
    type Output = Vec<QuotaUse>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        let mut out = Vec::with_capacity(self.kinds.len());
        for &kind in &self.kinds {
            out.push(QuotaUse {
                kind,
                used: tx.count_of_project(&self.project, kind).await?,
                quota: self.quotas.of(kind),
            });
        }
        Ok(out)
    }
}
