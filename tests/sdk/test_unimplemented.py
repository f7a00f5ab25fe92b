"""The SDK operations vpcep does not implement yet: each is routed and answers 501 EndPoint.0001,
which the SDK raises as ServerResponseException (docs/api.md §2), once the caller is
authenticated."""

from __future__ import annotations

import pytest
from huaweicloudsdkvpcep.v1 import (
    AddEndpointServiceServerResourceRequest,
    AddEndpointServiceServerResourceRequestBody,
    DeleteEndpointPolicyRequest,
    ListEndpointInfoDetailsRequest,
    ListServiceDetailsRequest,
    ListServicePublicDetailsRequest,
    PolicyStatement,
    ServerResource,
    UpdateEndpointPolicyRequest,
    UpdateEndpointPolicyRequestBody,
    UpdateEndpointRoutetableRequest,
    UpdateEndpointRoutetableRequestBody,
    UpgradeEndpointRequest,
    UpgradeEndpointRequestBody,
    UpgradeEndpointServiceRequest,
)

from harness import UNKNOWN_ID, both_algorithms, create_endpoint, create_service, sdk_error

# operation name -> (SDK method, request builder taking (service_id, endpoint_id))
UNIMPLEMENTED = {
    "ListServicePublicDetails": ("list_service_public_details",
                                 lambda s, e: ListServicePublicDetailsRequest(limit=10)),
    "UpdateEndpointPolicy": ("update_endpoint_policy", lambda s, e: UpdateEndpointPolicyRequest(
        vpc_endpoint_id=e, body=UpdateEndpointPolicyRequestBody(policy_statement=[PolicyStatement(
            effect="Allow", action=["obs:*:*"], resource=["obs:*:*:*:*/*"])]))),
    "DeleteEndpointPolicy": ("delete_endpoint_policy", lambda s, e: DeleteEndpointPolicyRequest(vpc_endpoint_id=e)),
    "UpdateEndpointRoutetable": ("update_endpoint_routetable", lambda s, e: UpdateEndpointRoutetableRequest(
        vpc_endpoint_id=e, body=UpdateEndpointRoutetableRequestBody(routetables=[UNKNOWN_ID]))),
    "AddEndpointServiceServerResource": (
        "add_endpoint_service_server_resource", lambda s, e: AddEndpointServiceServerResourceRequest(
            vpc_endpoint_service_id=s, body=AddEndpointServiceServerResourceRequestBody(
                server_resources=[ServerResource(resource_id=UNKNOWN_ID)]))),
    "UpgradeEndpointService": ("upgrade_endpoint_service",
                               lambda s, e: UpgradeEndpointServiceRequest(vpc_endpoint_service_id=s)),
    "UpgradeEndpoint": ("upgrade_endpoint", lambda s, e: UpgradeEndpointRequest(
        vpc_endpoint_id=e, body=UpgradeEndpointRequestBody(action="start"))),
}


def test_the_table_covers_every_sdk_operation_vpcep_lacks():
    implemented = {
        "accept_or_reject_endpoint", "add_or_remove_service_permissions",
        "batch_add_or_remove_resource_instance", "list_query_project_resource_tags",
        "list_resource_instances",
        "batch_add_endpoint_service_permissions", "batch_remove_endpoint_service_permissions",
        "create_endpoint", "create_endpoint_service", "delete_endpoint", "delete_endpoint_service",
        "list_endpoint_info_details", "list_endpoint_service", "list_endpoints", "list_quota_details",
        "list_service_connections", "list_service_describe_details", "list_service_details",
        "list_service_permissions_details", "list_specified_version_details", "list_version_details",
        "update_endpoint_connections_desc", "update_endpoint_service",
        "update_endpoint_service_name", "update_endpoint_service_permission_desc",
        "update_endpoint_white",
    }
    from huaweicloudsdkvpcep.v1 import VpcepClient

    sdk_ops = {name[:-len("_invoker")] for name in dir(VpcepClient) if name.endswith("_invoker")}
    assert len(sdk_ops) == 33, sorted(sdk_ops)
    assert sdk_ops - implemented == {method for method, _ in UNIMPLEMENTED.values()}


@pytest.mark.parametrize("operation", sorted(UNIMPLEMENTED))
def test_an_unimplemented_operation_is_501_0001(owner, operation):
    svc = create_service(owner, approval_enabled=False)
    ep = create_endpoint(owner, svc.id)
    method, build = UNIMPLEMENTED[operation]
    with sdk_error(owner, 501, "EndPoint.0001", contains=operation):
        getattr(owner, method)(build(svc.id, ep.id))
    # Nothing changed.
    got = owner.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=svc.id))
    assert (got.service_name, got.tags) == (svc.service_name, [])
    got = owner.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=ep.id))
    assert (got.whitelist, got.enable_whitelist, got.policy_statement) == ([], False, [])


@both_algorithms
def test_an_unimplemented_operation_authenticates_first(server, algorithm):
    forged = server.sdk(server.owner, algorithm=algorithm, secret_key="wrong")
    with sdk_error(forged, 401, "EndPoint.0003"):
        forged.list_service_public_details(ListServicePublicDetailsRequest(limit=10))
