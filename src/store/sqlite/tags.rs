//! The tags of service and endpoint rows (the `tags` column both tables have).

use rusqlite::{params, OptionalExtension};

use super::rows::{json, to_json};
use super::{db_error, SqliteTx};
use crate::domain::tags::{ResourceKind, Tagged};
use crate::domain::{ProjectId, Tag};
use crate::store::tx::{tag_table as table, TagRows};
use crate::store::StoreResult;

impl TagRows for SqliteTx<'_> {
    async fn resource_tags(
        &mut self,
        project: &ProjectId,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<Vec<Tag>>> {
        let (table, _) = table(kind);
        self.c
            .prepare_cached(&format!(
                "SELECT tags FROM {table} WHERE id = ?1 AND project_id = ?2"
            ))
            .and_then(|mut s| {
                s.query_row([id, project.as_str()], |r| json(r, 0))
                    .optional()
            })
            .map_err(db_error)
    }

    async fn set_resource_tags(
        &mut self,
        kind: ResourceKind,
        id: &str,
        tags: &[Tag],
    ) -> StoreResult<()> {
        let (table, _) = table(kind);
        self.exec(
            &format!("UPDATE {table} SET tags = ?1 WHERE id = ?2"),
            params![to_json(&tags)?, id],
        )
        .map(drop)
    }

    async fn tagged_resources(
        &mut self,
        project: &ProjectId,
        kind: ResourceKind,
    ) -> StoreResult<Vec<Tagged>> {
        let (table, name) = table(kind);
        let sql = format!(
            "SELECT id, {name}, tags FROM {table} WHERE project_id = ?1
             ORDER BY created_at DESC, id DESC"
        );
        let mut s = self.c.prepare_cached(&sql).map_err(db_error)?;
        let rows = s
            .query_map([project.as_str()], |r| {
                Ok(Tagged {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    tags: json(r, 2)?,
                })
            })
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }
}
