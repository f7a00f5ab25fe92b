//! The resources as the store keeps them and the HTTP layer renders them.

use serde::{Deserialize, Serialize};

use super::ids::{DomainId, ProjectId, ServiceId};
use super::status::{ConnectionStatus, ServiceStatus};

/// One port mapping of a service (the VPCEP API reference's `PortList`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub client_port: u16,
    pub server_port: u16,
    pub protocol: String,
}

/// A resource tag (`TagList`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The in-resource error of a failed endpoint or connection (`QueryError`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryError {
    pub error_code: String,
    pub error_message: String,
}

/// The in-resource error of a failed service (`Error`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceError {
    pub code: String,
    pub message: String,
}

impl From<QueryError> for ServiceError {
    fn from(e: QueryError) -> Self {
        Self {
            code: e.error_code,
            message: e.error_message,
        }
    }
}

/// EndPoint.3044: services on one backend port must not share a (server_port, protocol) pair.
pub fn ports_clash(ours: &[Port], theirs: &[Port]) -> bool {
    ours.iter().any(|p| {
        theirs
            .iter()
            .any(|t| t.server_port == p.server_port && t.protocol == p.protocol)
    })
}

/// Whether `ports` clash with those of any other service on the same backend port (`others`:
/// each service's id and ports; `except` is the service being updated).
pub fn ports_clash_with_any<'a>(
    ports: &[Port],
    others: impl IntoIterator<Item = (&'a str, &'a [Port])>,
    except: Option<&str>,
) -> bool {
    others
        .into_iter()
        .any(|(id, theirs)| Some(id) != except && ports_clash(ports, theirs))
}

/// An access key and what it may act as. The secret key and the token are secrets: `Debug` never
/// shows them, and only `credentials create` ever prints them.
#[derive(Clone)]
pub struct Credential {
    pub name: String,
    pub domain_id: String,
    pub project_id: String,
    pub access_key: String,
    pub secret_key: String,
    pub created_at: i64,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("name", &self.name)
            .field("domain_id", &self.domain_id)
            .field("project_id", &self.project_id)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// The tenant a request acts for: the credential's account and project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub domain_id: DomainId,
    pub project_id: ProjectId,
}

/// The tenant a credential acts for.
impl From<Credential> for Tenant {
    fn from(credential: Credential) -> Self {
        Self {
            domain_id: DomainId::stored(credential.domain_id),
            project_id: ProjectId::stored(credential.project_id),
        }
    }
}

/// An endpoint service (the reference's endpoint service object). `connection_count` is filled in
/// by lists.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointService {
    pub id: String,
    pub project_id: String,
    pub domain_id: String,
    /// The full composed name, `{region}.{name}.{id}` or `{region}.{id}`.
    pub service_name: String,
    pub port_id: String,
    pub vpc_id: String,
    pub pool_id: String,
    pub server_type: String,
    pub service_type: String,
    pub approval_enabled: bool,
    pub status: ServiceStatus,
    pub ip: Option<String>,
    pub tcp_proxy: String,
    pub description: String,
    pub enable_policy: bool,
    pub ip_version: String,
    pub ports: Vec<Port>,
    pub tags: Vec<Tag>,
    pub created_at: i64,
    pub updated_at: i64,
    pub connection_count: i64,
    /// Present when `status` is `failed`.
    pub error: Vec<ServiceError>,
    /// A service of the public catalogue: every tenant sees it and may connect to it.
    pub public: bool,
    /// Who runs a public service (`owner` of ListServicePublicDetails); empty for tenants'.
    pub owner: String,
    pub is_charge: bool,
    /// `basic`, and `profession` once UpgradeEndpointService ran.
    pub supported_editions: Vec<String>,
    /// The backend resources AddEndpointServiceServerResource added, oldest first.
    pub server_resources: Vec<ServerResource>,
}

/// A backend resource of a service (`ServerResource` of the v2 API): an ELB instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerResource {
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone_id: Option<String>,
}

/// The editions of services and endpoints (the v2 upgrades).
pub const EDITION_BASIC: &str = "basic";
pub const EDITION_PROFESSION: &str = "profession";

/// What CreateEndpointService stores, validated.
#[derive(Clone, Debug)]
pub struct NewService {
    pub name: Option<String>,
    pub port_id: String,
    pub vpc_id: String,
    pub server_type: String,
    pub service_type: String,
    pub approval_enabled: bool,
    pub ip: Option<String>,
    pub tcp_proxy: String,
    pub description: String,
    pub enable_policy: bool,
    pub ip_version: String,
    pub ports: Vec<Port>,
    pub tags: Vec<Tag>,
    /// Milliseconds the service stays `creating` (0: it is `available` at once).
    pub delay_ms: i64,
}

/// What UpdateEndpointService changes; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ServicePatch {
    pub approval_enabled: Option<bool>,
    /// `Some(None)` clears the short name (`""`).
    pub name: Option<Option<String>>,
    pub ports: Option<Vec<Port>>,
    pub port_id: Option<String>,
    pub tcp_proxy: Option<String>,
    pub description: Option<String>,
    pub ip: Option<String>,
}

