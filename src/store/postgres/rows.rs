//! Row mapping and the shared shape of list queries.

use deadpool_postgres::GenericClient;
use serde::de::DeserializeOwned;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::pg_error;
use crate::domain::{Connection, ConnectionStatus, ServiceStatus};
use crate::store::{Page, PageRequest, SortDir, SortKey, StoreError, StoreResult};

pub fn col<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> StoreResult<T> {
    row.try_get(idx)
        .map_err(|e| StoreError::Internal(format!("column {idx}: {e}")))
}

pub fn json<T: DeserializeOwned>(row: &Row, idx: usize) -> StoreResult<T> {
    let text: String = col(row, idx)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Internal(format!("column {idx}: {e}")))
}

pub fn json_opt<T: DeserializeOwned>(row: &Row, idx: usize) -> StoreResult<Option<T>> {
    let text: Option<String> = col(row, idx)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Internal(format!("column {idx}: {e}")))
    })
    .transpose()
}

pub fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(format!("json encode: {e}")))
}

pub fn connection_status(row: &Row, idx: usize) -> StoreResult<ConnectionStatus> {
    let s: String = col(row, idx)?;
    ConnectionStatus::parse(&s)
        .ok_or_else(|| StoreError::Internal("unknown connection status in the database".into()))
}

pub fn service_status(row: &Row, idx: usize) -> StoreResult<ServiceStatus> {
    let s: String = col(row, idx)?;
    ServiceStatus::parse(&s)
        .ok_or_else(|| StoreError::Internal("unknown service status in the database".into()))
}

/// A connection from the columns `id, marker_id, created_at, updated_at, domain_id, status,
/// connection_description, error` of `endpoints`, in that order.
pub fn connection(row: &Row) -> StoreResult<Connection> {
    Ok(Connection {
        id: col(row, 0)?,
        marker_id: col(row, 1)?,
        created_at: col(row, 2)?,
        updated_at: col(row, 3)?,
        domain_id: col(row, 4)?,
        status: connection_status(row, 5)?,
        description: col(row, 6)?,
        error: json_opt(row, 7)?.unwrap_or_default(),
    })
}

/// Queries through statements prepared once per pooled connection (`prepare_cached`): a
/// statement is parsed and planned the first time a connection runs it, then only bound and
/// executed, which saves a round trip and the planning on every later request.
pub async fn q(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.query(&statement, params).await
}

pub async fn q_one(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.query_one(&statement, params).await
}

pub async fn q_opt(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.query_opt(&statement, params).await
}

pub async fn x(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.execute(&statement, params).await
}

/// A boxed query argument.
pub type Arg = Box<dyn ToSql + Sync + Send>;

pub fn refs(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// A list query, as in the SQLite backend: `select` and `count` share the conditions, each
/// written with `$?` where its one argument goes (numbered here).
pub struct ListQuery {
    select: &'static str,
    count: &'static str,
    prefix: &'static str,
    conditions: Vec<String>,
    args: Vec<Arg>,
    /// The number of matches when the caller already knows it (from counters).
    total: Option<i64>,
}

impl ListQuery {
    pub fn new(select: &'static str, count: &'static str, prefix: &'static str) -> Self {
        Self {
            select,
            count,
            prefix,
            conditions: Vec::new(),
            args: Vec::new(),
            total: None,
        }
    }

    /// Uses `total` as the number of matches instead of counting them.
    pub fn known_total(&mut self, total: i64) {
        self.total = Some(total);
    }

    pub fn filter(&mut self, condition: &str, arg: impl ToSql + Sync + Send + 'static) {
        self.args.push(Box::new(arg));
        self.conditions
            .push(condition.replace("$?", &format!("${}", self.args.len())));
    }

    pub async fn page<T>(
        self,
        c: &impl GenericClient,
        page: PageRequest,
        map: impl Fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Page<T>> {
        let where_clause = if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        };
        let total_count: i64 = match self.total {
            Some(total) => total,
            None => q_one(
                c,
                &format!("{}{where_clause}", self.count),
                &refs(&self.args),
            )
            .await
            .map_err(pg_error)?
            .get(0),
        };
        let mut items = Vec::new();
        let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
        if page.limit > 0 && offset < total_count {
            let key = match page.sort_key {
                SortKey::CreatedAt => "created_at",
                SortKey::UpdatedAt => "updated_at",
            };
            let dir = match page.sort_dir {
                SortDir::Desc => "DESC",
                SortDir::Asc => "ASC",
            };
            let n = self.args.len();
            let p = self.prefix;
            let sql = format!(
                "{}{where_clause} ORDER BY {p}{key} {dir}, {p}id {dir} LIMIT ${} OFFSET ${}",
                self.select,
                n + 1,
                n + 2
            );
            let mut args = self.args;
            args.push(Box::new(i64::from(page.limit)));
            args.push(Box::new(offset));
            for row in q(c, &sql, &refs(&args)).await.map_err(pg_error)? {
                items.push(map(&row)?);
            }
        }
        Ok(Page { items, total_count })
    }
}
