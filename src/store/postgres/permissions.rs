//! Whitelist rows of endpoint services.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::pg_error;
use super::rows::{col, ListQuery};
use super::rows::{q, q_one, q_opt, x};
use super::services::require_service;
use crate::domain::{ids::new_uuid, time, Permission, PermissionRecord};
use crate::store::{NewPermission, Page, PageRequest, StoreError, StoreResult, MAX_WHITELIST};

const COLUMNS: &str = "id, permission, permission_type, description, created_at, updated_at";

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

/// The whitelist entries of a service, as stored.
pub async fn entries(c: &impl GenericClient, service_id: &str) -> StoreResult<Vec<String>> {
    q(
        c,
        "SELECT permission FROM endpoint_service_permissions WHERE endpoint_service_id = $1
         ORDER BY created_at, permission",
        &[&service_id],
    )
    .await
    .map_err(pg_error)?
    .iter()
    .map(|r| col(r, 0))
    .collect()
}

async fn one(
    c: &impl GenericClient,
    service_id: &str,
    column: &str,
    value: &str,
) -> StoreResult<Option<PermissionRecord>> {
    q_opt(
        c,
        &format!(
            "SELECT {COLUMNS} FROM endpoint_service_permissions
             WHERE endpoint_service_id = $1 AND {column} = $2 FOR UPDATE"
        ),
        &[&service_id, &value],
    )
    .await
    .map_err(pg_error)?
    .as_ref()
    .map(row)
    .transpose()
}

/// Inserts an entry unless it exists; returns the (new or existing) record. The caller holds the
/// service's row lock exclusively (see `lock_whitelist`), so the count check cannot race.
async fn insert(
    c: &impl GenericClient,
    service_id: &str,
    p: &Permission,
    description: Option<&str>,
    now: i64,
) -> StoreResult<PermissionRecord> {
    if let Some(mut existing) = one(c, service_id, "permission", p.as_str()).await? {
        if let Some(d) = description.filter(|d| *d != existing.description) {
            x(
                c,
                "UPDATE endpoint_service_permissions SET description = $1, updated_at = $2
                 WHERE id = $3",
                &[&d, &now, &existing.id],
            )
            .await
            .map_err(pg_error)?;
            existing.description = d.to_owned();
            existing.updated_at = now;
        }
        return Ok(existing);
    }
    let count: i64 = q_one(
        c,
        "SELECT COUNT(*) FROM endpoint_service_permissions WHERE endpoint_service_id = $1",
        &[&service_id],
    )
    .await
    .map_err(pg_error)?
    .get(0);
    if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_WHITELIST {
        return Err(StoreError::WhitelistFull);
    }
    let record = PermissionRecord {
        id: new_uuid(),
        permission: p.as_str().to_owned(),
        permission_type: p.kind().as_str().to_owned(),
        description: description.unwrap_or("").to_owned(),
        created_at: now,
        updated_at: now,
    };
    x(
        c,
        "INSERT INTO endpoint_service_permissions
             (id, endpoint_service_id, permission, permission_type, description, created_at,
              updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
        &[
            &record.id,
            &service_id,
            &record.permission,
            &record.permission_type,
            &record.description,
            &now,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(record)
}

/// The service is in the caller's project; its whitelist is changed by one writer at a time.
async fn lock_whitelist(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
) -> StoreResult<()> {
    require_service(c, project_id, service_id).await?;
    x(
        c,
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[&format!("vpcep-whitelist:{service_id}")],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

pub async fn add_or_remove(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
    entries_in: &[Permission],
    add: bool,
) -> StoreResult<Vec<String>> {
    lock_whitelist(c, project_id, service_id).await?;
    let now = time::now();
    for p in entries_in {
        if add {
            insert(c, service_id, p, None, now).await?;
        } else {
            x(
                c,
                "DELETE FROM endpoint_service_permissions
                 WHERE endpoint_service_id = $1 AND permission = $2",
                &[&service_id, &p.as_str()],
            )
            .await
            .map_err(pg_error)?;
        }
    }
    entries(c, service_id).await
}

pub async fn batch_add(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
    items: &[NewPermission],
) -> StoreResult<Vec<PermissionRecord>> {
    lock_whitelist(c, project_id, service_id).await?;
    let now = time::now();
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        out.push(insert(c, service_id, &i.permission, Some(&i.description), now).await?);
    }
    Ok(out)
}

pub async fn batch_remove(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
    ids: &[String],
) -> StoreResult<Vec<PermissionRecord>> {
    lock_whitelist(c, project_id, service_id).await?;
    let mut removed = Vec::with_capacity(ids.len());
    for id in ids {
        let record = one(c, service_id, "id", id)
            .await?
            .ok_or_else(|| StoreError::NotAPermission(id.clone()))?;
        removed.push(record);
    }
    let removed_ids: Vec<&str> = removed.iter().map(|r| r.id.as_str()).collect();
    x(
        c,
        "DELETE FROM endpoint_service_permissions WHERE id = ANY($1)",
        &[&removed_ids],
    )
    .await
    .map_err(pg_error)?;
    Ok(removed)
}

pub async fn list(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
    permission_like: Option<&str>,
    page: PageRequest,
) -> StoreResult<Page<PermissionRecord>> {
    require_service(c, project_id, service_id).await?;
    const SELECT: &str = "SELECT id, permission, permission_type, description, created_at, \
         updated_at FROM endpoint_service_permissions";
    let mut q = ListQuery::new(
        SELECT,
        "SELECT COUNT(*) FROM endpoint_service_permissions",
        "",
    );
    q.filter("endpoint_service_id = $?", service_id.to_owned());
    if let Some(like) = permission_like {
        q.filter("strpos(lower(permission), lower($?)) > 0", like.to_owned());
    }
    q.page(c, page, row).await
}

pub async fn update_description(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
    permission_id: &str,
    description: &str,
) -> StoreResult<PermissionRecord> {
    require_service(c, project_id, service_id).await?;
    let mut record = one(c, service_id, "id", permission_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if record.description != description {
        let now = time::now();
        x(
            c,
            "UPDATE endpoint_service_permissions SET description = $1, updated_at = $2
             WHERE id = $3",
            &[&description, &now, &record.id],
        )
        .await
        .map_err(pg_error)?;
        record.description = description.to_owned();
        record.updated_at = now;
    }
    Ok(record)
}
