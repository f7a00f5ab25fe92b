//! Endpoints as their consumer manages them, and the same rows seen as connections by the
//! service's owner (accept, reject, and the seed operation).

use std::collections::HashSet;

use super::{require_service, reserve_quota, Access, Flow};
use crate::domain::gateway::{self, Rebind};
use crate::domain::{
    ids::new_uuid, lifecycle, may_connect, seed, time, AddressRange, Connection, ConnectionAction,
    DescriptionUpdate, Endpoint, EndpointId, EndpointService, NewEndpoint, ProjectId, QueryError,
    QuotaKind, SeedError, ServiceId, Tenant, EDITION_PROFESSION,
};
use crate::store::list::ListQuery;
use crate::store::tx::{EndpointInsert, Lock, Tx};
use crate::store::{ConnectionFilter, EndpointFilter, Page, PageRequest, StoreError, StoreResult};

impl From<SeedError> for StoreError {
    fn from(e: SeedError) -> Self {
        match e {
            SeedError::NotAConnection(id) => StoreError::NotAConnection(id.to_string()),
            SeedError::Transition(t) => StoreError::Transition(t),
        }
    }
}

/// The new endpoint as its service's type shapes it: an interface endpoint needs a subnet
/// (EndPoint.2010) and has no route tables; a gateway endpoint binds the VPC's default route
/// table unless it names some, and has no DNS name, subnet or IP whitelist. A policy only where
/// the service takes one (EndPoint.2048).
fn shaped_for(new: &NewEndpoint, service: &EndpointService) -> StoreResult<NewEndpoint> {
    if let Some(why) = gateway::policy_refusal(
        &service.service_type,
        service.enable_policy,
        !new.policy_statement.is_empty(),
        new.policy_document.is_some(),
    ) {
        return Err(StoreError::PolicyRefused(why));
    }
    let mut new = new.clone();
    if service.service_type == gateway::GATEWAY {
        if new.routetables.is_empty() {
            new.routetables = vec![gateway::default_route_table(&new.vpc_id)];
        }
        new.enable_dns = false;
        new.subnet_id = None;
        new.whitelist.clear();
        new.enable_whitelist = false;
    } else {
        if new.subnet_id.is_none() {
            return Err(StoreError::SubnetRequired);
        }
        new.routetables.clear();
    }
    Ok(new)
}

/// The route tables other endpoints of `service` in the VPC hold (a table routes to a gateway
/// service through one endpoint only: EndPoint.2039).
async fn taken_routetables<T: Tx>(
    tx: &mut T,
    service: &ServiceId,
    vpc_id: &str,
    except: Option<&EndpointId>,
) -> StoreResult<HashSet<String>> {
    tx.serialize(&format!("vpcep-routetables:{service}:{vpc_id}"))
        .await?;
    Ok(tx
        .routetables_of_service(service, vpc_id)
        .await?
        .into_iter()
        .filter(|(id, _)| except.is_none_or(|e| e.as_str() != id))
        .flat_map(|(_, tables)| tables)
        .collect())
}

/// The address of a new endpoint: the requested one when it is in the range and free
/// (EndPoint.2042 otherwise), else the next free one of the range. The range is the VPC's own,
/// or, with the data plane, one shared by every VPC. Endpoints created at once in one range
/// (through any node) pick their addresses one at a time.
async fn address<T: Tx>(
    tx: &mut T,
    vpc_id: &str,
    range: &AddressRange,
    requested: Option<u32>,
) -> StoreResult<u32> {
    let scope = (!range.shared).then_some(vpc_id);
    match scope {
        Some(vpc) => tx.serialize(&format!("vpcep-vpc:{vpc}")).await?,
        None => tx.serialize("vpcep-data-plane-addresses").await?,
    }
    if let Some(ip) = requested {
        if range.shared && !range.contains(ip) {
            return Err(StoreError::PortIpOutsideRange(range.block()));
        }
        if tx.port_ip_taken(scope, ip).await? {
            return Err(StoreError::PortIpInUse);
        }
        return Ok(ip);
    }
    let highest = tx.highest_ip_in(scope, range).await?;
    match range.after_highest(highest) {
        Some(ip) => Ok(ip),
        None => range
            .lowest_free(tx.ips_in_use(scope, range).await?)
            .ok_or(StoreError::NoFreeAddress),
    }
}

