//! Endpoint service rows.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::rows::{self, col, json, json_opt, service_status, to_json, ListSql};
use super::rows::{q, q_one, q_opt, x};
use super::{pg_error, PgTx};
use crate::domain::lifecycle::Start;
use crate::domain::route::Backend;
use crate::domain::{EndpointService, Port, ProjectId, ServiceError, ServiceId, ServiceStatus};
use crate::store::list::ListQuery;
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
     s.server_resources, (SELECT COALESCE(SUM(n.count), 0)::BIGINT FROM service_connection_counts n \
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
        public: col(r, 22)?,
        owner: col(r, 23)?,
        is_charge: col(r, 24)?,
        supported_editions: json(r, 25)?,
        server_resources: json(r, 26)?,
    };
    Ok((service, col(r, 20)?))
}

fn stored(r: &Row) -> StoreResult<StoredService> {
    row(r).map(|(service, name)| StoredService { service, name })
}

fn row_with_count(r: &Row) -> StoreResult<EndpointService> {
    let (mut s, _) = row(r)?;
    s.connection_count = col(r, 27)?;
    Ok(s)
}

const LIST: ListSql = ListSql {
    select: WITH_COUNT,
    count: "SELECT COUNT(*) FROM endpoint_services s",
    prefix: "s.",
};

fn lock_clause(lock: Lock) -> &'static str {
    match lock {
        Lock::No => "",
        Lock::Share => " FOR SHARE",
        Lock::Update => " FOR UPDATE",
    }
}

