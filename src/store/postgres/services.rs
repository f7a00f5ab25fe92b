//! Endpoint service rows.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::lifecycle::take_fault;
use super::pg_error;
use super::rows::{col, json, json_opt, service_status, to_json, ListQuery};
use super::rows::{q, q_one, q_opt, x};
use crate::domain::{
    compose_service_name, ids::new_uuid, lifecycle, ports_clash, time, EndpointService, NewService,
    Port, ServiceError, ServicePatch, ServiceStatus, Tenant,
};
use crate::store::{
    DescribeBy, Page, PageRequest, ResetCounts, ServiceFilter, StoreError, StoreResult,
};

const COLUMNS: &str = "s.id, s.project_id, s.domain_id, s.service_name, s.port_id, s.vpc_id, \
     s.pool_id, s.server_type, s.service_type, s.approval_enabled, s.status, s.ip, s.tcp_proxy, \
     s.description, s.enable_policy, s.ip_version, s.ports, s.tags, s.created_at, s.updated_at, \
     s.name, s.error";

/// `connection_count`: connections in `creating` or `accepted` (the VPCEP API reference's
/// endpoint service object), from the counters that migration 0004's triggers keep.
const WITH_COUNT: &str = "SELECT s.id, s.project_id, s.domain_id, s.service_name, s.port_id, \
     s.vpc_id, s.pool_id, s.server_type, s.service_type, s.approval_enabled, s.status, s.ip, \
     s.tcp_proxy, s.description, s.enable_policy, s.ip_version, s.ports, s.tags, s.created_at, \
     s.updated_at, s.name, s.error, (SELECT COALESCE(SUM(n.count), 0)::BIGINT FROM service_connection_counts n \
     WHERE n.endpoint_service_id = s.id AND n.status IN ('creating', 'accepted')) \
     FROM endpoint_services s";

fn row(r: &Row) -> StoreResult<(EndpointService, Option<String>)> {
    let service = EndpointService {
        id: col(r, 0)?,
        project_id: col(r, 1)?,
        domain_id: col(r, 2)?,
        service_name: col(r, 3)?,
        port_id: col(r, 4)?,
        vpc_id: col(r, 5)?,
        pool_id: col(r, 6)?,
        server_type: col(r, 7)?,
        service_type: col(r, 8)?,
        approval_enabled: col(r, 9)?,
        status: service_status(r, 10)?,
        ip: col(r, 11)?,
        tcp_proxy: col(r, 12)?,
        description: col(r, 13)?,
        enable_policy: col(r, 14)?,
        ip_version: col(r, 15)?,
        ports: json(r, 16)?,
        tags: json(r, 17)?,
        created_at: col(r, 18)?,
        updated_at: col(r, 19)?,
        connection_count: 0,
        error: json_opt(r, 21)?.unwrap_or_default(),
    };
    Ok((service, col(r, 20)?))
}

fn row_with_count(r: &Row) -> StoreResult<EndpointService> {
    let (mut s, _) = row(r)?;
    s.connection_count = col(r, 22)?;
    Ok(s)
}

/// The service with its short name, when it is in `project_id`; `lock` takes its row lock.
async fn get_with_name(
    c: &impl GenericClient,
    project_id: &str,
    id: &str,
    lock: bool,
) -> StoreResult<Option<(EndpointService, Option<String>)>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM endpoint_services s WHERE s.id = $1 AND s.project_id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    q_opt(c, &sql, &[&id, &project_id])
        .await
        .map_err(pg_error)?
        .as_ref()
        .map(row)
        .transpose()
}

pub async fn get(
    c: &impl GenericClient,
    project_id: &str,
    id: &str,
) -> StoreResult<Option<EndpointService>> {
    Ok(get_with_name(c, project_id, id, false)
        .await?
        .map(|(s, _)| s))
}

/// The service must be in the caller's project. Takes a share lock on its row, so that it
/// cannot be deleted while the caller's transaction changes what hangs off it.
pub async fn require_service(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
) -> StoreResult<()> {
    q_opt(
        c,
        "SELECT 1 FROM endpoint_services WHERE id = $1 AND project_id = $2 FOR SHARE",
        &[&service_id, &project_id],
    )
    .await
    .map_err(pg_error)?
    .map(|_| ())
    .ok_or(StoreError::NotFound)
}

