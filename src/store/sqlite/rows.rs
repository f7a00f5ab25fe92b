//! Row mapping and the shared shape of list queries.

use rusqlite::types::Value;
use rusqlite::{Connection, Row};
use serde::de::DeserializeOwned;

use super::db_error;
use crate::domain::{Connection as DomainConnection, ConnectionStatus, ServiceStatus};
use crate::store::list::{Arg, Dialect, ListQuery, ListSql};
use crate::store::{Page, PageRequest, StoreError, StoreResult};

/// Reads a JSON text column.
pub fn json<T: DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Reads a nullable JSON text column.
pub fn json_opt<T: DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

pub fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(format!("json encode: {e}")))
}

fn bad_enum(idx: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        rusqlite::types::Type::Text,
        format!("unknown {what} in the database").into(),
    )
}

pub fn connection_status(row: &Row<'_>, idx: usize) -> rusqlite::Result<ConnectionStatus> {
    let s: String = row.get(idx)?;
    ConnectionStatus::parse(&s).ok_or_else(|| bad_enum(idx, "connection status"))
}

pub fn service_status(row: &Row<'_>, idx: usize) -> rusqlite::Result<ServiceStatus> {
    let s: String = row.get(idx)?;
    ServiceStatus::parse(&s).ok_or_else(|| bad_enum(idx, "service status"))
}

/// A connection from the columns `id, marker_id, created_at, updated_at, domain_id, status,
/// connection_description, error` of `endpoints`, in that order.
pub fn connection(row: &Row<'_>) -> rusqlite::Result<DomainConnection> {
    Ok(DomainConnection {
        id: row.get(0)?,
        marker_id: row.get(1)?,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
        domain_id: row.get(4)?,
        status: connection_status(row, 5)?,
        description: row.get(6)?,
        error: json_opt(row, 7)?.unwrap_or_default(),
    })
}

const DIALECT: Dialect = Dialect {
    placeholder: |_| "?".to_owned(),
    contains: |column, p| format!("instr(lower({column}), lower({p})) > 0"),
};

/// A page of the rows `query` matches: counted unless the flow knows the total, then read in the
/// page's order and bounds.
pub fn page<T>(
    conn: &Connection,
    sql: &ListSql,
    query: &ListQuery,
    page: PageRequest,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Page<T>> {
    let mut args: Vec<Value> = query
        .args()
        .map(|a| match a {
            Arg::Text(t) => Value::Text(t.clone()),
            Arg::Int(i) => Value::Integer(*i),
        })
        .collect();
    let total_count: i64 = match query.known_total {
        Some(total) => total,
        None => conn
            .prepare_cached(&query.count_sql(sql, &DIALECT))
            .and_then(|mut s| s.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0)))
            .map_err(db_error)?,
    };
    let mut items = Vec::new();
    let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    if page.limit > 0 && offset < total_count {
        args.push(Value::Integer(i64::from(page.limit)));
        args.push(Value::Integer(offset));
        let mut stmt = conn
            .prepare_cached(&query.page_sql(sql, &DIALECT, page))
            .map_err(db_error)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), map)
            .map_err(db_error)?;
        for row in rows {
            items.push(row.map_err(db_error)?);
        }
    }
    Ok(Page { items, total_count })
}
