//! Endpoint rows, and the same rows seen as connections by the service owner.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::db_error;
use super::lifecycle::take_fault;
use super::rows::{self, connection_status, json, json_opt, to_json, ListQuery};
use super::{permissions, services};
use crate::domain::{
    format_ipv4, ids::new_uuid, lifecycle, may_connect, time, Connection as DomainConnection,
    ConnectionAction, ConnectionStatus, Endpoint, EndpointId, NewEndpoint, QueryError, Tenant,
    AUTO_IP_FIRST, AUTO_IP_LAST,
};
use crate::store::{
    apply_description_updates, sort_as_listed, ConnectionFilter, DescriptionUpdate, EndpointFilter,
    Page, PageRequest, StoreError, StoreResult,
};

const SELECT: &str = "SELECT e.id, e.marker_id, e.project_id, e.domain_id, \
     e.endpoint_service_id, s.service_name, s.service_type, e.vpc_id, e.subnet_id, e.port_ip, \
     e.enable_dns, e.description, e.connection_description, e.status, e.ever_accepted, \
     e.whitelist, e.enable_whitelist, e.tags, e.routetables, e.policy_document, e.error, \
     e.created_at, e.updated_at \
     FROM endpoints e JOIN endpoint_services s ON s.id = e.endpoint_service_id";
const COUNT: &str =
    "SELECT COUNT(*) FROM endpoints e JOIN endpoint_services s ON s.id = e.endpoint_service_id";

fn row(r: &Row<'_>) -> rusqlite::Result<Endpoint> {
    let ip: i64 = r.get(9)?;
    Ok(Endpoint {
        id: r.get(0)?,
        marker_id: r.get(1)?,
        project_id: r.get(2)?,
        domain_id: r.get(3)?,
        endpoint_service_id: r.get(4)?,
        endpoint_service_name: r.get(5)?,
        service_type: r.get(6)?,
        vpc_id: r.get(7)?,
        subnet_id: r.get(8)?,
        port_ip: format_ipv4(u32::try_from(ip).unwrap_or_default()),
        enable_dns: r.get(10)?,
        description: r.get(11)?,
        connection_description: r.get(12)?,
        status: connection_status(r, 13)?,
        ever_accepted: r.get(14)?,
        whitelist: json(r, 15)?,
        enable_whitelist: r.get(16)?,
        tags: json(r, 17)?,
        routetables: json(r, 18)?,
        policy_document: json_opt(r, 19)?,
        error: json_opt(r, 20)?.unwrap_or_default(),
        created_at: r.get(21)?,
        updated_at: r.get(22)?,
    })
}

pub fn get(c: &Connection, project_id: &str, id: &str) -> StoreResult<Option<Endpoint>> {
    c.prepare_cached(&format!("{SELECT} WHERE e.id = ?1 AND e.project_id = ?2"))
        .and_then(|mut s| s.query_row([id, project_id], row).optional())
        .map_err(db_error)
}

/// The first free address of the automatic range in a VPC: after the highest one in use, or, when
/// the range's end is taken, the lowest gap.
fn assign_ip(c: &Connection, vpc_id: &str) -> StoreResult<u32> {
    let (first, last) = (i64::from(AUTO_IP_FIRST), i64::from(AUTO_IP_LAST));
    let max: Option<i64> = c
        .prepare_cached(
            "SELECT MAX(port_ip) FROM endpoints WHERE vpc_id = ?1 AND port_ip BETWEEN ?2 AND ?3",
        )
        .and_then(|mut s| s.query_row(params![vpc_id, first, last], |r| r.get(0)))
        .map_err(db_error)?;
    let candidate = match max {
        None => first,
        Some(m) if m < last => m + 1,
        Some(_) => {
            let mut stmt = c
                .prepare_cached(
                    "SELECT port_ip FROM endpoints WHERE vpc_id = ?1 AND port_ip BETWEEN ?2 AND ?3
                     ORDER BY port_ip",
                )
                .map_err(db_error)?;
            let used = stmt
                .query_map(params![vpc_id, first, last], |r| r.get::<_, i64>(0))
                .map_err(db_error)?;
            let mut next = first;
            for ip in used {
                let ip = ip.map_err(db_error)?;
                if ip > next {
                    break;
                }
                next = ip + 1;
            }
            if next > last {
                return Err(StoreError::NoFreeAddress);
            }
            next
        }
    };
    u32::try_from(candidate).map_err(|_| StoreError::NoFreeAddress)
}

