//! Whitelists of endpoint services. Every flow is scoped to a service of the caller's project
//! (404 otherwise), and the writers of one whitelist run one at a time, so its maximum
//! (EndPoint.3049) cannot be passed by two concurrent additions.

use super::{require_service, Access, Flow};
use crate::domain::permission::whitelist_has_room;
use crate::domain::{ids::new_uuid, time, Permission, PermissionRecord, ProjectId, ServiceId};
use crate::store::list::ListQuery;
use crate::store::tx::Tx;
use crate::store::{NewPermission, Page, PageRequest, StoreError, StoreResult};

/// [`require_service`], then the whitelist's writers one at a time.
async fn lock_whitelist<T: Tx>(
    tx: &mut T,
    project: &ProjectId,
    service: &ServiceId,
) -> StoreResult<()> {
    require_service(tx, project, service).await?;
    tx.serialize(&format!("vpcep-whitelist:{service}")).await
}

/// Adds an entry unless it exists (then a new description replaces the old); returns the new
/// or existing record.
async fn add<T: Tx>(
    tx: &mut T,
    service: &ServiceId,
    p: &Permission,
    description: Option<&str>,
    now: i64,
) -> StoreResult<PermissionRecord> {
    if let Some(mut existing) = tx.permission_by_entry(service, p.as_str()).await? {
        if let Some(d) = description.filter(|d| *d != existing.description) {
            tx.set_permission_description(&existing.id, d, now).await?;
            existing.description = d.to_owned();
            existing.updated_at = now;
        }
        return Ok(existing);
    }
    if !whitelist_has_room(tx.permission_count(service).await?) {
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
    tx.insert_permission(service, &record).await?;
    Ok(record)
}

/// AddOrRemoveServicePermissions: returns the whole resulting list, oldest first.
pub struct AddOrRemove {
    pub project: ProjectId,
    pub service: ServiceId,
    pub entries: Vec<Permission>,
    pub add: bool,
}

impl Flow for AddOrRemove {
    type Output = Vec<String>;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Vec<String>> {
        lock_whitelist(tx, &self.project, &self.service).await?;
        let now = time::now();
        for p in &self.entries {
            if self.add {
                add(tx, &self.service, p, None, now).await?;
            } else {
                tx.delete_permission_entry(&self.service, p.as_str())
                    .await?;
            }
        }
        tx.whitelist(&self.service).await
    }
}

/// BatchAddEndpointServicePermissions: returns the records named in the request, in its order.
pub struct BatchAdd {
    pub project: ProjectId,
    pub service: ServiceId,
    pub items: Vec<NewPermission>,
}

impl Flow for BatchAdd {
    type Output = Vec<PermissionRecord>;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        lock_whitelist(tx, &self.project, &self.service).await?;
        let now = time::now();
        let mut out = Vec::with_capacity(self.items.len());
        for i in &self.items {
            out.push(add(tx, &self.service, &i.permission, Some(&i.description), now).await?);
        }
        Ok(out)
    }
}

/// BatchRemoveEndpointServicePermissions: all or nothing; returns the removed records.
pub struct BatchRemove {
    pub project: ProjectId,
    pub service: ServiceId,
    pub ids: Vec<String>,
}

impl Flow for BatchRemove {
    type Output = Vec<PermissionRecord>;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        lock_whitelist(tx, &self.project, &self.service).await?;
        let mut removed = Vec::with_capacity(self.ids.len());
        for id in &self.ids {
            let record = tx
                .permission_by_id(&self.service, id)
                .await?
                .ok_or_else(|| StoreError::NotAPermission(id.clone()))?;
            removed.push(record);
        }
        let ids: Vec<&str> = removed.iter().map(|r| r.id.as_str()).collect();
        tx.delete_permissions(&ids).await?;
        Ok(removed)
    }
}

pub struct List {
    pub project: ProjectId,
    pub service: ServiceId,
    pub permission_like: Option<String>,
    pub page: PageRequest,
}

impl Flow for List {
    type Output = Page<PermissionRecord>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        require_service(tx, &self.project, &self.service).await?;
        let query = ListQuery::new()
            .eq("endpoint_service_id", self.service.as_str())
            .contains_opt("permission", self.permission_like.as_deref());
        tx.list_permissions(&query, self.page).await
    }
}

/// UpdateEndpointServicePermissionDesc: `updated_at` moves only when the description changes.
pub struct UpdateDescription {
    pub project: ProjectId,
    pub service: ServiceId,
    pub id: String,
    pub description: String,
}

impl Flow for UpdateDescription {
    type Output = PermissionRecord;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<PermissionRecord> {
        require_service(tx, &self.project, &self.service).await?;
        let mut record = tx
            .permission_by_id(&self.service, &self.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if record.description != self.description {
            let now = time::now();
            tx.set_permission_description(&record.id, &self.description, now)
                .await?;
            record.description = self.description.clone();
            record.updated_at = now;
        }
        Ok(record)
    }
}
