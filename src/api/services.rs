//! Endpoint services: CreateEndpointService, ListEndpointService, ListServiceDetails,
//! UpdateEndpointService, DeleteEndpointService, ListServiceDescribeDetails, UpdateEndpointServiceName,
//! ListServicePublicDetails, and the v2 UpgradeEndpointService and AddEndpointServiceServerResource.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ErrorCode};
use super::extract::{Ctx, Fields, OfService, QueryParams};
use super::render::{self, ServiceView};
use super::{validate, AppState};
use crate::domain::{
    parse_uuid, EndpointService, NewService, ServerResource, ServiceId, ServicePatch, ServiceStatus,
};
use crate::store::{flows::services as flows, DescribeBy, ServiceFilter};

const SERVER_TYPES: [&str; 3] = ["VM", "VIP", "LB"];
const TCP_PROXY: [&str; 5] = ["close", "toa_open", "proxy_open", "open", "proxy_vni"];

fn server_type(f: &Fields<'_>) -> Result<String, ApiError> {
    let s = f.req_str("server_type")?;
    if SERVER_TYPES.contains(&s) {
        Ok(s.to_owned())
    } else {
        Err(ApiError::with(
            ErrorCode::InvalidServerType,
            "server_type must be VM, VIP or LB.",
        ))
    }
}

fn tcp_proxy(f: &Fields<'_>) -> Result<Option<String>, ApiError> {
    match f.opt_str("tcp_proxy")? {
        None => Ok(None),
        Some(s) if TCP_PROXY.contains(&s) => Ok(Some(s.to_owned())),
        Some(_) => Err(ApiError::param(
            "tcp_proxy must be close, toa_open, proxy_open, open or proxy_vni.",
        )),
    }
}

/// `service_name`: `None` when absent, `Some(None)` for `""`.
/// A short name at `key`: 0..16 of `[A-Za-z0-9_-]` (400 `EndPoint.3076` otherwise); `Some(None)`
/// for an empty one, which removes the short name.
fn short_name(f: &Fields<'_>, key: &str) -> Result<Option<Option<String>>, ApiError> {
    match f.opt_str(key)? {
        None => Ok(None),
        Some(s) if validate::service_name(s) => Ok(Some((!s.is_empty()).then(|| s.to_owned()))),
        Some(_) => Err(ApiError::with(
            ErrorCode::InvalidServiceName,
            format!(
                "{} must be at most 16 letters, digits, '_' or '-'.",
                f.path(key)
            ),
        )),
    }
}

/// Applies `patch` to the service of the path (the rules of `flows::Update`).
async fn update(
    state: &AppState,
    ctx: Ctx<OfService>,
    patch: ServicePatch,
) -> Result<EndpointService, ApiError> {
    state
        .run(flows::Update {
            project: ctx.project_id,
            id: ctx.ids.service_id,
            region: state.settings.region.clone(),
            patch,
        })
        .await
}

fn ip(f: &Fields<'_>) -> Result<Option<String>, ApiError> {
    match f.opt_str("ip")? {
        None => Ok(None),
        Some(s) if validate::ip_or_domain(s) => Ok(Some(s.to_owned())),
        Some(_) => Err(ApiError::with(
            ErrorCode::InvalidIpAddress,
            "ip must be an IPv4 address or a domain name.",
        )),
    }
}

