//! Quotas: ListQuotaDetails.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{Ctx, QueryParams};
use super::AppState;
use crate::domain::QuotaKind;
use crate::store::flows::quotas as flows;

/// `GET /v1/{project_id}/quotas[?type=endpoint|endpoint_service]`: each kind's quota and how many
/// of that kind the project holds; both kinds without `type` (400 `EndPoint.0002` for another
/// value).
pub async fn list_quota_details(
    State(state): State<AppState>,
    query: QueryParams,
    ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let kinds = match query.filter("type") {
        None => QuotaKind::ALL.to_vec(),
        Some(t) => vec![QuotaKind::parse(&t)
            .ok_or_else(|| ApiError::param("type must be endpoint or endpoint_service."))?],
    };
    let figures = state
        .run(flows::List {
            project: ctx.project_id,
            kinds,
            quotas: state.settings.quotas,
        })
        .await?;
    let resources: Vec<Value> = figures
        .iter()
        .map(|q| json!({"type": q.kind.as_str(), "used": q.used, "quota": q.quota}))
        .collect();
    Ok(Json(json!({"quotas": {"resources": resources}})))
}
