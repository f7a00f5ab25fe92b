//! Credentials: the lookups of authentication and the `credentials` commands.

use super::{Access, Flow};
use crate::domain::Credential;
use crate::store::tx::Tx;
use crate::store::{StoreError, StoreResult};

pub struct ByToken {
    pub token_sha256: String,
}

impl Flow for ByToken {
    type Output = Option<Credential>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        tx.credential_by_token(&self.token_sha256).await
    }
}

pub struct ByAccessKey {
    pub access_key: String,
}

impl Flow for ByAccessKey {
    type Output = Option<Credential>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        tx.credential_by_access_key(&self.access_key).await
    }
}

/// A project belongs to exactly one account, and an access key is unique.
async fn insert<T: Tx>(tx: &mut T, cred: &Credential, token_sha256: &str) -> StoreResult<()> {
    tx.serialize(&format!("vpcep-project:{}", cred.project_id))
        .await?;
    if tx
        .other_account_of_project(&cred.project_id, &cred.domain_id)
        .await?
        .is_some()
    {
        return Err(StoreError::ProjectOfAnotherDomain(cred.project_id.clone()));
    }
    if !tx.insert_credential(cred, token_sha256).await? {
        return Err(StoreError::DuplicateAccessKey);
    }
    Ok(())
}

pub struct Create {
    pub credential: Credential,
    pub token_sha256: String,
}

impl Flow for Create {
    type Output = ();
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<()> {
        insert(tx, &self.credential, &self.token_sha256).await
    }
}

/// Creates the credential only when no credential exists yet; true when it did. Nodes starting
/// together on an empty database serialize, so exactly one of them creates it.
pub struct Bootstrap {
    pub credential: Credential,
    pub token_sha256: String,
}

impl Flow for Bootstrap {
    type Output = bool;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<bool> {
        tx.serialize("vpcep-bootstrap").await?;
        if tx.any_credential().await? {
            return Ok(false);
        }
        insert(tx, &self.credential, &self.token_sha256).await?;
        Ok(true)
    }
}

pub struct List;

impl Flow for List {
    type Output = Vec<Credential>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        tx.list_credentials().await
    }
}

pub struct Delete {
    pub access_key: String,
}

impl Flow for Delete {
    type Output = bool;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<bool> {
        tx.delete_credential(&self.access_key).await
    }
}
