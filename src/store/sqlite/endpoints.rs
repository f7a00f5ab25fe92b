//! Endpoint rows, and the same rows seen as connections by the service owner.

use rusqlite::{params, OptionalExtension, Row};

use super::rows::{self, connection_status, json, json_opt, to_json};
use super::{db_error, SqliteTx};
use crate::domain::route::Route;
use crate::domain::{
    format_ipv4, seed, AddressRange, Connection, ConnectionStatus, DescriptionUpdate, Endpoint,
    EndpointId, ProjectId, QueryError, ServiceId,
};
use crate::store::list::{ListQuery, ListSql};
use crate::store::tx::{ConnectionRows, EndpointInsert, EndpointRows, ServiceRows};
use crate::store::{Page, PageRequest, StoreResult};

const SELECT: &str = "SELECT e.id, e.marker_id, e.project_id, e.domain_id, \
     e.endpoint_service_id, s.service_name, s.service_type, e.vpc_id, e.subnet_id, e.port_ip, \
     e.enable_dns, e.description, e.connection_description, e.status, e.ever_accepted, \
     e.whitelist, e.enable_whitelist, e.tags, e.routetables, e.policy_document, e.error, \
     e.created_at, e.updated_at, e.policy_statement, e.edition \
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
        policy_statement: json(r, 23)?,
        edition: r.get(24)?,
        error: json_opt(r, 20)?.unwrap_or_default(),
        created_at: r.get(21)?,
        updated_at: r.get(22)?,
    })
}

const SELECT_CONNECTION: &str = "SELECT e.id, e.marker_id, e.created_at, e.updated_at, \
     e.domain_id, e.status, e.connection_description, e.error \
     FROM endpoints e JOIN endpoint_services s ON s.id = e.endpoint_service_id \
     WHERE e.id = ?1 AND e.endpoint_service_id = ?2 AND s.project_id = ?3";

/// The first column, an address, as the domain's `u32`.
fn ip(r: &Row<'_>) -> rusqlite::Result<u32> {
    ip_at(r, 0)
}

/// An address column as the domain's `u32`.
fn ip_at(r: &Row<'_>, idx: usize) -> rusqlite::Result<u32> {
    let v: i64 = r.get(idx)?;
    u32::try_from(v).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Integer, Box::new(e))
    })
}