/// Any tenant's service by id; `lock` takes a share lock (CreateEndpoint).
pub async fn get_any(
    c: &impl GenericClient,
    id: &str,
    lock: bool,
) -> StoreResult<Option<EndpointService>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM endpoint_services s WHERE s.id = $1{}",
        if lock { " FOR SHARE" } else { "" }
    );
    Ok(q_opt(c, &sql, &[&id])
        .await
        .map_err(pg_error)?
        .as_ref()
        .map(row)
        .transpose()?
        .map(|(s, _)| s))
}

pub async fn describe(
    c: &impl GenericClient,
    by: &DescribeBy,
) -> StoreResult<Option<EndpointService>> {
    match by {
        DescribeBy::Id(id) => get_any(c, id, false).await,
        DescribeBy::Name(name) => Ok(q_opt(
            c,
            &format!("SELECT {COLUMNS} FROM endpoint_services s WHERE s.service_name = $1"),
            &[name],
        )
        .await
        .map_err(pg_error)?
        .as_ref()
        .map(row)
        .transpose()?
        .map(|(s, _)| s)),
    }
}

/// EndPoint.3044: services on one backend port must not share a (server_port, protocol) pair.
async fn check_ports_free(
    c: &impl GenericClient,
    project_id: &str,
    port_id: &str,
    ports: &[Port],
    except_id: Option<&str>,
) -> StoreResult<()> {
    let rows = q(
        c,
        "SELECT id, ports FROM endpoint_services WHERE port_id = $1 AND project_id = $2",
        &[&port_id, &project_id],
    )
    .await
    .map_err(pg_error)?;
    for r in &rows {
        let id: String = col(r, 0)?;
        if Some(id.as_str()) == except_id {
            continue;
        }
        let theirs: Vec<Port> = json(r, 1)?;
        if ports_clash(ports, &theirs) {
            return Err(StoreError::PortsConflict);
        }
    }
    Ok(())
}

