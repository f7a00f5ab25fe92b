//! Whitelist rows of endpoint services.

use rusqlite::{params, OptionalExtension, Row};

use super::rows;
use super::{db_error, SqliteTx};
use crate::domain::{PermissionRecord, ServiceId};
use crate::store::list::{ListQuery, ListSql};
use crate::store::tx::PermissionRows;
use crate::store::{Page, PageRequest, StoreResult};

const COLUMNS: &str = "id, permission, permission_type, description, created_at, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<PermissionRecord> {
    Ok(PermissionRecord {
        id: r.get(0)?,
        permission: r.get(1)?,
        permission_type: r.get(2)?,
        description: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

impl SqliteTx<'_> {
    fn permission_by(
        &self,
        service: &ServiceId,
        column: &str,
        value: &str,
    ) -> StoreResult<Option<PermissionRecord>> {
        self.c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM endpoint_service_permissions
                 WHERE endpoint_service_id = ?1 AND {column} = ?2"
            ))
            .and_then(|mut s| s.query_row([service.as_str(), value], row).optional())
            .map_err(db_error)
    }
}

impl PermissionRows for SqliteTx<'_> {
    async fn whitelist(&mut self, service: &ServiceId) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .c
            .prepare_cached(
                "SELECT permission FROM endpoint_service_permissions WHERE endpoint_service_id = ?1
                 ORDER BY created_at, permission",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([service.as_str()], |r| r.get::<_, String>(0))
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    async fn permission_by_entry(
        &mut self,
        service: &ServiceId,
        entry: &str,
    ) -> StoreResult<Option<PermissionRecord>> {
        self.permission_by(service, "permission", entry)
    }

    async fn permission_by_id(
        &mut self,
        service: &ServiceId,
        id: &str,
    ) -> StoreResult<Option<PermissionRecord>> {
        self.permission_by(service, "id", id)
    }

    async fn permission_count(&mut self, service: &ServiceId) -> StoreResult<usize> {
        self.c
            .prepare_cached(
                "SELECT COUNT(*) FROM endpoint_service_permissions WHERE endpoint_service_id = ?1",
            )
            .and_then(|mut s| s.query_row([service.as_str()], |r| r.get::<_, i64>(0)))
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .map_err(db_error)
    }

    async fn insert_permission(
        &mut self,
        service: &ServiceId,
        record: &PermissionRecord,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO endpoint_service_permissions
                 (id, endpoint_service_id, permission, permission_type, description, created_at,
                  updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                record.id,
                service.as_str(),
                record.permission,
                record.permission_type,
                record.description,
                record.created_at,
                record.updated_at
            ],
        )
        .map(drop)
    }

    async fn set_permission_description(
        &mut self,
        id: &str,
        description: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoint_service_permissions SET description = ?1, updated_at = ?2
             WHERE id = ?3",
            params![description, now, id],
        )
        .map(drop)
    }

    async fn delete_permission_entry(
        &mut self,
        service: &ServiceId,
        entry: &str,
    ) -> StoreResult<()> {
        self.exec(
            "DELETE FROM endpoint_service_permissions
             WHERE endpoint_service_id = ?1 AND permission = ?2",
            [service.as_str(), entry],
        )
        .map(drop)
    }

    async fn delete_permissions(&mut self, ids: &[&str]) -> StoreResult<()> {
        for id in ids {
            self.exec(
                "DELETE FROM endpoint_service_permissions WHERE id = ?1",
                [id],
            )?;
        }
        Ok(())
    }

    async fn list_permissions(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> StoreResult<Page<PermissionRecord>> {
        rows::page(
            self.c,
            &ListSql {
                select: "SELECT id, permission, permission_type, description, created_at, \
                         updated_at FROM endpoint_service_permissions",
                count: "SELECT COUNT(*) FROM endpoint_service_permissions",
                prefix: "",
            },
            query,
            page,
            row,
        )
    }
}