pub struct Create {
    pub consumer: Tenant,
    pub new: NewEndpoint,
    /// The consumer's project's quota of endpoints.
    pub quota: u64,
    /// Where its address comes from.
    pub addresses: AddressRange,
}

impl Flow for Create {
    type Output = Endpoint;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Endpoint> {
        let (consumer, new) = (&self.consumer, &self.new);
        let service = tx
            .service(None, &new.endpoint_service_id, Lock::Share)
            .await?
            .ok_or(StoreError::ServiceMissing)?
            .service;
        let whitelist = tx.whitelist(&new.endpoint_service_id).await?;
        if !may_connect(
            &service,
            consumer.domain_id.as_str(),
            whitelist.iter().map(String::as_str),
        ) {
            return Err(StoreError::ConnectNotPermitted);
        }
        if !service.status.accepts_connections() {
            return Err(StoreError::ServiceNotAvailable);
        }
        let new = &shaped_for(new, &service)?;
        if service.service_type == gateway::GATEWAY {
            let taken = taken_routetables(tx, &new.endpoint_service_id, &new.vpc_id, None).await?;
            if let Some(t) = new.routetables.iter().find(|t| taken.contains(*t)) {
                return Err(StoreError::RouteTableInUse(t.clone()));
            }
        }
        // A gateway endpoint has no address of its own; it still holds one of the VPC's
        // automatic range, which it never shows.
        let requested = new
            .port_ip
            .filter(|_| service.service_type != gateway::GATEWAY);
        let range = if service.service_type == gateway::GATEWAY {
            AddressRange::AUTO
        } else {
            self.addresses
        };
        let port_ip = address(tx, &new.vpc_id, &range, requested).await?;
        let fault = tx.take_fault(&consumer.project_id).await?;
        let start = lifecycle::endpoint_start(
            service.approval_enabled,
            fault.is_some(),
            new.delay_ms,
            time::now_ms(),
        );
        let id = EndpointId::stored(new_uuid());
        // Last before the insert: the quota's lock is held from here to the commit.
        let quota_shard = reserve_quota(
            tx,
            &consumer.project_id,
            QuotaKind::Endpoint,
            self.quota,
            id.as_str(),
        )
        .await?;
        tx.insert_endpoint(EndpointInsert {
            id: id.as_str(),
            consumer,
            service_id: &service.id,
            new,
            port_ip,
            start: &start,
            error: fault.as_ref(),
            now: time::now(),
            quota_shard,
        })
        .await?;
        tx.endpoint(&consumer.project_id, &id)
            .await?
            .ok_or_else(|| StoreError::Internal("a created endpoint cannot be read back".into()))
    }
}

pub struct Get {
    pub project: ProjectId,
    pub id: EndpointId,
}

impl Flow for Get {
    type Output = Endpoint;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Endpoint> {
        tx.endpoint(&self.project, &self.id)
            .await?
            .ok_or(StoreError::NotFound)
    }
}

pub struct List {
    pub project: ProjectId,
    pub filter: EndpointFilter,
    pub page: PageRequest,
}

impl Flow for List {
    type Output = Page<Endpoint>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        let f = &self.filter;
        let query = ListQuery::new()
            .eq("e.project_id", self.project.as_str())
            .eq_opt("e.id", f.id.as_deref())
            .eq_opt("e.vpc_id", f.vpc_id.as_deref())
            .contains_opt("s.service_name", f.service_name.as_deref());
        tx.list_endpoints(&query, self.page).await
    }
}