impl EndpointRows for SqliteTx<'_> {
    async fn endpoint(
        &mut self,
        project: &ProjectId,
        id: &EndpointId,
    ) -> StoreResult<Option<Endpoint>> {
        self.c
            .prepare_cached(&format!("{SELECT} WHERE e.id = ?1 AND e.project_id = ?2"))
            .and_then(|mut s| s.query_row([id.as_str(), project.as_str()], row).optional())
            .map_err(db_error)
    }

    async fn endpoint_status(
        &mut self,
        project: &ProjectId,
        id: &EndpointId,
    ) -> StoreResult<Option<ConnectionStatus>> {
        self.c
            .prepare_cached("SELECT status FROM endpoints WHERE id = ?1 AND project_id = ?2")
            .and_then(|mut s| {
                s.query_row([id.as_str(), project.as_str()], |r| connection_status(r, 0))
                    .optional()
            })
            .map_err(db_error)
    }

    async fn endpoint_project_seen_by(
        &mut self,
        project: &ProjectId,
        id: &EndpointId,
    ) -> StoreResult<Option<ProjectId>> {
        self.c
            .prepare_cached(
                "SELECT e.project_id FROM endpoints e JOIN endpoint_services s
                     ON s.id = e.endpoint_service_id
                 WHERE e.id = ?1 AND (e.project_id = ?2 OR s.project_id = ?2)",
            )
            .and_then(|mut s| {
                s.query_row([id.as_str(), project.as_str()], |r| r.get::<_, String>(0))
                    .optional()
            })
            .map(|o| o.map(ProjectId::stored))
            .map_err(db_error)
    }

    async fn data_plane_routes(&mut self) -> StoreResult<Vec<Route>> {
        let mut stmt = self
            .c
            .prepare_cached(
                "SELECT e.id, e.marker_id, e.port_ip, e.enable_whitelist, e.whitelist,
                s.ip, s.tcp_proxy, s.ports, COALESCE(own.address, every.address)
         FROM endpoints e JOIN endpoint_services s ON s.id = e.endpoint_service_id
         LEFT JOIN backends own ON own.port_id = s.port_id AND own.project_id = s.project_id
         LEFT JOIN backends every ON every.port_id = s.port_id AND every.project_id = ''
         WHERE e.status = 'accepted' AND s.service_type = 'interface'
         ORDER BY e.marker_id",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Route {
                    endpoint_id: r.get(0)?,
                    marker_id: r.get(1)?,
                    address: std::net::Ipv4Addr::from(ip_at(r, 2)?),
                    enable_whitelist: r.get(3)?,
                    whitelist: json(r, 4)?,
                    service_ip: r.get(5)?,
                    tcp_proxy: r.get(6)?,
                    ports: json(r, 7)?,
                    registered: r.get(8)?,
                })
            })
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    async fn port_ip_taken(&mut self, vpc_id: Option<&str>, ip: u32) -> StoreResult<bool> {
        let ip = i64::from(ip);
        match vpc_id {
            Some(vpc) => self
                .c
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM endpoints WHERE vpc_id = ?1 AND port_ip = ?2)",
                )
                .and_then(|mut s| s.query_row(params![vpc, ip], |r| r.get(0))),
            None => self
                .c
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM endpoints WHERE port_ip = ?1)")
                .and_then(|mut s| s.query_row(params![ip], |r| r.get(0))),
        }
        .map_err(db_error)
    }

    async fn highest_ip_in(
        &mut self,
        vpc_id: Option<&str>,
        range: &AddressRange,
    ) -> StoreResult<Option<u32>> {
        let (first, last) = (i64::from(range.first), i64::from(range.last));
        let max: Option<i64> = match vpc_id {
            Some(vpc) => self
                .c
                .prepare_cached(
                    "SELECT MAX(port_ip) FROM endpoints
                     WHERE vpc_id = ?1 AND port_ip BETWEEN ?2 AND ?3",
                )
                .and_then(|mut s| s.query_row(params![vpc, first, last], |r| r.get(0))),
            None => self
                .c
                .prepare_cached(
                    "SELECT MAX(port_ip) FROM endpoints WHERE port_ip BETWEEN ?1 AND ?2",
                )
                .and_then(|mut s| s.query_row(params![first, last], |r| r.get(0))),
        }
        .map_err(db_error)?;
        Ok(max.and_then(|m| u32::try_from(m).ok()))
    }

    async fn ips_in_use(
        &mut self,
        vpc_id: Option<&str>,
        range: &AddressRange,
    ) -> StoreResult<Vec<u32>> {
        let (first, last) = (i64::from(range.first), i64::from(range.last));
        let in_vpc = "SELECT port_ip FROM endpoints WHERE vpc_id = ?1 AND port_ip BETWEEN ?2 AND ?3
                      ORDER BY port_ip";
        let anywhere =
            "SELECT port_ip FROM endpoints WHERE port_ip BETWEEN ?1 AND ?2 ORDER BY port_ip";
        let mut stmt = self
            .c
            .prepare_cached(if vpc_id.is_some() { in_vpc } else { anywhere })
            .map_err(db_error)?;
        let rows = match vpc_id {
            Some(vpc) => stmt.query_map(params![vpc, first, last], ip),
            None => stmt.query_map(params![first, last], ip),
        }
        .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    async fn insert_endpoint(&mut self, r: EndpointInsert<'_>) -> StoreResult<()> {
        let new = r.new;
        let error = r.error.map(|f| to_json(&[f])).transpose()?;
        let policy = new.policy_document.as_ref().map(to_json).transpose()?;
        self.exec(
            "INSERT INTO endpoints (id, project_id, domain_id, endpoint_service_id, vpc_id,
                 subnet_id, port_ip, enable_dns, description, connection_description, status,
                 ever_accepted, whitelist, enable_whitelist, tags, routetables, policy_document,
                 error, created_at, updated_at, settled_status, transition_at, policy_statement,
                 quota_shard)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '', ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?18, ?19, ?20, ?21, ?22)",
            params![
                r.id,
                r.consumer.project_id.as_str(),
                r.consumer.domain_id.as_str(),
                r.service_id,
                new.vpc_id,
                new.subnet_id,
                i64::from(r.port_ip),
                new.enable_dns,
                new.description,
                r.start.status.as_str(),
                r.start.status == ConnectionStatus::Accepted,
                to_json(&new.whitelist)?,
                new.enable_whitelist,
                to_json(&new.tags)?,
                to_json(&new.routetables)?,
                policy,
                error,
                r.now,
                r.start.settles_in().map(ConnectionStatus::as_str),
                r.start.due_ms(),
                to_json(&new.policy_statement)?,
                r.quota_shard,
            ],
        )
        .map(drop)
    }

    async fn mark_endpoint_deleting(
        &mut self,
        id: &EndpointId,
        due_ms: i64,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoints SET status = 'deleting', settled_status = NULL, transition_at = ?1,
                 updated_at = ?2 WHERE id = ?3",
            params![due_ms, now, id.as_str()],
        )
        .map(drop)
    }

    async fn delete_endpoint(&mut self, id: &EndpointId) -> StoreResult<()> {
        self.exec("DELETE FROM endpoints WHERE id = ?1", [id.as_str()])
            .map(drop)
    }

    async fn set_endpoint_whitelist(
        &mut self,
        id: &EndpointId,
        whitelist: &[String],
        enabled: bool,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoints SET whitelist = ?1, enable_whitelist = ?2, updated_at = ?3
             WHERE id = ?4",
            params![to_json(&whitelist)?, enabled, now, id.as_str()],
        )
        .map(drop)
    }

    async fn set_endpoint_policy(
        &mut self,
        id: &EndpointId,
        statement: &[serde_json::Value],
        document: Option<&serde_json::Value>,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoints SET policy_statement = ?1, policy_document = ?2, updated_at = ?3
             WHERE id = ?4",
            params![
                to_json(&statement)?,
                document.map(to_json).transpose()?,
                now,
                id.as_str()
            ],
        )
        .map(drop)
    }

    async fn set_endpoint_routetables(
        &mut self,
        id: &EndpointId,
        routetables: &[String],
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoints SET routetables = ?1, updated_at = ?2 WHERE id = ?3",
            params![to_json(&routetables)?, now, id.as_str()],
        )
        .map(drop)
    }

    async fn set_endpoint_edition(
        &mut self,
        id: &EndpointId,
        edition: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoints SET edition = ?1, updated_at = ?2 WHERE id = ?3",
            params![edition, now, id.as_str()],
        )
        .map(drop)
    }

    async fn routetables_of_service(
        &mut self,
        service: &ServiceId,
        vpc_id: &str,
    ) -> StoreResult<Vec<(String, Vec<String>)>> {
        let mut s = self
            .c
            .prepare_cached(
                "SELECT id, routetables FROM endpoints
                 WHERE endpoint_service_id = ?1 AND vpc_id = ?2",
            )
            .map_err(db_error)?;
        let rows = s
            .query_map([service.as_str(), vpc_id], |r| Ok((r.get(0)?, json(r, 1)?)))
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    async fn set_endpoint_failed(
        &mut self,
        id: &EndpointId,
        error: &QueryError,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoints SET status = 'failed', error = ?1, settled_status = NULL,
                 transition_at = NULL, updated_at = ?2 WHERE id = ?3",
            params![to_json(&[error])?, now, id.as_str()],
        )
        .map(drop)
    }

    async fn list_endpoints(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Endpoint>> {
        rows::page(
            self.c,
            &ListSql {
                select: SELECT,
                count: COUNT,
                prefix: "e.",
            },
            query,
            page,
            row,
        )
    }
}

