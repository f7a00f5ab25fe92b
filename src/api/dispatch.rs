//! Which handler answers each operation of the route table (`api::routes`).

use axum::routing::{on, MethodFilter, MethodRouter};

use super::error::ApiError;
use super::extract::Ctx;
use super::routes::{Operation as O, Route};
use super::{
    backends, connections, endpoints, faults, health, iam, openapi, permissions, quotas, reset,
    services, tags, versions, AppState,
};
use crate::domain::tags::ResourceKind;

fn filter(method: &str) -> MethodFilter {
    match method {
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        _ => MethodFilter::GET,
    }
}

/// A tag operation's handler, given the resource type its path names.
fn tag_route(f: MethodFilter, route: &Route) -> MethodRouter<AppState> {
    let Some(kind) = ResourceKind::of_path(route.path) else {
        let path = route.path;
        return on(f, move |_ctx: Ctx| async move {
            Err::<(), _>(ApiError::internal(&format!(
                "{path} names no resource type"
            )))
        });
    };
    match route.operation {
        O::BatchAddOrRemoveResourceInstance => on(f, move |state, ctx| {
            tags::batch_add_or_remove_resource_instance(state, ctx, kind)
        }),
        O::ListQueryProjectResourceTags => on(f, move |state, ctx| {
            tags::list_query_project_resource_tags(state, ctx, kind)
        }),
        _ => on(f, move |state, ctx| {
            tags::list_resource_instances(state, ctx, kind)
        }),
    }
}

/// The handler of one route.
pub(super) fn method_router(route: &Route) -> MethodRouter<AppState> {
    let f = filter(route.method);
    match route.operation {
        O::ListVersionDetails => on(f, versions::list_version_details),
        O::ListSpecifiedVersionDetails => on(f, versions::list_specified_version_details),
        O::Health => on(f, health),
        O::OpenApi => on(f, openapi::openapi_json),
        O::CreateEndpointService => on(f, services::create_endpoint_service),
        O::ListEndpointService => on(f, services::list_endpoint_service),
        O::ListServiceDescribeDetails => on(f, services::list_service_describe_details),
        O::ListServiceDetails => on(f, services::list_service_details),
        O::UpdateEndpointService => on(f, services::update_endpoint_service),
        O::DeleteEndpointService => on(f, services::delete_endpoint_service),
        O::UpdateEndpointServiceName => on(f, services::update_endpoint_service_name),
        O::CreateEndpoint => on(f, endpoints::create_endpoint),
        O::ListEndpoints => on(f, endpoints::list_endpoints),
        O::ListEndpointInfoDetails => on(f, endpoints::list_endpoint_info_details),
        O::DeleteEndpoint => on(f, endpoints::delete_endpoint),
        O::UpdateEndpointWhite => on(f, endpoints::update_endpoint_white),
        O::UpdateEndpointPolicy => on(f, endpoints::update_endpoint_policy),
        O::DeleteEndpointPolicy => on(f, endpoints::delete_endpoint_policy),
        O::UpdateEndpointRoutetable => on(f, endpoints::update_endpoint_routetable),
        O::UpgradeEndpoint => on(f, endpoints::upgrade_endpoint),
        O::ListServicePublicDetails => on(f, services::list_service_public_details),
        O::UpgradeEndpointService => on(f, services::upgrade_endpoint_service),
        O::AddEndpointServiceServerResource => {
            on(f, services::add_endpoint_service_server_resource)
        }
        O::ListQuotaDetails => on(f, quotas::list_quota_details),
        O::ListServiceConnections => on(f, connections::list_service_connections),
        O::AcceptOrRejectEndpoint => on(f, connections::accept_or_reject_endpoint),
        O::UpdateEndpointConnectionsDesc => on(f, connections::update_endpoint_connections_desc),
        O::AddOrRemoveServicePermissions => on(f, permissions::add_or_remove_service_permissions),
        O::BatchAddEndpointServicePermissions => {
            on(f, permissions::batch_add_endpoint_service_permissions)
        }
        O::BatchRemoveEndpointServicePermissions => {
            on(f, permissions::batch_remove_endpoint_service_permissions)
        }
        O::ListServicePermissionsDetails => on(f, permissions::list_service_permissions_details),
        O::UpdateEndpointServicePermissionDesc => {
            on(f, permissions::update_endpoint_service_permission_desc)
        }
        O::KeystoneListAuthDomains => on(f, iam::keystone_list_auth_domains),
        O::KeystoneListProjects => on(f, iam::keystone_list_projects),
        O::KeystoneListAuthProjects => on(f, iam::keystone_list_auth_projects),
        O::KeystoneShowCatalog => on(f, iam::keystone_show_catalog),
        O::InjectEndpointFailure => on(f, faults::inject_endpoint_failure),
        O::InjectServiceFailure => on(f, faults::inject_service_failure),
        O::InjectCreationFailures => on(f, faults::inject_creation_failures),
        O::Reset => on(f, reset::reset),
        O::SetBackend => on(f, backends::set_backend),
        O::ListBackends => on(f, backends::list_backends),
        O::DeleteBackend => on(f, backends::delete_backend),
        O::BatchAddOrRemoveResourceInstance
        | O::ListQueryProjectResourceTags
        | O::ListResourceInstances => tag_route(f, route),
    }
}
