//! Pending transitions and injected faults.

use rusqlite::{params, Connection, OptionalExtension};

use super::db_error;
use crate::domain::{time, QueryError};
use crate::store::StoreResult;

/// Takes one failure from the project's fault plan, if it has any left.
pub fn take_fault(c: &Connection, project_id: &str) -> StoreResult<Option<QueryError>> {
    let plan: Option<(i64, String, String)> = c
        .prepare_cached(
            "SELECT remaining, error_code, error_message FROM fault_plans WHERE project_id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([project_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(db_error)?;
    let Some((remaining, error_code, error_message)) = plan else {
        return Ok(None);
    };
    let sql = if remaining <= 1 {
        "DELETE FROM fault_plans WHERE project_id = ?1"
    } else {
        "UPDATE fault_plans SET remaining = remaining - 1 WHERE project_id = ?1"
    };
    c.execute(sql, [project_id]).map_err(db_error)?;
    Ok(Some(QueryError {
        error_code,
        error_message,
    }))
}

pub fn plan_failures(
    c: &Connection,
    project_id: &str,
    count: u32,
    error: &QueryError,
) -> StoreResult<()> {
    if count == 0 {
        c.execute(
            "DELETE FROM fault_plans WHERE project_id = ?1",
            [project_id],
        )
        .map_err(db_error)?;
        return Ok(());
    }
    c.execute(
        "INSERT INTO fault_plans (project_id, remaining, error_code, error_message)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (project_id) DO UPDATE SET remaining = excluded.remaining,
             error_code = excluded.error_code, error_message = excluded.error_message",
        params![project_id, count, error.error_code, error.error_message],
    )
    .map_err(db_error)?;
    Ok(())
}

/// Carries out every transition due at `now_ms`. Each statement only matches rows still in the
/// transitional state, so a transition happens once even if several runs overlap.
pub fn settle_due(c: &Connection, now_ms: i64) -> StoreResult<u64> {
    let now = time::now();
    let mut done = 0usize;
    for sql in [
        "UPDATE endpoint_services SET status = settled_status, settled_status = NULL,
             transition_at = NULL, updated_at = ?2
         WHERE transition_at <= ?1 AND status = 'creating'",
        "UPDATE endpoints SET status = settled_status,
             ever_accepted = ever_accepted OR settled_status = 'accepted',
             settled_status = NULL, transition_at = NULL, updated_at = ?2
         WHERE transition_at <= ?1 AND status = 'creating'",
    ] {
        done += c
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params![now_ms, now]))
            .map_err(db_error)?;
    }
    for sql in [
        "DELETE FROM endpoints WHERE transition_at <= ?1 AND status = 'deleting'",
        "DELETE FROM endpoint_services WHERE transition_at <= ?1 AND status = 'deleting'
             AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.endpoint_service_id = endpoint_services.id)",
    ] {
        done += c
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params![now_ms]))
            .map_err(db_error)?;
    }
    Ok(done as u64)
}
