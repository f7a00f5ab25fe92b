//! The tag operations: BatchAddOrRemoveResourceInstance, ListQueryProjectResourceTags and
//! ListResourceInstances, over the tags a service or endpoint was created with.

use super::{Access, Flow};
use crate::domain::tags::{
    self, InstanceFilter, ResourceKind, TagAction, TagChange, TagValues, Tagged,
};
use crate::domain::ProjectId;
use crate::store::tx::Tx;
use crate::store::{StoreError, StoreResult};

/// Adds or removes tags of one resource of the caller's (404 otherwise); EndPoint.3069 when it
/// would carry more than `tags::MAX_TAGS_PER_RESOURCE`, with nothing changed.
pub struct Change {
    pub project: ProjectId,
    pub kind: ResourceKind,
    pub id: String,
    pub action: TagAction,
    pub changes: Vec<TagChange>,
}

impl Flow for Change {
    type Output = ();
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<()> {
        let current = tx
            .resource_tags(&self.project, self.kind, &self.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let next =
            tags::apply(&current, self.action, &self.changes).ok_or(StoreError::TooManyTags)?;
        if next != current {
            tx.set_resource_tags(self.kind, &self.id, &next).await?;
        }
        Ok(())
    }
}

/// Every key and value on the project's resources of one kind.
pub struct ProjectTags {
    pub project: ProjectId,
    pub kind: ResourceKind,
}

impl Flow for ProjectTags {
    type Output = Vec<TagValues>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Vec<TagValues>> {
        let resources = tx.tagged_resources(&self.project, self.kind).await?;
        Ok(tags::aggregate(resources.iter().map(|r| r.tags.as_slice())))
    }
}

/// The project's resources of one kind that pass `filter`: the page at `offset` of `limit`
/// (all of them when `limit` is `None`), and how many pass in all. A project holds at most its
/// quota of each kind, so this reads a bounded number of rows.
pub struct Instances {
    pub project: ProjectId,
    pub kind: ResourceKind,
    pub filter: InstanceFilter,
    pub offset: usize,
    pub limit: Option<usize>,
}

impl Flow for Instances {
    type Output = (Vec<Tagged>, usize);
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        let all = tx.tagged_resources(&self.project, self.kind).await?;
        let passing: Vec<Tagged> = all.into_iter().filter(|r| self.filter.matches(r)).collect();
        let total = passing.len();
        let page = passing
            .into_iter()
            .skip(self.offset)
            .take(self.limit.unwrap_or(usize::MAX))
            .collect();
        Ok((page, total))
    }
}
