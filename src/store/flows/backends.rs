//! The backend registry of the data plane (`vpcep backends`, `/_vpcep/v1/{project_id}/backends`):
//! where connections to services created without an `ip` are forwarded.

use super::{Access, Flow};
use crate::domain::route::Backend;
use crate::store::tx::Tx;
use crate::store::{StoreError, StoreResult};

/// Registers (or replaces) a backend address.
pub struct Set {
    pub backend: Backend,
}

impl Flow for Set {
    type Output = Backend;
    const ACCESS: Access = Access::Statement;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Backend> {
        tx.set_backend(&self.backend).await?;
        Ok(self.backend.clone())
    }
}

/// The registrations a project's services use (its own and those for every project), or all
/// of them (`project_id: None`, the command line).
pub struct List {
    pub project_id: Option<String>,
}

impl Flow for List {
    type Output = Vec<Backend>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Vec<Backend>> {
        tx.backends(self.project_id.as_deref()).await
    }
}

/// Removes a registration; 404 when there is none.
pub struct Delete {
    pub project_id: String,
    pub port_id: String,
}

impl Flow for Delete {
    type Output = ();
    const ACCESS: Access = Access::Statement;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<()> {
        if tx.delete_backend(&self.project_id, &self.port_id).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }
}