impl ConnectionRows for SqliteTx<'_> {
    async fn connection(
        &mut self,
        project: &ProjectId,
        service: &ServiceId,
        id: &EndpointId,
    ) -> StoreResult<Option<Connection>> {
        self.c
            .prepare_cached(SELECT_CONNECTION)
            .and_then(|mut s| {
                s.query_row(
                    [id.as_str(), service.as_str(), project.as_str()],
                    rows::connection,
                )
                .optional()
            })
            .map_err(db_error)
    }

    async fn set_connection_status(
        &mut self,
        id: &EndpointId,
        status: ConnectionStatus,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE endpoints SET status = ?1, updated_at = ?2,
                 ever_accepted = ever_accepted OR ?3
             WHERE id = ?4",
            params![
                status.as_str(),
                now,
                status == ConnectionStatus::Accepted,
                id.as_str()
            ],
        )
        .map(drop)
    }

    async fn connection_count(
        &mut self,
        service: &ServiceId,
        status: Option<ConnectionStatus>,
    ) -> StoreResult<i64> {
        self.c
            .prepare_cached(
                "SELECT COALESCE(SUM(count), 0) FROM service_connection_counts
                 WHERE endpoint_service_id = ?1 AND (?2 IS NULL OR status = ?2)",
            )
            .and_then(|mut s| {
                s.query_row(params![service.as_str(), status.map(|s| s.as_str())], |r| {
                    r.get(0)
                })
            })
            .map_err(db_error)
    }

    async fn connection_totals(&mut self) -> StoreResult<Vec<(ConnectionStatus, i64)>> {
        let mut stmt = self
            .c
            .prepare_cached(
                "SELECT status, SUM(count) FROM service_connection_counts GROUP BY status",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| Ok((connection_status(r, 0)?, r.get(1)?)))
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    async fn list_connections(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Connection>> {
        rows::page(
            self.c,
            &ListSql {
                select: "SELECT id, marker_id, created_at, updated_at, domain_id, status, \
                         connection_description, error FROM endpoints",
                count: "SELECT COUNT(*) FROM endpoints",
                prefix: "",
            },
            query,
            page,
            rows::connection,
        )
    }

    /// One indexed lookup per id, which also proves the service is the caller's; only when one
    /// finds nothing is the service itself looked up. When every id is found, the rows are in
    /// request order, so each pairs with its update.
    async fn find_and_update_descriptions(
        &mut self,
        project: &ProjectId,
        service: &ServiceId,
        updates: &[DescriptionUpdate],
        now: i64,
    ) -> StoreResult<Option<Vec<Connection>>> {
        let mut found = Vec::with_capacity(updates.len());
        {
            let mut stmt = self.c.prepare_cached(SELECT_CONNECTION).map_err(db_error)?;
            for u in updates {
                let key = [u.id.as_str(), service.as_str(), project.as_str()];
                if let Some(c) = stmt
                    .query_row(key, rows::connection)
                    .optional()
                    .map_err(db_error)?
                {
                    found.push(c);
                }
            }
        }
        if found.len() < updates.len() {
            let exists = self.service_exists(project, service).await?;
            return Ok(exists.then_some(found));
        }
        if seed::allowed(&found, updates) {
            let mut stmt = self
                .c
                .prepare_cached(
                    "UPDATE endpoints SET connection_description = ?1, updated_at = ?2
                     WHERE id = ?3",
                )
                .map_err(db_error)?;
            for (c, u) in found.iter().zip(updates) {
                if c.description != u.description.as_str() {
                    stmt.execute(params![u.description.as_str(), now, c.id])
                        .map_err(db_error)?;
                }
            }
        }
        Ok(Some(found))
    }
}