pub fn create(c: &Connection, consumer: &Tenant, new: NewEndpoint) -> StoreResult<Endpoint> {
    let service =
        services::get_any(c, &new.endpoint_service_id)?.ok_or(StoreError::ServiceMissing)?;
    let whitelist = permissions::entries(c, &service.id)?;
    if !may_connect(
        &service,
        &consumer.domain_id,
        whitelist.iter().map(String::as_str),
    ) {
        return Err(StoreError::ConnectNotPermitted);
    }
    if !service.status.accepts_connections() {
        return Err(StoreError::ServiceNotAvailable);
    }
    let port_ip = match new.port_ip {
        Some(ip) => {
            let taken: bool = c
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM endpoints WHERE vpc_id = ?1 AND port_ip = ?2)",
                )
                .and_then(|mut s| s.query_row(params![new.vpc_id, i64::from(ip)], |r| r.get(0)))
                .map_err(db_error)?;
            if taken {
                return Err(StoreError::PortIpInUse);
            }
            ip
        }
        None => assign_ip(c, &new.vpc_id)?,
    };
    let fault = take_fault(c, &consumer.project_id)?;
    let settled = match fault {
        Some(_) => ConnectionStatus::Failed,
        None => ConnectionStatus::initial(service.approval_enabled),
    };
    let start = lifecycle::start(
        ConnectionStatus::Creating,
        settled,
        new.delay_ms,
        time::now_ms(),
    );
    let error = fault.map(|f| to_json(&[f])).transpose()?;
    let id = new_uuid();
    let now = time::now();
    let whitelist = to_json(&new.whitelist)?;
    let tags = to_json(&new.tags)?;
    let routetables = to_json(&new.routetables)?;
    let policy = new.policy_document.as_ref().map(to_json).transpose()?;
    c.prepare_cached(
        "INSERT INTO endpoints (id, project_id, domain_id, endpoint_service_id, vpc_id, subnet_id,
             port_ip, enable_dns, description, connection_description, status, ever_accepted,
             whitelist, enable_whitelist, tags, routetables, policy_document, error, created_at,
             updated_at, settled_status, transition_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '', ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?18, ?19, ?20)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            consumer.project_id,
            consumer.domain_id,
            service.id,
            new.vpc_id,
            new.subnet_id,
            i64::from(port_ip),
            new.enable_dns,
            new.description,
            start.status.as_str(),
            start.status == ConnectionStatus::Accepted,
            whitelist,
            new.enable_whitelist,
            tags,
            routetables,
            policy,
            error,
            now,
            start.settles_in().map(ConnectionStatus::as_str),
            start.due_ms(),
        ])
    })
    .map_err(db_error)?;
    get(c, &consumer.project_id, &id)?
        .ok_or_else(|| StoreError::Internal("a created endpoint cannot be read back".into()))
}

pub fn list(
    c: &Connection,
    project_id: &str,
    filter: &EndpointFilter,
    page: PageRequest,
) -> StoreResult<Page<Endpoint>> {
    let mut q = ListQuery::new(SELECT, COUNT, "e.");
    q.filter("e.project_id = ?", project_id.to_owned());
    if let Some(id) = &filter.id {
        q.filter("e.id = ?", id.clone());
    }
    if let Some(vpc_id) = &filter.vpc_id {
        q.filter("e.vpc_id = ?", vpc_id.clone());
    }
    if let Some(name) = &filter.service_name {
        q.filter("instr(lower(s.service_name), lower(?)) > 0", name.clone());
    }
    q.page(c, page, row)
}

pub fn delete(c: &Connection, project_id: &str, id: &str, delay_ms: i64) -> StoreResult<()> {
    let status: ConnectionStatus = c
        .prepare_cached("SELECT status FROM endpoints WHERE id = ?1 AND project_id = ?2")
        .and_then(|mut s| {
            s.query_row([id, project_id], |r| connection_status(r, 0))
                .optional()
        })
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)?;
    status.check_delete().map_err(StoreError::Transition)?;
    if delay_ms > 0 {
        let due = time::now_ms().saturating_add(delay_ms);
        c.prepare_cached(
            "UPDATE endpoints SET status = 'deleting', settled_status = NULL, transition_at = ?1,
                 updated_at = ?2 WHERE id = ?3",
        )
        .and_then(|mut s| s.execute(params![due, time::now(), id]))
        .map_err(db_error)?;
    } else {
        c.prepare_cached("DELETE FROM endpoints WHERE id = ?1")
            .and_then(|mut s| s.execute([id]))
            .map_err(db_error)?;
    }
    Ok(())
}

/// Fault injection: the endpoint (and its connection) becomes `failed` with `error`. The caller
/// is the endpoint's project or the owner of its service.
pub fn fail(
    c: &Connection,
    project_id: &str,
    id: &str,
    error: &QueryError,
) -> StoreResult<Endpoint> {
    let owner_project: Option<String> = c
        .prepare_cached(
            "SELECT e.project_id FROM endpoints e JOIN endpoint_services s
                 ON s.id = e.endpoint_service_id
             WHERE e.id = ?1 AND (e.project_id = ?2 OR s.project_id = ?2)",
        )
        .and_then(|mut s| s.query_row([id, project_id], |r| r.get(0)).optional())
        .map_err(db_error)?;
    let owner_project = owner_project.ok_or(StoreError::NotFound)?;
    let error_json = to_json(&[error])?;
    c.prepare_cached(
        "UPDATE endpoints SET status = 'failed', error = ?1, settled_status = NULL,
             transition_at = NULL, updated_at = ?2 WHERE id = ?3",
    )
    .and_then(|mut s| s.execute(params![error_json, time::now(), id]))
    .map_err(db_error)?;
    get(c, &owner_project, id)?.ok_or(StoreError::NotFound)
}

