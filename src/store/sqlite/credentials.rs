//! Credential rows.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::db_error;
use crate::domain::Credential;
use crate::store::{StoreError, StoreResult};

const COLUMNS: &str = "name, domain_id, project_id, access_key, secret_key, created_at";

fn row(r: &Row<'_>) -> rusqlite::Result<Credential> {
    Ok(Credential {
        name: r.get(0)?,
        domain_id: r.get(1)?,
        project_id: r.get(2)?,
        access_key: r.get(3)?,
        secret_key: r.get(4)?,
        created_at: r.get(5)?,
    })
}

pub fn by_token(c: &Connection, token_sha256: &str) -> StoreResult<Option<Credential>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM credentials WHERE token_sha256 = ?1"
    ))
    .and_then(|mut s| s.query_row([token_sha256], row).optional())
    .map_err(db_error)
}

pub fn by_access_key(c: &Connection, access_key: &str) -> StoreResult<Option<Credential>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM credentials WHERE access_key = ?1"
    ))
    .and_then(|mut s| s.query_row([access_key], row).optional())
    .map_err(db_error)
}

pub fn any(c: &Connection) -> StoreResult<bool> {
    c.query_row("SELECT EXISTS(SELECT 1 FROM credentials)", [], |r| r.get(0))
        .map_err(db_error)
}

pub fn insert(c: &Connection, cred: &Credential, token_sha256: &str) -> StoreResult<()> {
    // A project belongs to exactly one account.
    let owner: Option<String> = c
        .query_row(
            "SELECT domain_id FROM credentials WHERE project_id = ?1 AND domain_id <> ?2 LIMIT 1",
            params![cred.project_id, cred.domain_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_error)?;
    if owner.is_some() {
        return Err(StoreError::ProjectOfAnotherDomain(cred.project_id.clone()));
    }
    let exists: bool = c
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM credentials WHERE access_key = ?1)",
            [&cred.access_key],
            |r| r.get(0),
        )
        .map_err(db_error)?;
    if exists {
        return Err(StoreError::DuplicateAccessKey);
    }
    c.execute(
        "INSERT INTO credentials (name, domain_id, project_id, access_key, secret_key,
                                  token_sha256, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            cred.name,
            cred.domain_id,
            cred.project_id,
            cred.access_key,
            cred.secret_key,
            token_sha256,
            cred.created_at
        ],
    )
    .map_err(db_error)?;
    Ok(())
}

pub fn list(c: &Connection) -> StoreResult<Vec<Credential>> {
    let mut stmt = c
        .prepare(&format!(
            "SELECT {COLUMNS} FROM credentials ORDER BY created_at, access_key"
        ))
        .map_err(db_error)?;
    let rows = stmt.query_map([], row).map_err(db_error)?;
    rows.collect::<Result<_, _>>().map_err(db_error)
}

pub fn delete(c: &Connection, access_key: &str) -> StoreResult<bool> {
    c.execute(
        "DELETE FROM credentials WHERE access_key = ?1",
        [access_key],
    )
    .map(|n| n > 0)
    .map_err(db_error)
}
