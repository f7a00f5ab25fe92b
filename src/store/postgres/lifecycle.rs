//! Pending transitions and injected faults.

use deadpool_postgres::GenericClient;

use super::pg_error;
use super::rows::col;
use super::rows::{q_opt, x};
use crate::domain::{time, QueryError};
use crate::store::StoreResult;

/// Takes one failure from the project's fault plan, if it has any left (row-locked, so two nodes
/// never take the same one).
pub async fn take_fault(
    c: &impl GenericClient,
    project_id: &str,
) -> StoreResult<Option<QueryError>> {
    let Some(row) = q_opt(
        c,
        "SELECT remaining, error_code, error_message FROM fault_plans
             WHERE project_id = $1 FOR UPDATE",
        &[&project_id],
    )
    .await
    .map_err(pg_error)?
    else {
        return Ok(None);
    };
    let remaining: i64 = col(&row, 0)?;
    let sql = if remaining <= 1 {
        "DELETE FROM fault_plans WHERE project_id = $1"
    } else {
        "UPDATE fault_plans SET remaining = remaining - 1 WHERE project_id = $1"
    };
    x(c, sql, &[&project_id]).await.map_err(pg_error)?;
    Ok(Some(QueryError {
        error_code: col(&row, 1)?,
        error_message: col(&row, 2)?,
    }))
}

pub async fn plan_failures(
    c: &impl GenericClient,
    project_id: &str,
    count: u32,
    error: &QueryError,
) -> StoreResult<()> {
    if count == 0 {
        x(
            c,
            "DELETE FROM fault_plans WHERE project_id = $1",
            &[&project_id],
        )
        .await
        .map_err(pg_error)?;
        return Ok(());
    }
    x(
        c,
        "INSERT INTO fault_plans (project_id, remaining, error_code, error_message)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id) DO UPDATE SET remaining = excluded.remaining,
             error_code = excluded.error_code, error_message = excluded.error_message",
        &[
            &project_id,
            &i64::from(count),
            &error.error_code,
            &error.error_message,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// Carries out every transition due at `now_ms`. Each statement only matches rows still in the
/// transitional state, so with several nodes running it each transition happens exactly once.
pub async fn settle_due(c: &impl GenericClient, now_ms: i64) -> StoreResult<u64> {
    let now = time::now();
    let mut done = 0;
    for sql in [
        "UPDATE endpoint_services SET status = settled_status, settled_status = NULL,
             transition_at = NULL, updated_at = $2
         WHERE transition_at <= $1 AND status = 'creating'",
        "UPDATE endpoints SET status = settled_status,
             ever_accepted = ever_accepted OR settled_status = 'accepted',
             settled_status = NULL, transition_at = NULL, updated_at = $2
         WHERE transition_at <= $1 AND status = 'creating'",
    ] {
        done += x(c, sql, &[&now_ms, &now]).await.map_err(pg_error)?;
    }
    for sql in [
        "DELETE FROM endpoints WHERE transition_at <= $1 AND status = 'deleting'",
        "DELETE FROM endpoint_services WHERE transition_at <= $1 AND status = 'deleting'
             AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.endpoint_service_id = endpoint_services.id)",
    ] {
        done += x(c, sql, &[&now_ms]).await.map_err(pg_error)?;
    }
    Ok(done)
}
