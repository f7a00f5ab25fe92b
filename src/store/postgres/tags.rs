//! The tags of service and endpoint rows (the `tags` column both tables have).

use deadpool_postgres::GenericClient;

use super::rows::{col, json, q, q_opt, to_json, x};
use super::{pg_error, PgTx};
use crate::domain::tags::{ResourceKind, Tagged};
use crate::domain::{ProjectId, Tag};
use crate::store::tx::{tag_table as table, TagRows};
use crate::store::StoreResult;

impl<C: GenericClient> TagRows for PgTx<'_, C> {
    async fn resource_tags(
        &mut self,
        project: &ProjectId,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<Vec<Tag>>> {
        let (table, _) = table(kind);
        let sql = format!("SELECT tags FROM {table} WHERE id = $1 AND project_id = $2 FOR UPDATE");
        let row = q_opt(self.c, &sql, &[&id, &project.as_str()])
            .await
            .map_err(pg_error)?;
        row.map(|r| json(&r, 0)).transpose()
    }

    async fn set_resource_tags(
        &mut self,
        kind: ResourceKind,
        id: &str,
        tags: &[Tag],
    ) -> StoreResult<()> {
        let (table, _) = table(kind);
        let sql = format!("UPDATE {table} SET tags = $1 WHERE id = $2");
        x(self.c, &sql, &[&to_json(&tags)?, &id])
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn tagged_resources(
        &mut self,
        project: &ProjectId,
        kind: ResourceKind,
    ) -> StoreResult<Vec<Tagged>> {
        let (table, name) = table(kind);
        let sql = format!(
            "SELECT id, {name}, tags FROM {table} WHERE project_id = $1
             ORDER BY created_at DESC, id DESC"
        );
        q(self.c, &sql, &[&project.as_str()])
            .await
            .map_err(pg_error)?
            .iter()
            .map(|r| {
                Ok(Tagged {
                    id: col(r, 0)?,
                    name: col(r, 1)?,
                    tags: json(r, 2)?,
                })
            })
            .collect()
    }
}
