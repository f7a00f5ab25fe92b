//! Whitelist rows of endpoint services.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::db_error;
use super::rows::ListQuery;
use super::services::require_service;
use crate::domain::{ids::new_uuid, time, Permission, PermissionRecord};
use crate::store::{NewPermission, Page, PageRequest, StoreError, StoreResult, MAX_WHITELIST};

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

/// The whitelist entries of a service, as stored.
pub fn entries(c: &Connection, service_id: &str) -> StoreResult<Vec<String>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT permission FROM endpoint_service_permissions WHERE endpoint_service_id = ?1
             ORDER BY created_at, permission",
        )
        .map_err(db_error)?;
    let rows = stmt
        .query_map([service_id], |r| r.get::<_, String>(0))
        .map_err(db_error)?;
    rows.collect::<Result<_, _>>().map_err(db_error)
}

fn by_permission(
    c: &Connection,
    service_id: &str,
    permission: &str,
) -> StoreResult<Option<PermissionRecord>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM endpoint_service_permissions
         WHERE endpoint_service_id = ?1 AND permission = ?2"
    ))
    .and_then(|mut s| s.query_row([service_id, permission], row).optional())
    .map_err(db_error)
}

fn by_id(c: &Connection, service_id: &str, id: &str) -> StoreResult<Option<PermissionRecord>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM endpoint_service_permissions
         WHERE endpoint_service_id = ?1 AND id = ?2"
    ))
    .and_then(|mut s| s.query_row([service_id, id], row).optional())
    .map_err(db_error)
}

fn count(c: &Connection, service_id: &str) -> StoreResult<usize> {
    c.prepare_cached(
        "SELECT COUNT(*) FROM endpoint_service_permissions WHERE endpoint_service_id = ?1",
    )
    .and_then(|mut s| s.query_row([service_id], |r| r.get::<_, i64>(0)))
    .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    .map_err(db_error)
}

/// Inserts an entry unless it exists; returns the (new or existing) record.
fn insert(
    c: &Connection,
    service_id: &str,
    p: &Permission,
    description: Option<&str>,
    now: i64,
) -> StoreResult<PermissionRecord> {
    if let Some(mut existing) = by_permission(c, service_id, p.as_str())? {
        if let Some(d) = description.filter(|d| *d != existing.description) {
            c.prepare_cached(
                "UPDATE endpoint_service_permissions SET description = ?1, updated_at = ?2
                 WHERE id = ?3",
            )
            .and_then(|mut s| s.execute(params![d, now, existing.id]))
            .map_err(db_error)?;
            existing.description = d.to_owned();
            existing.updated_at = now;
        }
        return Ok(existing);
    }
    if count(c, service_id)? >= MAX_WHITELIST {
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
    c.prepare_cached(
        "INSERT INTO endpoint_service_permissions
             (id, endpoint_service_id, permission, permission_type, description, created_at,
              updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            record.id,
            service_id,
            record.permission,
            record.permission_type,
            record.description,
            now
        ])
    })
    .map_err(db_error)?;
    Ok(record)
}

pub fn add_or_remove(
    c: &Connection,
    project_id: &str,
    service_id: &str,
    entries_in: &[Permission],
    add: bool,
) -> StoreResult<Vec<String>> {
    require_service(c, project_id, service_id)?;
    let now = time::now();
    for p in entries_in {
        if add {
            insert(c, service_id, p, None, now)?;
        } else {
            c.prepare_cached(
                "DELETE FROM endpoint_service_permissions
                 WHERE endpoint_service_id = ?1 AND permission = ?2",
            )
            .and_then(|mut s| s.execute([service_id, p.as_str()]))
            .map_err(db_error)?;
        }
    }
    entries(c, service_id)
}

pub fn batch_add(
    c: &Connection,
    project_id: &str,
    service_id: &str,
    items: &[NewPermission],
) -> StoreResult<Vec<PermissionRecord>> {
    require_service(c, project_id, service_id)?;
    let now = time::now();
    items
        .iter()
        .map(|i| insert(c, service_id, &i.permission, Some(&i.description), now))
        .collect()
}

pub fn batch_remove(
    c: &Connection,
    project_id: &str,
    service_id: &str,
    ids: &[String],
) -> StoreResult<Vec<PermissionRecord>> {
    require_service(c, project_id, service_id)?;
    let mut removed = Vec::with_capacity(ids.len());
    for id in ids {
        let record =
            by_id(c, service_id, id)?.ok_or_else(|| StoreError::NotAPermission(id.clone()))?;
        removed.push(record);
    }
    for r in &removed {
        c.prepare_cached("DELETE FROM endpoint_service_permissions WHERE id = ?1")
            .and_then(|mut s| s.execute([&r.id]))
            .map_err(db_error)?;
    }
    Ok(removed)
}

pub fn list(
    c: &Connection,
    project_id: &str,
    service_id: &str,
    permission_like: Option<&str>,
    page: PageRequest,
) -> StoreResult<Page<PermissionRecord>> {
    require_service(c, project_id, service_id)?;
    const SELECT: &str = "SELECT id, permission, permission_type, description, created_at, \
         updated_at FROM endpoint_service_permissions";
    let mut q = ListQuery::new(
        SELECT,
        "SELECT COUNT(*) FROM endpoint_service_permissions",
        "",
    );
    q.filter("endpoint_service_id = ?", service_id.to_owned());
    if let Some(like) = permission_like {
        q.filter("instr(lower(permission), lower(?)) > 0", like.to_owned());
    }
    q.page(c, page, row)
}

pub fn update_description(
    c: &Connection,
    project_id: &str,
    service_id: &str,
    permission_id: &str,
    description: &str,
) -> StoreResult<PermissionRecord> {
    require_service(c, project_id, service_id)?;
    let mut record = by_id(c, service_id, permission_id)?.ok_or(StoreError::NotFound)?;
    if record.description != description {
        let now = time::now();
        c.prepare_cached(
            "UPDATE endpoint_service_permissions SET description = ?1, updated_at = ?2
             WHERE id = ?3",
        )
        .and_then(|mut s| s.execute(params![description, now, record.id]))
        .map_err(db_error)?;
        record.description = description.to_owned();
        record.updated_at = now;
    }
    Ok(record)
}
