//! The OpenAPI 3.0 document of vpcep, generated from the route table (`routes::ROUTES`) so that
//! every routed operation is documented and nothing else is. The route table gives the paths,
//! methods and operation names; [`doc`] adds what it cannot know (summary, query parameters,
//! request and response bodies, the error codes each operation can produce), keyed by
//! `Operation`, so a new operation does not compile until it is documented. The shared schemas
//! are data, in `openapi/components.json`.
//!
//! The document is exact where a fuzzer can check it: request schemas admit every body the
//! handlers accept and only constrain what they enforce (`null` counts as absent, so optional
//! keys are `nullable`; unknown keys are ignored, so request objects stay open), and response
//! objects are closed (`additionalProperties: false`) with exactly the keys `render.rs` sends.
//! `scripts/schemathesis.sh` runs the server against it.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use super::error::ErrorCode;
use super::routes::{Operation, ROUTES};

/// Shared parameters, headers, schemas and security schemes.
const COMPONENTS: &str = include_str!("openapi/components.json");

/// The document, built on first use.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

/// What an operation answers when it succeeds.
#[derive(Clone, Copy)]
enum Success {
    /// 200 with a JSON body of this component schema.
    Json(&'static str),
    /// 204 without a body.
    NoContent,
}

/// What the route table does not say about an operation.
#[derive(Clone, Copy)]
struct Doc {
    tag: &'static str,
    summary: &'static str,
    description: &'static str,
    /// Query parameters, by their key in `components/parameters`.
    query: &'static [&'static str],
    /// The request body's schema in `components/schemas`.
    body: Option<&'static str>,
    success: Success,
    /// 400 codes besides `EndPoint.0002` and those of the path parameters' syntax.
    bad_request: &'static [ErrorCode],
    /// The resource the request names may not exist in the caller's project: 404.
    not_found: bool,
    /// 409 codes; empty when the operation never conflicts.
    conflict: &'static [ErrorCode],
    /// When the operation answers 409.
    conflict_when: &'static str,
}

const BASE: Doc = Doc {
    tag: "",
    summary: "",
    description: "",
    query: &[],
    body: None,
    success: Success::NoContent,
    bad_request: &[],
    not_found: false,
    conflict: &[],
    conflict_when: "A write conflict persisted after retries.",
};

const WRITE_CONFLICT: &[ErrorCode] = &[ErrorCode::SystemError];
const TRANSITION_CONFLICT: &[ErrorCode] = &[
    ErrorCode::SystemError,
    ErrorCode::EndpointBeingDeleted,
    ErrorCode::EndpointBeingCreated,
];
const TRANSITION_CONFLICT_WHEN: &str = "The endpoint is being created or deleted, or a write \
                                        conflict persisted after retries.";
const TAG_CODES: [ErrorCode; 6] = [
    ErrorCode::TagEmpty,
    ErrorCode::TagKeyDuplicated,
    ErrorCode::TagInvalid,
    ErrorCode::TagLimit,
    ErrorCode::TagKeySize,
    ErrorCode::TagValueSize,
];

const TAG_VERSIONS: &str = "Versions";
const TAG_SERVICES: &str = "Endpoint services";
const TAG_ENDPOINTS: &str = "Endpoints";
const TAG_CONNECTIONS: &str = "Connections";
const TAG_PERMISSIONS: &str = "Permissions";
const TAG_TAGS: &str = "Tags";
const TAG_QUOTAS: &str = "Quotas";
const TAG_OPERATIONS: &str = "Operations";
const TAG_FAULTS: &str = "Fault injection";
const TAG_DATA_PLANE: &str = "Data plane";
const TAG_IAM: &str = "IAM discovery";

