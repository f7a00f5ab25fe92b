//! Endpoint service rows.

use rusqlite::{params, OptionalExtension, Row};

use super::rows::{self, json, json_opt, service_status, to_json};
use super::{db_error, SqliteTx};
use crate::domain::lifecycle::Start;
use crate::domain::route::Backend;
use crate::domain::{EndpointService, Port, ProjectId, ServiceError, ServiceId, ServiceStatus};
use crate::store::list::{ListQuery, ListSql};
use crate::store::tx::{Lock, ServiceRows, StoredService};
use crate::store::{Page, PageRequest, StoreResult};

const COLUMNS: &str = "s.id, s.project_id, s.domain_id, s.service_name, s.port_id, s.vpc_id, \
     s.pool_id, s.server_type, s.service_type, s.approval_enabled, s.status, s.ip, s.tcp_proxy, \
     s.description, s.enable_policy, s.ip_version, s.ports, s.tags, s.created_at, s.updated_at, \
     s.name, s.error, s.public, s.owner, s.is_charge, s.supported_editions, s.server_resources";

/// `connection_count`: connections in `creating` or `accepted` (the VPCEP API reference's
/// endpoint service object), from the counters that migration 0004's triggers keep.
const WITH_COUNT: &str = "SELECT s.id, s.project_id, s.domain_id, s.service_name, s.port_id, \
     s.vpc_id, s.pool_id, s.server_type, s.service_type, s.approval_enabled, s.status, s.ip, \
     s.tcp_proxy, s.description, s.enable_policy, s.ip_version, s.ports, s.tags, s.created_at, \
     s.updated_at, s.name, s.error, s.public, s.owner, s.is_charge, s.supported_editions, \
     s.server_resources, (SELECT COALESCE(SUM(n.count), 0) FROM service_connection_counts n \
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
        public: r.get(22)?,
        owner: r.get(23)?,
        is_charge: r.get(24)?,
        supported_editions: json(r, 25)?,
        server_resources: json(r, 26)?,
    };
    Ok((service, r.get(20)?))
}

fn row_with_count(r: &Row<'_>) -> rusqlite::Result<EndpointService> {
    let (mut s, _) = row(r)?;
    s.connection_count = r.get(27)?;
    Ok(s)
}

fn stored(r: &Row<'_>) -> rusqlite::Result<StoredService> {
    let (service, name) = row(r)?;
    Ok(StoredService { service, name })
}

