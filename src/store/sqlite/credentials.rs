//! Credential rows.

use rusqlite::{params, OptionalExtension, Row};

use super::{db_error, SqliteTx};
use crate::domain::Credential;
use crate::store::tx::CredentialRows;
use crate::store::StoreResult;

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

impl SqliteTx<'_> {
    fn credential_by(&self, column: &str, value: &str) -> StoreResult<Option<Credential>> {
        self.c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM credentials WHERE {column} = ?1"
            ))
            .and_then(|mut s| s.query_row([value], row).optional())
            .map_err(db_error)
    }
}

impl CredentialRows for SqliteTx<'_> {
    async fn credential_by_token(&mut self, token_sha256: &str) -> StoreResult<Option<Credential>> {
        self.credential_by("token_sha256", token_sha256)
    }

    async fn credential_by_access_key(
        &mut self,
        access_key: &str,
    ) -> StoreResult<Option<Credential>> {
        self.credential_by("access_key", access_key)
    }

    async fn any_credential(&mut self) -> StoreResult<bool> {
        self.c
            .query_row("SELECT EXISTS(SELECT 1 FROM credentials)", [], |r| r.get(0))
            .map_err(db_error)
    }

    async fn other_account_of_project(
        &mut self,
        project_id: &str,
        domain_id: &str,
    ) -> StoreResult<Option<String>> {
        self.c
            .query_row(
                "SELECT domain_id FROM credentials WHERE project_id = ?1 AND domain_id <> ?2
                 LIMIT 1",
                params![project_id, domain_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_error)
    }

    async fn insert_credential(
        &mut self,
        cred: &Credential,
        token_sha256: &str,
    ) -> StoreResult<bool> {
        self.c
            .execute(
                "INSERT INTO credentials (name, domain_id, project_id, access_key, secret_key,
                                          token_sha256, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (access_key) DO NOTHING",
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
            .map(|n| n > 0)
            .map_err(db_error)
    }

    async fn list_credentials(&mut self) -> StoreResult<Vec<Credential>> {
        let mut stmt = self
            .c
            .prepare(&format!(
                "SELECT {COLUMNS} FROM credentials ORDER BY created_at, access_key"
            ))
            .map_err(db_error)?;
        let rows = stmt.query_map([], row).map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    async fn delete_credential(&mut self, access_key: &str) -> StoreResult<bool> {
        self.c
            .execute(
                "DELETE FROM credentials WHERE access_key = ?1",
                [access_key],
            )
            .map(|n| n > 0)
            .map_err(db_error)
    }
}
