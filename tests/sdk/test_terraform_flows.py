"""The calls the huaweicloud Terraform provider makes for `huaweicloud_vpcep_service`,
`huaweicloud_vpcep_endpoint`, `huaweicloud_vpcep_approval` and
`huaweicloud_vpcep_service_connection_update`, replayed through the SDK with the provider's
state machines (create, wait, read, update, destroy, wait for 404). The waits poll the way the
provider's StateChangeConf does (pending and target states, anything else is an error), bounded
to a few seconds. They run against a vpcep that settles resources at once (its default) and
against one started with `--transition-delay`, where the provider's waits see `creating` and
`deleting` first."""

from __future__ import annotations

from huaweicloudsdkvpcep.v1 import (
    AcceptOrRejectEndpointRequest,
    AcceptOrRejectEndpointRequestBody,
    AddOrRemoveServicePermissionsRequest,
    AddOrRemoveServicePermissionsRequestBody,
    ConnectionsDesc,
    CreateEndpointServiceRequest,
    DeleteEndpointRequest,
    DeleteEndpointServiceRequest,
    ListEndpointInfoDetailsRequest,
    ListServiceConnectionsRequest,
    ListServiceDetailsRequest,
    ListServicePermissionsDetailsRequest,
    PortList,
    UpdateEndpointConnectionsDescRequest,
    UpdateEndpointConnectionsDescRequestBody,
)

import pytest

from harness import (
    CONSUMER_SUBNET,
    CONSUMER_VPC,
    SHA256,
    SM3,
    Sdk,
    create_endpoint,
    sdk_error,
    service_body,
    status_or_deleted,
    wait_for_state,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException


class ServiceResource:
    """huaweicloud_vpcep_service"""

    def __init__(self, sdk: Sdk):
        self.sdk = sdk
        self.id: str | None = None

    def _get(self):
        return self.sdk.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=self.id))

    def create(self, name: str, approval: bool, permissions: list[str] = ()) -> dict:
        body = service_body(service_name=name, approval_enabled=approval, service_type="interface",
                            ports=[PortList(protocol="TCP", server_port=8080, client_port=80)])
        created = self.sdk.create_endpoint_service(CreateEndpointServiceRequest(body=body))
        self.id, self.created_status = created.id, created.status
        wait_for_state(f"service {self.id} to become available", status_or_deleted(self._get),
                       pending=["creating"], target=["available"])
        if permissions:
            self._permissions("add", permissions)
        return self.read()

    def read(self) -> dict:
        svc = self._get()
        parts = svc.service_name.split(".")
        conns = self.sdk.list_service_connections(ListServiceConnectionsRequest(vpc_endpoint_service_id=self.id))
        perms = self.sdk.list_service_permissions_details(
            ListServicePermissionsDetailsRequest(vpc_endpoint_service_id=self.id))
        return {
            "status": svc.status,
            "service_name": svc.service_name,
            "name": parts[1] if len(parts) > 2 else None,
            "approval": svc.approval_enabled,
            "port_mapping": [(p.protocol, p.server_port, p.client_port) for p in svc.ports],
            "connections": [{"endpoint_id": c.id, "packet_id": c.marker_id, "domain_id": c.domain_id,
                             "status": c.status} for c in conns.connections],
            "permissions": sorted(p.permission for p in perms.permissions),
        }

    def _permissions(self, action: str, permissions: list[str]) -> None:
        self.sdk.add_or_remove_service_permissions(AddOrRemoveServicePermissionsRequest(
            vpc_endpoint_service_id=self.id,
            body=AddOrRemoveServicePermissionsRequestBody(permissions=list(permissions), action=action)))

    def update_permissions(self, old: list[str], new: list[str]) -> dict:
        added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
        if added:
            self._permissions("add", added)
        if removed:
            self._permissions("remove", removed)
        return self.read()

    def delete(self) -> None:
        resp = self.sdk.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=self.id))
        assert resp.status_code == 204
        wait_for_state(f"service {self.id} to be deleted", status_or_deleted(self._get),
                       pending=["available", "deleting"], target=["deleted"])