pub fn list_connections(
    c: &Connection,
    project_id: &str,
    service_id: &str,
    filter: &ConnectionFilter,
    page: PageRequest,
) -> StoreResult<Page<DomainConnection>> {
    services::require_service(c, project_id, service_id)?;
    const SELECT_CONNECTIONS: &str = "SELECT id, marker_id, created_at, updated_at, domain_id, \
         status, connection_description, error FROM endpoints";
    let mut q = ListQuery::new(SELECT_CONNECTIONS, "SELECT COUNT(*) FROM endpoints", "");
    q.filter("endpoint_service_id = ?", service_id.to_owned());
    if let Some(id) = &filter.id {
        q.filter("id = ?", id.clone());
    }
    if let Some(marker_id) = filter.marker_id {
        q.filter("marker_id = ?", marker_id);
    }
    if let Some(status) = filter.status {
        q.filter("status = ?", status.as_str().to_owned());
    }
    if filter.id.is_none() && filter.marker_id.is_none() {
        // The counters answer at once what counting the service's rows would take O(n) for.
        let status = filter.status.map(|s| s.as_str());
        let total: i64 = c
            .prepare_cached(
                "SELECT COALESCE(SUM(count), 0) FROM service_connection_counts
                 WHERE endpoint_service_id = ?1 AND (?2 IS NULL OR status = ?2)",
            )
            .and_then(|mut s| s.query_row(params![service_id, status], |r| r.get(0)))
            .map_err(db_error)?;
        q.known_total(total);
    }
    q.page(c, page, rows::connection)
}

/// The connection `id` of `service_id` in `project_id`: one indexed lookup that also proves the
/// service is the caller's. Only when it finds nothing is the service looked up, to tell a
/// service that is not the caller's (404, checked first) from an id that is not one of its
/// connections (400 `EndPoint.2013`).
fn connection_in_project(
    c: &Connection,
    project_id: &str,
    service_id: &str,
    id: &str,
) -> StoreResult<DomainConnection> {
    let found = c
        .prepare_cached(
            "SELECT e.id, e.marker_id, e.created_at, e.updated_at, e.domain_id, e.status,
                    e.connection_description, e.error
             FROM endpoints e JOIN endpoint_services s ON s.id = e.endpoint_service_id
             WHERE e.id = ?1 AND e.endpoint_service_id = ?2 AND s.project_id = ?3",
        )
        .and_then(|mut s| {
            s.query_row([id, service_id, project_id], rows::connection)
                .optional()
        })
        .map_err(db_error)?;
    match found {
        Some(conn) => Ok(conn),
        None => {
            services::require_service(c, project_id, service_id)?;
            Err(StoreError::NotAConnection(id.to_owned()))
        }
    }
}

pub fn accept_or_reject(
    c: &Connection,
    project_id: &str,
    service_id: &str,
    endpoint_id: &EndpointId,
    action: ConnectionAction,
) -> StoreResult<DomainConnection> {
    let mut conn = connection_in_project(c, project_id, service_id, endpoint_id.as_str())?;
    let next = conn.status.apply(action).map_err(StoreError::Transition)?;
    if next != conn.status {
        let now = time::now();
        c.prepare_cached(
            "UPDATE endpoints SET status = ?1, updated_at = ?2,
                 ever_accepted = ever_accepted OR ?3
             WHERE id = ?4",
        )
        .and_then(|mut s| {
            s.execute(params![
                next.as_str(),
                now,
                next == ConnectionStatus::Accepted,
                conn.id
            ])
        })
        .map_err(db_error)?;
        conn.status = next;
        conn.updated_at = now;
    }
    Ok(conn)
}

/// The seed operation (docs/api.md §1): the service must be the caller's (404), every id one of its
/// connections (EndPoint.2013, the first offender in request order), every connection in a state
/// that allows the change; then only real changes are written and move `updated_at`.
pub fn update_connection_descriptions(
    c: &Connection,
    project_id: &str,
    service_id: &str,
    updates: &[DescriptionUpdate],
) -> StoreResult<Vec<DomainConnection>> {
    let mut current = Vec::with_capacity(updates.len());
    for u in updates {
        current.push(connection_in_project(
            c,
            project_id,
            service_id,
            u.id.as_str(),
        )?);
    }
    let changed = apply_description_updates(&mut current, updates, time::now())?;
    if !changed.is_empty() {
        let mut stmt = c
            .prepare_cached(
                "UPDATE endpoints SET connection_description = ?1, updated_at = ?2 WHERE id = ?3",
            )
            .map_err(db_error)?;
        for conn in changed.iter().map(|&i| &current[i]) {
            stmt.execute(params![conn.description, conn.updated_at, conn.id])
                .map_err(db_error)?;
        }
    }
    sort_as_listed(&mut current);
    Ok(current)
}
