//! Whitelist rows of endpoint services.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::rows::{self, col, ListSql};
use super::rows::{q, q_one, q_opt, x};
use super::{pg_error, PgTx};
use crate::domain::{PermissionRecord, ServiceId};
use crate::store::list::ListQuery;
use crate::store::tx::PermissionRows;
use crate::store::{Page, PageRequest, StoreError, StoreResult};

const COLUMNS: &str = "id, permission, permission_type, description, created_at, updated_at";

const LIST: ListSql = ListSql {
    select: "SELECT id, permission, permission_type, description, created_at, updated_at \
             FROM endpoint_service_permissions",
    count: "SELECT COUNT(*) FROM endpoint_service_permissions",
    prefix: "",
};

fn row(r: &Row) -> StoreResult<PermissionRecord> {
    Ok(PermissionRecord {
        id: col(r, 0)?,
        permission: col(r, 1)?,
        permission_type: col(r, 2)?,
        description: col(r, 3)?,
        created_at: col(r, 4)?,
        updated_at: col(r, 5)?,
    })
}

/// The record of the service whose `column` is `value`, row-locked for update.
async fn one(
    c: &impl GenericClient,
    service: &ServiceId,
    column: &str,
    value: &str,
) -> StoreResult<Option<PermissionRecord>> {
    q_opt(
        c,
        &format!(
            "SELECT {COLUMNS} FROM endpoint_service_permissions
             WHERE endpoint_service_id = $1 AND {column} = $2 FOR UPDATE"
        ),
        &[&service.as_str(), &value],
    )
    .await
    .map_err(pg_error)?
    .as_ref()
    .map(row)
    .transpose()
}

impl<C: GenericClient> PermissionRows for PgTx<'_, C> {
    async fn whitelist(&mut self, service: &ServiceId) -> StoreResult<Vec<String>> {
        q(
            self.c,
            "SELECT permission FROM endpoint_service_permissions WHERE endpoint_service_id = $1
             ORDER BY created_at, permission",
            &[&service.as_str()],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| col(r, 0))
        .collect()
    }

    async fn permission_by_entry(
        &mut self,
        service: &ServiceId,
        entry: &str,
    ) -> StoreResult<Option<PermissionRecord>> {
        one(self.c, service, "permission", entry).await
    }

    async fn permission_by_id(
        &mut self,
        service: &ServiceId,
        id: &str,
    ) -> StoreResult<Option<PermissionRecord>> {
        one(self.c, service, "id", id).await
    }

    async fn permission_count(&mut self, service: &ServiceId) -> StoreResult<usize> {
        let r = q_one(
            self.c,
            "SELECT COUNT(*) FROM endpoint_service_permissions WHERE endpoint_service_id = $1",
            &[&service.as_str()],
        )
        .await
        .map_err(pg_error)?;
        let count: i64 = col(&r, 0)?;
        usize::try_from(count).map_err(|_| StoreError::Internal(format!("count {count}")))
    }

    async fn insert_permission(
        &mut self,
        service: &ServiceId,
        record: &PermissionRecord,
    ) -> StoreResult<()> {
        x(
            self.c,
            "INSERT INTO endpoint_service_permissions
                 (id, endpoint_service_id, permission, permission_type, description, created_at,
                  updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &record.id,
                &service.as_str(),
                &record.permission,
                &record.permission_type,
                &record.description,
                &record.created_at,
                &record.updated_at,
            ],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn set_permission_description(
        &mut self,
        id: &str,
        description: &str,
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoint_service_permissions SET description = $1, updated_at = $2
             WHERE id = $3",
            &[&description, &now, &id],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn delete_permission_entry(
        &mut self,
        service: &ServiceId,
        entry: &str,
    ) -> StoreResult<()> {
        x(
            self.c,
            "DELETE FROM endpoint_service_permissions
             WHERE endpoint_service_id = $1 AND permission = $2",
            &[&service.as_str(), &entry],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn delete_permissions(&mut self, ids: &[&str]) -> StoreResult<()> {
        x(
            self.c,
            "DELETE FROM endpoint_service_permissions WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn list_permissions(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> StoreResult<Page<PermissionRecord>> {
        rows::page(self.c, &LIST, query, page, row).await
    }
}
