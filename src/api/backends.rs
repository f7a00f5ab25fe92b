//! The data plane's backend registry (not part of the VPCEP API, under `/_vpcep/`): where
//! `serve --data-plane` forwards the connections of a service created without an `ip`, by the
//! service's `port_id`. A project's registrations serve its own services only; the command line
//! (`vpcep backends set` without `--project-id`) registers for every project.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{Ctx, Fields, OfBackendPort};
use super::render;
use super::AppState;
use crate::domain::address::ip_or_domain;
use crate::domain::route::Backend;
use crate::domain::time;
use crate::store::flows::backends;

/// `PUT /_vpcep/v1/{project_id}/backends/{port_id}`: `{"address": "127.0.0.1"}`.
pub async fn set_backend(
    State(state): State<AppState>,
    ctx: Ctx<OfBackendPort>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let address = f
        .opt_str("address")?
        .ok_or_else(|| ApiError::param("address is required."))?;
    if !ip_or_domain(address) {
        return Err(ApiError::param(
            "address must be an IPv4 address or a host name.",
        ));
    }
    let backend = state
        .run(backends::Set {
            backend: Backend {
                project_id: ctx.project_id.as_str().to_owned(),
                port_id: ctx.ids.port_id,
                address: address.to_owned(),
                updated_at: time::now(),
            },
        })
        .await?;
    Ok(Json(render::backend(&backend)))
}

/// `GET /_vpcep/v1/{project_id}/backends`: the project's registrations and those for every
/// project.
pub async fn list_backends(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let list = state
        .run(backends::List {
            project_id: Some(ctx.project_id.as_str().to_owned()),
        })
        .await?;
    Ok(Json(
        json!({"backends": list.iter().map(render::backend).collect::<Vec<_>>()}),
    ))
}

/// `DELETE /_vpcep/v1/{project_id}/backends/{port_id}`: 404 unless the project registered it.
pub async fn delete_backend(
    State(state): State<AppState>,
    ctx: Ctx<OfBackendPort>,
) -> Result<StatusCode, ApiError> {
    state
        .run(backends::Delete {
            project_id: ctx.project_id.as_str().to_owned(),
            port_id: ctx.ids.port_id,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
