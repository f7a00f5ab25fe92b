//! Row mapping and the shared shape of list queries.

use rusqlite::types::Value;
use rusqlite::{Connection, Row};
use serde::de::DeserializeOwned;

use super::db_error;
use crate::domain::{Connection as DomainConnection, ConnectionStatus, ServiceStatus};
use crate::store::{Page, PageRequest, SortDir, SortKey, StoreError, StoreResult};

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

/// A list query: `select` is `SELECT <columns> FROM <tables>` and `count` the matching
/// `SELECT COUNT(*) FROM <tables>`; both share the conditions (joined by AND) and their arguments.
/// `prefix` qualifies the sort columns (e.g. `e.`).
pub struct ListQuery {
    pub select: &'static str,
    pub count: &'static str,
    pub prefix: &'static str,
    conditions: Vec<String>,
    args: Vec<Value>,
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

    /// Adds a condition with one `?` placeholder bound to `arg`.
    pub fn filter(&mut self, condition: &str, arg: impl Into<Value>) {
        self.conditions.push(condition.to_owned());
        self.args.push(arg.into());
    }

    pub fn page<T>(
        self,
        conn: &Connection,
        page: PageRequest,
        map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Page<T>> {
        let where_clause = if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        };
        let key = match page.sort_key {
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
        };
        let dir = match page.sort_dir {
            SortDir::Desc => "DESC",
            SortDir::Asc => "ASC",
        };
        let total_count: i64 = match self.total {
            Some(total) => total,
            None => conn
                .prepare_cached(&format!("{}{where_clause}", self.count))
                .and_then(|mut s| {
                    s.query_row(rusqlite::params_from_iter(self.args.iter()), |r| r.get(0))
                })
                .map_err(db_error)?,
        };
        let mut items = Vec::new();
        let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
        if page.limit > 0 && offset < total_count {
            // Ties on the sort key are broken by id in the same direction, so one index serves
            // both the filter and the order.
            let p = self.prefix;
            let sql = format!(
                "{}{where_clause} ORDER BY {p}{key} {dir}, {p}id {dir} LIMIT ? OFFSET ?",
                self.select
            );
            let mut args = self.args;
            args.push(Value::Integer(i64::from(page.limit)));
            args.push(Value::Integer(offset));
            let mut stmt = conn.prepare_cached(&sql).map_err(db_error)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), map)
                .map_err(db_error)?;
            for row in rows {
                items.push(row.map_err(db_error)?);
            }
        }
        Ok(Page { items, total_count })
    }
}
