"""Limits the SDK can run into: the body size limit (413, docs/api.md §2) and the batch limit of the
seed operation (400 EndPoint.0016, docs/api.md §1), both server settings."""

from __future__ import annotations

from huaweicloudsdkvpcep.v1 import (
    ConnectionsDesc,
    ListServiceConnectionsRequest,
    UpdateEndpointConnectionsDescRequest,
    UpdateEndpointConnectionsDescRequestBody,
)

from harness import create_endpoint, create_service, sdk_error


def describe(sdk, service_id, pairs):
    return sdk.update_endpoint_connections_desc(UpdateEndpointConnectionsDescRequest(
        vpc_endpoint_service_id=service_id,
        body=UpdateEndpointConnectionsDescRequestBody(
            connections=[ConnectionsDesc(id=i, description=d) for i, d in pairs])))


def test_a_body_over_the_size_limit_is_413_and_changes_nothing(make_server):
    server = make_server("--max-body-bytes", "2048")
    owner = server.sdk(server.owner)
    svc = create_service(owner)
    ep = create_endpoint(owner, svc.id)
    with sdk_error(owner, 413, "EndPoint.0002"):
        describe(owner, svc.id, [(ep.id, "x" * 500)] * 6)
    # Within the limit, the same request shape is fine.
    assert describe(owner, svc.id, [(ep.id, "x" * 500)]).connections[0].description == "x" * 500
    with sdk_error(owner, 413, "EndPoint.0002"):
        describe(owner, svc.id, [(ep.id, "y" * 500)] * 6)
    conns = owner.list_service_connections(ListServiceConnectionsRequest(vpc_endpoint_service_id=svc.id))
    assert conns.connections[0].description == "x" * 500


def test_more_connections_than_the_batch_limit_is_0016(make_server):
    server = make_server("--max-batch", "2")
    owner = server.sdk(server.owner)
    svc = create_service(owner)
    a, b, c = (create_endpoint(owner, svc.id) for _ in range(3))
    with sdk_error(owner, 400, "EndPoint.0016"):
        describe(owner, svc.id, [(a.id, "1"), (b.id, "2"), (c.id, "3")])
    assert len(describe(owner, svc.id, [(a.id, "1"), (b.id, "2")]).connections) == 2
    with sdk_error(owner, 400, "EndPoint.0002"):
        describe(owner, svc.id, [])
