//! `POST /_vpcep/reset` (not part of the VPCEP API): removes every endpoint service, endpoint and
//! whitelist entry of every tenant, keeping the credentials, so that a test suite can start each
//! case from a clean server without restarting it. It wipes other tenants' data too, so it
//! answers only on a server started with `--allow-reset` or `--ephemeral`: a production node
//! cannot be wiped by a mistaken call.

use axum::extract::State;
use axum::Json;
use serde_json::Value;

use super::error::{ApiError, ErrorCode};
use super::extract::Caller;
use super::{render, AppState};

pub async fn reset(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    if !state.settings.allow_reset {
        return Err(ApiError::with(
            ErrorCode::Forbidden,
            "Reset is not enabled on this server: start it with --allow-reset (or --ephemeral).",
        ));
    }
    let n = state.run(crate::store::flows::lifecycle::Reset).await?;
    tracing::warn!(
        access_key = %caller.credential.access_key,
        services = n.services,
        endpoints = n.endpoints,
        permissions = n.permissions,
        "reset: removed every endpoint service, endpoint and whitelist entry"
    );
    Ok(Json(render::reset(n)))
}
