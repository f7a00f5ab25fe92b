//! Endpoint service rows.

use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::db_error;
use super::lifecycle::take_fault;
use super::rows::{json, json_opt, service_status, to_json, ListQuery};
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
     s.updated_at, s.name, s.error, (SELECT COALESCE(SUM(n.count), 0) FROM service_connection_counts n \
     WHERE n.endpoint_service_id = s.id AND n.status IN ('creating', 'accepted')) \
     FROM endpoint_services s";

fn row(r: &Row<'_>) -> rusqlite::Result<(EndpointService, Option<String>)> {
    let service = EndpointService {
        id: r.get(0)?,
        project_id: r.get(1)?,
        domain_id: r.get(2)?,
        service_name: r.get(3)?,
        port_id: r.get(4)?,
        vpc_id: r.get(5)?,
        pool_id: r.get(6)?,
        server_type: r.get(7)?,
        service_type: r.get(8)?,
        approval_enabled: r.get(9)?,
        status: service_status(r, 10)?,
        ip: r.get(11)?,
        tcp_proxy: r.get(12)?,
        description: r.get(13)?,
        enable_policy: r.get(14)?,
        ip_version: r.get(15)?,
        ports: json(r, 16)?,
        tags: json(r, 17)?,
        created_at: r.get(18)?,
        updated_at: r.get(19)?,
        connection_count: 0,
        error: json_opt(r, 21)?.unwrap_or_default(),
    };
    Ok((service, r.get(20)?))
}

fn row_with_count(r: &Row<'_>) -> rusqlite::Result<EndpointService> {
    let (mut s, _) = row(r)?;
    s.connection_count = r.get(22)?;
    Ok(s)
}

/// The service with its short name, when it is in `project_id`.
fn get_with_name(
    c: &Connection,
    project_id: &str,
    id: &str,
) -> StoreResult<Option<(EndpointService, Option<String>)>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM endpoint_services s WHERE s.id = ?1 AND s.project_id = ?2"
    ))
    .and_then(|mut s| s.query_row([id, project_id], row).optional())
    .map_err(db_error)
}

pub fn get(c: &Connection, project_id: &str, id: &str) -> StoreResult<Option<EndpointService>> {
    Ok(get_with_name(c, project_id, id)?.map(|(s, _)| s))
}

/// The service must be in the caller's project.
pub fn require_service(c: &Connection, project_id: &str, service_id: &str) -> StoreResult<()> {
    let exists: bool = c
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM endpoint_services WHERE id = ?1 AND project_id = ?2)",
        )
        .and_then(|mut s| s.query_row([service_id, project_id], |r| r.get(0)))
        .map_err(db_error)?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// Any tenant's service by id.
pub fn get_any(c: &Connection, id: &str) -> StoreResult<Option<EndpointService>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM endpoint_services s WHERE s.id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], row).optional())
    .map(|o| o.map(|(s, _)| s))
    .map_err(db_error)
}

pub fn describe(c: &Connection, by: &DescribeBy) -> StoreResult<Option<EndpointService>> {
    match by {
        DescribeBy::Id(id) => get_any(c, id),
        DescribeBy::Name(name) => c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM endpoint_services s WHERE s.service_name = ?1"
            ))
            .and_then(|mut s| s.query_row([name], row).optional())
            .map(|o| o.map(|(s, _)| s))
            .map_err(db_error),
    }
}

/// EndPoint.3044: services on one backend port must not share a (server_port, protocol) pair.
fn check_ports_free(
    c: &Connection,
    project_id: &str,
    port_id: &str,
    ports: &[Port],
    except_id: Option<&str>,
) -> StoreResult<()> {
    let mut stmt = c
        .prepare_cached(
            "SELECT id, ports FROM endpoint_services WHERE port_id = ?1 AND project_id = ?2",
        )
        .map_err(db_error)?;
    let others = stmt
        .query_map([port_id, project_id], |r| {
            Ok((r.get::<_, String>(0)?, json::<Vec<Port>>(r, 1)?))
        })
        .map_err(db_error)?;
    for other in others {
        let (id, theirs) = other.map_err(db_error)?;
        if Some(id.as_str()) == except_id {
            continue;
        }
        if ports_clash(ports, &theirs) {
            return Err(StoreError::PortsConflict);
        }
    }
    Ok(())
}

pub fn create(
    c: &Connection,
    owner: &Tenant,
    region: &str,
    new: NewService,
) -> StoreResult<EndpointService> {
    check_ports_free(c, &owner.project_id, &new.port_id, &new.ports, None)?;
    let id = new_uuid();
    let now = time::now();
    let fault = take_fault(c, &owner.project_id)?;
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
        port_id: new.port_id,
        vpc_id: new.vpc_id,
        pool_id: new_uuid(),
        server_type: new.server_type,
        service_type: new.service_type,
        approval_enabled: new.approval_enabled,
        status: start.status,
        ip: new.ip,
        tcp_proxy: new.tcp_proxy,
        description: new.description,
        enable_policy: new.enable_policy,
        ip_version: new.ip_version,
        ports: new.ports,
        tags: new.tags,
        created_at: now,
        updated_at: now,
        connection_count: 0,
        error,
    };
    let error_json = (!service.error.is_empty())
        .then(|| to_json(&service.error))
        .transpose()?;
    let ports_json = to_json(&service.ports)?;
    let tags_json = to_json(&service.tags)?;
    c.prepare_cached(
        "INSERT INTO endpoint_services (id, project_id, domain_id, name, service_name, port_id,
             vpc_id, pool_id, server_type, service_type, approval_enabled, status, ip, tcp_proxy,
             description, enable_policy, ip_version, ports, tags, created_at, updated_at,
             settled_status, transition_at, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?23, ?24)",
    )
    .and_then(|mut s| {
        s.execute(params![
            service.id,
            service.project_id,
            service.domain_id,
            new.name,
            service.service_name,
            service.port_id,
            service.vpc_id,
            service.pool_id,
            service.server_type,
            service.service_type,
            service.approval_enabled,
            service.status.as_str(),
            service.ip,
            service.tcp_proxy,
            service.description,
            service.enable_policy,
            service.ip_version,
            ports_json,
            tags_json,
            service.created_at,
            service.updated_at,
            start.settles_in().map(ServiceStatus::as_str),
            start.due_ms(),
            error_json,
        ])
    })
    .map_err(db_error)?;
    Ok(service)
}

