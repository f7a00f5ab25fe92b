//! Endpoint rows, and the same rows seen as connections by the service owner.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::lifecycle::take_fault;
use super::pg_error;
use super::rows::{self, col, connection_status, json, json_opt, to_json, ListQuery};
use super::rows::{q, q_one, q_opt, x};
use super::{permissions, services};
use crate::domain::{
    format_ipv4, ids::new_uuid, lifecycle, may_connect, time, Connection, ConnectionAction,
    ConnectionStatus, Endpoint, EndpointId, NewEndpoint, QueryError, Tenant, AUTO_IP_FIRST,
    AUTO_IP_LAST,
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

fn row(r: &Row) -> StoreResult<Endpoint> {
    let ip: i64 = col(r, 9)?;
    Ok(Endpoint {
        id: col(r, 0)?,
        marker_id: col(r, 1)?,
        project_id: col(r, 2)?,
        domain_id: col(r, 3)?,
        endpoint_service_id: col(r, 4)?,
        endpoint_service_name: col(r, 5)?,
        service_type: col(r, 6)?,
        vpc_id: col(r, 7)?,
        subnet_id: col(r, 8)?,
        port_ip: format_ipv4(u32::try_from(ip).unwrap_or_default()),
        enable_dns: col(r, 10)?,
        description: col(r, 11)?,
        connection_description: col(r, 12)?,
        status: connection_status(r, 13)?,
        ever_accepted: col(r, 14)?,
        whitelist: json(r, 15)?,
        enable_whitelist: col(r, 16)?,
        tags: json(r, 17)?,
        routetables: json(r, 18)?,
        policy_document: json_opt(r, 19)?,
        error: json_opt(r, 20)?.unwrap_or_default(),
        created_at: col(r, 21)?,
        updated_at: col(r, 22)?,
    })
}

pub async fn get_endpoint(
    c: &impl GenericClient,
    project_id: &str,
    id: &str,
) -> StoreResult<Option<Endpoint>> {
    q_opt(
        c,
        &format!("{SELECT} WHERE e.id = $1 AND e.project_id = $2"),
        &[&id, &project_id],
    )
    .await
    .map_err(pg_error)?
    .as_ref()
    .map(row)
    .transpose()
}

/// The first free address of the automatic range in a VPC: after the highest one in use, or,
/// when the range's end is taken, the lowest gap. The caller holds the VPC's lock.
async fn assign_ip(c: &impl GenericClient, vpc_id: &str) -> StoreResult<u32> {
    let (first, last) = (i64::from(AUTO_IP_FIRST), i64::from(AUTO_IP_LAST));
    let max: Option<i64> = q_one(
        c,
        "SELECT MAX(port_ip) FROM endpoints WHERE vpc_id = $1 AND port_ip BETWEEN $2 AND $3",
        &[&vpc_id, &first, &last],
    )
    .await
    .map_err(pg_error)?
    .get(0);
    let candidate = match max {
        None => first,
        Some(m) if m < last => m + 1,
        Some(_) => {
            let used = q(
                c,
                "SELECT port_ip FROM endpoints WHERE vpc_id = $1 AND port_ip BETWEEN $2 AND $3
                     ORDER BY port_ip",
                &[&vpc_id, &first, &last],
            )
            .await
            .map_err(pg_error)?;
            let mut next = first;
            for r in &used {
                let ip: i64 = col(r, 0)?;
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

pub async fn create(
    c: &impl GenericClient,
    consumer: &Tenant,
    new: &NewEndpoint,
) -> StoreResult<Endpoint> {
    let service = services::get_any(c, &new.endpoint_service_id, true)
        .await?
        .ok_or(StoreError::ServiceMissing)?;
    let whitelist = permissions::entries(c, &service.id).await?;
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
    // Endpoints created at once in one VPC (through any node) pick their addresses one at a
    // time: otherwise they would all pick the same next address and collide.
    x(
        c,
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[&format!("vpcep-vpc:{}", new.vpc_id)],
    )
    .await
    .map_err(pg_error)?;
    let port_ip = match new.port_ip {
        Some(ip) => {
            let taken: bool = q_one(
                c,
                "SELECT EXISTS(SELECT 1 FROM endpoints WHERE vpc_id = $1 AND port_ip = $2)",
                &[&new.vpc_id, &i64::from(ip)],
            )
            .await
            .map_err(pg_error)?
            .get(0);
            if taken {
                return Err(StoreError::PortIpInUse);
            }
            ip
        }
        None => assign_ip(c, &new.vpc_id).await?,
    };
    let fault = take_fault(c, &consumer.project_id).await?;
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
    let policy = new.policy_document.as_ref().map(to_json).transpose()?;
    x(
        c,
        "INSERT INTO endpoints (id, project_id, domain_id, endpoint_service_id, vpc_id, subnet_id,
             port_ip, enable_dns, description, connection_description, status, ever_accepted,
             whitelist, enable_whitelist, tags, routetables, policy_document, error, created_at,
             updated_at, settled_status, transition_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $18, $19, $20)",
        &[
            &id,
            &consumer.project_id,
            &consumer.domain_id,
            &service.id,
            &new.vpc_id,
            &new.subnet_id,
            &i64::from(port_ip),
            &new.enable_dns,
            &new.description,
            &start.status.as_str(),
            &(start.status == ConnectionStatus::Accepted),
            &to_json(&new.whitelist)?,
            &new.enable_whitelist,
            &to_json(&new.tags)?,
            &to_json(&new.routetables)?,
            &policy,
            &error,
            &now,
            &start.settles_in().map(ConnectionStatus::as_str),
            &start.due_ms(),
        ],
    )
    .await
    .map_err(pg_error)?;
    get_endpoint(c, &consumer.project_id, &id)
        .await?
        .ok_or_else(|| StoreError::Internal("a created endpoint cannot be read back".into()))
}

pub async fn list(
    c: &impl GenericClient,
    project_id: &str,
    filter: &EndpointFilter,
    page: PageRequest,
) -> StoreResult<Page<Endpoint>> {
    let mut q = ListQuery::new(SELECT, COUNT, "e.");
    q.filter("e.project_id = $?", project_id.to_owned());
    if let Some(id) = &filter.id {
        q.filter("e.id = $?", id.clone());
    }
    if let Some(vpc_id) = &filter.vpc_id {
        q.filter("e.vpc_id = $?", vpc_id.clone());
    }
    if let Some(name) = &filter.service_name {
        q.filter("strpos(lower(s.service_name), lower($?)) > 0", name.clone());
    }
    q.page(c, page, row).await
}

pub async fn delete(
    c: &impl GenericClient,
    project_id: &str,
    id: &str,
    delay_ms: i64,
) -> StoreResult<()> {
    let found = q_opt(
        c,
        "SELECT status FROM endpoints WHERE id = $1 AND project_id = $2 FOR UPDATE",
        &[&id, &project_id],
    )
    .await
    .map_err(pg_error)?
    .ok_or(StoreError::NotFound)?;
    connection_status(&found, 0)?
        .check_delete()
        .map_err(StoreError::Transition)?;
    if delay_ms > 0 {
        let due = time::now_ms().saturating_add(delay_ms);
        x(
            c,
            "UPDATE endpoints SET status = 'deleting', settled_status = NULL, transition_at = $1,
                 updated_at = $2 WHERE id = $3",
            &[&due, &time::now(), &id],
        )
        .await
        .map_err(pg_error)?;
    } else {
        x(c, "DELETE FROM endpoints WHERE id = $1", &[&id])
            .await
            .map_err(pg_error)?;
    }
    Ok(())
}

/// Fault injection: the endpoint (and its connection) becomes `failed` with `error`. The caller
/// is the endpoint's project or the owner of its service.
pub async fn fail(
    c: &impl GenericClient,
    project_id: &str,
    id: &str,
    error: &QueryError,
) -> StoreResult<Endpoint> {
    let owner = q_opt(
        c,
        "SELECT e.project_id FROM endpoints e JOIN endpoint_services s
                 ON s.id = e.endpoint_service_id
             WHERE e.id = $1 AND (e.project_id = $2 OR s.project_id = $2) FOR UPDATE OF e",
        &[&id, &project_id],
    )
    .await
    .map_err(pg_error)?
    .ok_or(StoreError::NotFound)?;
    let owner_project: String = col(&owner, 0)?;
    x(
        c,
        "UPDATE endpoints SET status = 'failed', error = $1, settled_status = NULL,
             transition_at = NULL, updated_at = $2 WHERE id = $3",
        &[&to_json(&[error])?, &time::now(), &id],
    )
    .await
    .map_err(pg_error)?;
    get_endpoint(c, &owner_project, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn list_connections(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
    filter: &ConnectionFilter,
    page: PageRequest,
) -> StoreResult<Page<Connection>> {
    services::require_service(c, project_id, service_id).await?;
    const SELECT_CONNECTIONS: &str = "SELECT id, marker_id, created_at, updated_at, domain_id, \
         status, connection_description, error FROM endpoints";
    let mut q = ListQuery::new(SELECT_CONNECTIONS, "SELECT COUNT(*) FROM endpoints", "");
    q.filter("endpoint_service_id = $?", service_id.to_owned());
    if let Some(id) = &filter.id {
        q.filter("id = $?", id.clone());
    }
    if let Some(marker_id) = filter.marker_id {
        q.filter("marker_id = $?", marker_id);
    }
    if let Some(status) = filter.status {
        q.filter("status = $?", status.as_str().to_owned());
    }
    if filter.id.is_none() && filter.marker_id.is_none() {
        // The counters answer at once what counting the service's rows would take O(n) for.
        let status = filter.status.map(|s| s.as_str());
        let total: i64 = q_one(
            c,
            "SELECT COALESCE(SUM(count), 0)::BIGINT FROM service_connection_counts
                 WHERE endpoint_service_id = $1 AND ($2::TEXT IS NULL OR status = $2)",
            &[&service_id, &status],
        )
        .await
        .map_err(pg_error)?
        .get(0);
        q.known_total(total);
    }
    q.page(c, page, rows::connection).await
}

pub async fn accept_or_reject(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
    endpoint_id: &EndpointId,
    action: ConnectionAction,
) -> StoreResult<Connection> {
    // One lookup finds and locks the connection and proves the service is the caller's; only
    // when it finds nothing is the service looked up (404 before 400 EndPoint.2013).
    let found = q_opt(
        c,
        "SELECT e.id, e.marker_id, e.created_at, e.updated_at, e.domain_id, e.status,
                e.connection_description, e.error
         FROM endpoints e JOIN endpoint_services s ON s.id = e.endpoint_service_id
         WHERE e.id = $1 AND e.endpoint_service_id = $2 AND s.project_id = $3
         FOR UPDATE OF e",
        &[&endpoint_id.as_str(), &service_id, &project_id],
    )
    .await
    .map_err(pg_error)?;
    let Some(found) = found else {
        services::require_service(c, project_id, service_id).await?;
        return Err(StoreError::NotAConnection(endpoint_id.to_string()));
    };
    let mut conn = rows::connection(&found)?;
    let next = conn.status.apply(action).map_err(StoreError::Transition)?;
    if next != conn.status {
        let now = time::now();
        x(
            c,
            "UPDATE endpoints SET status = $1, updated_at = $2,
                 ever_accepted = ever_accepted OR $3
             WHERE id = $4",
            &[
                &next.as_str(),
                &now,
                &(next == ConnectionStatus::Accepted),
                &conn.id,
            ],
        )
        .await
        .map_err(pg_error)?;
        conn.status = next;
        conn.updated_at = now;
    }
    Ok(conn)
}

/// The seed operation (docs/api.md §1) in one statement, so one round trip in autocommit: it proves
/// the service is the caller's, finds and locks the named connections (in id order, so two
/// writers never deadlock), and writes the changed descriptions only if every id is one of the
/// service's connections and every one of them may change. It returns the rows as they were
/// (or one row of NULLs when none was found) with the verdict; the errors, in the order of
/// docs/api.md §2, are then told from those rows as in the SQLite backend. The UPDATE is driven by
/// the locked rows and their primary key, so its plan is an index lookup per row whatever the
/// planner thinks of the table's size (a plan that joined `endpoints` by `id` was planned, on a
/// small table, as a sequential scan, and such a plan stays cached on the connection).
const SEED_UPDATE: &str = "WITH svc AS (
         SELECT id FROM endpoint_services WHERE id = $1 AND project_id = $2
     ), found AS (
         SELECT e.id, e.marker_id, e.created_at, e.updated_at, e.domain_id, e.status,
                e.connection_description, e.error
         FROM endpoints e
         WHERE e.endpoint_service_id = (SELECT id FROM svc) AND e.id = ANY($3::text[])
         ORDER BY e.id
         FOR UPDATE
     ), verdict AS (
         SELECT EXISTS (SELECT 1 FROM svc) AS service_found,
                (SELECT count(*) FROM found) = cardinality($3::text[])
                AND NOT EXISTS (SELECT 1 FROM found WHERE status <> ALL ($5::text[])) AS valid
     ), changed AS (
         UPDATE endpoints e
         SET connection_description = u.description, updated_at = $6
         FROM found f, unnest($3::text[], $4::text[]) AS u(id, description), verdict v
         WHERE v.service_found AND v.valid
           AND u.id = f.id AND f.connection_description <> u.description
           AND e.marker_id = f.marker_id
         RETURNING e.id
     )
     SELECT f.id, f.marker_id, f.created_at, f.updated_at, f.domain_id, f.status,
            f.connection_description, f.error, v.service_found
     FROM verdict v LEFT JOIN found f ON true";

pub async fn update_connection_descriptions(
    c: &impl GenericClient,
    project_id: &str,
    service_id: &str,
    updates: &[DescriptionUpdate],
) -> StoreResult<Vec<Connection>> {
    let ids: Vec<&str> = updates.iter().map(|u| u.id.as_str()).collect();
    let texts: Vec<&str> = updates.iter().map(|u| u.description.as_str()).collect();
    let changeable: Vec<&str> = ConnectionStatus::ALL
        .iter()
        .filter(|s| s.check_description_change().is_ok())
        .map(|s| s.as_str())
        .collect();
    let now = time::now();
    let rows = q(
        c,
        SEED_UPDATE,
        &[&service_id, &project_id, &ids, &texts, &changeable, &now],
    )
    .await
    .map_err(pg_error)?;
    let service_found = match rows.first() {
        Some(r) => col::<bool>(r, 8)?,
        None => {
            return Err(StoreError::Internal(
                "the seed update returned no row".into(),
            ))
        }
    };
    if !service_found {
        return Err(StoreError::NotFound);
    }
    let mut by_id = std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        if col::<Option<String>>(r, 0)?.is_some() {
            let conn = rows::connection(r)?;
            by_id.insert(conn.id.clone(), conn);
        }
    }
    let mut current = Vec::with_capacity(updates.len());
    for u in updates {
        match by_id.remove(u.id.as_str()) {
            Some(conn) => current.push(conn),
            None => return Err(StoreError::NotAConnection(u.id.to_string())),
        }
    }
    // What the statement wrote: the changed descriptions, with the same time.
    apply_description_updates(&mut current, updates, now)?;
    sort_as_listed(&mut current);
    Ok(current)
}