class EndpointResource:
    """huaweicloud_vpcep_endpoint (enable_dns defaults to true in the provider)"""

    def __init__(self, sdk: Sdk):
        self.sdk = sdk
        self.id: str | None = None

    def _get(self):
        return self.sdk.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=self.id))

    def create(self, service_id: str, description: str = "") -> dict:
        ep = create_endpoint(self.sdk, service_id, vpc_id=CONSUMER_VPC, subnet_id=CONSUMER_SUBNET,
                             enable_dns=True, enable_whitelist=False, description=description)
        self.id, self.created_status = ep.id, ep.status
        wait_for_state(f"endpoint {self.id} to be created", status_or_deleted(self._get),
                       pending=["creating"], target=["accepted", "pendingAcceptance"])
        return self.read()

    def read(self) -> dict:
        ep = self._get()
        return {
            "status": ep.status,
            "service_id": ep.endpoint_service_id,
            "service_name": ep.endpoint_service_name,
            "service_type": ep.service_type,
            "network_id": ep.subnet_id,
            "ip_address": ep.ip,
            "description": ep.description,
            "packet_id": ep.marker_id,
            "enable_dns": ep.enable_dns,
            "private_domain_name": ep.dns_names[0] if ep.dns_names else None,
        }

    def delete(self) -> None:
        resp = self.sdk.delete_endpoint(DeleteEndpointRequest(vpc_endpoint_id=self.id))
        assert resp.status_code == 204
        wait_for_state(f"endpoint {self.id} to be deleted", status_or_deleted(self._get),
                       pending=["deleting"], target=["deleted"])


class ApprovalResource:
    """huaweicloud_vpcep_approval: one action per endpoint, each waited for through the
    connection list filtered by endpoint id."""

    def __init__(self, sdk: Sdk, service_id: str):
        self.sdk = sdk
        self.service_id = service_id

    def _connection_status(self, endpoint_id: str):
        def refresh() -> str:
            try:
                conns = self.sdk.list_service_connections(ListServiceConnectionsRequest(
                    vpc_endpoint_service_id=self.service_id, id=endpoint_id)).connections
            except ClientRequestException as exc:
                if exc.status_code == 404:
                    return "deleted"
                raise
            if len(conns) == 1 and conns[0].id == endpoint_id:
                return conns[0].status
            return "deleted"

        return refresh

    def _act(self, action: str, target: str, endpoints: list[str]) -> None:
        for endpoint_id in endpoints:
            resp = self.sdk.accept_or_reject_endpoint(AcceptOrRejectEndpointRequest(
                vpc_endpoint_service_id=self.service_id,
                body=AcceptOrRejectEndpointRequestBody(action=action, endpoints=[endpoint_id])))
            assert [c.id for c in resp.connections] == [endpoint_id]
            wait_for_state(f"endpoint {endpoint_id} to become {target}", self._connection_status(endpoint_id),
                           pending=["creating", "pendingAcceptance"], target=[target])

    def create(self, endpoints: list[str]) -> list[dict]:
        svc = self.sdk.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=self.service_id))
        assert svc.status == "available", f"the service is {svc.status}, expected to be available"
        self._act("receive", "accepted", endpoints)
        return self.read()

    def read(self) -> list[dict]:
        conns = self.sdk.list_service_connections(
            ListServiceConnectionsRequest(vpc_endpoint_service_id=self.service_id)).connections
        return [{"endpoint_id": c.id, "packet_id": c.marker_id, "domain_id": c.domain_id,
                 "status": c.status, "description": c.description} for c in conns]

    def delete(self, endpoints: list[str]) -> None:
        self._act("reject", "rejected", endpoints)


class ConnectionUpdateResource:
    """huaweicloud_vpcep_service_connection_update: one PUT, then the connection read back with
    `?limit=1000&id=<endpoint_id>`, first item."""

    def __init__(self, sdk: Sdk, service_id: str, endpoint_id: str):
        self.sdk, self.service_id, self.endpoint_id = sdk, service_id, endpoint_id

    def apply(self, description: str) -> str | None:
        self.sdk.update_endpoint_connections_desc(UpdateEndpointConnectionsDescRequest(
            vpc_endpoint_service_id=self.service_id,
            body=UpdateEndpointConnectionsDescRequestBody(
                connections=[ConnectionsDesc(id=self.endpoint_id, description=description)])))
        return self.read()

    def read(self) -> str | None:
        conns = self.sdk.list_service_connections(ListServiceConnectionsRequest(
            vpc_endpoint_service_id=self.service_id, id=self.endpoint_id, limit=1000)).connections
        assert conns, f"connection {self.endpoint_id} not found on service {self.service_id}"
        return conns[0].description


DELAY = ("--transition-delay", "300ms")
# Each flow: with both signing algorithms on a vpcep that settles at once, and once on a vpcep
# whose resources stay `creating`/`deleting` for 300 ms.
flow_setups = pytest.mark.parametrize("algorithm, serve_args", [
    pytest.param(SHA256, (), id="sha256"),
    pytest.param(SM3, (), id="sm3"),
    pytest.param(SHA256, DELAY, id="sha256-transition-delay"),
])