fn parse_new_service(body: &Map<String, Value>, delay_ms: i64) -> Result<NewService, ApiError> {
    let f = Fields::new(body);
    let port_id = validate::uuid_field(
        &f,
        "port_id",
        ErrorCode::ParameterError,
        ErrorCode::InvalidPortId,
    )?;
    let vpc_id =
        validate::uuid_field(&f, "vpc_id", ErrorCode::VpcIdEmpty, ErrorCode::InvalidVpcId)?;
    let server_type = server_type(&f)?;
    let ports = validate::ports(&f, "ports")?.ok_or_else(|| f.missing("ports"))?;
    let service_type = match f.opt_str("service_type")? {
        None | Some("interface") => "interface".to_owned(),
        Some("gateway") => {
            return Err(ApiError::param(
                "service_type gateway cannot be created by users; use interface.",
            ))
        }
        Some(_) => return Err(ApiError::param("service_type must be interface.")),
    };
    let ip_version = match f.opt_str("ip_version")? {
        None | Some("ipv4") => "ipv4".to_owned(),
        Some("ipv6") => "ipv6".to_owned(),
        Some(_) => return Err(ApiError::param("ip_version must be ipv4 or ipv6.")),
    };
    Ok(NewService {
        name: short_name(&f, "service_name")?.flatten(),
        port_id,
        vpc_id,
        server_type,
        service_type,
        approval_enabled: f.opt_bool("approval_enabled")?.unwrap_or(true),
        ip: ip(&f)?,
        tcp_proxy: tcp_proxy(&f)?.unwrap_or_else(|| "close".to_owned()),
        description: validate::description(&f, "description")?.unwrap_or_default(),
        enable_policy: f.opt_bool("enable_policy")?.unwrap_or(false),
        ip_version,
        tags: validate::tags(&f, "tags")?,
        ports,
        delay_ms,
    })
}

/// `POST /v1/{project_id}/vpc-endpoint-services`
pub async fn create_endpoint_service(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let new = parse_new_service(&body, state.settings.delay_ms())?;
    let service = state
        .run(flows::Create {
            owner: ctx.tenant,
            region: state.settings.region.clone(),
            new,
            quota: state.settings.quotas.endpoint_services,
        })
        .await?;
    Ok(Json(render::service(&service, ServiceView::Write)))
}

/// `GET /v1/{project_id}/vpc-endpoint-services`
pub async fn list_endpoint_service(
    State(state): State<AppState>,
    query: QueryParams,
    ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let page = query.page(1000)?;
    let status = query
        .filter("status")
        .map(|s| {
            ServiceStatus::parse(&s).ok_or_else(|| {
                ApiError::with(
                    ErrorCode::InvalidStatus,
                    "status must be creating, available, failed or deleting.",
                )
            })
        })
        .transpose()?;
    let filter = ServiceFilter {
        name: query.filter("endpoint_service_name"),
        id: query.filter("id").map(|s| s.to_ascii_lowercase()),
        status,
    };
    let page = state
        .run(flows::List {
            project: ctx.project_id,
            filter,
            page,
        })
        .await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|s| render::service(s, ServiceView::ListItem))
        .collect();
    Ok(Json(
        json!({"endpoint_services": items, "total_count": page.total_count}),
    ))
}

/// `GET /v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}`
pub async fn list_service_details(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let service = state
        .run(flows::Get {
            project: ctx.project_id,
            id: ctx.ids.service_id,
        })
        .await?;
    Ok(Json(render::service(&service, ServiceView::Detail)))
}

/// `PUT /v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}`
pub async fn update_endpoint_service(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let patch = ServicePatch {
        approval_enabled: f.opt_bool("approval_enabled")?,
        name: short_name(&f, "service_name")?,
        ports: validate::ports(&f, "ports")?,
        port_id: f
            .opt_str("port_id")?
            .map(|s| validate::opt_uuid(&f, "port_id", s, ErrorCode::InvalidPortId))
            .transpose()?,
        tcp_proxy: tcp_proxy(&f)?,
        description: validate::description(&f, "description")?,
        ip: ip(&f)?,
    };
    let service = update(&state, ctx, patch).await?;
    Ok(Json(render::service(&service, ServiceView::Write)))
}

/// `PUT /v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}/name`: the new short name
/// (empty removes it), answered with the full composed name. The same rules as a rename through
/// UpdateEndpointService: 400 `EndPoint.3076` for a bad name, `EndPoint.3045` unless the service
/// is `available` or `failed`.
pub async fn update_endpoint_service_name(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let name = short_name(&f, "endpoint_service_name")?
        .ok_or_else(|| f.missing("endpoint_service_name"))?;
    let patch = ServicePatch {
        name: Some(name),
        ..ServicePatch::default()
    };
    let service = update(&state, ctx, patch).await?;
    Ok(Json(json!({"endpoint_service_name": service.service_name})))
}

