//! Pending transitions, injected faults, and the reset of a test server.

use deadpool_postgres::GenericClient;

use super::rows::{col, q, q_one, q_opt, x};
use super::{pg_error, PgTx};
use crate::domain::{quota::QuotaShard, ProjectId, QueryError, QuotaKind};
use crate::store::tx::{LifecycleRows, Lock};
use crate::store::{ResetCounts, StoreResult};

impl<C: GenericClient> LifecycleRows for PgTx<'_, C> {
    async fn count_of_project(&mut self, project: &ProjectId, kind: QuotaKind) -> StoreResult<u64> {
        let row = q_one(
            self.c,
            "SELECT COALESCE(SUM(count), 0)::BIGINT FROM project_quota_shards
             WHERE project_id = $1 AND kind = $2",
            &[&project.as_str(), &kind.as_str()],
        )
        .await
        .map_err(pg_error)?;
        Ok(u64::try_from(col::<i64>(&row, 0)?).unwrap_or(0))
    }

    async fn quota_shard(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
        shard: u32,
        lock: Lock,
    ) -> StoreResult<Option<QuotaShard>> {
        let sql = match lock {
            Lock::No => {
                "SELECT shard, count, quota_limit, for_quota FROM project_quota_shards
                 WHERE project_id = $1 AND kind = $2 AND shard = $3"
            }
            Lock::Share | Lock::Update => {
                "SELECT shard, count, quota_limit, for_quota FROM project_quota_shards
                 WHERE project_id = $1 AND kind = $2 AND shard = $3 FOR UPDATE"
            }
        };
        let shard = i32::try_from(shard).unwrap_or(0);
        q_opt(self.c, sql, &[&project.as_str(), &kind.as_str(), &shard])
            .await
            .map_err(pg_error)?
            .map(|r| shard_row(&r))
            .transpose()
    }

    async fn quota_shards(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
    ) -> StoreResult<Vec<QuotaShard>> {
        q(
            self.c,
            "SELECT shard, count, quota_limit, for_quota FROM project_quota_shards
             WHERE project_id = $1 AND kind = $2 ORDER BY shard FOR UPDATE",
            &[&project.as_str(), &kind.as_str()],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(shard_row)
        .collect()
    }

    async fn set_quota_shares(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
        limits: &[u64],
        for_quota: u64,
    ) -> StoreResult<()> {
        let shards: Vec<i32> = (0..limits.len()).map(|s| s as i32).collect();
        let limits: Vec<i64> = limits
            .iter()
            .map(|l| i64::try_from(*l).unwrap_or(i64::MAX))
            .collect();
        let for_quota = i64::try_from(for_quota).unwrap_or(i64::MAX);
        x(
            self.c,
            "INSERT INTO project_quota_shards
                 (project_id, kind, shard, count, quota_limit, for_quota)
             SELECT $1, $2, s, 0, l, $5 FROM unnest($3::INT[], $4::BIGINT[]) AS t(s, l)
             ON CONFLICT (project_id, kind, shard)
             DO UPDATE SET quota_limit = excluded.quota_limit, for_quota = excluded.for_quota",
            &[
                &project.as_str(),
                &kind.as_str(),
                &shards,
                &limits,
                &for_quota,
            ],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    /// Row-locked, so two nodes never take the same failure.
    async fn take_fault(&mut self, project: &ProjectId) -> StoreResult<Option<QueryError>> {
        let project_id = project.as_str();
        let Some(row) = q_opt(
            self.c,
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
        x(self.c, sql, &[&project_id]).await.map_err(pg_error)?;
        Ok(Some(QueryError {
            error_code: col(&row, 1)?,
            error_message: col(&row, 2)?,
        }))
    }

    async fn plan_failures(
        &mut self,
        project: &ProjectId,
        count: u32,
        error: &QueryError,
    ) -> StoreResult<()> {
        let project_id = project.as_str();
        if count == 0 {
            x(
                self.c,
                "DELETE FROM fault_plans WHERE project_id = $1",
                &[&project_id],
            )
            .await
            .map_err(pg_error)?;
            return Ok(());
        }
        x(
            self.c,
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

    async fn settle_due(&mut self, now_ms: i64, now: i64) -> StoreResult<u64> {
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
            done += x(self.c, sql, &[&now_ms, &now]).await.map_err(pg_error)?;
        }
        for sql in [
            "DELETE FROM endpoints WHERE transition_at <= $1 AND status = 'deleting'",
            "DELETE FROM endpoint_services WHERE transition_at <= $1 AND status = 'deleting'
                 AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.endpoint_service_id = endpoint_services.id)",
        ] {
            done += x(self.c, sql, &[&now_ms]).await.map_err(pg_error)?;
        }
        Ok(done)
    }

    /// Every table but `credentials`. Whitelists and connection counts go with their services
    /// (`ON DELETE CASCADE`); `marker_id` comes from a sequence, so it is not reused.
    async fn reset_all(&mut self) -> StoreResult<ResetCounts> {
        let permissions = x(self.c, "DELETE FROM endpoint_service_permissions", &[])
            .await
            .map_err(pg_error)?;
        let endpoints = x(self.c, "DELETE FROM endpoints", &[])
            .await
            .map_err(pg_error)?;
        let services = x(
            self.c,
            "DELETE FROM endpoint_services WHERE NOT public",
            &[],
        )
        .await
        .map_err(pg_error)?;
        x(self.c, "DELETE FROM fault_plans", &[])
            .await
            .map_err(pg_error)?;
        Ok(ResetCounts {
            services,
            endpoints,
            permissions,
        })
    }
}

fn shard_row(r: &tokio_postgres::Row) -> StoreResult<QuotaShard> {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let shard: i32 = col(r, 0)?;
    Ok(QuotaShard {
        shard: u32::try_from(shard).unwrap_or(0),
        count: n(col(r, 1)?),
        limit: n(col(r, 2)?),
        for_quota: col::<Option<i64>>(r, 3)?.map(n),
    })
}
