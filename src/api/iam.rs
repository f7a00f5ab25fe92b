//! The IAM discovery calls that clients make at start when they are not given every id:
//! KeystoneListAuthDomains (`GET /v3/auth/domains`: the Terraform provider without `domain_id`,
//! the SDKs' global credentials without a domain id), KeystoneListProjects
//! (`GET /v3/projects?name=<region>`: the SDKs' and the provider's project lookup) and
//! KeystoneListAuthProjects (`GET /v3/auth/projects`), and KeystoneShowCatalog
//! (`GET /v3/auth/catalog`, which golangsdk lists at start in provider versions that do not set
//! `WithUserCatalog`; a failure there stops the provider). Each is answered from the calling
//! credential alone, authenticated like every `/v1` route, in the JSON shapes of Huawei Cloud's
//! IAM (Keystone v3) that the clients parse: `domains[0].id`, `projects[0].id`. What a credential
//! shows is a rule of `domain::iam`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{Caller, QueryParams};
use super::AppState;
use crate::domain::iam::{Domain, Project, ProjectFilter};

/// A collection's `links`: one page, so no `next` (golangsdk's pager stops on a null `next`).
fn collection_links(base: &str, path: &str) -> Value {
    json!({"self": format!("{base}{path}"), "previous": null, "next": null})
}

fn project(p: &Project, base: &str) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "domain_id": p.domain_id,
        "parent_id": p.parent_id(),
        "is_domain": false,
        "enabled": true,
        "description": "",
        "links": {"self": format!("{base}/v3/projects/{}", p.id)},
    })
}

/// `GET /v3/auth/domains`: the caller's account.
pub async fn keystone_list_auth_domains(headers: HeaderMap, caller: Caller) -> Json<Value> {
    let base = super::base_url(&headers);
    let d = Domain::of(&caller.credential);
    Json(json!({
        "domains": [{
            "id": d.id,
            "name": d.name(),
            "enabled": true,
            "description": "",
            "links": {"self": format!("{base}/v3/domains/{}", d.id)},
        }],
        "links": collection_links(&base, "/v3/auth/domains"),
    }))
}

/// A boolean filter: `true` or `false` (Keystone also takes `1`/`0` and any letter case).
fn flag(q: &QueryParams, key: &str) -> Result<Option<bool>, ApiError> {
    q.filter(key)
        .map(|v| match v.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(ApiError::param(format!("{key} must be true or false."))),
        })
        .transpose()
}

/// `GET /v3/projects`: the caller's project, if it passes the filters (`name`, `domain_id`,
/// `parent_id`, `enabled`, `is_domain`; others, such as `page` and `per_page`, are ignored, as
/// there is never more than one project to page through).
pub async fn keystone_list_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: QueryParams,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let filter = ProjectFilter {
        name: q.get("name").map(str::to_owned),
        domain_id: q.filter("domain_id"),
        parent_id: q.filter("parent_id"),
        enabled: flag(&q, "enabled")?,
        is_domain: flag(&q, "is_domain")?,
    };
    let base = super::base_url(&headers);
    let own = Project::of(&caller.credential, &state.settings.region);
    let projects: Vec<Value> = [own]
        .iter()
        .filter(|p| filter.admits(p))
        .map(|p| project(p, &base))
        .collect();
    Ok(Json(json!({
        "projects": projects,
        "links": collection_links(&base, "/v3/projects"),
    })))
}

/// `GET /v3/auth/projects`: the projects the caller may act in, i.e. its own.
pub async fn keystone_list_auth_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Json<Value> {
    let base = super::base_url(&headers);
    let own = Project::of(&caller.credential, &state.settings.region);
    Json(json!({
        "projects": [project(&own, &base)],
        "links": collection_links(&base, "/v3/auth/projects"),
    }))
}

/// `GET /v3/auth/catalog`: the services this address serves, as Keystone lists them: IAM (these
/// routes) and VPCEP, in the server's region. Clients with endpoint overrides (the Terraform
/// provider) only need the call to succeed; others may find vpcep here.
pub async fn keystone_show_catalog(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Json<Value> {
    let base = super::base_url(&headers);
    let region = &state.settings.region;
    let entry = |kind: &str, url: String| {
        json!({
            "id": kind,
            "name": kind,
            "type": kind,
            "endpoints": [{
                "id": format!("{kind}-{region}"),
                "interface": "public",
                "region": region,
                "region_id": region,
                "url": url,
            }],
        })
    };
    Json(json!({
        "catalog": [
            entry("identity", format!("{base}/v3")),
            entry("vpcep", format!("{base}/v1/{}", caller.credential.project_id)),
        ],
        "links": collection_links(&base, "/v3/auth/catalog"),
    }))
}