impl ServicePatch {
    /// The service after the patch, and its short name. A rename keeps the region the service
    /// was created in (the first part of its stored name), even if `--region` changed since.
    pub fn apply(
        &self,
        old: &EndpointService,
        old_name: Option<String>,
        region: &str,
    ) -> (EndpointService, Option<String>) {
        let mut new = old.clone();
        let mut name = old_name;
        if let Some(v) = self.approval_enabled {
            new.approval_enabled = v;
        }
        if let Some(v) = &self.name {
            name = v.clone();
            let region = old
                .service_name
                .split('.')
                .next()
                .filter(|r| !r.is_empty())
                .unwrap_or(region);
            new.service_name = compose_service_name(region, name.as_deref(), &old.id);
        }
        if let Some(v) = &self.ports {
            new.ports = v.clone();
        }
        if let Some(v) = &self.port_id {
            new.port_id = v.clone();
        }
        if let Some(v) = &self.tcp_proxy {
            new.tcp_proxy = v.clone();
        }
        if let Some(v) = &self.description {
            new.description = v.clone();
        }
        if let Some(v) = &self.ip {
            new.ip = Some(v.clone());
        }
        (new, name)
    }
}

/// An endpoint (the reference's endpoint object), which is also a connection to its service.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub marker_id: i64,
    pub project_id: String,
    pub domain_id: String,
    pub endpoint_service_id: String,
    pub endpoint_service_name: String,
    pub service_type: String,
    pub vpc_id: String,
    pub subnet_id: Option<String>,
    pub port_ip: String,
    pub enable_dns: bool,
    pub description: String,
    pub connection_description: String,
    pub status: ConnectionStatus,
    /// An endpoint rejected after having been accepted still reports its `ip` (the reference's
    /// endpoint object).
    pub ever_accepted: bool,
    pub whitelist: Vec<String>,
    pub enable_whitelist: bool,
    pub tags: Vec<Tag>,
    pub routetables: Vec<String>,
    pub policy_document: Option<serde_json::Value>,
    /// The statements of a gateway endpoint's policy (`PolicyStatement`), as validated.
    pub policy_statement: Vec<serde_json::Value>,
    /// `basic`, or `profession` once UpgradeEndpoint ran.
    pub edition: String,
    pub error: Vec<QueryError>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Endpoint {
    /// The connection as the service owner sees it.
    pub fn connection(&self) -> Connection {
        Connection {
            id: self.id.clone(),
            marker_id: self.marker_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            domain_id: self.domain_id.clone(),
            status: self.status,
            description: self.connection_description.clone(),
            error: self.error.clone(),
        }
    }

    /// `ip` is reported once the connection was accepted (and stays when it is rejected later).
    pub fn reported_ip(&self) -> Option<&str> {
        // A gateway endpoint has no address: its traffic goes through route tables.
        let shown = self.service_type != "gateway"
            && (self.status == ConnectionStatus::Accepted
                || (self.status == ConnectionStatus::Rejected && self.ever_accepted));
        shown.then_some(self.port_ip.as_str())
    }
}

/// What CreateEndpoint stores, validated. `port_ip` is `None` when vpcep must assign one.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    pub endpoint_service_id: ServiceId,
    pub vpc_id: String,
    pub subnet_id: Option<String>,
    pub port_ip: Option<u32>,
    pub enable_dns: bool,
    pub description: String,
    pub whitelist: Vec<String>,
    pub enable_whitelist: bool,
    pub tags: Vec<Tag>,
    pub routetables: Vec<String>,
    pub policy_document: Option<serde_json::Value>,
    pub policy_statement: Vec<serde_json::Value>,
    /// Milliseconds the endpoint stays `creating` (0: it settles at once).
    pub delay_ms: i64,
}

/// A whitelist record of a service (`EpsPermission`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionRecord {
    pub id: String,
    pub permission: String,
    pub permission_type: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A connection as the service owner sees it (`ConnectionEndpoints`).
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    pub id: String,
    pub marker_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub domain_id: String,
    pub status: ConnectionStatus,
    pub description: String,
    pub error: Vec<QueryError>,
}

/// The stored full name of a service (docs/api.md §3).
pub fn compose_service_name(region: &str, name: Option<&str>, id: &str) -> String {
    match name {
        Some(n) if !n.is_empty() => format!("{region}.{n}.{id}"),
        _ => format!("{region}.{id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_are_composed_with_region_and_id() {
        assert_eq!(
            compose_service_name("local-1", Some("web"), "abc"),
            "local-1.web.abc"
        );
        assert_eq!(compose_service_name("local-1", None, "abc"), "local-1.abc");
        assert_eq!(
            compose_service_name("local-1", Some(""), "abc"),
            "local-1.abc"
        );
    }

    #[test]
    fn a_port_clash_with_any_other_service_counts_but_not_with_itself() {
        let p = |server_port, protocol: &str| Port {
            client_port: 1,
            server_port,
            protocol: protocol.into(),
        };
        let ours = [p(80, "TCP")];
        let a = [p(80, "TCP")];
        let b = [p(80, "UDP"), p(81, "TCP")];
        let others = || [("a", &a[..]), ("b", &b[..])];
        assert!(ports_clash_with_any(&ours, others(), None));
        assert!(!ports_clash_with_any(&ours, others(), Some("a")));
        assert!(!ports_clash_with_any(&ours, [("b", &b[..])], None));
    }

    #[test]
    fn credential_debug_hides_the_secret() {
        let c = Credential {
            name: "n".into(),
            domain_id: "d".into(),
            project_id: "p".into(),
            access_key: "AK".into(),
            secret_key: "very-secret".into(),
            created_at: 0,
        };
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
