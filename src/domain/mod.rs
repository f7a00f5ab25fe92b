//! The rules of VPCEP, with no I/O: validated value types, the connection and service state
//! machines, who may connect to a service, the resource models the store returns, and what the
//! IAM discovery calls show of a credential.
//!
//! Everything here is parsed once at the HTTP edge, so the store and the handlers never re-check.

pub mod address;
pub mod catalogue;
pub mod credential;
pub mod gateway;
pub mod iam;
pub mod ids;
pub mod lifecycle;
pub mod model;
pub mod permission;
pub mod quota;
pub mod route;
pub mod seed;
pub mod status;
pub mod tags;
pub mod text;
pub mod time;

pub use address::{format_ipv4, AddressRange, AUTO_IP_FIRST, AUTO_IP_LAST};
pub use ids::{
    is_uuid, parse_path_id, parse_uuid, DomainId, EndpointId, PermissionId, ProjectId, ServiceId,
};
pub use model::*;
pub use permission::{
    may_connect, Permission, PermissionType, MAX_ENDPOINT_WHITELIST, MAX_WHITELIST,
};
pub use quota::{QuotaKind, Quotas};
pub use seed::{DescriptionUpdate, SeedError};
pub use status::{ConnectionAction, ConnectionStatus, ServiceStatus, TransitionError};
pub use text::{Description, TextError, MAX_DESCRIPTION_CHARS};
