//! The route table: every path and method vpcep answers, with the provider's operation name, as
//! plain data. The router is built from it (`api::dispatch` pairs each operation with its
//! handler), and so is the OpenAPI document (`api::openapi`), so the two cannot drift apart.

const SERVICES: &str = "/v1/{project_id}/vpc-endpoint-services";
const SERVICE: &str = "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}";
const ENDPOINTS: &str = "/v1/{project_id}/vpc-endpoints";
const ENDPOINT: &str = "/v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}";

macro_rules! operations {
    ($($op:ident),* $(,)?) => {
        /// The operations, named as the provider (and its SDKs) name them; used for routing, logs
        /// and the OpenAPI `operationId`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Operation { $($op),* }

        impl Operation {
            /// Every operation, for checks that none is left without a route.
            pub const ALL: &'static [Operation] = &[$(Self::$op),*];

            pub fn name(self) -> &'static str {
                match self { $(Self::$op => stringify!($op)),* }
            }
        }
    };
}

operations! {
    ListVersionDetails, ListSpecifiedVersionDetails, Health, OpenApi,
    CreateEndpointService, ListEndpointService, ListServiceDescribeDetails, ListServiceDetails,
    UpdateEndpointService, DeleteEndpointService,
    CreateEndpoint, ListEndpoints, ListEndpointInfoDetails, DeleteEndpoint,
    ListServiceConnections, AcceptOrRejectEndpoint, UpdateEndpointConnectionsDesc,
    AddOrRemoveServicePermissions, BatchAddEndpointServicePermissions,
    BatchRemoveEndpointServicePermissions, ListServicePermissionsDetails,
    UpdateEndpointServicePermissionDesc,
    // The IAM discovery that clients make at start (`api::iam`).
    KeystoneListAuthDomains, KeystoneListProjects, KeystoneListAuthProjects, KeystoneShowCatalog,
    // The rest of the VPCEP surface.
    ListServicePublicDetails, UpdateEndpointServiceName, UpdateEndpointWhite,
    UpdateEndpointPolicy, DeleteEndpointPolicy, UpdateEndpointRoutetable, ListQuotaDetails,
    AddEndpointServiceServerResource, UpgradeEndpointService, UpgradeEndpoint,
    BatchAddOrRemoveResourceInstance, ListQueryProjectResourceTags, ListResourceInstances,
    // vpcep's own fault injection and reset, off the VPCEP paths.
    InjectEndpointFailure, InjectServiceFailure, InjectCreationFailures, Reset,
    // The data plane's backend registry.
    SetBackend, ListBackends, DeleteBackend,
}

/// One route: method, path (axum syntax, which is also OpenAPI's) and operation.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub operation: Operation,
}

const fn r(method: &'static str, path: &'static str, operation: Operation) -> Route {
    Route {
        method,
        path,
        operation,
    }
}

use Operation as O;