fn doc(op: Operation) -> Doc {
    use ErrorCode as C;
    use Operation as O;
    match op {
        O::ListVersionDetails => Doc {
            tag: TAG_VERSIONS,
            summary: "List the API versions",
            success: Success::Json("ListVersionDetailsResponse"),
            ..BASE
        },
        O::ListSpecifiedVersionDetails => Doc {
            tag: TAG_VERSIONS,
            summary: "Show one API version",
            success: Success::Json("ListSpecifiedVersionDetailsResponse"),
            not_found: true,
            ..BASE
        },
        O::Health => Doc {
            tag: TAG_OPERATIONS,
            summary: "Whether the server and its database answer",
            description: "Not part of the VPCEP API. 503 with `{\"status\": \"unavailable\"}` \
                          when the database does not answer.",
            success: Success::Json("Health"),
            ..BASE
        },
        O::OpenApi => Doc {
            tag: TAG_OPERATIONS,
            summary: "This document",
            description: "Not part of the VPCEP API.",
            success: Success::Json("OpenApiDocument"),
            ..BASE
        },
        O::CreateEndpointService => Doc {
            tag: TAG_SERVICES,
            summary: "Create an endpoint service",
            description: "The new service is `available` at once.",
            body: Some("CreateEndpointServiceRequest"),
            success: Success::Json("EndpointServiceWrite"),
            bad_request: &[
                C::QuotaExceeded,
                C::VpcIdEmpty,
                C::InvalidVpcId,
                C::InvalidPortId,
                C::InvalidServerType,
                C::InvalidServicePort,
                C::PortsConflict,
                C::PortLimit,
                C::InvalidProtocol,
                C::InvalidServiceName,
                C::InvalidIpAddress,
                TAG_CODES[0],
                TAG_CODES[1],
                TAG_CODES[2],
                TAG_CODES[3],
                TAG_CODES[4],
                TAG_CODES[5],
            ],
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::ListEndpointService => Doc {
            tag: TAG_SERVICES,
            summary: "List the caller's endpoint services",
            query: &[
                "limit",
                "offset",
                "sort_key",
                "sort_dir",
                "endpoint_service_name",
                "id",
                "service_status",
            ],
            success: Success::Json("ListEndpointServiceResponse"),
            bad_request: &[
                C::InvalidLimit,
                C::InvalidOffset,
                C::InvalidSortKey,
                C::InvalidSortDir,
                C::InvalidStatus,
            ],
            ..BASE
        },
        O::ListServiceDescribeDetails => Doc {
            tag: TAG_SERVICES,
            summary: "Look up any tenant's endpoint service before connecting to it",
            description: "Give exactly one of `id` and `endpoint_service_name`.",
            query: &["describe_id", "describe_name"],
            success: Success::Json("EndpointServiceSummary"),
            bad_request: &[C::InvalidServiceId],
            not_found: true,
            ..BASE
        },
        O::ListServiceDetails => Doc {
            tag: TAG_SERVICES,
            summary: "Show an endpoint service",
            success: Success::Json("EndpointServiceDetail"),
            not_found: true,
            ..BASE
        },
        O::UpdateEndpointService => Doc {
            tag: TAG_SERVICES,
            summary: "Update an endpoint service",
            body: Some("UpdateEndpointServiceRequest"),
            success: Success::Json("EndpointServiceWrite"),
            bad_request: &[
                C::InvalidPortId,
                C::InvalidIpAddress,
                C::InvalidServicePort,
                C::PortsConflict,
                C::ServiceStateForbids,
                C::PortLimit,
                C::InvalidProtocol,
                C::InvalidServiceName,
            ],
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::DeleteEndpointService => Doc {
            tag: TAG_SERVICES,
            summary: "Delete an endpoint service",
            description: "Refused with 400 `EndPoint.3006` while endpoints are connected to it, \
                          and with 409 while it is being created or deleted.",
            success: Success::NoContent,
            bad_request: &[C::ServiceInUse],
            not_found: true,
            conflict: WRITE_CONFLICT,
            conflict_when: "The service is being created or deleted, or a write conflict \
                            persisted after retries.",
            ..BASE
        },
        O::CreateEndpoint => Doc {
            tag: TAG_ENDPOINTS,
            summary: "Create an endpoint (connect to an endpoint service)",
            description: "The new connection is `accepted` at once when the service has \
                          `approval_enabled: false`, else `pendingAcceptance`.",
            body: Some("CreateEndpointRequest"),
            success: Success::Json("EndpointCreate"),
            bad_request: &[
                C::InvalidServiceId,
                C::VpcIdEmpty,
                C::InvalidVpcId,
                C::SubnetIdEmpty,
                C::InvalidSubnetId,
                C::InvalidPortIp,
                C::InvalidEnableDns,
                C::InvalidWhitelist,
                C::EndpointWhitelistFull,
                C::ServiceMissing,
                C::ServiceNotAvailable,
                C::ConnectNotPermitted,
                C::PortIpInUse,
                C::QuotaExceeded,
                C::InvalidRouteTable,
                C::RouteTableInUse,
                C::BatchLimitExceeded,
                C::InvalidPolicy,
                TAG_CODES[0],
                TAG_CODES[1],
                TAG_CODES[2],
                TAG_CODES[3],
                TAG_CODES[4],
                TAG_CODES[5],
            ],
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::ListEndpoints => Doc {
            tag: TAG_ENDPOINTS,
            summary: "List the caller's endpoints",
            query: &[
                "limit",
                "offset",
                "sort_key",
                "sort_dir",
                "endpoint_service_name",
                "vpc_id",
                "id",
            ],
            success: Success::Json("ListEndpointsResponse"),
            bad_request: &[
                C::InvalidLimit,
                C::InvalidOffset,
                C::InvalidSortKey,
                C::InvalidSortDir,
            ],
            ..BASE
        },
        O::ListEndpointInfoDetails => Doc {
            tag: TAG_ENDPOINTS,
            summary: "Show an endpoint",
            success: Success::Json("EndpointDetail"),
            not_found: true,
            ..BASE
        },
        O::DeleteEndpoint => Doc {
            tag: TAG_ENDPOINTS,
            summary: "Delete an endpoint",
            description: "Refused with 409 while the endpoint is being created or deleted.",
            success: Success::NoContent,
            not_found: true,
            conflict: TRANSITION_CONFLICT,
            conflict_when: TRANSITION_CONFLICT_WHEN,
            ..BASE
        },
        O::ListServiceConnections => Doc {
            tag: TAG_CONNECTIONS,
            summary: "List the connections to an endpoint service",
            query: &[
                "limit",
                "offset",
                "sort_key",
                "sort_dir",
                "id",
                "marker_id",
                "connection_status",
            ],
            success: Success::Json("ListServiceConnectionsResponse"),
            bad_request: &[
                C::InvalidLimit,
                C::InvalidOffset,
                C::InvalidSortKey,
                C::InvalidSortDir,
                C::InvalidStatus,
                C::InvalidMarkerId,
            ],
            not_found: true,
            ..BASE
        },
        O::AcceptOrRejectEndpoint => Doc {
            tag: TAG_CONNECTIONS,
            summary: "Accept or reject a connection",
            body: Some("AcceptOrRejectEndpointRequest"),
            success: Success::Json("ConnectionsResponse"),
            bad_request: &[
                C::InvalidAction,
                C::OnlyOneEndpoint,
                C::InvalidEndpointId,
                C::NotAConnection,
                C::EndpointFailed,
            ],
            not_found: true,
            conflict: TRANSITION_CONFLICT,
            conflict_when: TRANSITION_CONFLICT_WHEN,
            ..BASE
        },
        O::UpdateEndpointConnectionsDesc => Doc {
            tag: TAG_CONNECTIONS,
            summary: "Set the descriptions of connections",
            description: "The service owner's descriptions of the connections (consumers' \
                          endpoints) to the service; the endpoints' own descriptions are not \
                          touched. All or nothing, and durable before the answer. The answer \
                          holds exactly the named connections, newest first (by `created_at`, \
                          then `id`).",
            body: Some("UpdateEndpointConnectionsDescRequest"),
            success: Success::Json("ConnectionsResponse"),
            bad_request: &[
                C::BatchLimitExceeded,
                C::InvalidEndpointId,
                C::NotAConnection,
            ],
            not_found: true,
            conflict: TRANSITION_CONFLICT,
            conflict_when: TRANSITION_CONFLICT_WHEN,
            ..BASE
        },
        O::AddOrRemoveServicePermissions => Doc {
            tag: TAG_PERMISSIONS,
            summary: "Add or remove whitelist entries of an endpoint service",
            description: "The owner's own account may always connect and is not an entry.",
            body: Some("AddOrRemoveServicePermissionsRequest"),
            success: Success::Json("AddOrRemoveServicePermissionsResponse"),
            bad_request: &[
                C::InvalidPermissions,
                C::BatchLimitExceeded,
                C::InvalidPermission,
                C::InvalidAction,
                C::WhitelistFull,
            ],
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::BatchAddEndpointServicePermissions => Doc {
            tag: TAG_PERMISSIONS,
            summary: "Add whitelist entries with descriptions",
            description: "Answers the records named in the request, in request order.",
            body: Some("BatchAddEndpointServicePermissionsRequest"),
            success: Success::Json("PermissionsResponse"),
            bad_request: &[
                C::InvalidPermissions,
                C::BatchLimitExceeded,
                C::InvalidPermission,
                C::WhitelistFull,
            ],
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::BatchRemoveEndpointServicePermissions => Doc {
            tag: TAG_PERMISSIONS,
            summary: "Remove whitelist records by id",
            description: "Answers the removed records.",
            body: Some("BatchRemoveEndpointServicePermissionsRequest"),
            success: Success::Json("PermissionsResponse"),
            bad_request: &[C::InvalidPermissions, C::BatchLimitExceeded],
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::ListServicePermissionsDetails => Doc {
            tag: TAG_PERMISSIONS,
            summary: "List the whitelist records of an endpoint service",
            query: &[
                "limit_permissions",
                "offset",
                "sort_key",
                "sort_dir",
                "permission",
            ],
            success: Success::Json("ListServicePermissionsDetailsResponse"),
            bad_request: &[
                C::InvalidLimit,
                C::InvalidOffset,
                C::InvalidSortKey,
                C::InvalidSortDir,
            ],
            not_found: true,
            ..BASE
        },
        O::UpdateEndpointServicePermissionDesc => Doc {
            tag: TAG_PERMISSIONS,
            summary: "Set the description of a whitelist record",
            description: "Answers a list holding the one record.",
            body: Some("UpdateEndpointServicePermissionDescRequest"),
            success: Success::Json("PermissionsResponse"),
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::KeystoneListAuthDomains => Doc {
            tag: TAG_IAM,
            summary: "The caller's account (IAM discovery)",
            description: "Not a VPCEP operation: what the Terraform provider asks at start when \
                          it has no `domain_id`, answered from the calling credential. Its \
                          `domains[0].id` is the credential's `domain_id`.",
            success: Success::Json("KeystoneListAuthDomainsResponse"),
            ..BASE
        },
        O::KeystoneListProjects => Doc {
            tag: TAG_IAM,
            summary: "The caller's project, if it passes the filters (IAM discovery)",
            description: "Not a VPCEP operation: what the SDKs and the Terraform provider ask at \
                          start when they have no project id (`?name=<region>`), answered from \
                          the calling credential. The project is named after the server's \
                          region; `page` and `per_page` are ignored.",
            query: &[
                "iam_project_name",
                "iam_domain_id",
                "iam_parent_id",
                "iam_enabled",
                "iam_is_domain",
            ],
            success: Success::Json("KeystoneListProjectsResponse"),
            ..BASE
        },
        O::KeystoneListAuthProjects => Doc {
            tag: TAG_IAM,
            summary: "The projects the caller may act in: its own (IAM discovery)",
            description: "Not a VPCEP operation, answered from the calling credential.",
            success: Success::Json("KeystoneListProjectsResponse"),
            ..BASE
        },
        O::KeystoneShowCatalog => Doc {
            tag: TAG_IAM,
            summary: "The services at this address (IAM discovery)",
            description: "Not a VPCEP operation: the Keystone service catalog, which older \
                          versions of the Terraform provider list at start: `identity` and \
                          `vpcep`, in the server's region, the latter with the caller's project.",
            success: Success::Json("KeystoneShowCatalogResponse"),
            ..BASE
        },
        O::Reset => Doc {
            tag: TAG_FAULTS,
            summary: "Remove every service, endpoint and whitelist entry; keep the credentials",
            description: "Not part of the VPCEP API. Wipes every tenant's resources, so it \
                          answers only on a server started with `--allow-reset` or \
                          `--ephemeral`; elsewhere 403 `EndPoint.0004`. Any request body is \
                          ignored. `marker_id`s are not reused afterwards.",
            success: Success::Json("ResetResponse"),
            ..BASE
        },
        O::SetBackend => Doc {
            tag: TAG_DATA_PLANE,
            summary: "Register where the data plane forwards a backend port's connections",
            description: "Not part of the VPCEP API. With `serve --data-plane`, an accepted \
                          connection to a service created without an `ip` is forwarded to the \
                          address registered for the service's `port_id`: the service's \
                          project's own registration, else one made for every project with \
                          `vpcep backends set` (without `--project-id`). Replaces the project's \
                          earlier registration of the port; applied within a second.",
            body: Some("SetBackendRequest"),
            success: Success::Json("Backend"),
            ..BASE
        },
        O::ListBackends => Doc {
            tag: TAG_DATA_PLANE,
            summary: "List the backend registrations the project's services use",
            description: "Not part of the VPCEP API: the project's registrations and those for \
                          every project (`project_id` empty), by port id.",
            success: Success::Json("BackendList"),
            ..BASE
        },
        O::DeleteBackend => Doc {
            tag: TAG_DATA_PLANE,
            summary: "Remove the project's registration of a backend port",
            description: "Not part of the VPCEP API. Connections to the port's services stop \
                          being forwarded within a second (unless a registration for every \
                          project remains).",
            not_found: true,
            ..BASE
        },
        O::ListServicePublicDetails => Doc {
            tag: TAG_SERVICES,
            summary: "List the public endpoint services",
            description: "The public catalogue, which every tenant sees and may connect to \
                          without a whitelist: by default an OBS-like gateway service and a \
                          DNS-like interface service in the server's region, plus what the \
                          operator adds with `vpcep public-services add`.",
            query: &[
                "limit",
                "offset",
                "sort_key",
                "sort_dir",
                "endpoint_service_name",
                "id",
            ],
            success: Success::Json("ListServicePublicDetailsResponse"),
            bad_request: &[
                C::InvalidLimit,
                C::InvalidOffset,
                C::InvalidSortKey,
                C::InvalidSortDir,
            ],
            ..BASE
        },
        O::UpdateEndpointServiceName => Doc {
            tag: TAG_SERVICES,
            summary: "Rename an endpoint service",
            description: "Sets the service's short name (empty removes it) and answers with the \
                          full composed name, `{region}.{name}.{id}` or `{region}.{id}`, which \
                          the service, its connections' endpoints and every list show from then \
                          on. The region is the one the service was created in. Refused with \
                          400 `EndPoint.3045` unless the service is `available` or `failed`.",
            body: Some("UpdateEndpointServiceNameRequest"),
            success: Success::Json("UpdateEndpointServiceNameResponse"),
            bad_request: &[C::InvalidServiceName, C::ServiceStateForbids],
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::UpdateEndpointWhite => Doc {
            tag: TAG_ENDPOINTS,
            summary: "Update the IP whitelist of an endpoint",
            description: "`whitelist` replaces the endpoint's IP whitelist (an empty list clears \
                          it) and `enable_whitelist` switches it on or off; an absent key keeps \
                          its value, and `updated_at` moves only when something changes. At most \
                          100 entries (400 `EndPoint.2045`). A `failed` endpoint cannot be \
                          modified (400 `EndPoint.2047`); one being created or deleted answers \
                          409.",
            body: Some("UpdateEndpointWhiteRequest"),
            success: Success::Json("EndpointWhite"),
            bad_request: &[
                C::InvalidWhitelist,
                C::EndpointWhitelistFull,
                C::EndpointFailed,
            ],
            not_found: true,
            conflict: TRANSITION_CONFLICT,
            conflict_when: TRANSITION_CONFLICT_WHEN,
            ..BASE
        },
        O::UpdateEndpointPolicy => Doc {
            tag: TAG_ENDPOINTS,
            summary: "Update an endpoint's policy",
            description: "`policy_statement` for an endpoint of a gateway service, \
                          `policy_document` for one of an interface service, where the service \
                          has `enable_policy` (400 `EndPoint.2048` otherwise, and for a \
                          statement without `Effect`, `Action` or `Resource`). An absent key \
                          keeps its value; an empty `policy_statement` clears it.",
            body: Some("UpdateEndpointPolicyRequest"),
            success: Success::Json("EndpointPolicy"),
            bad_request: &[C::InvalidPolicy, C::EndpointFailed],
            not_found: true,
            conflict: TRANSITION_CONFLICT,
            conflict_when: TRANSITION_CONFLICT_WHEN,
            ..BASE
        },
        O::DeleteEndpointPolicy => Doc {
            tag: TAG_ENDPOINTS,
            summary: "Delete an endpoint's policy",
            description: "Removes the endpoint's policy statements and document (400 \
                          `EndPoint.2049` when it has none) and answers the endpoint.",
            success: Success::Json("EndpointPolicy"),
            bad_request: &[C::NoPolicy, C::EndpointFailed],
            not_found: true,
            conflict: TRANSITION_CONFLICT,
            conflict_when: TRANSITION_CONFLICT_WHEN,
            ..BASE
        },
        O::UpdateEndpointRoutetable => Doc {
            tag: TAG_ENDPOINTS,
            summary: "Update the route tables of a gateway endpoint",
            description: "The endpoint binds the route tables given instead of its own. A table \
                          that another endpoint of the same service holds in the VPC stays \
                          unbound and is listed under `error[].bind_failed`; the others are \
                          bound (a partial success, still 200). When no table would be left \
                          bound, 400 `EndPoint.2040` and nothing changes. Only endpoints of \
                          gateway services have route tables (400 `EndPoint.0002`).",
            body: Some("UpdateEndpointRoutetableRequest"),
            success: Success::Json("UpdateEndpointRoutetableResponse"),
            bad_request: &[
                C::InvalidRouteTable,
                C::NoRouteTable,
                C::BatchLimitExceeded,
                C::EndpointFailed,
            ],
            not_found: true,
            conflict: TRANSITION_CONFLICT,
            conflict_when: TRANSITION_CONFLICT_WHEN,
            ..BASE
        },
        O::ListQuotaDetails => Doc {
            tag: TAG_QUOTAS,
            summary: "Show the caller's quotas",
            description: "Each kind's quota and how many resources of that kind the project \
                          holds, in any state: `endpoint` and `endpoint_service`, or only the \
                          kind `type` names. The quotas are server settings \
                          (`--quota-endpoints`, default 150; `--quota-endpoint-services`, default \
                          100); a create past one answers 400 `EndPoint.1018`.",
            query: &["quota_type"],
            success: Success::Json("ListQuotaDetailsResponse"),
            ..BASE
        },
        O::AddEndpointServiceServerResource => Doc {
            tag: TAG_SERVICES,
            summary: "Add backend resources (ELB instances) to an endpoint service",
            description: "v2. Adds each ELB instance to the `LB` service's backend resources \
                          (400 `EndPoint.3021` for another server type), which \
                          ListServiceDetails shows as `server_resources`; one already there \
                          takes the availability zone given. At most 50 on a service (400 \
                          `EndPoint.0016`). 204 without a body.",
            body: Some("AddEndpointServiceServerResourceRequest"),
            success: Success::NoContent,
            bad_request: &[
                C::InvalidServerType,
                C::BatchLimitExceeded,
                C::ServiceStateForbids,
            ],
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::UpgradeEndpointService => Doc {
            tag: TAG_SERVICES,
            summary: "Upgrade an endpoint service to support professional endpoints",
            description: "v2. From now on the service lists `profession` in \
                          `supported_editions`, and its endpoints may be upgraded. No body is \
                          read. Again is a no-op. 204 without a body.",
            success: Success::NoContent,
            bad_request: &[C::ServiceStateForbids],
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::UpgradeEndpoint => Doc {
            tag: TAG_ENDPOINTS,
            summary: "Upgrade an endpoint to the professional edition",
            description: "v2. `action` is `start` (400 `EndPoint.0007` otherwise; no body means \
                          the same, as the Terraform provider sends it). The endpoint's \
                          `specification_name` becomes `profession`. Its service must support \
                          that edition (UpgradeEndpointService; 400 `EndPoint.0002` otherwise). \
                          Again is a no-op. 204 without a body.",
            body: Some("UpgradeEndpointRequest"),
            success: Success::NoContent,
            bad_request: &[C::InvalidAction, C::EndpointFailed],
            not_found: true,
            conflict: TRANSITION_CONFLICT,
            conflict_when: TRANSITION_CONFLICT_WHEN,
            ..BASE
        },
        O::BatchAddOrRemoveResourceInstance => Doc {
            tag: TAG_TAGS,
            summary: "Add or remove tags of a service or endpoint",
            description: "The path names the resource type (`endpoint_service` or `endpoint`) \
                          and one of the caller's resources of that type. `create` adds each \
                          tag (a key the resource has gets the new value); `delete` removes \
                          each key, or with a value only that pair. These are the tags the \
                          resource was created with and that it shows. A resource carries at \
                          most 20 tags (400 `EndPoint.3069`, nothing changed). 204 without a \
                          body.",
            body: Some("BatchAddOrRemoveResourceInstanceRequest"),
            success: Success::NoContent,
            bad_request: &[
                C::InvalidAction,
                C::TagEmpty,
                C::TagKeyDuplicated,
                C::TagInvalid,
                C::TagLimit,
                C::TagKeySize,
                C::TagValueSize,
            ],
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::ListQueryProjectResourceTags => Doc {
            tag: TAG_TAGS,
            summary: "List the tags on the caller's resources of one type",
            description: "Every tag key on the project's services (`endpoint_service`) or \
                          endpoints (`endpoint`), sorted, each with its distinct values, sorted. \
                          Other tenants' resources never count.",
            success: Success::Json("ListQueryProjectResourceTagsResponse"),
            ..BASE
        },
        O::ListResourceInstances => Doc {
            tag: TAG_TAGS,
            summary: "Find the caller's resources of one type by tag",
            description: "`filter` answers a page of the project's services or endpoints that \
                          pass every filter given, newest first, and how many pass in all; \
                          `count` answers only that number. `tags` and `not_tags` combine their \
                          keys with AND, `tags_any` and `not_tags_any` with OR; a key's values \
                          are OR-ed, and no values means any value.",
            body: Some("ListResourceInstancesRequest"),
            success: Success::Json("ListResourceInstancesResponse"),
            bad_request: &[
                C::InvalidAction,
                C::InvalidLimit,
                C::InvalidOffset,
                C::TagEmpty,
                C::TagKeyDuplicated,
                C::TagLimit,
                C::TagValueDuplicated,
                C::TagKeySize,
                C::TagValueSize,
            ],
            ..BASE
        },
        O::InjectEndpointFailure => Doc {
            tag: TAG_FAULTS,
            summary: "Make an endpoint and its connection `failed`",
            description: "Not part of the VPCEP API: for tests of clients. The caller is the \
                          endpoint's project or the project of its service. The `error` list \
                          then appears wherever the endpoint or connection is shown.",
            body: Some("InjectFailureRequest"),
            success: Success::Json("EndpointDetail"),
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::InjectServiceFailure => Doc {
            tag: TAG_FAULTS,
            summary: "Make an endpoint service `failed`",
            description: "Not part of the VPCEP API: for tests of clients.",
            body: Some("InjectFailureRequest"),
            success: Success::Json("EndpointServiceDetail"),
            not_found: true,
            conflict: WRITE_CONFLICT,
            ..BASE
        },
        O::InjectCreationFailures => Doc {
            tag: TAG_FAULTS,
            summary: "Make the next creations in the caller's project fail",
            description: "Not part of the VPCEP API: the next `count` services or endpoints \
                          created in the project end `failed` with the given error (0 cancels).",
            body: Some("InjectCreationFailuresRequest"),
            success: Success::Json("InjectCreationFailuresResponse"),
            conflict: WRITE_CONFLICT,
            ..BASE
        },
    }
}

/// The links of a successful answer, which let a stateful fuzzer chain operations on the
/// resources it created. A `requestBody` here is a partial body whose string values are runtime
/// expressions: Schemathesis evaluates them and merges the result into the body it generates;
/// other tools read it as the literal value OpenAPI 3.0 allows there.
fn links(op: Operation) -> Option<Value> {
    let service_path = |body_pointer: &str| json!({"vpc_endpoint_service_id": body_pointer});
    match op {
        Operation::CreateEndpointService => {
            let id = "$response.body#/id";
            let mut links = Map::new();
            for target in [
                Operation::ListServiceDetails,
                Operation::UpdateEndpointService,
                Operation::DeleteEndpointService,
                Operation::ListServiceConnections,
                Operation::AcceptOrRejectEndpoint,
                Operation::UpdateEndpointConnectionsDesc,
                Operation::AddOrRemoveServicePermissions,
                Operation::BatchAddEndpointServicePermissions,
                Operation::BatchRemoveEndpointServicePermissions,
                Operation::ListServicePermissionsDetails,
            ] {
                links.insert(
                    target.name().to_owned(),
                    json!({"operationId": target.name(), "parameters": service_path(id)}),
                );
            }
            links.insert(
                "ListServiceDescribeDetails".to_owned(),
                json!({"operationId": "ListServiceDescribeDetails", "parameters": {"query.id": id}}),
            );
            links.insert(
                "CreateEndpoint".to_owned(),
                json!({"operationId": "CreateEndpoint", "requestBody": {"endpoint_service_id": id}}),
            );
            Some(Value::Object(links))
        }
        Operation::CreateEndpoint => {
            let id = "$response.body#/id";
            let service = "$response.body#/endpoint_service_id";
            Some(json!({
                "ListEndpointInfoDetails": {
                    "operationId": "ListEndpointInfoDetails",
                    "parameters": {"vpc_endpoint_id": id},
                },
                "DeleteEndpoint": {
                    "operationId": "DeleteEndpoint",
                    "parameters": {"vpc_endpoint_id": id},
                },
                "ListServiceConnections": {
                    "operationId": "ListServiceConnections",
                    "parameters": {"vpc_endpoint_service_id": service, "query.id": id},
                },
                "AcceptOrRejectEndpoint": {
                    "operationId": "AcceptOrRejectEndpoint",
                    "parameters": service_path(service),
                    "requestBody": {"endpoints": [id]},
                },
                "UpdateEndpointConnectionsDesc": {
                    "operationId": "UpdateEndpointConnectionsDesc",
                    "parameters": service_path(service),
                    "requestBody": {"connections": [{"id": id, "description": "linked"}]},
                },
            }))
        }
        Operation::BatchAddEndpointServicePermissions => {
            let service = "$request.path.vpc_endpoint_service_id";
            let record = "$response.body#/permissions/0/id";
            Some(json!({
                "UpdateEndpointServicePermissionDesc": {
                    "operationId": "UpdateEndpointServicePermissionDesc",
                    "parameters": {"vpc_endpoint_service_id": service, "permission_id": record},
                },
                "BatchRemoveEndpointServicePermissions": {
                    "operationId": "BatchRemoveEndpointServicePermissions",
                    "parameters": service_path(service),
                    "requestBody": {"permissions": [{"id": record}]},
                },
            }))
        }
        _ => None,
    }
}

/// The 400 code of each path parameter's syntax (docs/api.md §3).
fn path_parameter_code(name: &str) -> Option<ErrorCode> {
    match name {
        "project_id" => Some(ErrorCode::InvalidProjectId),
        "vpc_endpoint_service_id" => Some(ErrorCode::InvalidServiceId),
        "vpc_endpoint_id" => Some(ErrorCode::InvalidEndpointId),
        "version" => None,
        _ => Some(ErrorCode::ParameterError),
    }
}

fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn reference(kind: &str, name: &str) -> Value {
    json!({"$ref": format!("#/components/{kind}/{name}")})
}

fn request_id_header() -> Value {
    json!({"X-Request-Id": reference("headers", "X-Request-Id")})
}

/// The error body with `error_code` (and `error.code`) restricted to `codes`.
fn error_schema(codes: &[ErrorCode]) -> Value {
    let mut names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    json!({"allOf": [
        reference("schemas", "Error"),
        {
            "type": "object",
            "properties": {
                "error_code": {"enum": names},
                "error": {"type": "object", "properties": {"code": {"enum": names}}},
            },
        },
    ]})
}

/// An error response: what produces it, then each code with its table text.
fn error_response(what: &str, codes: &[ErrorCode]) -> Value {
    let mut sorted = codes.to_vec();
    sorted.sort_unstable_by_key(|c| c.as_str());
    sorted.dedup();
    let list: String = sorted
        .iter()
        .map(|c| format!("\n- `{}` {}", c.as_str(), c.message()))
        .collect();
    json!({
        "description": format!("{what}{list}"),
        "headers": request_id_header(),
        "content": {"application/json": {"schema": error_schema(&sorted)}},
    })
}

/// The error responses every operation of a kind shares, by status.
fn shared_responses() -> Map<String, Value> {
    use ErrorCode as C;
    let mut m = Map::new();
    let mut put = |name: &str, v: Value| {
        m.insert(name.to_owned(), v);
    };
    put(
        "Unauthorized",
        error_response(
            "No credentials, an unknown token or access key, or a bad signature (on signed \
             requests also `X-Sdk-Date` missing, malformed or more than 15 minutes off).",
            &[C::AuthenticationFailed],
        ),
    );
    put(
        "Forbidden",
        error_response(
            "The path's `project_id`, or an `X-Project-Id` header (signed or not), is not the \
             credential's project.",
            &[C::Forbidden],
        ),
    );
    put(
        "NotFound",
        error_response(
            "The resource does not exist in the caller's project (another tenant's resource is \
             indistinguishable from a missing one).",
            &[C::NotFound],
        ),
    );
    put(
        "NotAcceptable",
        error_response(
            "The `Accept` header admits no `application/json`.",
            &[C::ParameterError],
        ),
    );
    put(
        "RequestTimeout",
        error_response(
            "The request body did not arrive within the read timeout; the connection is closed.",
            &[C::TimedOut],
        ),
    );
    put(
        "PayloadTooLarge",
        error_response(
            "The body is larger than the limit (default 4 MiB); the connection is closed.",
            &[C::ParameterError],
        ),
    );
    put(
        "InternalServerError",
        error_response(
            "A bug; logged with the request id, never described.",
            &[C::SystemError],
        ),
    );
    put(
        "GatewayTimeout",
        error_response(
            "The database did not answer within the request deadline.",
            &[C::TimedOut],
        ),
    );
    let mut unavailable = error_response(
        "The database is unreachable, the server is at its in-flight limit, or it is stopping.",
        &[C::SystemError],
    );
    unavailable["headers"]["Retry-After"] = reference("headers", "Retry-After");
    put("ServiceUnavailable", unavailable);
    put(
        "HealthUnavailable",
        json!({
            "description": "The database does not answer (`{\"status\": \"unavailable\"}`), or \
                            the server is at its in-flight limit or stopping (an error body, \
                            `EndPoint.0001`).",
            "headers": {
                "X-Request-Id": reference("headers", "X-Request-Id"),
                "Retry-After": reference("headers", "Retry-After"),
            },
            "content": {"application/json": {"schema": {"anyOf": [
                reference("schemas", "Health"),
                error_schema(&[C::SystemError]),
            ]}}},
        }),
    );
    m
}

fn build() -> Value {
    let mut components: Map<String, Value> =
        serde_json::from_str(COMPONENTS).expect("openapi/components.json is a JSON object");
    components.insert("responses".to_owned(), Value::Object(shared_responses()));

    // An operation routed on several paths gets an operationId per path.
    let mut routes_of: HashMap<Operation, usize> = HashMap::new();
    for route in ROUTES {
        *routes_of.entry(route.operation).or_default() += 1;
    }

    let mut paths = Map::new();
    for route in ROUTES {
        let operation_id = if routes_of[&route.operation] > 1 {
            format!("{}_{}", route.operation.name(), discriminator(route.path))
        } else {
            route.operation.name().to_owned()
        };
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        if let Value::Object(item) = item {
            item.insert(
                route.method.to_ascii_lowercase(),
                operation(route.operation, route.path, &operation_id),
            );
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "vpcep",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A VPC Endpoint control plane that speaks the Huawei Cloud VPCEP v1 \
                            REST API, so that the official SDKs and tools work unchanged. Every \
                            `/v1` and `/v2` operation needs `X-Auth-Token` or AK/SK request \
                            signing, and so do the IAM discovery routes under `/v3`. Every response carries `X-Request-Id`; every error body \
                            has `error_code`/`error_msg` and `error{code, message}`.",
            "license": {"name": "Apache-2.0"},
        },
        "tags": [
            {"name": TAG_VERSIONS, "description": "API version discovery (no authentication)."},
            {"name": TAG_SERVICES, "description": "Endpoint services, the provider's side."},
            {"name": TAG_ENDPOINTS, "description": "Endpoints, the consumer's side."},
            {"name": TAG_CONNECTIONS, "description": "Connections to a service, as its owner sees them."},
            {"name": TAG_PERMISSIONS, "description": "Whitelists: which accounts may connect to a service."},
            {"name": TAG_TAGS, "description": "Resource tags."},
            {"name": TAG_QUOTAS, "description": "Quotas."},
            {"name": TAG_OPERATIONS, "description": "Running vpcep (no authentication)."},
            {"name": TAG_IAM, "description": "Not part of the VPCEP API: the IAM lookups that clients make at start, answered from the calling credential."},
            {"name": TAG_FAULTS, "description": "Not part of the VPCEP API: failures on demand, for tests of clients."},
            {"name": TAG_DATA_PLANE, "description": "Not part of the VPCEP API: the backends `serve --data-plane` forwards accepted connections to."},
        ],
        "security": [{"token": []}, {"aksk": []}],
        "paths": paths,
        "components": components,
    })
}

/// What tells apart the paths of one operation: the literal segment after `{project_id}`
/// (`endpoint_service` or `endpoint` for the tag operations).
fn discriminator(path: &str) -> &str {
    let mut segments = path.split('/');
    segments
        .by_ref()
        .find(|s| *s == "{project_id}")
        .and_then(|_| segments.next())
        .unwrap_or(path)
}

fn operation(op: Operation, path: &str, operation_id: &str) -> Value {
    let d = doc(op);
    let mut parameters: Vec<Value> = path_parameters(path)
        .into_iter()
        .map(|name| reference("parameters", name))
        .collect();
    parameters.extend(d.query.iter().map(|name| reference("parameters", name)));

    let mut o = Map::new();
    o.insert("operationId".to_owned(), json!(operation_id));
    o.insert("x-vpcep-operation".to_owned(), json!(op.name()));
    o.insert("tags".to_owned(), json!([d.tag]));
    o.insert("summary".to_owned(), json!(d.summary));
    if !d.description.is_empty() {
        o.insert("description".to_owned(), json!(d.description));
    }
    if !parameters.is_empty() {
        o.insert("parameters".to_owned(), Value::Array(parameters));
    }
    if let Some(body) = d.body {
        o.insert(
            "requestBody".to_owned(),
            json!({
                // UpgradeEndpoint: no body means `action: start`.
                "required": op != Operation::UpgradeEndpoint,
                "content": {"application/json": {"schema": reference("schemas", body)}},
            }),
        );
    }
    o.insert(
        "responses".to_owned(),
        Value::Object(responses(op, path, &d)),
    );
    if !op.authenticated() {
        o.insert("security".to_owned(), json!([]));
    }
    Value::Object(o)
}

fn responses(op: Operation, path: &str, d: &Doc) -> Map<String, Value> {
    let mut r = Map::new();
    let shared = |name: &str| reference("responses", name);
    match d.success {
        Success::Json(schema) => {
            let mut ok = json!({
                "description": "Success.",
                "headers": request_id_header(),
                "content": {"application/json": {"schema": reference("schemas", schema)}},
            });
            if let Some(links) = links(op) {
                ok["links"] = links;
            }
            r.insert("200".to_owned(), ok);
        }
        Success::NoContent => {
            r.insert(
                "204".to_owned(),
                json!({"description": "Done; no body.", "headers": request_id_header()}),
            );
        }
    }
    if op.authenticated() {
        // Every `/v1` and `/v2` request passes the same preamble (`extract::Ctx`): Accept,
        // authentication, path syntax, project, body size and read timeout; and the store.
        let mut bad: Vec<ErrorCode> = vec![ErrorCode::ParameterError];
        bad.extend(
            path_parameters(path)
                .into_iter()
                .filter_map(path_parameter_code),
        );
        bad.extend_from_slice(d.bad_request);
        r.insert(
            "400".to_owned(),
            error_response(
                "The request is malformed or breaks a rule of the operation.",
                &bad,
            ),
        );
        r.insert("401".to_owned(), shared("Unauthorized"));
        r.insert("403".to_owned(), shared("Forbidden"));
        r.insert("406".to_owned(), shared("NotAcceptable"));
        r.insert("408".to_owned(), shared("RequestTimeout"));
        r.insert("413".to_owned(), shared("PayloadTooLarge"));
        r.insert("504".to_owned(), shared("GatewayTimeout"));
        r.insert("503".to_owned(), shared("ServiceUnavailable"));
    } else if op == Operation::Health {
        r.insert("406".to_owned(), shared("NotAcceptable"));
        r.insert("503".to_owned(), shared("HealthUnavailable"));
    } else {
        // The document itself is served whatever the client accepts.
        if op != Operation::OpenApi {
            r.insert("406".to_owned(), shared("NotAcceptable"));
        }
        r.insert("503".to_owned(), shared("ServiceUnavailable"));
    }
    if d.not_found {
        r.insert("404".to_owned(), shared("NotFound"));
    }
    if !d.conflict.is_empty() {
        r.insert(
            "409".to_owned(),
            error_response(d.conflict_when, d.conflict),
        );
    }
    r.insert("500".to_owned(), shared("InternalServerError"));
    r
}

/// `GET /openapi.json`: the OpenAPI document, built once.
pub(super) async fn openapi_json() -> axum::Json<Value> {
    axum::Json(document().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_every_route() {
        let doc = build();
        let paths = doc["paths"].as_object().unwrap();
        for route in ROUTES {
            let op = &paths[route.path][route.method.to_ascii_lowercase()];
            assert_eq!(op["x-vpcep-operation"], route.operation.name());
        }
    }

    #[test]
    fn tag_operations_get_one_id_per_path() {
        assert_eq!(
            discriminator("/v1/{project_id}/endpoint_service/tags"),
            "endpoint_service"
        );
        let doc = build();
        let op = &doc["paths"]["/v1/{project_id}/endpoint/tags"]["get"];
        assert_eq!(op["operationId"], "ListQueryProjectResourceTags_endpoint");
    }
}