pub async fn create(
    c: &impl GenericClient,
    owner: &Tenant,
    region: &str,
    new: &NewService,
) -> StoreResult<EndpointService> {
    // Two nodes creating services on one backend port check the port mappings one at a time.
    x(
        c,
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[&format!("vpcep-port:{}:{}", owner.project_id, new.port_id)],
    )
    .await
    .map_err(pg_error)?;
    check_ports_free(c, &owner.project_id, &new.port_id, &new.ports, None).await?;
    let id = new_uuid();
    let now = time::now();
    let fault = take_fault(c, &owner.project_id).await?;
    let settled = if fault.is_some() {
        ServiceStatus::Failed
    } else {
        ServiceStatus::Available
    };
    let start = lifecycle::start(
        ServiceStatus::Creating,
        settled,
        new.delay_ms,
        time::now_ms(),
    );
    let error: Vec<ServiceError> = fault.into_iter().map(ServiceError::from).collect();
    let service = EndpointService {
        service_name: compose_service_name(region, new.name.as_deref(), &id),
        id,
        project_id: owner.project_id.clone(),
        domain_id: owner.domain_id.clone(),
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
        error,
    };
    let error_json = (!service.error.is_empty())
        .then(|| to_json(&service.error))
        .transpose()?;
    x(
        c,
        "INSERT INTO endpoint_services (id, project_id, domain_id, name, service_name, port_id,
             vpc_id, pool_id, server_type, service_type, approval_enabled, status, ip, tcp_proxy,
             description, enable_policy, ip_version, ports, tags, created_at, updated_at,
             settled_status, transition_at, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21, $22, $23, $24)",
        &[
            &service.id,
            &service.project_id,
            &service.domain_id,
            &new.name,
            &service.service_name,
            &service.port_id,
            &service.vpc_id,
            &service.pool_id,
            &service.server_type,
            &service.service_type,
            &service.approval_enabled,
            &service.status.as_str(),
            &service.ip,
            &service.tcp_proxy,
            &service.description,
            &service.enable_policy,
            &service.ip_version,
            &to_json(&service.ports)?,
            &to_json(&service.tags)?,
            &service.created_at,
            &service.updated_at,
            &start.settles_in().map(ServiceStatus::as_str),
            &start.due_ms(),
            &error_json,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(service)
}

pub async fn list(
    c: &impl GenericClient,
    project_id: &str,
    filter: &ServiceFilter,
    page: PageRequest,
) -> StoreResult<Page<EndpointService>> {
    let mut q = ListQuery::new(WITH_COUNT, "SELECT COUNT(*) FROM endpoint_services s", "s.");
    q.filter("s.project_id = $?", project_id.to_owned());
    if let Some(id) = &filter.id {
        q.filter("s.id = $?", id.clone());
    }
    if let Some(status) = filter.status {
        q.filter("s.status = $?", status.as_str().to_owned());
    }
    if let Some(name) = &filter.name {
        q.filter("strpos(lower(s.service_name), lower($?)) > 0", name.clone());
    }
    q.page(c, page, row_with_count).await
}

pub async fn update(
    c: &impl GenericClient,
    project_id: &str,
    id: &str,
    region: &str,
    patch: &ServicePatch,
) -> StoreResult<EndpointService> {
    let (old, old_name) = get_with_name(c, project_id, id, true)
        .await?
        .ok_or(StoreError::NotFound)?;
    if !old.status.allows_update() {
        return Err(StoreError::ServiceStateForbids);
    }
    let (mut new, name) = patch.apply(&old, old_name, region);
    if new == old {
        return Ok(old);
    }
    if new.ports != old.ports || new.port_id != old.port_id {
        x(
            c,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&format!("vpcep-port:{project_id}:{}", new.port_id)],
        )
        .await
        .map_err(pg_error)?;
        check_ports_free(c, project_id, &new.port_id, &new.ports, Some(id)).await?;
    }
    new.updated_at = time::now();
    x(
        c,
        "UPDATE endpoint_services SET approval_enabled = $1, name = $2, service_name = $3,
             ports = $4, port_id = $5, tcp_proxy = $6, description = $7, ip = $8, updated_at = $9
         WHERE id = $10",
        &[
            &new.approval_enabled,
            &name,
            &new.service_name,
            &to_json(&new.ports)?,
            &new.port_id,
            &new.tcp_proxy,
            &new.description,
            &new.ip,
            &new.updated_at,
            &id,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(new)
}

pub async fn delete(
    c: &impl GenericClient,
    project_id: &str,
    id: &str,
    delay_ms: i64,
) -> StoreResult<()> {
    let (service, _) = get_with_name(c, project_id, id, true)
        .await?
        .ok_or(StoreError::NotFound)?;
    if matches!(
        service.status,
        ServiceStatus::Creating | ServiceStatus::Deleting
    ) {
        return Err(StoreError::ServiceBusy);
    }
    let in_use: bool = q_one(
        c,
        "SELECT EXISTS(SELECT 1 FROM endpoints WHERE endpoint_service_id = $1)",
        &[&id],
    )
    .await
    .map_err(pg_error)?
    .get(0);
    if in_use {
        return Err(StoreError::ServiceInUse);
    }
    if delay_ms > 0 {
        let due = time::now_ms().saturating_add(delay_ms);
        x(
            c,
            "UPDATE endpoint_services SET status = 'deleting', transition_at = $1,
                 updated_at = $2 WHERE id = $3",
            &[&due, &time::now(), &id],
        )
        .await
        .map_err(pg_error)?;
    } else {
        x(c, "DELETE FROM endpoint_services WHERE id = $1", &[&id])
            .await
            .map_err(pg_error)?;
    }
    Ok(())
}

/// Fault injection: the service becomes `failed` with `error`.
pub async fn fail(
    c: &impl GenericClient,
    project_id: &str,
    id: &str,
    error: &ServiceError,
) -> StoreResult<EndpointService> {
    get_with_name(c, project_id, id, true)
        .await?
        .ok_or(StoreError::NotFound)?;
    x(
        c,
        "UPDATE endpoint_services SET status = 'failed', error = $1, settled_status = NULL,
             transition_at = NULL, updated_at = $2 WHERE id = $3",
        &[&to_json(&[error])?, &time::now(), &id],
    )
    .await
    .map_err(pg_error)?;
    get(c, project_id, id).await?.ok_or(StoreError::NotFound)
}

/// `Store::reset`: every table but `credentials`. Whitelists and connection counts go with their
/// services (`ON DELETE CASCADE`); `marker_id` comes from a sequence, so it is not reused.
pub async fn reset(c: &impl GenericClient) -> StoreResult<ResetCounts> {
    let permissions = x(c, "DELETE FROM endpoint_service_permissions", &[])
        .await
        .map_err(pg_error)?;
    let endpoints = x(c, "DELETE FROM endpoints", &[]).await.map_err(pg_error)?;
    let services = x(c, "DELETE FROM endpoint_services", &[])
        .await
        .map_err(pg_error)?;
    x(c, "DELETE FROM fault_plans", &[])
        .await
        .map_err(pg_error)?;
    Ok(ResetCounts {
        services,
        endpoints,
        permissions,
    })
}
