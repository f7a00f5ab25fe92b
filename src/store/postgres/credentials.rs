//! Credential rows.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::rows::{col, q, q_one, q_opt, x};
use super::{pg_error, PgTx};
use crate::domain::Credential;
use crate::store::tx::CredentialRows;
use crate::store::StoreResult;

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

impl<C: GenericClient> CredentialRows for PgTx<'_, C> {
    async fn credential_by_token(&mut self, token_sha256: &str) -> StoreResult<Option<Credential>> {
        one_by(self.c, "token_sha256", token_sha256).await
    }

    async fn credential_by_access_key(
        &mut self,
        access_key: &str,
    ) -> StoreResult<Option<Credential>> {
        one_by(self.c, "access_key", access_key).await
    }

    async fn any_credential(&mut self) -> StoreResult<bool> {
        let r = q_one(self.c, "SELECT EXISTS(SELECT 1 FROM credentials)", &[])
            .await
            .map_err(pg_error)?;
        col(&r, 0)
    }

    async fn other_account_of_project(
        &mut self,
        project_id: &str,
        domain_id: &str,
    ) -> StoreResult<Option<String>> {
        q_opt(
            self.c,
            "SELECT domain_id FROM credentials WHERE project_id = $1 AND domain_id <> $2 LIMIT 1",
            &[&project_id, &domain_id],
        )
        .await
        .map_err(pg_error)?
        .map(|r| col(&r, 0))
        .transpose()
    }

    async fn insert_credential(
        &mut self,
        cred: &Credential,
        token_sha256: &str,
    ) -> StoreResult<bool> {
        x(
            self.c,
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
        .map(|inserted| inserted > 0)
        .map_err(pg_error)
    }

    async fn list_credentials(&mut self) -> StoreResult<Vec<Credential>> {
        q(
            self.c,
            &format!("SELECT {COLUMNS} FROM credentials ORDER BY created_at, access_key"),
            &[],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(row)
        .collect()
    }

    async fn delete_credential(&mut self, access_key: &str) -> StoreResult<bool> {
        x(
            self.c,
            "DELETE FROM credentials WHERE access_key = $1",
            &[&access_key],
        )
        .await
        .map(|n| n > 0)
        .map_err(pg_error)
    }
}