impl<C: GenericClient> ServiceRows for PgTx<'_, C> {
    async fn set_backend(&mut self, b: &Backend) -> StoreResult<()> {
        x(
            self.c,
            "INSERT INTO backends (project_id, port_id, address, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (port_id, project_id)
                 DO UPDATE SET address = excluded.address, updated_at = excluded.updated_at",
            &[&b.project_id, &b.port_id, &b.address, &b.updated_at],
        )
        .await
        .map(|_| ())
        .map_err(pg_error)
    }

    async fn backends(&mut self, project_id: Option<&str>) -> StoreResult<Vec<Backend>> {
        match project_id {
            Some(p) => q(self.c, "SELECT project_id, port_id, address, updated_at FROM backends WHERE project_id IN ($1, '') ORDER BY port_id, project_id", &[&p]).await,
            None => q(self.c, "SELECT project_id, port_id, address, updated_at FROM backends ORDER BY port_id, project_id", &[]).await,
        }
        .map_err(pg_error)?
        .iter()
        .map(|r| {
            Ok(Backend {
                project_id: col(r, 0)?,
                port_id: col(r, 1)?,
                address: col(r, 2)?,
                updated_at: col(r, 3)?,
            })
        })
        .collect()
    }

    async fn delete_backend(&mut self, project_id: &str, port_id: &str) -> StoreResult<bool> {
        x(
            self.c,
            "DELETE FROM backends WHERE project_id = $1 AND port_id = $2",
            &[&project_id, &port_id],
        )
        .await
        .map(|n| n > 0)
        .map_err(pg_error)
    }

    async fn service(
        &mut self,
        project: Option<&ProjectId>,
        id: &ServiceId,
        lock: Lock,
    ) -> StoreResult<Option<StoredService>> {
        let found = match project {
            Some(project) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM endpoint_services s WHERE s.id = $1 AND s.project_id = $2{}",
                    lock_clause(lock)
                );
                q_opt(self.c, &sql, &[&id.as_str(), &project.as_str()]).await
            }
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM endpoint_services s WHERE s.id = $1{}",
                    lock_clause(lock)
                );
                q_opt(self.c, &sql, &[&id.as_str()]).await
            }
        };
        found.map_err(pg_error)?.as_ref().map(stored).transpose()
    }

    async fn service_by_full_name(
        &mut self,
        service_name: &str,
    ) -> StoreResult<Option<EndpointService>> {
        q_opt(
            self.c,
            &format!("SELECT {COLUMNS} FROM endpoint_services s WHERE s.service_name = $1"),
            &[&service_name],
        )
        .await
        .map_err(pg_error)?
        .as_ref()
        .map(|r| row(r).map(|(s, _)| s))
        .transpose()
    }

    /// The share lock keeps the service from being deleted while the caller's transaction
    /// changes what hangs off it.
    async fn service_exists(&mut self, project: &ProjectId, id: &ServiceId) -> StoreResult<bool> {
        q_opt(
            self.c,
            "SELECT 1 FROM endpoint_services WHERE id = $1 AND project_id = $2 FOR SHARE",
            &[&id.as_str(), &project.as_str()],
        )
        .await
        .map(|r| r.is_some())
        .map_err(pg_error)
    }

    async fn services_on_port(
        &mut self,
        project: &ProjectId,
        port_id: &str,
    ) -> StoreResult<Vec<(String, Vec<Port>)>> {
        q(
            self.c,
            "SELECT id, ports FROM endpoint_services WHERE port_id = $1 AND project_id = $2",
            &[&port_id, &project.as_str()],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| Ok((col(r, 0)?, json(r, 1)?)))
        .collect()
    }

    async fn insert_service(
        &mut self,
        service: &EndpointService,
        name: Option<&str>,
        start: &Start<ServiceStatus>,
        quota_shard: u32,
    ) -> StoreResult<()> {
        let quota_shard = i32::try_from(quota_shard).unwrap_or(0);
        let error_json = (!service.error.is_empty())
            .then(|| to_json(&service.error))
            .transpose()?;
        x(
            self.c,
            "INSERT INTO endpoint_services (id, project_id, domain_id, name, service_name, port_id,
             vpc_id, pool_id, server_type, service_type, approval_enabled, status, ip, tcp_proxy,
             description, enable_policy, ip_version, ports, tags, created_at, updated_at,
             settled_status, transition_at, error, public, owner, is_charge, supported_editions,
             server_resources, quota_shard)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)",
            &[
                &service.id,
                &service.project_id,
                &service.domain_id,
                &name,
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
                &service.public,
                &service.owner,
                &service.is_charge,
                &to_json(&service.supported_editions)?,
                &to_json(&service.server_resources)?,
                &quota_shard,
            ],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn update_service(
        &mut self,
        service: &EndpointService,
        name: Option<&str>,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoint_services SET approval_enabled = $1, name = $2, service_name = $3,
                 ports = $4, port_id = $5, tcp_proxy = $6, description = $7, ip = $8, updated_at = $9,
                 supported_editions = $11, server_resources = $12
             WHERE id = $10",
            &[
                &service.approval_enabled,
                &name,
                &service.service_name,
                &to_json(&service.ports)?,
                &service.port_id,
                &service.tcp_proxy,
                &service.description,
                &service.ip,
                &service.updated_at,
                &service.id,
                &to_json(&service.supported_editions)?,
                &to_json(&service.server_resources)?,
            ],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn service_has_endpoints(&mut self, id: &ServiceId) -> StoreResult<bool> {
        let r = q_one(
            self.c,
            "SELECT EXISTS(SELECT 1 FROM endpoints WHERE endpoint_service_id = $1)",
            &[&id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        col(&r, 0)
    }

    async fn mark_service_deleting(
        &mut self,
        id: &ServiceId,
        due_ms: i64,
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoint_services SET status = 'deleting', transition_at = $1,
                 updated_at = $2 WHERE id = $3",
            &[&due_ms, &now, &id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn delete_service(&mut self, id: &ServiceId) -> StoreResult<()> {
        x(
            self.c,
            "DELETE FROM endpoint_services WHERE id = $1",
            &[&id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn set_service_failed(
        &mut self,
        id: &ServiceId,
        error: &ServiceError,
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoint_services SET status = 'failed', error = $1, settled_status = NULL,
                 transition_at = NULL, updated_at = $2 WHERE id = $3",
            &[&to_json(&[error])?, &now, &id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn list_services(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> StoreResult<Page<EndpointService>> {
        rows::page(self.c, &LIST, query, page, row_with_count).await
    }
}
