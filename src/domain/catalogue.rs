//! The public catalogue: endpoint services that every tenant sees (ListServicePublicDetails)
//! and may connect to without a whitelist, like the services Huawei Cloud's operations staff
//! publish (OBS through a gateway, DNS through an interface). vpcep keeps them as service rows
//! of a project no request can name, so endpoints reference them like any other service.

use super::ids::derived_uuid;
use super::model::{EndpointService, Port, EDITION_BASIC};
use super::status::ServiceStatus;

/// The project and account that hold the catalogue: `_` is not allowed in path ids, so no
/// caller can act as them.
pub const PUBLIC_PROJECT: &str = "_public";
pub const PUBLIC_DOMAIN: &str = "_public";

/// One catalogue entry as an operator describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicEntry {
    /// The name after the region: `com.myhuaweicloud.v4.obsv2` is listed as
    /// `{region}.com.myhuaweicloud.v4.obsv2`.
    pub name: String,
    /// `gateway` or `interface`.
    pub service_type: String,
    pub owner: String,
    pub enable_policy: bool,
    pub is_charge: bool,
    pub ports: Vec<Port>,
}

/// A catalogue name: 1..64 of `[A-Za-z0-9_.-]`, not starting or ending with a dot.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && !name.starts_with('.')
        && !name.ends_with('.')
}

/// What every region offers unless the operator says otherwise: an OBS-like gateway service
/// that takes endpoint policies, and a DNS-like interface service.
pub fn defaults() -> Vec<PublicEntry> {
    vec![
        PublicEntry {
            name: "com.myhuaweicloud.v4.obsv2".into(),
            service_type: "gateway".into(),
            owner: "vpcep".into(),
            enable_policy: true,
            is_charge: false,
            ports: Vec::new(),
        },
        PublicEntry {
            name: "com.myhuaweicloud.v4.dns".into(),
            service_type: "interface".into(),
            owner: "vpcep".into(),
            enable_policy: false,
            is_charge: false,
            ports: vec![Port {
                client_port: 53,
                server_port: 53,
                protocol: "TCP".into(),
            }],
        },
    ]
}

/// The id of an entry in a region: the same on every node and after every restart.
pub fn service_id(region: &str, name: &str) -> String {
    derived_uuid(&format!("vpcep-public-service:{region}:{name}"))
}

/// The service row of an entry in `region`, created `now`.
pub fn service(entry: &PublicEntry, region: &str, now: i64) -> EndpointService {
    let id = service_id(region, &entry.name);
    EndpointService {
        service_name: format!("{region}.{}", entry.name),
        port_id: derived_uuid(&format!("vpcep-public-port:{id}")),
        vpc_id: derived_uuid(&format!("vpcep-public-vpc:{region}")),
        pool_id: derived_uuid(&format!("vpcep-public-pool:{id}")),
        id,
        project_id: PUBLIC_PROJECT.into(),
        domain_id: PUBLIC_DOMAIN.into(),
        server_type: "LB".into(),
        service_type: entry.service_type.clone(),
        approval_enabled: false,
        status: ServiceStatus::Available,
        ip: None,
        tcp_proxy: "close".into(),
        description: String::new(),
        enable_policy: entry.enable_policy,
        ip_version: "ipv4".into(),
        ports: entry.ports.clone(),
        tags: Vec::new(),
        created_at: now,
        updated_at: now,
        connection_count: 0,
        error: Vec::new(),
        public: true,
        owner: entry.owner.clone(),
        is_charge: entry.is_charge,
        supported_editions: vec![EDITION_BASIC.into()],
        server_resources: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_have_stable_ids_per_region_and_names_under_it() {
        let obs = &defaults()[0];
        let a = service(obs, "local-1", 0);
        assert_eq!(a.id, service(obs, "local-1", 99).id);
        assert_ne!(a.id, service(obs, "eu-2", 0).id);
        assert_eq!(a.service_name, "local-1.com.myhuaweicloud.v4.obsv2");
        assert!(a.public && a.service_type == "gateway" && a.enable_policy);
    }

    #[test]
    fn names() {
        assert!(valid_name("com.example.v1.storage"));
        assert!(valid_name("my_service-2"));
        for bad in ["", ".x", "x.", "a b", "a/b", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
