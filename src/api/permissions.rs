//! Whitelists of endpoint services: AddOrRemoveServicePermissions,
//! BatchAddEndpointServicePermissions, BatchRemoveEndpointServicePermissions,
//! ListServicePermissionsDetails, UpdateEndpointServicePermissionDesc (the VPCEP API reference's
//! operations of those names). The owner's own account is always admitted and is not a row.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::{ApiError, ErrorCode};
use super::extract::{kind, Ctx, Fields, OfPermission, OfService, QueryParams};
use super::{render, AppState};
use crate::domain::text::check_text;
use crate::domain::MAX_WHITELIST;
use crate::domain::{parse_path_id, Permission, PermissionType};
use crate::store::{flows::permissions as flows, NewPermission};

/// Whitelist descriptions: at most 128 characters (the only documented maximum, OTC's).
const MAX_PERMISSION_DESCRIPTION: usize = 128;

fn permission(text: &str, path: &str) -> Result<Permission, ApiError> {
    Permission::parse(text).ok_or_else(|| {
        ApiError::with(
            ErrorCode::InvalidPermission,
            format!("{path} must be iam:domain::<domain_id>, organizations:orgPath::<path> or *."),
        )
    })
}

fn permission_type(f: &Fields<'_>) -> Result<Option<PermissionType>, ApiError> {
    f.opt_str("permission_type")?
        .map(|t| {
            PermissionType::parse(t)
                .ok_or_else(|| ApiError::param("permission_type must be domainId or orgPath."))
        })
        .transpose()
}

fn description(f: &Fields<'_>, key: &str) -> Result<String, ApiError> {
    let text = f.req_str(key)?;
    check_text(text, MAX_PERMISSION_DESCRIPTION)
        .map_err(|e| ApiError::param(format!("{} {e}.", f.path(key))))?;
    Ok(text.to_owned())
}

/// The `permissions` array of a request: 1..=MAX_WHITELIST items (EndPoint.3036 when empty).
fn items<'a>(f: &Fields<'a>) -> Result<&'a Vec<Value>, ApiError> {
    let items = f
        .opt_array("permissions")?
        .ok_or_else(|| ApiError::with(ErrorCode::InvalidPermissions, "permissions is required."))?;
    if items.is_empty() {
        return Err(ApiError::with(
            ErrorCode::InvalidPermissions,
            "permissions must not be empty.",
        ));
    }
    if items.len() > MAX_WHITELIST {
        return Err(ApiError::with(
            ErrorCode::BatchLimitExceeded,
            format!(
                "permissions holds {} items; at most {MAX_WHITELIST} are allowed.",
                items.len()
            ),
        ));
    }
    Ok(items)
}

/// `POST .../vpc-endpoint-services/{id}/permissions/action`
pub async fn add_or_remove_service_permissions(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let entries = items(&f)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let path = format!("permissions[{i}]");
            let text = v.as_str().ok_or_else(|| {
                ApiError::param(format!("{path} must be a string, not {}.", kind(v)))
            })?;
            permission(text, &path)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Without `permission_type`, the answer names the type of the entries sent.
    let kind = permission_type(&f)?
        .or_else(|| entries.first().map(Permission::kind))
        .unwrap_or(PermissionType::DomainId);
    let add = match f.req_str("action")? {
        "add" => true,
        "remove" => false,
        _ => {
            return Err(ApiError::with(
                ErrorCode::InvalidAction,
                "action must be add or remove.",
            ))
        }
    };
    let list = state
        .run(flows::AddOrRemove {
            project: ctx.project_id,
            service: ctx.ids.service_id,
            entries,
            add,
        })
        .await?;
    Ok(Json(json!({
        "permissions": list,
        "permission_type": kind.as_str(),
    })))
}

/// `POST .../vpc-endpoint-services/{id}/permissions/batch-create`
pub async fn batch_add_endpoint_service_permissions(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    permission_type(&f)?;
    let mut new = Vec::new();
    for (i, item) in items(&f)?.iter().enumerate() {
        let path = format!("permissions[{i}]");
        let item = Fields::item(item, &path)?;
        let p = permission(item.req_str("permission")?, &format!("{path}.permission"))?;
        if new.iter().any(|n: &NewPermission| n.permission == p) {
            return Err(ApiError::param(format!(
                "{path}.permission {} appears more than once.",
                p.as_str()
            )));
        }
        new.push(NewPermission {
            permission: p,
            description: description(&item, "description")?,
        });
    }
    let records = state
        .run(flows::BatchAdd {
            project: ctx.project_id,
            service: ctx.ids.service_id,
            items: new,
        })
        .await?;
    let items: Vec<Value> = records.iter().map(render::permission).collect();
    Ok(Json(json!({ "permissions": items })))
}

/// `POST .../vpc-endpoint-services/{id}/permissions/batch-delete`
pub async fn batch_remove_endpoint_service_permissions(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let mut ids: Vec<String> = Vec::new();
    for (i, item) in items(&f)?.iter().enumerate() {
        let path = format!("permissions[{i}]");
        let id = Fields::item(item, &path)?.req_str("id")?;
        let id = parse_path_id(id)
            .ok_or_else(|| ApiError::param(format!("{path}.id is not a whitelist record id.")))?;
        if ids.contains(&id) {
            return Err(ApiError::param(format!(
                "{path}.id {id} appears more than once."
            )));
        }
        ids.push(id);
    }
    let records = state
        .run(flows::BatchRemove {
            project: ctx.project_id,
            service: ctx.ids.service_id,
            ids,
        })
        .await?;
    let items: Vec<Value> = records.iter().map(render::permission).collect();
    Ok(Json(json!({ "permissions": items })))
}

/// `GET .../vpc-endpoint-services/{id}/permissions`: limit 0..500.
pub async fn list_service_permissions_details(
    State(state): State<AppState>,
    query: QueryParams,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let page = query.page(500)?;
    let result = state
        .run(flows::List {
            project: ctx.project_id,
            service: ctx.ids.service_id,
            permission_like: query.filter("permission"),
            page,
        })
        .await?;
    let items: Vec<Value> = result.items.iter().map(render::permission).collect();
    Ok(Json(
        json!({"permissions": items, "total_count": result.total_count}),
    ))
}

/// `PUT .../vpc-endpoint-services/{id}/permissions/{permission_id}`: answers with a list.
pub async fn update_endpoint_service_permission_desc(
    State(state): State<AppState>,
    ctx: Ctx<OfPermission>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let inner = f
        .opt_object("permission")?
        .ok_or_else(|| f.missing("permission"))?;
    let text = description(&Fields::nested(inner, "permission"), "description")?;
    let record = state
        .run(flows::UpdateDescription {
            project: ctx.project_id,
            service: ctx.ids.service_id,
            id: ctx.ids.permission_id.to_string(),
            description: text,
        })
        .await?;
    Ok(Json(json!({"permissions": [render::permission(&record)]})))
}
