//! Endpoints, the consumer's side of a connection: CreateEndpoint, ListEndpoints,
//! ListEndpointInfoDetails, DeleteEndpoint.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ErrorCode};
use super::extract::{Ctx, Fields, OfEndpoint, QueryParams};
use super::render::{self, EndpointView};
use super::{validate, AppState};
use crate::domain::gateway::{self, MAX_POLICY_STATEMENTS, MAX_ROUTETABLES};
use crate::domain::{parse_uuid, NewEndpoint, ServiceId, MAX_ENDPOINT_WHITELIST};
use crate::store::{flows::endpoints as flows, EndpointFilter};

/// An endpoint's `whitelist`: IPv4 addresses and CIDR blocks (400 `EndPoint.2044` otherwise), at
/// most `MAX_ENDPOINT_WHITELIST` of them (400 `EndPoint.2045`).
fn ip_whitelist(f: &Fields<'_>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(entries) = f.opt_strings("whitelist")? else {
        return Ok(None);
    };
    if let Some(bad) = entries.iter().find(|w| !validate::ipv4_or_cidr(w)) {
        return Err(ApiError::with(
            ErrorCode::InvalidWhitelist,
            format!("{bad:?} is neither an IPv4 address nor an IPv4 CIDR block."),
        ));
    }
    if entries.len() > MAX_ENDPOINT_WHITELIST {
        return Err(ApiError::with(
            ErrorCode::EndpointWhitelistFull,
            format!(
                "whitelist holds {} entries; at most {MAX_ENDPOINT_WHITELIST} are allowed.",
                entries.len()
            ),
        ));
    }
    Ok(Some(entries.into_iter().map(str::to_owned).collect()))
}