/// `DELETE /v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}`: 204.
pub async fn delete_endpoint_service(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<StatusCode, ApiError> {
    state
        .run(flows::Delete {
            project: ctx.project_id,
            id: ctx.ids.service_id,
            delay_ms: state.settings.delay_ms(),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/{project_id}/vpc-endpoint-services/describe?id=|endpoint_service_name=`: the summary
/// of any tenant's service, which consumers look up before connecting. Exactly one of the two.
pub async fn list_service_describe_details(
    State(state): State<AppState>,
    query: QueryParams,
    _ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let by = match (query.filter("id"), query.filter("endpoint_service_name")) {
        (Some(id), None) => DescribeBy::Id(
            ServiceId::from_path(&id).ok_or_else(|| ApiError::new(ErrorCode::InvalidServiceId))?,
        ),
        (None, Some(name)) => DescribeBy::Name(name),
        _ => {
            return Err(ApiError::param(
                "Give exactly one of id and endpoint_service_name.",
            ))
        }
    };
    let service = state.run(flows::Describe { by }).await?;
    Ok(Json(render::service_summary(&service)))
}

/// `GET /v1/{project_id}/vpc-endpoint-services/public`: the public catalogue, which every
/// tenant sees (filters `endpoint_service_name`, a case-insensitive substring, and `id`).
pub async fn list_service_public_details(
    State(state): State<AppState>,
    query: QueryParams,
    _ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let page = query.page(1000)?;
    let filter = ServiceFilter {
        name: query.filter("endpoint_service_name"),
        id: query.filter("id").map(|s| s.to_ascii_lowercase()),
        status: None,
    };
    let page = state.run(flows::ListPublic { filter, page }).await?;
    let items: Vec<Value> = page.items.iter().map(render::public_service).collect();
    Ok(Json(
        json!({"endpoint_services": items, "total_count": page.total_count}),
    ))
}

/// `POST /v2/{project_id}/vpc-endpoint-services/{id}/upgrade`: 204. No body is read (the SDK
/// sends none, the reference's example an unrelated one).
pub async fn upgrade_endpoint_service(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<StatusCode, ApiError> {
    state
        .run(flows::Upgrade {
            project: ctx.project_id,
            id: ctx.ids.service_id,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `server_resources`: 1..`MAX_SERVER_RESOURCES` items, each with a `resource_id` (a UUID,
/// 400 `EndPoint.0002` otherwise) and an optional `availability_zone_id` (1..64 characters).
fn server_resources(body: &Map<String, Value>) -> Result<Vec<ServerResource>, ApiError> {
    let f = Fields::new(body);
    let items = f
        .opt_array("server_resources")?
        .ok_or_else(|| f.missing("server_resources"))?;
    if items.is_empty() {
        return Err(ApiError::param("server_resources is empty."));
    }
    if items.len() > flows::MAX_SERVER_RESOURCES {
        return Err(ApiError::with(
            ErrorCode::BatchLimitExceeded,
            format!(
                "server_resources holds more than {} items.",
                flows::MAX_SERVER_RESOURCES
            ),
        ));
    }
    let mut out: Vec<ServerResource> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("server_resources[{i}]");
        let rf = Fields::item(item, &path)?;
        let resource_id = rf.req_str("resource_id")?;
        let resource_id = parse_uuid(resource_id).ok_or_else(|| {
            ApiError::param(format!(
                "{path}.resource_id must be an ELB instance id (a UUID)."
            ))
        })?;
        let zone = rf.opt_str("availability_zone_id")?;
        if zone.is_some_and(|z| z.is_empty() || z.chars().count() > 64) {
            return Err(ApiError::param(format!(
                "{path}.availability_zone_id must hold 1..64 characters."
            )));
        }
        if out.iter().any(|r| r.resource_id == resource_id) {
            return Err(ApiError::param(format!(
                "{path}.resource_id {resource_id} is repeated."
            )));
        }
        out.push(ServerResource {
            resource_id,
            availability_zone_id: zone.map(str::to_owned),
        });
    }
    Ok(out)
}

/// `POST /v2/{project_id}/vpc-endpoint-services/{id}/add-server-resources`: 204.
pub async fn add_endpoint_service_server_resource(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<StatusCode, ApiError> {
    let body = ctx.json()?;
    let resources = server_resources(&body)?;
    state
        .run(flows::AddServerResources {
            project: ctx.project_id,
            id: ctx.ids.service_id,
            resources,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
