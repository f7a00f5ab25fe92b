//! Row mapping, the prepared-statement helpers, and the renderer of list queries.

use deadpool_postgres::GenericClient;
use serde::de::DeserializeOwned;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::pg_error;
use crate::domain::{Connection, ConnectionStatus, ServiceStatus};
use crate::store::list::{Arg, Dialect, ListQuery};
use crate::store::{Page, PageRequest, StoreError, StoreResult};

pub use crate::store::list::ListSql;

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

const DIALECT: Dialect = Dialect {
    placeholder: |n| format!("${n}"),
    contains: |column, p| format!("strpos(lower({column}), lower({p})) > 0"),
};

/// A page of the rows `query` matches: counted unless the flow knows the total, then read in the
/// page's order and bounds.
pub async fn page<T>(
    c: &impl GenericClient,
    sql: &ListSql,
    query: &ListQuery,
    page: PageRequest,
    map: impl Fn(&Row) -> StoreResult<T>,
) -> StoreResult<Page<T>> {
    let mut args: Vec<&(dyn ToSql + Sync)> = query
        .args()
        .map(|a| -> &(dyn ToSql + Sync) {
            match a {
                Arg::Text(t) => t,
                Arg::Int(i) => i,
            }
        })
        .collect();
    let total_count: i64 = match query.known_total {
        Some(total) => total,
        None => col(
            &q_one(c, &query.count_sql(sql, &DIALECT), &args)
                .await
                .map_err(pg_error)?,
            0,
        )?,
    };
    let mut items = Vec::new();
    let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    if page.limit > 0 && offset < total_count {
        let limit = i64::from(page.limit);
        args.push(&limit);
        args.push(&offset);
        let text = query.page_sql(sql, &DIALECT, page);
        for row in q(c, &text, &args).await.map_err(pg_error)? {
            items.push(map(&row)?);
        }
    }
    Ok(Page { items, total_count })
}