impl ServiceRows for SqliteTx<'_> {
    async fn set_backend(&mut self, b: &Backend) -> StoreResult<()> {
        self.c
            .prepare_cached(
                "INSERT INTO backends (project_id, port_id, address, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (port_id, project_id)
                 DO UPDATE SET address = excluded.address, updated_at = excluded.updated_at",
            )
            .and_then(|mut s| s.execute(params![b.project_id, b.port_id, b.address, b.updated_at]))
            .map(|_| ())
            .map_err(db_error)
    }

    async fn backends(&mut self, project_id: Option<&str>) -> StoreResult<Vec<Backend>> {
        let row = |r: &Row<'_>| {
            Ok(Backend {
                project_id: r.get(0)?,
                port_id: r.get(1)?,
                address: r.get(2)?,
                updated_at: r.get(3)?,
            })
        };
        let mut stmt = self
            .c
            .prepare_cached(match project_id {
                Some(_) => "SELECT project_id, port_id, address, updated_at FROM backends WHERE project_id IN (?1, '') ORDER BY port_id, project_id",
                None => "SELECT project_id, port_id, address, updated_at FROM backends ORDER BY port_id, project_id",
            })
            .map_err(db_error)?;
        let rows = match project_id {
            Some(p) => stmt.query_map([p], row),
            None => stmt.query_map([], row),
        }
        .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    async fn delete_backend(&mut self, project_id: &str, port_id: &str) -> StoreResult<bool> {
        self.c
            .prepare_cached("DELETE FROM backends WHERE project_id = ?1 AND port_id = ?2")
            .and_then(|mut s| s.execute([project_id, port_id]))
            .map(|n| n > 0)
            .map_err(db_error)
    }

    async fn service(
        &mut self,
        project: Option<&ProjectId>,
        id: &ServiceId,
        _lock: Lock,
    ) -> StoreResult<Option<StoredService>> {
        match project {
            Some(p) => self
                .c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM endpoint_services s WHERE s.id = ?1 AND s.project_id = ?2"
                ))
                .and_then(|mut s| s.query_row([id.as_str(), p.as_str()], stored).optional()),
            None => self
                .c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM endpoint_services s WHERE s.id = ?1"
                ))
                .and_then(|mut s| s.query_row([id.as_str()], stored).optional()),
        }
        .map_err(db_error)
    }

    async fn service_by_full_name(
        &mut self,
        service_name: &str,
    ) -> StoreResult<Option<EndpointService>> {
        self.c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM endpoint_services s WHERE s.service_name = ?1"
            ))
            .and_then(|mut s| s.query_row([service_name], row).optional())
            .map(|o| o.map(|(s, _)| s))
            .map_err(db_error)
    }

    async fn service_exists(&mut self, project: &ProjectId, id: &ServiceId) -> StoreResult<bool> {
        self.c
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM endpoint_services WHERE id = ?1 AND project_id = ?2)",
            )
            .and_then(|mut s| s.query_row([id.as_str(), project.as_str()], |r| r.get(0)))
            .map_err(db_error)
    }

    async fn services_on_port(
        &mut self,
        project: &ProjectId,
        port_id: &str,
    ) -> StoreResult<Vec<(String, Vec<Port>)>> {
        let mut stmt = self
            .c
            .prepare_cached(
                "SELECT id, ports FROM endpoint_services WHERE port_id = ?1 AND project_id = ?2",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([port_id, project.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, json::<Vec<Port>>(r, 1)?))
            })
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    async fn insert_service(
        &mut self,
        service: &EndpointService,
        name: Option<&str>,
        start: &Start<ServiceStatus>,
        quota_shard: u32,
    ) -> StoreResult<()> {
        let error_json = (!service.error.is_empty())
            .then(|| to_json(&service.error))
            .transpose()?;
        self.exec(
            "INSERT INTO endpoint_services (id, project_id, domain_id, name, service_name, port_id,
                 vpc_id, pool_id, server_type, service_type, approval_enabled, status, ip, tcp_proxy,
                 description, enable_policy, ip_version, ports, tags, created_at, updated_at,
                 settled_status, transition_at, error, public, owner, is_charge, supported_editions,
                 server_resources, quota_shard)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)",
            params![
                service.id,
                service.project_id,
                service.domain_id,
                name,
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
                to_json(&service.ports)?,
                to_json(&service.tags)?,
                service.created_at,
                service.updated_at,
                start.settles_in().map(ServiceStatus::as_str),
                start.due_ms(),
                error_json,
                service.public,
                service.owner,
                service.is_charge,
                to_json(&service.supported_editions)?,
                to_json(&service.server_resources)?,
                quota_shard,
            ],
        )
        .map(drop)
    }

    async fn update_service(
        &mut self,
        service: &EndpointService,
        name: Option<&str>,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoint_services SET approval_enabled = ?1, name = ?2, service_name = ?3,
                 ports = ?4, port_id = ?5, tcp_proxy = ?6, description = ?7, ip = ?8,
                 updated_at = ?9, supported_editions = ?11, server_resources = ?12
             WHERE id = ?10",
            params![
                service.approval_enabled,
                name,
                service.service_name,
                to_json(&service.ports)?,
                service.port_id,
                service.tcp_proxy,
                service.description,
                service.ip,
                service.updated_at,
                service.id,
                to_json(&service.supported_editions)?,
                to_json(&service.server_resources)?,
            ],
        )
        .map(drop)
    }

    async fn service_has_endpoints(&mut self, id: &ServiceId) -> StoreResult<bool> {
        self.c
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM endpoints WHERE endpoint_service_id = ?1)")
            .and_then(|mut s| s.query_row([id.as_str()], |r| r.get(0)))
            .map_err(db_error)
    }

    async fn mark_service_deleting(
        &mut self,
        id: &ServiceId,
        due_ms: i64,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoint_services SET status = 'deleting', transition_at = ?1,
                 updated_at = ?2 WHERE id = ?3",
            params![due_ms, now, id.as_str()],
        )
        .map(drop)
    }

    async fn delete_service(&mut self, id: &ServiceId) -> StoreResult<()> {
        self.exec("DELETE FROM endpoint_services WHERE id = ?1", [id.as_str()])
            .map(drop)
    }

    async fn set_service_failed(
        &mut self,
        id: &ServiceId,
        error: &ServiceError,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoint_services SET status = 'failed', error = ?1, settled_status = NULL,
                 transition_at = NULL, updated_at = ?2 WHERE id = ?3",
            params![to_json(&[error])?, now, id.as_str()],
        )
        .map(drop)
    }

    async fn list_services(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> StoreResult<Page<EndpointService>> {
        rows::page(
            self.c,
            &ListSql {
                select: WITH_COUNT,
                count: "SELECT COUNT(*) FROM endpoint_services s",
                prefix: "s.",
            },
            query,
            page,
            row_with_count,
        )
    }
}
