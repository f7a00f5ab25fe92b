//! JSON shapes of the resources, with exactly the keys of each SDK response model (the endpoint
//! service and endpoint objects of the VPCEP API reference). The SDK reads missing keys as null
//! and ignores unknown ones, but clients that deserialize strictly (Terraform, Go SDK) see exactly
//! these.

use serde_json::{json, Map, Value};

use crate::domain::{
    time::format as ts, Connection, ConnectionStatus, Endpoint, EndpointService, EDITION_PROFESSION,
};

/// vpcep has no edge sites: everything is in the central one, which Huawei Cloud calls `center`.
const PUBLIC_BORDER_GROUP: &str = "center";

/// Which response model a service is rendered for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ServiceView {
    /// CreateEndpointService and UpdateEndpointService.
    Write,
    /// ListServiceDetails.
    Detail,
    /// An item of ListEndpointService.
    ListItem,
}

pub fn service(s: &EndpointService, view: ServiceView) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put("id", json!(s.id));
    put("port_id", json!(s.port_id));
    put("service_name", json!(s.service_name));
    put("server_type", json!(s.server_type));
    put("vpc_id", json!(s.vpc_id));
    put("approval_enabled", json!(s.approval_enabled));
    put("status", json!(s.status.as_str()));
    put("service_type", json!(s.service_type));
    put("created_at", json!(ts(s.created_at)));
    put("updated_at", json!(ts(s.updated_at)));
    put("project_id", json!(s.project_id));
    put("ports", json!(s.ports));
    put("tcp_proxy", json!(s.tcp_proxy));
    put("tags", json!(s.tags));
    put("description", json!(s.description));
    put("enable_policy", json!(s.enable_policy));
    // Every response model has `ip` (the VLAN scenario's server address): null when unset.
    put("ip", json!(s.ip));
    match view {
        ServiceView::Write => {
            put("pool_id", json!(s.pool_id));
            put("ip_version", json!(s.ip_version));
        }
        ServiceView::Detail => {
            put("supported_editions", json!(s.supported_editions));
            put("cidr_type", json!("internal"));
            put("error", json!(s.error));
            // Not in the reference's model (the SDK ignores it): what
            // AddEndpointServiceServerResource added.
            put("server_resources", json!(s.server_resources));
        }
        ServiceView::ListItem => {
            put("domain_id", json!(s.domain_id));
            put("connection_count", json!(s.connection_count));
            put("public_border_group", json!(PUBLIC_BORDER_GROUP));
            put("supported_editions", json!(s.supported_editions));
            put("error", json!(s.error));
        }
    }
    Value::Object(m)
}

/// The summary any tenant may see (ListServiceDescribeDetails).
pub fn service_summary(s: &EndpointService) -> Value {
    json!({
        "id": s.id,
        "service_name": s.service_name,
        "service_type": s.service_type,
        "created_at": ts(s.created_at),
        "is_charge": s.is_charge,
        "public_border_group": PUBLIC_BORDER_GROUP,
        "enable_policy": s.enable_policy,
    })
}

/// An item of ListServicePublicDetails.
pub fn public_service(s: &EndpointService) -> Value {
    json!({
        "id": s.id,
        "owner": s.owner,
        "service_name": s.service_name,
        "service_type": s.service_type,
        "created_at": ts(s.created_at),
        "is_charge": s.is_charge,
        "enable_policy": s.enable_policy,
    })
}

/// Which response model an endpoint is rendered for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum EndpointView {
    /// CreateEndpoint: no `dns_names`, no `error`.
    Create,
    /// ListEndpointInfoDetails: every key.
    Detail,
    /// An item of ListEndpoints: no `enable_status`, `specification_name`.
    ListItem,
    /// UpdateEndpointWhite: no `routetables`, `description`, `enable_status`,
    /// `specification_name` or `error` (the reference's key set of that answer).
    White,
    /// UpdateEndpointPolicy and DeleteEndpointPolicy: the list-item keys without
    /// `enable_dns`, `dns_names` and `subnet_id`.
    Policy,
}

