//! Credential rows.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::pg_error;
use super::rows::col;
use super::rows::{q, q_one, q_opt, x};
use crate::domain::Credential;
use crate::store::{StoreError, StoreResult};

const COLUMNS: &str = "name, domain_id, project_id, access_key, secret_key, created_at";

fn row(r: &Row) -> StoreResult<Credential> {
    Ok(Credential {
        name: col(r, 0)?,
        domain_id: col(r, 1)?,
        project_id: col(r, 2)?,
        access_key: col(r, 3)?,
        secret_key: col(r, 4)?,
        created_at: col(r, 5)?,
    })
}

async fn one_by(
    c: &impl GenericClient,
    column: &str,
    value: &str,
) -> StoreResult<Option<Credential>> {
    q_opt(
        c,
        &format!("SELECT {COLUMNS} FROM credentials WHERE {column} = $1"),
        &[&value],
    )
    .await
    .map_err(pg_error)?
    .as_ref()
    .map(row)
    .transpose()
}

pub async fn by_token(
    c: &impl GenericClient,
    token_sha256: &str,
) -> StoreResult<Option<Credential>> {
    one_by(c, "token_sha256", token_sha256).await
}

pub async fn by_access_key(
    c: &impl GenericClient,
    access_key: &str,
) -> StoreResult<Option<Credential>> {
    one_by(c, "access_key", access_key).await
}

pub async fn insert(
    c: &impl GenericClient,
    cred: &Credential,
    token_sha256: &str,
) -> StoreResult<()> {
    // A project belongs to exactly one account; the lock keeps two nodes from racing on it.
    x(
        c,
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[&format!("vpcep-project:{}", cred.project_id)],
    )
    .await
    .map_err(pg_error)?;
    let other_owner = q_opt(
        c,
        "SELECT domain_id FROM credentials WHERE project_id = $1 AND domain_id <> $2 LIMIT 1",
        &[&cred.project_id, &cred.domain_id],
    )
    .await
    .map_err(pg_error)?;
    if other_owner.is_some() {
        return Err(StoreError::ProjectOfAnotherDomain(cred.project_id.clone()));
    }
    let inserted = x(
        c,
        "INSERT INTO credentials (name, domain_id, project_id, access_key, secret_key,
                                      token_sha256, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (access_key) DO NOTHING",
        &[
            &cred.name,
            &cred.domain_id,
            &cred.project_id,
            &cred.access_key,
            &cred.secret_key,
            &token_sha256,
            &cred.created_at,
        ],
    )
    .await
    .map_err(pg_error)?;
    if inserted == 0 {
        return Err(StoreError::DuplicateAccessKey);
    }
    Ok(())
}

/// Creates `cred` only when no credential exists; nodes starting together on an empty database
/// take a lock first, so exactly one of them creates it.
pub async fn bootstrap(
    c: &impl GenericClient,
    cred: &Credential,
    token_sha256: &str,
) -> StoreResult<bool> {
    x(
        c,
        "SELECT pg_advisory_xact_lock(hashtext('vpcep-bootstrap'))",
        &[],
    )
    .await
    .map_err(pg_error)?;
    let any: bool = q_one(c, "SELECT EXISTS(SELECT 1 FROM credentials)", &[])
        .await
        .map_err(pg_error)?
        .get(0);
    if any {
        return Ok(false);
    }
    insert(c, cred, token_sha256).await.map(|()| true)
}

pub async fn list(c: &impl GenericClient) -> StoreResult<Vec<Credential>> {
    q(
        c,
        &format!("SELECT {COLUMNS} FROM credentials ORDER BY created_at, access_key"),
        &[],
    )
    .await
    .map_err(pg_error)?
    .iter()
    .map(row)
    .collect()
}

pub async fn delete(c: &impl GenericClient, access_key: &str) -> StoreResult<bool> {
    x(
        c,
        "DELETE FROM credentials WHERE access_key = $1",
        &[&access_key],
    )
    .await
    .map(|n| n > 0)
    .map_err(pg_error)
}