/// Every route. `{resource_type}` of the tag operations is spelled out (`endpoint_service`,
/// `endpoint`) so that it never competes with the literal segments of other routes.
pub const ROUTES: &[Route] = &[
    r("GET", "/", O::ListVersionDetails),
    r("GET", "/{version}", O::ListSpecifiedVersionDetails),
    r("GET", "/health", O::Health),
    r("GET", "/openapi.json", O::OpenApi),
    r("GET", "/v3/auth/domains", O::KeystoneListAuthDomains),
    r("GET", "/v3/projects", O::KeystoneListProjects),
    r("GET", "/v3/auth/projects", O::KeystoneListAuthProjects),
    r("GET", "/v3/auth/catalog", O::KeystoneShowCatalog),
    r("POST", SERVICES, O::CreateEndpointService),
    r("GET", SERVICES, O::ListEndpointService),
    r(
        "GET",
        concat!("/v1/{project_id}/vpc-endpoint-services", "/describe"),
        O::ListServiceDescribeDetails,
    ),
    r(
        "GET",
        concat!("/v1/{project_id}/vpc-endpoint-services", "/public"),
        O::ListServicePublicDetails,
    ),
    r("GET", SERVICE, O::ListServiceDetails),
    r("PUT", SERVICE, O::UpdateEndpointService),
    r("DELETE", SERVICE, O::DeleteEndpointService),
    r(
        "PUT",
        concat!(
            "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}",
            "/name"
        ),
        O::UpdateEndpointServiceName,
    ),
    r(
        "GET",
        concat!(
            "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}",
            "/connections"
        ),
        O::ListServiceConnections,
    ),
    r(
        "POST",
        concat!(
            "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}",
            "/connections/action"
        ),
        O::AcceptOrRejectEndpoint,
    ),
    r(
        "PUT",
        concat!(
            "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}",
            "/connections/description"
        ),
        O::UpdateEndpointConnectionsDesc,
    ),
    r(
        "GET",
        concat!(
            "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}",
            "/permissions"
        ),
        O::ListServicePermissionsDetails,
    ),
    r(
        "POST",
        concat!(
            "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}",
            "/permissions/action"
        ),
        O::AddOrRemoveServicePermissions,
    ),
    r(
        "POST",
        concat!(
            "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}",
            "/permissions/batch-create"
        ),
        O::BatchAddEndpointServicePermissions,
    ),
    r(
        "POST",
        concat!(
            "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}",
            "/permissions/batch-delete"
        ),
        O::BatchRemoveEndpointServicePermissions,
    ),
    r(
        "PUT",
        concat!(
            "/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}",
            "/permissions/{permission_id}"
        ),
        O::UpdateEndpointServicePermissionDesc,
    ),
    r("POST", ENDPOINTS, O::CreateEndpoint),
    r("GET", ENDPOINTS, O::ListEndpoints),
    r("GET", ENDPOINT, O::ListEndpointInfoDetails),
    r("DELETE", ENDPOINT, O::DeleteEndpoint),
    r("PUT", ENDPOINT, O::UpdateEndpointWhite),
    r(
        "PUT",
        concat!(
            "/v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}",
            "/policy"
        ),
        O::UpdateEndpointPolicy,
    ),
    r(
        "DELETE",
        concat!(
            "/v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}",
            "/policy"
        ),
        O::DeleteEndpointPolicy,
    ),
    r(
        "PUT",
        concat!(
            "/v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}",
            "/routetables"
        ),
        O::UpdateEndpointRoutetable,
    ),
    r("GET", "/v1/{project_id}/quotas", O::ListQuotaDetails),
    r(
        "POST",
        "/v2/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}/add-server-resources",
        O::AddEndpointServiceServerResource,
    ),
    r(
        "POST",
        "/v2/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}/upgrade",
        O::UpgradeEndpointService,
    ),
    r(
        "POST",
        "/v2/{project_id}/vpc-endpoints/{vpc_endpoint_id}/upgrade",
        O::UpgradeEndpoint,
    ),
    r(
        "POST",
        "/v1/{project_id}/endpoint_service/{resource_id}/tags/action",
        O::BatchAddOrRemoveResourceInstance,
    ),
    r(
        "POST",
        "/v1/{project_id}/endpoint/{resource_id}/tags/action",
        O::BatchAddOrRemoveResourceInstance,
    ),
    r(
        "GET",
        "/v1/{project_id}/endpoint_service/tags",
        O::ListQueryProjectResourceTags,
    ),
    r(
        "GET",
        "/v1/{project_id}/endpoint/tags",
        O::ListQueryProjectResourceTags,
    ),
    r(
        "POST",
        "/v1/{project_id}/endpoint_service/resource_instances/action",
        O::ListResourceInstances,
    ),
    r(
        "POST",
        "/v1/{project_id}/endpoint/resource_instances/action",
        O::ListResourceInstances,
    ),
    r(
        "POST",
        "/_vpcep/v1/{project_id}/vpc-endpoints/{vpc_endpoint_id}/fail",
        O::InjectEndpointFailure,
    ),
    r(
        "POST",
        "/_vpcep/v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}/fail",
        O::InjectServiceFailure,
    ),
    r(
        "POST",
        "/_vpcep/v1/{project_id}/fail-next-creations",
        O::InjectCreationFailures,
    ),
    r("POST", "/_vpcep/reset", O::Reset),
    r("GET", "/_vpcep/v1/{project_id}/backends", O::ListBackends),
    r(
        "PUT",
        "/_vpcep/v1/{project_id}/backends/{port_id}",
        O::SetBackend,
    ),
    r(
        "DELETE",
        "/_vpcep/v1/{project_id}/backends/{port_id}",
        O::DeleteBackend,
    ),
];

impl Operation {
    /// Whether the operation needs authentication (only the discovery routes do not).
    pub fn authenticated(self) -> bool {
        !matches!(
            self,
            O::ListVersionDetails | O::ListSpecifiedVersionDetails | O::Health | O::OpenApi
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_route_and_no_route_is_doubled() {
        for op in Operation::ALL {
            assert!(
                ROUTES.iter().any(|r| r.operation == *op),
                "{} has no route",
                op.name()
            );
        }
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} is routed twice",
                    a.method,
                    a.path
                );
            }
        }
    }
}
