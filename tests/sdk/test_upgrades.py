"""The v2 operations through the SDK: UpgradeEndpointService, UpgradeEndpoint and
AddEndpointServiceServerResource, and what the service and endpoint objects show after."""

from __future__ import annotations

import uuid

from huaweicloudsdkvpcep.v1 import (
    AddEndpointServiceServerResourceRequest,
    AddEndpointServiceServerResourceRequestBody,
    ListEndpointInfoDetailsRequest,
    ListServiceDetailsRequest,
    ServerResource,
    UpgradeEndpointRequest,
    UpgradeEndpointRequestBody,
    UpgradeEndpointServiceRequest,
)

from harness import create_endpoint, create_service, sdk_error


def test_upgrades_show_in_the_objects(owner, stranger):
    svc = create_service(owner, approval_enabled=False)
    ep = create_endpoint(owner, svc.id)
    upgrade = UpgradeEndpointRequest(vpc_endpoint_id=ep.id, body=UpgradeEndpointRequestBody(action="start"))
    with sdk_error(owner, 400, "EndPoint.0002"):
        owner.upgrade_endpoint(upgrade)
    resp = owner.upgrade_endpoint_service(UpgradeEndpointServiceRequest(vpc_endpoint_service_id=svc.id))
    assert resp.status_code == 204
    got = owner.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=svc.id))
    assert got.supported_editions == ["basic", "profession"]
    assert owner.upgrade_endpoint(upgrade).status_code == 204
    got = owner.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=ep.id))
    assert got.specification_name == "profession"
    with sdk_error(owner, 400, "EndPoint.0007"):
        owner.upgrade_endpoint(UpgradeEndpointRequest(
            vpc_endpoint_id=ep.id, body=UpgradeEndpointRequestBody(action="rollback")))
    with sdk_error(stranger, 404, "EndPoint.0005"):
        stranger.upgrade_endpoint_service(UpgradeEndpointServiceRequest(vpc_endpoint_service_id=svc.id))


def test_server_resources(owner):
    svc = create_service(owner, server_type="LB")
    elb = str(uuid.uuid4())
    resp = owner.add_endpoint_service_server_resource(AddEndpointServiceServerResourceRequest(
        vpc_endpoint_service_id=svc.id, body=AddEndpointServiceServerResourceRequestBody(
            server_resources=[ServerResource(resource_id=elb, availability_zone_id="az-1")])))
    assert resp.status_code == 204
    with sdk_error(owner, 400, "EndPoint.0002"):
        owner.add_endpoint_service_server_resource(AddEndpointServiceServerResourceRequest(
            vpc_endpoint_service_id=svc.id, body=AddEndpointServiceServerResourceRequestBody(
                server_resources=[ServerResource(resource_id="elb-1")])))
    vm = create_service(owner, server_type="VM")
    with sdk_error(owner, 400, "EndPoint.3021"):
        owner.add_endpoint_service_server_resource(AddEndpointServiceServerResourceRequest(
            vpc_endpoint_service_id=vm.id, body=AddEndpointServiceServerResourceRequestBody(
                server_resources=[ServerResource(resource_id=elb)])))