pub fn endpoint(e: &Endpoint, view: EndpointView) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put("id", json!(e.id));
    put("service_type", json!(e.service_type));
    put("status", json!(e.status.as_str()));
    put("active_status", json!(["active"]));
    put("endpoint_service_name", json!(e.endpoint_service_name));
    put("marker_id", json!(e.marker_id));
    put("endpoint_service_id", json!(e.endpoint_service_id));
    if view != EndpointView::Policy {
        put("enable_dns", json!(e.enable_dns));
    }
    if let Some(ip) = e.reported_ip() {
        put("ip", json!(ip));
    }
    put("vpc_id", json!(e.vpc_id));
    if let (Some(subnet), false) = (&e.subnet_id, view == EndpointView::Policy) {
        put("subnet_id", json!(subnet));
    }
    put("created_at", json!(ts(e.created_at)));
    put("updated_at", json!(ts(e.updated_at)));
    put("project_id", json!(e.project_id));
    put("tags", json!(e.tags));
    put("whitelist", json!(e.whitelist));
    put("enable_whitelist", json!(e.enable_whitelist));
    if view != EndpointView::White {
        put("routetables", json!(e.routetables));
        put("description", json!(e.description));
    }
    put("policy_statement", json!(e.policy_statement));
    if let Some(doc) = &e.policy_document {
        put("policy_document", doc.clone());
    }
    if !matches!(
        view,
        EndpointView::ListItem | EndpointView::White | EndpointView::Policy
    ) {
        put("enable_status", json!("enable"));
        put("specification_name", json!(specification_name(e)));
    }
    if !matches!(view, EndpointView::Create | EndpointView::Policy) {
        if e.enable_dns {
            put("dns_names", json!([dns_name(e)]));
        }
        if e.status == ConnectionStatus::Failed && view != EndpointView::White {
            put("error", json!(e.error));
        }
    }
    Value::Object(m)
}

/// `default` for a basic endpoint (the reference's example), `profession` once upgraded.
fn specification_name(e: &Endpoint) -> &str {
    if e.edition == EDITION_PROFESSION {
        EDITION_PROFESSION
    } else {
        "default"
    }
}

/// The private DNS name of an endpoint with `enable_dns`.
fn dns_name(e: &Endpoint) -> String {
    let region = e.endpoint_service_name.split('.').next().unwrap_or("local");
    format!("{}.{region}.vpcep.local", e.id)
}

/// A connection as the service owner sees it (`ConnectionEndpoints`); `error` only when failed.
pub fn connection(c: &Connection) -> Value {
    let mut v = json!({
        "id": c.id,
        "marker_id": c.marker_id,
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "domain_id": c.domain_id,
        "status": c.status.as_str(),
        "description": c.description,
    });
    if c.status == ConnectionStatus::Failed {
        v["error"] = json!(c.error);
    }
    v
}

/// A whitelist record (`EpsPermission`; the list's `PermissionObject` is the same without
/// `description` in the SDK model, which ignores the extra key).
pub fn permission(p: &crate::domain::PermissionRecord) -> Value {
    json!({
        "id": p.id,
        "permission": p.permission,
        "permission_type": p.permission_type,
        "description": p.description,
        "created_at": ts(p.created_at),
    })
}

/// What a reset removed (`POST /_vpcep/reset`, `vpcep reset`).
pub fn reset(n: crate::store::ResetCounts) -> Value {
    json!({"deleted": {
        "endpoint_services": n.services,
        "endpoints": n.endpoints,
        "permissions": n.permissions,
    }})
}

/// A data-plane backend registration (`/_vpcep/v1/{project_id}/backends`).
pub fn backend(b: &crate::domain::route::Backend) -> Value {
    json!({
        "project_id": b.project_id,
        "port_id": b.port_id,
        "address": b.address,
        "updated_at": ts(b.updated_at),
    })
}