/// Deletes at once (`delay_ms` 0) or marks the endpoint `deleting` until the delay passes.
pub struct Delete {
    pub project: ProjectId,
    pub id: EndpointId,
    pub delay_ms: i64,
}

impl Flow for Delete {
    type Output = ();
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<()> {
        tx.endpoint_status(&self.project, &self.id)
            .await?
            .ok_or(StoreError::NotFound)?
            .check_delete()
            .map_err(StoreError::Transition)?;
        if self.delay_ms > 0 {
            let due = time::now_ms().saturating_add(self.delay_ms);
            tx.mark_endpoint_deleting(&self.id, due, time::now()).await
        } else {
            tx.delete_endpoint(&self.id).await
        }
    }
}

/// UpdateEndpointWhite: `whitelist` replaces the IP whitelist (an empty list clears it) and
/// `enable_whitelist` switches it on or off; an absent one keeps its value. Only a settled
/// endpoint that is not `failed` changes; `updated_at` moves only when something changes.
pub struct UpdateWhitelist {
    pub project: ProjectId,
    pub id: EndpointId,
    pub whitelist: Option<Vec<String>>,
    pub enable_whitelist: Option<bool>,
}

impl Flow for UpdateWhitelist {
    type Output = Endpoint;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Endpoint> {
        tx.endpoint_status(&self.project, &self.id)
            .await?
            .ok_or(StoreError::NotFound)?
            .check_endpoint_update()
            .map_err(StoreError::Transition)?;
        let mut endpoint = tx
            .endpoint(&self.project, &self.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let whitelist = self.whitelist.as_ref().unwrap_or(&endpoint.whitelist);
        let enabled = self.enable_whitelist.unwrap_or(endpoint.enable_whitelist);
        if *whitelist == endpoint.whitelist && enabled == endpoint.enable_whitelist {
            return Ok(endpoint);
        }
        let now = time::now();
        tx.set_endpoint_whitelist(&self.id, whitelist, enabled, now)
            .await?;
        endpoint.whitelist = whitelist.clone();
        endpoint.enable_whitelist = enabled;
        endpoint.updated_at = now;
        Ok(endpoint)
    }
}

/// The endpoint `id` of `project` after checking it may be modified (settled, not `failed`),
/// with its service.
async fn modifiable<T: Tx>(
    tx: &mut T,
    project: &ProjectId,
    id: &EndpointId,
) -> StoreResult<(Endpoint, EndpointService)> {
    tx.endpoint_status(project, id)
        .await?
        .ok_or(StoreError::NotFound)?
        .check_endpoint_update()
        .map_err(StoreError::Transition)?;
    let endpoint = tx
        .endpoint(project, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let service_id = ServiceId::stored(endpoint.endpoint_service_id.clone());
    let service = tx
        .service(None, &service_id, Lock::Share)
        .await?
        .ok_or_else(|| StoreError::Internal("an endpoint's service is missing".into()))?
        .service;
    Ok((endpoint, service))
}

/// UpdateEndpointPolicy: a gateway endpoint's `policy_statement` (an empty list clears it), an
/// interface endpoint's `policy_document`, where the service takes policies (EndPoint.2048);
/// an absent key keeps its value.
pub struct UpdatePolicy {
    pub project: ProjectId,
    pub id: EndpointId,
    pub statement: Option<Vec<serde_json::Value>>,
    pub document: Option<serde_json::Value>,
}

impl Flow for UpdatePolicy {
    type Output = Endpoint;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Endpoint> {
        let (mut endpoint, service) = modifiable(tx, &self.project, &self.id).await?;
        if let Some(why) = gateway::policy_refusal(
            &service.service_type,
            service.enable_policy,
            self.statement.is_some(),
            self.document.is_some(),
        ) {
            return Err(StoreError::PolicyRefused(why));
        }
        let statement = self
            .statement
            .as_ref()
            .unwrap_or(&endpoint.policy_statement);
        let document = self.document.as_ref().or(endpoint.policy_document.as_ref());
        if *statement == endpoint.policy_statement && document == endpoint.policy_document.as_ref()
        {
            return Ok(endpoint);
        }
        let now = time::now();
        tx.set_endpoint_policy(&self.id, statement, document, now)
            .await?;
        endpoint.policy_statement = statement.clone();
        endpoint.policy_document = document.cloned();
        endpoint.updated_at = now;
        Ok(endpoint)
    }
}

/// DeleteEndpointPolicy: removes the endpoint's policy (EndPoint.2049 when it has none).
pub struct DeletePolicy {
    pub project: ProjectId,
    pub id: EndpointId,
}

impl Flow for DeletePolicy {
    type Output = Endpoint;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Endpoint> {
        let (mut endpoint, _) = modifiable(tx, &self.project, &self.id).await?;
        if endpoint.policy_statement.is_empty() && endpoint.policy_document.is_none() {
            return Err(StoreError::NoPolicy);
        }
        let now = time::now();
        tx.set_endpoint_policy(&self.id, &[], None, now).await?;
        endpoint.policy_statement.clear();
        endpoint.policy_document = None;
        endpoint.updated_at = now;
        Ok(endpoint)
    }
}

/// UpdateEndpointRoutetable: a gateway endpoint binds `routetables` instead of its own; tables
/// another endpoint of the service holds in the VPC stay unbound and are reported. Refused
/// (nothing changed) when no table would be left bound (EndPoint.2040).
pub struct UpdateRoutetables {
    pub project: ProjectId,
    pub id: EndpointId,
    pub routetables: Vec<String>,
}

impl Flow for UpdateRoutetables {
    type Output = Rebind;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Rebind> {
        let (endpoint, service) = modifiable(tx, &self.project, &self.id).await?;
        if service.service_type != gateway::GATEWAY {
            return Err(StoreError::NotGateway);
        }
        let service_id = ServiceId::stored(service.id);
        let taken = taken_routetables(tx, &service_id, &endpoint.vpc_id, Some(&self.id)).await?;
        let outcome = gateway::rebind(&self.routetables, &taken);
        if outcome.routetables.is_empty() {
            return Err(StoreError::NoRouteTable);
        }
        if outcome.routetables != endpoint.routetables {
            tx.set_endpoint_routetables(&self.id, &outcome.routetables, time::now())
                .await?;
        }
        Ok(outcome)
    }
}

/// UpgradeEndpoint (v2, `action: start`): a basic endpoint becomes professional, when its
/// service supports that edition (after UpgradeEndpointService); again is a no-op.
pub struct Upgrade {
    pub project: ProjectId,
    pub id: EndpointId,
}

impl Flow for Upgrade {
    type Output = ();
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<()> {
        let (endpoint, service) = modifiable(tx, &self.project, &self.id).await?;
        if !service
            .supported_editions
            .iter()
            .any(|e| e == EDITION_PROFESSION)
        {
            return Err(StoreError::EditionUnsupported);
        }
        if endpoint.edition != EDITION_PROFESSION {
            tx.set_endpoint_edition(&self.id, EDITION_PROFESSION, time::now())
                .await?;
        }
        Ok(())
    }
}

/// Fault injection: the endpoint (and its connection) becomes `failed` with `error`. The caller
/// is the endpoint's project or the owner of its service.
pub struct Fail {
    pub project: ProjectId,
    pub id: EndpointId,
    pub error: QueryError,
}

impl Flow for Fail {
    type Output = Endpoint;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Endpoint> {
        let owner = tx
            .endpoint_project_seen_by(&self.project, &self.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.set_endpoint_failed(&self.id, &self.error, time::now())
            .await?;
        tx.endpoint(&owner, &self.id)
            .await?
            .ok_or(StoreError::NotFound)
    }
}

pub struct ListConnections {
    pub project: ProjectId,
    pub service: ServiceId,
    pub filter: ConnectionFilter,
    pub page: PageRequest,
}

impl Flow for ListConnections {
    type Output = Page<Connection>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        require_service(tx, &self.project, &self.service).await?;
        let f = &self.filter;
        let mut query = ListQuery::new()
            .eq("endpoint_service_id", self.service.as_str())
            .eq_opt("id", f.id.as_deref());
        if let Some(marker_id) = f.marker_id {
            query = query.eq_int("marker_id", marker_id);
        }
        query = query.eq_opt("status", f.status.map(|s| s.as_str()));
        if f.id.is_none() && f.marker_id.is_none() {
            // The counters answer at once what counting the service's rows would take O(n) for.
            query.known_total = Some(tx.connection_count(&self.service, f.status).await?);
        }
        tx.list_connections(&query, self.page).await
    }
}

/// AcceptOrRejectEndpoint: 404 when the service is not the caller's, checked before 400
/// EndPoint.2013 for an id that is not one of its connections; the same action twice is a no-op.
pub struct AcceptOrReject {
    pub project: ProjectId,
    pub service: ServiceId,
    pub endpoint: EndpointId,
    pub action: ConnectionAction,
}

impl Flow for AcceptOrReject {
    type Output = Connection;
    const ACCESS: Access = Access::Write;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Connection> {
        let found = tx
            .connection(&self.project, &self.service, &self.endpoint)
            .await?;
        let Some(mut conn) = found else {
            require_service(tx, &self.project, &self.service).await?;
            return Err(StoreError::NotAConnection(self.endpoint.to_string()));
        };
        let next = conn
            .status
            .apply(self.action)
            .map_err(StoreError::Transition)?;
        if next != conn.status {
            let now = time::now();
            tx.set_connection_status(&self.endpoint, next, now).await?;
            conn.status = next;
            conn.updated_at = now;
        }
        Ok(conn)
    }
}

/// The seed operation, UpdateEndpointConnectionsDescription (docs/api.md §1): all or nothing;
/// returns the named connections in list order. One primitive call, so PostgreSQL serves it with
/// one statement in autocommit.
pub struct UpdateDescriptions {
    pub project: ProjectId,
    pub service: ServiceId,
    pub updates: Vec<DescriptionUpdate>,
}

impl Flow for UpdateDescriptions {
    type Output = Vec<Connection>;
    const ACCESS: Access = Access::Statement;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Vec<Connection>> {
        let now = time::now();
        let found = tx
            .find_and_update_descriptions(&self.project, &self.service, &self.updates, now)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(seed::apply(found, &self.updates, now)?)
    }
}

/// Every accepted connection the data plane serves (`vpcep serve --data-plane`).
pub struct DataPlaneRoutes;

impl Flow for DataPlaneRoutes {
    type Output = Vec<crate::domain::route::Route>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        tx.data_plane_routes().await
    }
}

/// Connections by status in the whole database, every status present (zeros too), from the
/// counters the schema keeps: the cost grows with services, not with connections.
pub struct ConnectionTotals;

impl Flow for ConnectionTotals {
    type Output = Vec<(crate::domain::ConnectionStatus, u64)>;
    const ACCESS: Access = Access::Read;
    async fn run<T: Tx>(&self, tx: &mut T) -> StoreResult<Self::Output> {
        use crate::domain::ConnectionStatus;
        let counted = tx.connection_totals().await?;
        Ok(ConnectionStatus::ALL
            .iter()
            .map(|status| {
                let n: i64 = counted
                    .iter()
                    .filter(|(s, _)| s == status)
                    .map(|(_, n)| *n)
                    .sum();
                (*status, u64::try_from(n).unwrap_or(0))
            })
            .collect())
    }
}
