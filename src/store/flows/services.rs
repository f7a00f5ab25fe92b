//! Endpoint services, as their owner manages them, and the lookup consumers make before
//! connecting.

use super::{reserve_quota, Access, Flow};
use crate::domain::catalogue::{self, PublicEntry};
use crate::domain::{
    compose_service_name, ids::new_uuid, lifecycle, ports_clash_with_any, time, EndpointService,
    NewService, Port, ProjectId, QuotaKind, ServerResource, ServiceError, ServiceId, ServicePatch,
    Tenant, EDITION_BASIC, EDITION_PROFESSION,
};
use crate::store::list::ListQuery;
use crate::store::tx::{Lock, StoredService, Tx};
use crate::store::{DescribeBy, Page, PageRequest, ServiceFilter, StoreError, StoreResult};

/// EndPoint.3044 unless `ports` are free on the backend port `port_id` of `project`. Two nodes
/// checking the same port do it one at a time.
async fn check_ports_free<T: Tx>(
    tx: &mut T,
    project: &ProjectId,
    port_id: &str,
    ports: &[Port],
    except: Option<&ServiceId>,
) -> StoreResult<()> {
    tx.serialize(&format!("vpcep-port:{project}:{port_id}"))
        .await?;
    let others = tx.services_on_port(project, port_id).await?;
    let others = others.iter().map(|(id, p)| (id.as_str(), p.as_slice()));
    if ports_clash_with_any(ports, others, except.map(ServiceId::as_str)) {
        return Err(StoreError::PortsConflict);
    }
    Ok(())
}

/// The service `id` of `project`, or 404.
async fn owned<T: Tx>(
    tx: &mut T,
    project: &ProjectId,
    id: &ServiceId,
    lock: Lock,
) -> StoreResult<StoredService> {
    tx.service(Some(project), id, lock)
        .await?
        .ok_or(StoreError::NotFound)
}

pub struct Create {
    pub owner: Tenant,
    pub region: String,
    pub new: NewService,
    /// The owner's project's quota of endpoint services.
    pub quota: u64,
}

impl Flow for Create {
    type Output = EndpointService;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<EndpointService> {
        let (owner, new) = (&self.owner, &self.new);
        let id = new_uuid();
        let quota_shard = reserve_quota(
            tx,
            &owner.project_id,
            QuotaKind::EndpointService,
            self.quota,
            &id,
        )
        .await?;
        check_ports_free(tx, &owner.project_id, &new.port_id, &new.ports, None).await?;
        let fault = tx.take_fault(&owner.project_id).await?;
        let start = lifecycle::service_start(fault.is_some(), new.delay_ms, time::now_ms());
        let now = time::now();
        let service = EndpointService {
            service_name: compose_service_name(&self.region, new.name.as_deref(), &id),
            id,
            project_id: owner.project_id.to_string(),
            domain_id: owner.domain_id.to_string(),
            port_id: new.port_id.clone(),
            vpc_id: new.vpc_id.clone(),
            pool_id: new_uuid(),
            server_type: new.server_type.clone(),
            service_type: new.service_type.clone(),
            approval_enabled: new.approval_enabled,
            status: start.status,
            ip: new.ip.clone(),
            tcp_proxy: new.tcp_proxy.clone(),
            description: new.description.clone(),
            enable_policy: new.enable_policy,
            ip_version: new.ip_version.clone(),
            ports: new.ports.clone(),
            tags: new.tags.clone(),
            created_at: now,
            updated_at: now,
            connection_count: 0,
            error: fault.into_iter().map(ServiceError::from).collect(),
            public: false,
            owner: String::new(),
            is_charge: false,
            supported_editions: vec![EDITION_BASIC.to_owned()],
            server_resources: Vec::new(),
        };
        tx.insert_service(&service, new.name.as_deref(), &start, quota_shard)
            .await?;
        Ok(service)
    }
}

pub struct Get {
    pub project: ProjectId,
    pub id: ServiceId,
}

impl Flow for Get {
    type Output = EndpointService;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<EndpointService> {
        Ok(owned(tx, &self.project, &self.id, Lock::No).await?.service)
    }
}

pub struct List {
    pub project: ProjectId,
    pub filter: ServiceFilter,
    pub page: PageRequest,
}

impl Flow for List {
    type Output = Page<EndpointService>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        let f = &self.filter;
        let query = ListQuery::new()
            .eq("s.project_id", self.project.as_str())
            .eq_opt("s.id", f.id.as_deref())
            .eq_opt("s.status", f.status.map(|s| s.as_str()))
            .contains_opt("s.service_name", f.name.as_deref());
        tx.list_services(&query, self.page).await
    }
}

pub struct Update {
    pub project: ProjectId,
    pub id: ServiceId,
    pub region: String,
    pub patch: ServicePatch,
}

impl Flow for Update {
    type Output = EndpointService;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<EndpointService> {
        let old = owned(tx, &self.project, &self.id, Lock::Update).await?;
        if !old.service.status.allows_update() {
            return Err(StoreError::ServiceStateForbids);
        }
        let (mut new, name) = self.patch.apply(&old.service, old.name, &self.region);
        if new == old.service {
            return Ok(new);
        }
        if new.ports != old.service.ports || new.port_id != old.service.port_id {
            check_ports_free(tx, &self.project, &new.port_id, &new.ports, Some(&self.id)).await?;
        }
        new.updated_at = time::now();
        tx.update_service(&new, name.as_deref()).await?;
        Ok(new)
    }
}

