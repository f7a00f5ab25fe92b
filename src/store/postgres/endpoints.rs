//! Endpoint rows, and the same rows seen as connections by the service owner.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::rows::{self, col, connection_status, json, json_opt, to_json, ListSql};
use super::rows::{q, q_one, q_opt, x};
use super::{pg_error, PgTx};
use crate::domain::route::Route;
use crate::domain::{
    format_ipv4, AddressRange, Connection, ConnectionStatus, DescriptionUpdate, Endpoint,
    EndpointId, ProjectId, QueryError, ServiceId,
};
use crate::store::list::ListQuery;
use crate::store::tx::{ConnectionRows, EndpointInsert, EndpointRows};
use crate::store::{Page, PageRequest, StoreError, StoreResult};

const SELECT: &str = "SELECT e.id, e.marker_id, e.project_id, e.domain_id, \
     e.endpoint_service_id, s.service_name, s.service_type, e.vpc_id, e.subnet_id, e.port_ip, \
     e.enable_dns, e.description, e.connection_description, e.status, e.ever_accepted, \
     e.whitelist, e.enable_whitelist, e.tags, e.routetables, e.policy_document, e.error, \
     e.created_at, e.updated_at, e.policy_statement, e.edition \
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
        policy_statement: json(r, 23)?,
        edition: col(r, 24)?,
        error: json_opt(r, 20)?.unwrap_or_default(),
        created_at: col(r, 21)?,
        updated_at: col(r, 22)?,
    })
}

const LIST_ENDPOINTS: ListSql = ListSql {
    select: SELECT,
    count: COUNT,
    prefix: "e.",
};

const LIST_CONNECTIONS: ListSql = ListSql {
    select: "SELECT id, marker_id, created_at, updated_at, domain_id, status, \
             connection_description, error FROM endpoints",
    count: "SELECT COUNT(*) FROM endpoints",
    prefix: "",
};

fn ip(value: i64) -> StoreResult<u32> {
    u32::try_from(value)
        .map_err(|_| StoreError::Internal(format!("port_ip {value} is not an IPv4 address")))
}

