//! Fault injection for users' tests (not part of the VPCEP API, under `/_vpcep/`): make an
//! endpoint (and its connection) or a service `failed` with a chosen error, or make the next N
//! creations in the caller's project fail. Each route needs the credential of the project the
//! resource belongs to (for an endpoint: its own project or its service's); the command line
//! (`vpcep inject ...`) does the same with database access.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{Ctx, Fields, OfEndpoint, OfService};
use super::render::{self, EndpointView, ServiceView};
use super::AppState;
use crate::domain::text::check_text;
use crate::domain::{QueryError, ServiceError, MAX_DESCRIPTION_CHARS};
use crate::store::flows;

const DEFAULT_CODE: &str = "EndPoint.0001";
const DEFAULT_MESSAGE: &str = "System error. Please retry.";

/// `error_code` (1..64 characters) and `error_message` (0..512), both free text without `<`, `>`
/// or control characters; defaults are `EndPoint.0001` and its table text.
fn injected_error(f: &Fields<'_>) -> Result<QueryError, ApiError> {
    let text = |key: &str, max: usize, default: &str| -> Result<String, ApiError> {
        let Some(s) = f.opt_str(key)? else {
            return Ok(default.to_owned());
        };
        check_text(s, max).map_err(|e| ApiError::param(format!("{key} {e}.")))?;
        Ok(s.to_owned())
    };
    let error_code = text("error_code", 64, DEFAULT_CODE)?;
    if error_code.is_empty() {
        return Err(ApiError::param("error_code must not be empty."));
    }
    Ok(QueryError {
        error_code,
        error_message: text("error_message", MAX_DESCRIPTION_CHARS, DEFAULT_MESSAGE)?,
    })
}

/// `POST /_vpcep/v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}/fail`
pub async fn inject_endpoint_failure(
    State(state): State<AppState>,
    ctx: Ctx<OfEndpoint>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let error = injected_error(&Fields::new(&body))?;
    let endpoint = state
        .run(flows::endpoints::Fail {
            project: ctx.project_id,
            id: ctx.ids.endpoint_id,
            error,
        })
        .await?;
    Ok(Json(render::endpoint(&endpoint, EndpointView::Detail)))
}

/// `POST /_vpcep/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}/fail`
pub async fn inject_service_failure(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let e = injected_error(&Fields::new(&body))?;
    let error = ServiceError {
        code: e.error_code,
        message: e.error_message,
    };
    let service = state
        .run(flows::services::Fail {
            project: ctx.project_id,
            id: ctx.ids.service_id,
            error,
        })
        .await?;
    Ok(Json(render::service(&service, ServiceView::Detail)))
}

/// `POST /_vpcep/v1/{project_id}/fail-next-creations`: `count` 0..=1000 (0 cancels).
pub async fn inject_creation_failures(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let count = body
        .get("count")
        .and_then(Value::as_u64)
        .filter(|n| *n <= 1000)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| ApiError::param("count must be an integer from 0 to 1000."))?;
    let error = injected_error(&f)?;
    state
        .run(flows::lifecycle::PlanFailures {
            project: ctx.project_id.clone(),
            count,
            error: error.clone(),
        })
        .await?;
    Ok(Json(json!({
        "project_id": ctx.project_id.as_str(),
        "count": count,
        "error_code": error.error_code,
        "error_message": error.error_message,
    })))
}