/// Deletes at once (`delay_ms` 0) or marks the service `deleting` until the delay passes.
pub struct Delete {
    pub project: ProjectId,
    pub id: ServiceId,
    pub delay_ms: i64,
}

impl Flow for Delete {
    type Output = ();
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<()> {
        let found = owned(tx, &self.project, &self.id, Lock::Update).await?;
        if !found.service.status.allows_delete() {
            return Err(StoreError::ServiceBusy);
        }
        if tx.service_has_endpoints(&self.id).await? {
            return Err(StoreError::ServiceInUse);
        }
        if self.delay_ms > 0 {
            let due = time::now_ms().saturating_add(self.delay_ms);
            tx.mark_service_deleting(&self.id, due, time::now()).await
        } else {
            tx.delete_service(&self.id).await
        }
    }
}

/// Any tenant's service, for consumers looking one up before connecting.
pub struct Describe {
    pub by: DescribeBy,
}

impl Flow for Describe {
    type Output = EndpointService;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<EndpointService> {
        let found = match &self.by {
            DescribeBy::Id(id) => tx.service(None, id, Lock::No).await?.map(|s| s.service),
            DescribeBy::Name(name) => tx.service_by_full_name(name).await?,
        };
        found.ok_or(StoreError::NotFound)
    }
}

/// Fault injection: the service becomes `failed` with `error`.
pub struct Fail {
    pub project: ProjectId,
    pub id: ServiceId,
    pub error: ServiceError,
}

impl Flow for Fail {
    type Output = EndpointService;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<EndpointService> {
        owned(tx, &self.project, &self.id, Lock::Update).await?;
        tx.set_service_failed(&self.id, &self.error, time::now())
            .await?;
        Ok(owned(tx, &self.project, &self.id, Lock::No).await?.service)
    }
}

/// Puts the entries of the public catalogue in `region` that are not there yet; returns how
/// many it added. Nodes starting at once add each entry once.
pub struct EnsureCatalogue {
    pub region: String,
    pub entries: Vec<PublicEntry>,
}

impl Flow for EnsureCatalogue {
    type Output = usize;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<usize> {
        tx.serialize("vpcep-catalogue").await?;
        let mut added = 0;
        for entry in &self.entries {
            let service = catalogue::service(entry, &self.region, time::now());
            let id = ServiceId::stored(service.id.clone());
            if tx.service(None, &id, Lock::No).await?.is_none() {
                let start = lifecycle::service_start(false, 0, time::now_ms());
                tx.insert_service(&service, Some(&entry.name), &start, 0)
                    .await?;
                added += 1;
            }
        }
        Ok(added)
    }
}

/// ListServicePublicDetails: the catalogue, as lists page it.
pub struct ListPublic {
    pub filter: ServiceFilter,
    pub page: PageRequest,
}

impl Flow for ListPublic {
    type Output = Page<EndpointService>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        let f = &self.filter;
        let query = ListQuery::new()
            .eq("s.project_id", catalogue::PUBLIC_PROJECT)
            .eq_opt("s.id", f.id.as_deref())
            .contains_opt("s.service_name", f.name.as_deref());
        tx.list_services(&query, self.page).await
    }
}

/// The caller's service `id`, in a state that allows changes (EndPoint.3045 otherwise),
/// row-locked for update.
async fn changeable<T: Tx>(
    tx: &mut T,
    project: &ProjectId,
    id: &ServiceId,
) -> StoreResult<StoredService> {
    let found = owned(tx, project, id, Lock::Update).await?;
    if !found.service.status.allows_update() {
        return Err(StoreError::ServiceStateForbids);
    }
    Ok(found)
}

/// UpgradeEndpointService (v2): the service supports the professional edition from now on, so
/// its endpoints may be upgraded; again is a no-op.
pub struct Upgrade {
    pub project: ProjectId,
    pub id: ServiceId,
}

impl Flow for Upgrade {
    type Output = ();
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<()> {
        let StoredService { mut service, name } = changeable(tx, &self.project, &self.id).await?;
        if service
            .supported_editions
            .iter()
            .any(|e| e == EDITION_PROFESSION)
        {
            return Ok(());
        }
        service
            .supported_editions
            .push(EDITION_PROFESSION.to_owned());
        service.updated_at = time::now();
        tx.update_service(&service, name.as_deref()).await
    }
}

/// AddEndpointServiceServerResource (v2): adds backend ELB instances to an `LB` service
/// (EndPoint.3021 for another server type). One already there keeps its place and takes the
/// availability zone given; a service holds at most `MAX_SERVER_RESOURCES` (EndPoint.0016).
pub struct AddServerResources {
    pub project: ProjectId,
    pub id: ServiceId,
    pub resources: Vec<ServerResource>,
}

/// At most 50 backend resources on one service.
pub const MAX_SERVER_RESOURCES: usize = 50;

impl Flow for AddServerResources {
    type Output = ();
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<()> {
        let StoredService { mut service, name } = changeable(tx, &self.project, &self.id).await?;
        if service.server_type != "LB" {
            return Err(StoreError::NotAnLbService);
        }
        let before = service.server_resources.clone();
        for r in &self.resources {
            match service
                .server_resources
                .iter_mut()
                .find(|s| s.resource_id == r.resource_id)
            {
                Some(s) => s.availability_zone_id = r.availability_zone_id.clone(),
                None => service.server_resources.push(r.clone()),
            }
        }
        if service.server_resources.len() > MAX_SERVER_RESOURCES {
            return Err(StoreError::TooManyServerResources);
        }
        if service.server_resources == before {
            return Ok(());
        }
        service.updated_at = time::now();
        tx.update_service(&service, name.as_deref()).await
    }
}