impl<C: GenericClient> EndpointRows for PgTx<'_, C> {
    async fn endpoint(
        &mut self,
        project: &ProjectId,
        id: &EndpointId,
    ) -> StoreResult<Option<Endpoint>> {
        q_opt(
            self.c,
            &format!("{SELECT} WHERE e.id = $1 AND e.project_id = $2"),
            &[&id.as_str(), &project.as_str()],
        )
        .await
        .map_err(pg_error)?
        .as_ref()
        .map(row)
        .transpose()
    }

    async fn endpoint_status(
        &mut self,
        project: &ProjectId,
        id: &EndpointId,
    ) -> StoreResult<Option<ConnectionStatus>> {
        q_opt(
            self.c,
            "SELECT status FROM endpoints WHERE id = $1 AND project_id = $2 FOR UPDATE",
            &[&id.as_str(), &project.as_str()],
        )
        .await
        .map_err(pg_error)?
        .map(|r| connection_status(&r, 0))
        .transpose()
    }

    async fn endpoint_project_seen_by(
        &mut self,
        project: &ProjectId,
        id: &EndpointId,
    ) -> StoreResult<Option<ProjectId>> {
        q_opt(
            self.c,
            "SELECT e.project_id FROM endpoints e JOIN endpoint_services s
                     ON s.id = e.endpoint_service_id
                 WHERE e.id = $1 AND (e.project_id = $2 OR s.project_id = $2) FOR UPDATE OF e",
            &[&id.as_str(), &project.as_str()],
        )
        .await
        .map_err(pg_error)?
        .map(|r| col::<String>(&r, 0).map(ProjectId::stored))
        .transpose()
    }

    async fn data_plane_routes(&mut self) -> StoreResult<Vec<Route>> {
        q(
            self.c,
            "SELECT e.id, e.marker_id, e.port_ip, e.enable_whitelist, e.whitelist,
                s.ip, s.tcp_proxy, s.ports, COALESCE(own.address, every.address)
         FROM endpoints e JOIN endpoint_services s ON s.id = e.endpoint_service_id
         LEFT JOIN backends own ON own.port_id = s.port_id AND own.project_id = s.project_id
         LEFT JOIN backends every ON every.port_id = s.port_id AND every.project_id = ''
         WHERE e.status = 'accepted' AND s.service_type = 'interface'
         ORDER BY e.marker_id",
            &[],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| {
            Ok(Route {
                endpoint_id: col(r, 0)?,
                marker_id: col(r, 1)?,
                address: std::net::Ipv4Addr::from(ip(col(r, 2)?)?),
                enable_whitelist: col(r, 3)?,
                whitelist: json(r, 4)?,
                service_ip: col(r, 5)?,
                tcp_proxy: col(r, 6)?,
                ports: json(r, 7)?,
                registered: col(r, 8)?,
            })
        })
        .collect()
    }

    async fn port_ip_taken(&mut self, vpc_id: Option<&str>, ip: u32) -> StoreResult<bool> {
        let r = match vpc_id {
            Some(vpc) => {
                q_one(
                    self.c,
                    "SELECT EXISTS(SELECT 1 FROM endpoints WHERE vpc_id = $1 AND port_ip = $2)",
                    &[&vpc, &i64::from(ip)],
                )
                .await
            }
            None => {
                q_one(
                    self.c,
                    "SELECT EXISTS(SELECT 1 FROM endpoints WHERE port_ip = $1)",
                    &[&i64::from(ip)],
                )
                .await
            }
        }
        .map_err(pg_error)?;
        col(&r, 0)
    }

    async fn highest_ip_in(
        &mut self,
        vpc_id: Option<&str>,
        range: &AddressRange,
    ) -> StoreResult<Option<u32>> {
        let (first, last) = (i64::from(range.first), i64::from(range.last));
        let r = match vpc_id {
            Some(vpc) => q_one(
                self.c,
                "SELECT MAX(port_ip) FROM endpoints WHERE vpc_id = $1 AND port_ip BETWEEN $2 AND $3",
                &[&vpc, &first, &last],
            )
            .await,
            None => q_one(
                self.c,
                "SELECT MAX(port_ip) FROM endpoints WHERE port_ip BETWEEN $1 AND $2",
                &[&first, &last],
            )
            .await,
        }
        .map_err(pg_error)?;
        col::<Option<i64>>(&r, 0)?.map(ip).transpose()
    }

    async fn ips_in_use(
        &mut self,
        vpc_id: Option<&str>,
        range: &AddressRange,
    ) -> StoreResult<Vec<u32>> {
        let (first, last) = (i64::from(range.first), i64::from(range.last));
        match vpc_id {
            Some(vpc) => {
                q(
                    self.c,
                    "SELECT port_ip FROM endpoints WHERE vpc_id = $1 AND port_ip BETWEEN $2 AND $3
                     ORDER BY port_ip",
                    &[&vpc, &first, &last],
                )
                .await
            }
            None => q(
                self.c,
                "SELECT port_ip FROM endpoints WHERE port_ip BETWEEN $1 AND $2 ORDER BY port_ip",
                &[&first, &last],
            )
            .await,
        }
        .map_err(pg_error)?
        .iter()
        .map(|r| ip(col(r, 0)?))
        .collect()
    }

    async fn insert_endpoint(&mut self, row: EndpointInsert<'_>) -> StoreResult<()> {
        let (new, start) = (row.new, row.start);
        let error = row.error.map(|f| to_json(&[f])).transpose()?;
        let policy = new.policy_document.as_ref().map(to_json).transpose()?;
        x(
            self.c,
            "INSERT INTO endpoints (id, project_id, domain_id, endpoint_service_id, vpc_id, subnet_id,
                 port_ip, enable_dns, description, connection_description, status, ever_accepted,
                 whitelist, enable_whitelist, tags, routetables, policy_document, error, created_at,
                 updated_at, settled_status, transition_at, policy_statement, quota_shard)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10, $11, $12, $13, $14, $15, $16, $17,
                     $18, $18, $19, $20, $21, $22)",
            &[
                &row.id,
                &row.consumer.project_id.as_str(),
                &row.consumer.domain_id.as_str(),
                &row.service_id,
                &new.vpc_id,
                &new.subnet_id,
                &i64::from(row.port_ip),
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
                &row.now,
                &start.settles_in().map(ConnectionStatus::as_str),
                &start.due_ms(),
                &to_json(&new.policy_statement)?,
                &i32::try_from(row.quota_shard).unwrap_or(0),
            ],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn mark_endpoint_deleting(
        &mut self,
        id: &EndpointId,
        due_ms: i64,
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoints SET status = 'deleting', settled_status = NULL, transition_at = $1,
                 updated_at = $2 WHERE id = $3",
            &[&due_ms, &now, &id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn delete_endpoint(&mut self, id: &EndpointId) -> StoreResult<()> {
        x(
            self.c,
            "DELETE FROM endpoints WHERE id = $1",
            &[&id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn set_endpoint_whitelist(
        &mut self,
        id: &EndpointId,
        whitelist: &[String],
        enabled: bool,
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoints SET whitelist = $1, enable_whitelist = $2, updated_at = $3
             WHERE id = $4",
            &[&to_json(&whitelist)?, &enabled, &now, &id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn set_endpoint_policy(
        &mut self,
        id: &EndpointId,
        statement: &[serde_json::Value],
        document: Option<&serde_json::Value>,
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoints SET policy_statement = $1, policy_document = $2, updated_at = $3
             WHERE id = $4",
            &[
                &to_json(&statement)?,
                &document.map(to_json).transpose()?,
                &now,
                &id.as_str(),
            ],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn set_endpoint_routetables(
        &mut self,
        id: &EndpointId,
        routetables: &[String],
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoints SET routetables = $1, updated_at = $2 WHERE id = $3",
            &[&to_json(&routetables)?, &now, &id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn set_endpoint_edition(
        &mut self,
        id: &EndpointId,
        edition: &str,
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoints SET edition = $1, updated_at = $2 WHERE id = $3",
            &[&edition, &now, &id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn routetables_of_service(
        &mut self,
        service: &ServiceId,
        vpc_id: &str,
    ) -> StoreResult<Vec<(String, Vec<String>)>> {
        q(
            self.c,
            "SELECT id, routetables FROM endpoints
             WHERE endpoint_service_id = $1 AND vpc_id = $2",
            &[&service.as_str(), &vpc_id],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| Ok((col(r, 0)?, json(r, 1)?)))
        .collect()
    }

    async fn set_endpoint_failed(
        &mut self,
        id: &EndpointId,
        error: &QueryError,
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoints SET status = 'failed', error = $1, settled_status = NULL,
                 transition_at = NULL, updated_at = $2 WHERE id = $3",
            &[&to_json(&[error])?, &now, &id.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn list_endpoints(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Endpoint>> {
        rows::page(self.c, &LIST_ENDPOINTS, query, page, row).await
    }
}

/// The seed operation (docs/api.md §1) in one statement, so one round trip in autocommit: it proves
/// the service is the caller's, finds and locks the named connections (in id order, so two
/// writers never deadlock), and writes the changed descriptions only if every id is one of the
/// service's connections and every one of them may change. It returns the rows as they were
/// (or one row of NULLs when none was found) with the verdict; the errors, in the order of
/// docs/api.md §2, are then told from those rows by `domain::seed::apply`, as on SQLite. The
/// UPDATE is driven by the locked rows and their primary key, so its plan is an index lookup per
/// row whatever the planner thinks of the table's size (a plan that joined `endpoints` by `id`
/// was planned, on a small table, as a sequential scan, and such a plan stays cached on the
/// connection).
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

/// The seed operation's common case, one connection whose description changes, in one UPDATE
/// without `SEED_UPDATE`'s lookups and row lock: it writes only when the service is the
/// caller's, the connection is the service's, its status lets the description change and the
/// text differs (checked again on the row's latest version if a concurrent write got there
/// first), and it returns the row as written. When it writes nothing, `SEED_UPDATE` runs and
/// finds out why (or that nothing had to change). With one connection there is no all-or-nothing
/// to keep across rows, which is what `SEED_UPDATE` locks them for. PostgreSQL spends about
/// half the CPU of `SEED_UPDATE` on it (docs/performance.md).
const SEED_UPDATE_ONE: &str = "UPDATE endpoints e
     SET connection_description = $4, updated_at = $6
     FROM endpoint_services s
     WHERE e.id = $3 AND e.endpoint_service_id = $1
       AND s.id = $1 AND s.project_id = $2
       AND e.status = ANY ($5::text[]) AND e.connection_description <> $4
     RETURNING e.id, e.marker_id, e.created_at, e.updated_at, e.domain_id, e.status,
               e.connection_description, e.error";

/// The connections a [`SEED_UPDATE`] answer holds (as they were); `None` when the service was
/// not found.
fn found_connections(rows: &[Row]) -> StoreResult<Option<Vec<Connection>>> {
    let Some(first) = rows.first() else {
        return Err(StoreError::Internal(
            "the connections lookup returned no row".into(),
        ));
    };
    if !col::<bool>(first, 8)? {
        return Ok(None);
    }
    let mut found = Vec::with_capacity(rows.len());
    for r in rows {
        if col::<Option<String>>(r, 0)?.is_some() {
            found.push(rows::connection(r)?);
        }
    }
    Ok(Some(found))
}

/// The names of the statuses in which a description may change, as `SEED_UPDATE` takes them.
static CHANGEABLE: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    crate::domain::seed::changeable_statuses()
        .map(ConnectionStatus::as_str)
        .collect()
});

fn ids_and_texts(updates: &[DescriptionUpdate]) -> (Vec<&str>, Vec<&str>) {
    updates
        .iter()
        .map(|u| (u.id.as_str(), u.description.as_str()))
        .unzip()
}

impl<C: GenericClient> ConnectionRows for PgTx<'_, C> {
    /// One lookup finds and locks the connection and proves the service is the caller's.
    async fn connection(
        &mut self,
        project: &ProjectId,
        service: &ServiceId,
        id: &EndpointId,
    ) -> StoreResult<Option<Connection>> {
        q_opt(
            self.c,
            "SELECT e.id, e.marker_id, e.created_at, e.updated_at, e.domain_id, e.status,
                    e.connection_description, e.error
             FROM endpoints e JOIN endpoint_services s ON s.id = e.endpoint_service_id
             WHERE e.id = $1 AND e.endpoint_service_id = $2 AND s.project_id = $3
             FOR UPDATE OF e",
            &[&id.as_str(), &service.as_str(), &project.as_str()],
        )
        .await
        .map_err(pg_error)?
        .as_ref()
        .map(rows::connection)
        .transpose()
    }

    async fn set_connection_status(
        &mut self,
        id: &EndpointId,
        status: ConnectionStatus,
        now: i64,
    ) -> StoreResult<()> {
        x(
            self.c,
            "UPDATE endpoints SET status = $1, updated_at = $2,
                 ever_accepted = ever_accepted OR $3
             WHERE id = $4",
            &[
                &status.as_str(),
                &now,
                &(status == ConnectionStatus::Accepted),
                &id.as_str(),
            ],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn connection_count(
        &mut self,
        service: &ServiceId,
        status: Option<ConnectionStatus>,
    ) -> StoreResult<i64> {
        let r = q_one(
            self.c,
            "SELECT COALESCE(SUM(count), 0)::BIGINT FROM service_connection_counts
                 WHERE endpoint_service_id = $1 AND ($2::TEXT IS NULL OR status = $2)",
            &[&service.as_str(), &status.map(ConnectionStatus::as_str)],
        )
        .await
        .map_err(pg_error)?;
        col(&r, 0)
    }

    async fn connection_totals(&mut self) -> StoreResult<Vec<(ConnectionStatus, i64)>> {
        let rows = q(
            self.c,
            "SELECT status, SUM(count)::BIGINT FROM service_connection_counts GROUP BY status",
            &[],
        )
        .await
        .map_err(pg_error)?;
        rows.iter()
            .map(|r| Ok((rows::connection_status(r, 0)?, col(r, 1)?)))
            .collect()
    }

    async fn list_connections(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Connection>> {
        rows::page(self.c, &LIST_CONNECTIONS, query, page, rows::connection).await
    }

    /// [`SEED_UPDATE`]: one statement, so one round trip in autocommit.
    async fn find_and_update_descriptions(
        &mut self,
        project: &ProjectId,
        service: &ServiceId,
        updates: &[DescriptionUpdate],
        now: i64,
    ) -> StoreResult<Option<Vec<Connection>>> {
        if let [one] = updates {
            let written = q_opt(
                self.c,
                SEED_UPDATE_ONE,
                &[
                    &service.as_str(),
                    &project.as_str(),
                    &one.id.as_str(),
                    &one.description.as_str(),
                    &*CHANGEABLE,
                    &now,
                ],
            )
            .await
            .map_err(pg_error)?;
            if let Some(row) = written {
                return Ok(Some(vec![rows::connection(&row)?]));
            }
        }
        let (ids, texts) = ids_and_texts(updates);
        let rows = q(
            self.c,
            SEED_UPDATE,
            &[
                &service.as_str(),
                &project.as_str(),
                &ids,
                &texts,
                &*CHANGEABLE,
                &now,
            ],
        )
        .await
        .map_err(pg_error)?;
        found_connections(&rows)
    }
}