/// `routetables`: route table ids (UUIDs, 400 `EndPoint.1019` otherwise; lowercased), each
/// once, at most `MAX_ROUTETABLES` (400 `EndPoint.0016`).
fn routetables(f: &Fields<'_>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(ids) = f.opt_strings("routetables")? else {
        return Ok(None);
    };
    if ids.len() > MAX_ROUTETABLES {
        return Err(ApiError::with(
            ErrorCode::BatchLimitExceeded,
            format!("routetables names more than {MAX_ROUTETABLES} route tables."),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = parse_uuid(id).ok_or_else(|| {
            ApiError::with(
                ErrorCode::InvalidRouteTable,
                format!("{id:?} is not a route table id (a UUID)."),
            )
        })?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(Some(out))
}

/// `policy_statement`: at most 10 statements, each with `Effect`, `Action` and `Resource`
/// (400 `EndPoint.2048` otherwise).
fn policy_statement(f: &Fields<'_>) -> Result<Option<Vec<Value>>, ApiError> {
    let Some(items) = f.opt_array("policy_statement")? else {
        return Ok(None);
    };
    if items.len() > MAX_POLICY_STATEMENTS {
        return Err(ApiError::with(
            ErrorCode::InvalidPolicy,
            format!("policy_statement holds more than {MAX_POLICY_STATEMENTS} statements."),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if let Some(problem) = gateway::statement_problem(item) {
            return Err(ApiError::with(
                ErrorCode::InvalidPolicy,
                format!("policy_statement[{i}] {problem}."),
            ));
        }
    }
    Ok(Some(items.clone()))
}

fn parse_new_endpoint(body: &Map<String, Value>, delay_ms: i64) -> Result<NewEndpoint, ApiError> {
    let f = Fields::new(body);
    let service_id = f
        .opt_str("endpoint_service_id")?
        .ok_or_else(|| f.missing("endpoint_service_id"))?;
    let endpoint_service_id = ServiceId::from_path(service_id).ok_or_else(|| {
        ApiError::with(
            ErrorCode::InvalidServiceId,
            "endpoint_service_id is malformed.",
        )
    })?;
    let vpc_id =
        validate::uuid_field(&f, "vpc_id", ErrorCode::VpcIdEmpty, ErrorCode::InvalidVpcId)?;
    // Required for interface services only, which the flow checks once it knows the service.
    let subnet_id = f
        .opt_str("subnet_id")?
        .map(|s| validate::opt_uuid(&f, "subnet_id", s, ErrorCode::InvalidSubnetId))
        .transpose()?;
    let port_ip = match f.opt_str("port_ip")? {
        None => None,
        Some(s) => Some(validate::ipv4(s).ok_or_else(|| {
            ApiError::with(ErrorCode::InvalidPortIp, "port_ip must be an IPv4 address.")
        })?),
    };
    let enable_dns = f.opt_bool("enable_dns").map_err(|_| {
        ApiError::with(ErrorCode::InvalidEnableDns, "enable_dns must be a boolean.")
    })?;
    let whitelist = ip_whitelist(&f)?.unwrap_or_default();
    Ok(NewEndpoint {
        endpoint_service_id,
        vpc_id,
        subnet_id,
        port_ip,
        enable_dns: enable_dns.unwrap_or(false),
        description: validate::description(&f, "description")?.unwrap_or_default(),
        whitelist,
        enable_whitelist: f.opt_bool("enable_whitelist")?.unwrap_or(false),
        tags: validate::tags(&f, "tags")?,
        routetables: routetables(&f)?.unwrap_or_default(),
        policy_document: f.opt_object("policy_document")?.cloned().map(Value::Object),
        policy_statement: policy_statement(&f)?.unwrap_or_default(),
        delay_ms,
    })
}

/// `POST /v1/{project_id}/vpc-endpoints`
pub async fn create_endpoint(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let new = parse_new_endpoint(&body, state.settings.delay_ms())?;
    let endpoint = state
        .run(flows::Create {
            consumer: ctx.tenant,
            new,
            quota: state.settings.quotas.endpoints,
            addresses: state.settings.addresses,
        })
        .await?;
    Ok(Json(render::endpoint(&endpoint, EndpointView::Create)))
}

/// `GET /v1/{project_id}/vpc-endpoints`
pub async fn list_endpoints(
    State(state): State<AppState>,
    query: QueryParams,
    ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let page = query.page(1000)?;
    let filter = EndpointFilter {
        service_name: query.filter("endpoint_service_name"),
        vpc_id: query.filter("vpc_id").map(|s| s.to_ascii_lowercase()),
        id: query.filter("id").map(|s| s.to_ascii_lowercase()),
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
        .map(|e| render::endpoint(e, EndpointView::ListItem))
        .collect();
    Ok(Json(
        json!({"endpoints": items, "total_count": page.total_count}),
    ))
}

/// `GET /v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}`
pub async fn list_endpoint_info_details(
    State(state): State<AppState>,
    ctx: Ctx<OfEndpoint>,
) -> Result<Json<Value>, ApiError> {
    let endpoint = state
        .run(flows::Get {
            project: ctx.project_id,
            id: ctx.ids.endpoint_id,
        })
        .await?;
    Ok(Json(render::endpoint(&endpoint, EndpointView::Detail)))
}

/// `PUT /v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}` (UpdateEndpointWhite): the endpoint's IP
/// whitelist and whether it is enforced; an absent key keeps its value, an empty `whitelist`
/// clears it.
pub async fn update_endpoint_white(
    State(state): State<AppState>,
    ctx: Ctx<OfEndpoint>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let whitelist = ip_whitelist(&f)?;
    let enable_whitelist = f.opt_bool("enable_whitelist")?;
    let endpoint = state
        .run(flows::UpdateWhitelist {
            project: ctx.project_id,
            id: ctx.ids.endpoint_id,
            whitelist,
            enable_whitelist,
        })
        .await?;
    Ok(Json(render::endpoint(&endpoint, EndpointView::White)))
}

/// `DELETE /v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}`: 204.
pub async fn delete_endpoint(
    State(state): State<AppState>,
    ctx: Ctx<OfEndpoint>,
) -> Result<StatusCode, ApiError> {
    state
        .run(flows::Delete {
            project: ctx.project_id,
            id: ctx.ids.endpoint_id,
            delay_ms: state.settings.delay_ms(),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}/policy`: a gateway endpoint's
/// `policy_statement` or an interface endpoint's `policy_document`, where the service takes
/// policies (400 `EndPoint.2048` otherwise); an absent key keeps its value.
pub async fn update_endpoint_policy(
    State(state): State<AppState>,
    ctx: Ctx<OfEndpoint>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let statement = policy_statement(&f)?;
    let document = f.opt_object("policy_document")?.cloned().map(Value::Object);
    let endpoint = state
        .run(flows::UpdatePolicy {
            project: ctx.project_id,
            id: ctx.ids.endpoint_id,
            statement,
            document,
        })
        .await?;
    Ok(Json(render::endpoint(&endpoint, EndpointView::Policy)))
}

/// `DELETE /v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}/policy`: 200 with the endpoint
/// (400 `EndPoint.2049` when it has no policy).
pub async fn delete_endpoint_policy(
    State(state): State<AppState>,
    ctx: Ctx<OfEndpoint>,
) -> Result<Json<Value>, ApiError> {
    let endpoint = state
        .run(flows::DeletePolicy {
            project: ctx.project_id,
            id: ctx.ids.endpoint_id,
        })
        .await?;
    Ok(Json(render::endpoint(&endpoint, EndpointView::Policy)))
}

/// `PUT /v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}/routetables`: the route tables bound
/// afterwards, and under `error` those another endpoint of the service holds in the VPC.
pub async fn update_endpoint_routetable(
    State(state): State<AppState>,
    ctx: Ctx<OfEndpoint>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let routetables = routetables(&f)?.ok_or_else(|| f.missing("routetables"))?;
    if routetables.is_empty() {
        return Err(ApiError::with(
            ErrorCode::NoRouteTable,
            "routetables is empty: a gateway endpoint keeps at least one route table.",
        ));
    }
    let outcome = state
        .run(flows::UpdateRoutetables {
            project: ctx.project_id,
            id: ctx.ids.endpoint_id,
            routetables,
        })
        .await?;
    let mut answer = json!({ "routetables": outcome.routetables });
    if !outcome.bind_failed.is_empty() {
        let failed: Vec<Value> = outcome
            .bind_failed
            .iter()
            .map(|id| {
                json!({
                    "id": id,
                    "error_message": "EndPoint.2039: The route table is being used by another \
                                      VPC endpoint.",
                })
            })
            .collect();
        answer["error"] = json!([{"bind_failed": failed, "unbind_failed": []}]);
    }
    Ok(Json(answer))
}

/// `POST /v2/{project_id}/vpc-endpoints/{vpc_endpoint_id}/upgrade`: 204. `action` is `start`,
/// the only value the reference names (400 `EndPoint.0007` otherwise); the Terraform provider
/// sends no body, which means the same.
pub async fn upgrade_endpoint(
    State(state): State<AppState>,
    ctx: Ctx<OfEndpoint>,
) -> Result<StatusCode, ApiError> {
    if !ctx.body_is_empty() {
        let body = ctx.json()?;
        let f = Fields::new(&body);
        match f.opt_str("action")? {
            None | Some("start") => {}
            Some(other) => {
                return Err(ApiError::with(
                    ErrorCode::InvalidAction,
                    format!("action must be start, not {other:?}."),
                ))
            }
        }
    }
    state
        .run(flows::Upgrade {
            project: ctx.project_id,
            id: ctx.ids.endpoint_id,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