pub fn list(
    c: &Connection,
    project_id: &str,
    filter: &ServiceFilter,
    page: PageRequest,
) -> StoreResult<Page<EndpointService>> {
    let mut q = ListQuery::new(WITH_COUNT, "SELECT COUNT(*) FROM endpoint_services s", "s.");
    q.filter("s.project_id = ?", project_id.to_owned());
    if let Some(id) = &filter.id {
        q.filter("s.id = ?", id.clone());
    }
    if let Some(status) = filter.status {
        q.filter("s.status = ?", status.as_str().to_owned());
    }
    if let Some(name) = &filter.name {
        q.filter(
            "instr(lower(s.service_name), lower(?)) > 0",
            Value::Text(name.clone()),
        );
    }
    q.page(c, page, row_with_count)
}

pub fn update(
    c: &Connection,
    project_id: &str,
    id: &str,
    region: &str,
    patch: ServicePatch,
) -> StoreResult<EndpointService> {
    let (old, old_name) = get_with_name(c, project_id, id)?.ok_or(StoreError::NotFound)?;
    if !old.status.allows_update() {
        return Err(StoreError::ServiceStateForbids);
    }
    let (mut new, name) = patch.apply(&old, old_name, region);
    if new == old {
        return Ok(old);
    }
    if new.ports != old.ports || new.port_id != old.port_id {
        check_ports_free(c, project_id, &new.port_id, &new.ports, Some(id))?;
    }
    new.updated_at = time::now();
    let ports_json = to_json(&new.ports)?;
    c.prepare_cached(
        "UPDATE endpoint_services SET approval_enabled = ?1, name = ?2, service_name = ?3,
             ports = ?4, port_id = ?5, tcp_proxy = ?6, description = ?7, ip = ?8, updated_at = ?9
         WHERE id = ?10",
    )
    .and_then(|mut s| {
        s.execute(params![
            new.approval_enabled,
            name,
            new.service_name,
            ports_json,
            new.port_id,
            new.tcp_proxy,
            new.description,
            new.ip,
            new.updated_at,
            id,
        ])
    })
    .map_err(db_error)?;
    Ok(new)
}

pub fn delete(c: &Connection, project_id: &str, id: &str, delay_ms: i64) -> StoreResult<()> {
    let service = get(c, project_id, id)?.ok_or(StoreError::NotFound)?;
    if matches!(
        service.status,
        ServiceStatus::Creating | ServiceStatus::Deleting
    ) {
        return Err(StoreError::ServiceBusy);
    }
    let in_use: bool = c
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM endpoints WHERE endpoint_service_id = ?1)")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)))
        .map_err(db_error)?;
    if in_use {
        return Err(StoreError::ServiceInUse);
    }
    if delay_ms > 0 {
        let due = time::now_ms().saturating_add(delay_ms);
        c.prepare_cached(
            "UPDATE endpoint_services SET status = 'deleting', transition_at = ?1,
                 updated_at = ?2 WHERE id = ?3",
        )
        .and_then(|mut s| s.execute(params![due, time::now(), id]))
        .map_err(db_error)?;
    } else {
        c.prepare_cached("DELETE FROM endpoint_services WHERE id = ?1")
            .and_then(|mut s| s.execute([id]))
            .map_err(db_error)?;
    }
    Ok(())
}

/// Fault injection: the service becomes `failed` with `error`.
pub fn fail(
    c: &Connection,
    project_id: &str,
    id: &str,
    error: &ServiceError,
) -> StoreResult<EndpointService> {
    get(c, project_id, id)?.ok_or(StoreError::NotFound)?;
    let error_json = to_json(&[error])?;
    c.prepare_cached(
        "UPDATE endpoint_services SET status = 'failed', error = ?1, settled_status = NULL,
             transition_at = NULL, updated_at = ?2 WHERE id = ?3",
    )
    .and_then(|mut s| s.execute(params![error_json, time::now(), id]))
    .map_err(db_error)?;
    get(c, project_id, id)?.ok_or(StoreError::NotFound)
}

/// `Store::reset`: every table but `credentials`. Whitelists and connection counts go with their
/// services (`ON DELETE CASCADE`); `marker_id` is an `AUTOINCREMENT` key, so it is not reused.
pub fn reset(c: &Connection) -> StoreResult<ResetCounts> {
    let permissions = c
        .query_row(
            "SELECT COUNT(*) FROM endpoint_service_permissions",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(db_error)?;
    let endpoints = c.execute("DELETE FROM endpoints", []).map_err(db_error)?;
    let services = c
        .execute("DELETE FROM endpoint_services", [])
        .map_err(db_error)?;
    c.execute("DELETE FROM fault_plans", []).map_err(db_error)?;
    Ok(ResetCounts {
        services: services as u64,
        endpoints: endpoints as u64,
        permissions: u64::try_from(permissions).unwrap_or(0),
    })
}
