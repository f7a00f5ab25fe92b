//! Pending transitions, injected faults, and the reset of a test server.

use rusqlite::{params, OptionalExtension};

use super::{db_error, SqliteTx};
use crate::domain::{ProjectId, QueryError, QuotaKind};
use crate::store::tx::LifecycleRows;
use crate::store::{ResetCounts, StoreResult};

impl LifecycleRows for SqliteTx<'_> {
    async fn count_of_project(&mut self, project: &ProjectId, kind: QuotaKind) -> StoreResult<u64> {
        self.c
            .prepare_cached(
                "SELECT COALESCE(SUM(count), 0) FROM project_resource_counts
                 WHERE project_id = ?1 AND kind = ?2",
            )
            .and_then(|mut s| {
                s.query_row([project.as_str(), kind.as_str()], |r| r.get::<_, i64>(0))
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(db_error)
    }

    async fn take_fault(&mut self, project: &ProjectId) -> StoreResult<Option<QueryError>> {
        let plan: Option<(i64, String, String)> = self
            .c
            .prepare_cached(
                "SELECT remaining, error_code, error_message FROM fault_plans WHERE project_id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([project.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
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
        self.exec(sql, [project.as_str()])?;
        Ok(Some(QueryError {
            error_code,
            error_message,
        }))
    }

    async fn plan_failures(
        &mut self,
        project: &ProjectId,
        count: u32,
        error: &QueryError,
    ) -> StoreResult<()> {
        if count == 0 {
            self.exec(
                "DELETE FROM fault_plans WHERE project_id = ?1",
                [project.as_str()],
            )?;
            return Ok(());
        }
        self.exec(
            "INSERT INTO fault_plans (project_id, remaining, error_code, error_message)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (project_id) DO UPDATE SET remaining = excluded.remaining,
                 error_code = excluded.error_code, error_message = excluded.error_message",
            params![
                project.as_str(),
                count,
                error.error_code,
                error.error_message
            ],
        )
        .map(drop)
    }

    async fn settle_due(&mut self, now_ms: i64, now: i64) -> StoreResult<u64> {
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
            done += self.exec(sql, params![now_ms, now])?;
        }
        for sql in [
            "DELETE FROM endpoints WHERE transition_at <= ?1 AND status = 'deleting'",
            "DELETE FROM endpoint_services WHERE transition_at <= ?1 AND status = 'deleting'
                 AND NOT EXISTS (SELECT 1 FROM endpoints e
                                 WHERE e.endpoint_service_id = endpoint_services.id)",
        ] {
            done += self.exec(sql, params![now_ms])?;
        }
        Ok(done as u64)
    }

    /// Whitelists and connection counts go with their services (`ON DELETE CASCADE`);
    /// `marker_id` is an `AUTOINCREMENT` key, so it is not reused.
    async fn reset_all(&mut self) -> StoreResult<ResetCounts> {
        let permissions = self.exec("DELETE FROM endpoint_service_permissions", [])?;
        let endpoints = self.exec("DELETE FROM endpoints", [])?;
        let services = self.exec("DELETE FROM endpoint_services WHERE public = 0", [])?;
        self.exec("DELETE FROM fault_plans", [])?;
        Ok(ResetCounts {
            services: services as u64,
            endpoints: endpoints as u64,
            permissions: permissions as u64,
        })
    }
}