def assert_created_as(resource, serve_args, settled: str) -> None:
    """The create response's status: transitional with a delay, else already settled (so the
    flow's waits did poll through `creating` when there was one)."""
    want = "creating" if serve_args == DELAY else settled
    assert resource.created_status == want, (resource.created_status, serve_args)


@flow_setups
def test_terraform_flow_within_one_account(owner, sibling, serve_args):
    # The service and its approval in the owner's project, the endpoint in another project of
    # the same account (always allowed to connect).
    service = ServiceResource(owner)
    state = service.create("tf-demo", approval=True)
    assert_created_as(service, serve_args, "available")
    assert state["status"] == "available"
    assert state["name"] == "tf-demo" and state["service_name"] == f"local-1.tf-demo.{service.id}"
    assert state["approval"] is True
    assert state["port_mapping"] == [("TCP", 8080, 80)]
    assert state["connections"] == [] and state["permissions"] == []

    endpoint = EndpointResource(sibling)
    ep = endpoint.create(service.id, description="consumer text")
    assert_created_as(endpoint, serve_args, "pendingAcceptance")
    assert ep["status"] == "pendingAcceptance", "approval is required"
    assert (ep["service_id"], ep["service_name"], ep["service_type"]) == (
        service.id, state["service_name"], "interface")
    assert type(ep["packet_id"]) is int and ep["enable_dns"] is True and ep["private_domain_name"]

    approval = ApprovalResource(owner, service.id)
    conns = approval.create([endpoint.id])
    assert conns == [{"endpoint_id": endpoint.id, "packet_id": ep["packet_id"],
                      "domain_id": owner.credential.domain_id, "status": "accepted", "description": ""}]
    assert endpoint.read()["status"] == "accepted"
    assert service.read()["connections"][0]["status"] == "accepted"

    update = ConnectionUpdateResource(owner, service.id, endpoint.id)
    assert update.apply("billing team, ticket 42") == "billing team, ticket 42"
    assert update.apply("moved to ticket 43") == "moved to ticket 43"
    assert update.read() == "moved to ticket 43"
    assert endpoint.read()["description"] == "consumer text", "the endpoint's own text is untouched"

    # terraform destroy, in dependency order.
    approval.delete([endpoint.id])
    assert endpoint.read()["status"] == "rejected"
    endpoint.delete()
    with sdk_error(sibling, 404, "EndPoint.0005"):
        endpoint.read()
    assert service.read()["connections"] == []
    service.delete()
    with sdk_error(owner, 404, "EndPoint.0005"):
        service.read()


@flow_setups
def test_terraform_flow_across_accounts_through_the_whitelist(owner, stranger, serve_args):
    grant = f"iam:domain::{stranger.credential.domain_id}"
    service = ServiceResource(owner)
    state = service.create("shared", approval=True, permissions=[grant])
    assert_created_as(service, serve_args, "available")
    assert state["permissions"] == [grant]

    endpoint = EndpointResource(stranger)
    assert endpoint.create(service.id)["status"] == "pendingAcceptance"
    assert_created_as(endpoint, serve_args, "pendingAcceptance")
    approval = ApprovalResource(owner, service.id)
    [conn] = approval.create([endpoint.id])
    assert (conn["endpoint_id"], conn["status"], conn["domain_id"]) == (
        endpoint.id, "accepted", stranger.credential.domain_id)
    assert endpoint.read()["status"] == "accepted"

    update = ConnectionUpdateResource(owner, service.id, endpoint.id)
    assert update.apply("partner: stranger corp") == "partner: stranger corp"

    # Dropping the grant stops new endpoints and keeps the existing connection.
    assert service.update_permissions([grant], [])["permissions"] == []
    with sdk_error(stranger, 400, "EndPoint.2012"):
        EndpointResource(stranger).create(service.id)
    assert update.read() == "partner: stranger corp"
    assert approval.read()[0]["status"] == "accepted"

    approval.delete([endpoint.id])
    endpoint.delete()
    service.delete()
    with sdk_error(owner, 404, "EndPoint.0005"):
        service.read()


def test_terraform_flow_without_approval_needs_no_approval_resource(owner, sibling):
    service = ServiceResource(owner)
    service.create("open", approval=False)
    endpoint = EndpointResource(sibling)
    assert endpoint.create(service.id)["status"] == "accepted"
    assert ConnectionUpdateResource(owner, service.id, endpoint.id).apply("no gate") == "no gate"
    # Destroying the service first fails while the endpoint exists, as it does on Huawei Cloud.
    with sdk_error(owner, 400, "EndPoint.3006"):
        service.delete()
    endpoint.delete()
    service.delete()
