//! Pending transitions, injected faults, and the reset of a test server.

use rusqlite::{params, OptionalExtension};

use super::{db_error, SqliteTx};
use crate::domain::{quota::QuotaShard, ProjectId, QueryError, QuotaKind};
use crate::store::tx::{LifecycleRows, Lock};
use crate::store::{ResetCounts, StoreResult};

impl LifecycleRows for SqliteTx<'_> {
    async fn count_of_project(&mut self, project: &ProjectId, kind: QuotaKind) -> StoreResult<u64> {
        self.c
            .prepare_cached(
                "SELECT COALESCE(SUM(count), 0) FROM project_quota_shards
                 WHERE project_id = ?1 AND kind = ?2",
            )
            .and_then(|mut s| {
                s.query_row([project.as_str(), kind.as_str()], |r| r.get::<_, i64>(0))
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(db_error)
    }

    async fn quota_shard(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
        shard: u32,
        _lock: Lock,
    ) -> StoreResult<Option<QuotaShard>> {
        self.c
            .prepare_cached(
                "SELECT shard, count, quota_limit, for_quota FROM project_quota_shards
                 WHERE project_id = ?1 AND kind = ?2 AND shard = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![project.as_str(), kind.as_str(), shard], shard_row)
                    .optional()
            })
            .map_err(db_error)
    }

    async fn quota_shards(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
    ) -> StoreResult<Vec<QuotaShard>> {
        let mut s = self
            .c
            .prepare_cached(
                "SELECT shard, count, quota_limit, for_quota FROM project_quota_shards
                 WHERE project_id = ?1 AND kind = ?2 ORDER BY shard",
            )
            .map_err(db_error)?;
        let rows = s
            .query_map(params![project.as_str(), kind.as_str()], shard_row)
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    async fn set_quota_shares(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
        limits: &[u64],
        for_quota: u64,
    ) -> StoreResult<()> {
        for (shard, limit) in limits.iter().enumerate() {
            self.exec(
                "INSERT INTO project_quota_shards
                     (project_id, kind, shard, count, quota_limit, for_quota)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5)
                 ON CONFLICT (project_id, kind, shard)
                 DO UPDATE SET quota_limit = excluded.quota_limit, for_quota = excluded.for_quota",
                params![
                    project.as_str(),
                    kind.as_str(),
                    shard as i64,
                    i64::try_from(*limit).unwrap_or(i64::MAX),
                    i64::try_from(for_quota).unwrap_or(i64::MAX)
                ],
            )?;
        }
        Ok(())
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

fn shard_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<QuotaShard> {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(QuotaShard {
        shard: r.get(0)?,
        count: n(r.get(1)?),
        limit: n(r.get(2)?),
        for_quota: r.get::<_, Option<i64>>(3)?.map(n),
    })
}
