"""Endpoints (the consumer's side) through the SDK: CreateEndpoint, ListEndpoints,
ListEndpointInfoDetails, UpdateEndpointWhite, DeleteEndpoint."""

from __future__ import annotations

import ipaddress

from huaweicloudsdkvpcep.v1 import (
    DeleteEndpointRequest,
    ListEndpointInfoDetailsRequest,
    ListEndpointsRequest,
    ListServiceConnectionsRequest,
    UpdateEndpointWhiteRequest,
    UpdateEndpointWhiteRequestBody,
)

from harness import (
    CONSUMER_SUBNET,
    CONSUMER_VPC,
    UNKNOWN_ID,
    assert_marker_id,
    assert_sdk_time,
    assert_uuid,
    assert_wire_times,
    create_endpoint,
    create_service,
    sdk_error,
)


def endpoint_detail(sdk, endpoint_id):
    return sdk.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=endpoint_id))


def update_white(sdk, endpoint_id, **body):
    return sdk.update_endpoint_white(UpdateEndpointWhiteRequest(
        vpc_endpoint_id=endpoint_id, body=UpdateEndpointWhiteRequestBody(**body)))


def test_update_white_sets_and_clears_the_whitelist_in_the_sdk_types(owner, sibling):
    svc = create_service(owner, approval_enabled=False)
    ep = create_endpoint(sibling, svc.id)
    got = update_white(sibling, ep.id, whitelist=["10.0.0.0/24", "192.168.0.9"], enable_whitelist=True)
    assert got.status_code == 200
    assert got.id == ep.id
    assert (got.whitelist, got.enable_whitelist) == (["10.0.0.0/24", "192.168.0.9"], True)
    assert got.endpoint_service_name == svc.service_name
    assert_sdk_time(got.updated_at, "updated_at")
    seen = endpoint_detail(sibling, ep.id)
    assert (seen.whitelist, seen.enable_whitelist) == (got.whitelist, True)
    # What the Terraform provider sends when a whitelist is removed: both keys, an empty list.
    got = update_white(sibling, ep.id, whitelist=[], enable_whitelist=False)
    assert (got.whitelist, got.enable_whitelist) == ([], False)


def test_update_white_refuses_bad_entries_and_other_tenants(owner, sibling, stranger):
    svc = create_service(owner, approval_enabled=False)
    ep = create_endpoint(sibling, svc.id)
    with sdk_error(sibling, 400, "EndPoint.2044"):
        update_white(sibling, ep.id, whitelist=["10.0.0.0/40"])
    with sdk_error(sibling, 400, "EndPoint.2045"):
        update_white(sibling, ep.id, whitelist=[f"10.1.{i}.0/24" for i in range(101)])
    with sdk_error(stranger, 404, "EndPoint.0005"):
        update_white(stranger, ep.id, whitelist=[])
    with sdk_error(owner, 404, "EndPoint.0005"):
        update_white(owner, ep.id, whitelist=[])
    assert endpoint_detail(sibling, ep.id).whitelist == []


def test_create_endpoint_to_a_service_without_approval_is_accepted_in_the_sdk_types(owner, sibling):
    svc = create_service(owner, service_name="web", approval_enabled=False)
    ep = create_endpoint(sibling, svc.id, description="the consumer's text")
    assert ep.status_code == 200
    assert_uuid(ep.id, "id")
    assert ep.status == "accepted"
    assert ep.service_type == "interface"
    assert ep.endpoint_service_id == svc.id
    assert ep.endpoint_service_name == svc.service_name
    assert ep.project_id == sibling.project_id
    assert (ep.vpc_id, ep.subnet_id) == (CONSUMER_VPC, CONSUMER_SUBNET)
    assert ep.description == "the consumer's text"
    assert ep.active_status == ["active"]
    assert ep.whitelist == [] and ep.enable_whitelist is False
    raw = ep.to_json_object()
    assert_marker_id(ep.marker_id, raw["marker_id"], "CreateEndpoint")
    created = assert_sdk_time(ep.created_at, "created_at")
    assert assert_sdk_time(ep.updated_at, "updated_at") == created
    assert_wire_times(raw, ["created_at", "updated_at"], "CreateEndpoint")
    # An address in the endpoint's VPC, assigned from 172.16.0.0/12 when none is asked for.
    assert ipaddress.ip_address(ep.ip) in ipaddress.ip_network("172.16.0.0/12")


def test_create_endpoint_to_a_service_with_approval_is_pending(owner, sibling):
    svc = create_service(owner)
    ep = create_endpoint(sibling, svc.id)
    assert ep.status == "pendingAcceptance"
    assert endpoint_detail(sibling, ep.id).status == "pendingAcceptance"


def test_marker_ids_are_distinct_integers(owner, sibling):
    svc = create_service(owner, approval_enabled=False)
    markers = [create_endpoint(sibling, svc.id).marker_id for _ in range(3)]
    markers.append(create_endpoint(owner, svc.id).marker_id)
    assert all(type(m) is int and m > 0 for m in markers), markers
    assert len(set(markers)) == 4, markers


def test_endpoint_detail_matches_the_created_endpoint(owner, sibling):
    svc = create_service(owner, approval_enabled=False)
    ep = create_endpoint(sibling, svc.id, port_ip="172.16.5.9", enable_dns=True)
    got = endpoint_detail(sibling, ep.id)
    assert got.status_code == 200
    for key in ("id", "status", "service_type", "endpoint_service_id", "endpoint_service_name",
                "marker_id", "vpc_id", "subnet_id", "project_id", "ip", "description",
                "created_at", "updated_at", "enable_dns"):
        assert getattr(got, key) == getattr(ep, key), key
    assert got.ip == "172.16.5.9"
    assert got.enable_dns is True
    assert got.dns_names and all(isinstance(n, str) and n for n in got.dns_names), got.dns_names
    raw = got.to_json_object()
    assert_marker_id(got.marker_id, raw["marker_id"], "ListEndpointInfoDetails")
    assert_wire_times(raw, ["created_at", "updated_at"], "ListEndpointInfoDetails")


def test_an_endpoint_is_404_to_every_other_project_like_an_unknown_one(owner, sibling, stranger):
    svc = create_service(owner, approval_enabled=False)
    ep = create_endpoint(sibling, svc.id)
    for caller in (owner, stranger):
        with sdk_error(caller, 404, "EndPoint.0005"):
            endpoint_detail(caller, ep.id)
        with sdk_error(caller, 404, "EndPoint.0005"):
            caller.delete_endpoint(DeleteEndpointRequest(vpc_endpoint_id=ep.id))
    with sdk_error(sibling, 404, "EndPoint.0005"):
        endpoint_detail(sibling, UNKNOWN_ID)
    assert endpoint_detail(sibling, ep.id).status == "accepted"


def test_a_malformed_endpoint_id_in_the_path_is_2017(sibling):
    with sdk_error(sibling, 400, "EndPoint.2017"):
        endpoint_detail(sibling, "not_an_endpoint")


def test_endpoint_list_shows_only_the_callers_endpoints_and_filters(owner, sibling):
    web = create_service(owner, service_name="WebSvc", approval_enabled=False)
    db = create_service(owner, service_name="db", approval_enabled=False)
    a = create_endpoint(sibling, web.id)
    b = create_endpoint(sibling, web.id, vpc_id="7189d3c2-8882-4871-a3c2-d380272eed88")
    c = create_endpoint(sibling, db.id)
    create_endpoint(owner, db.id)  # the owner's own project: not the sibling's

    everything = sibling.list_endpoints(ListEndpointsRequest(limit=1000))
    assert everything.total_count == 3
    assert {e.id for e in everything.endpoints} == {a.id, b.id, c.id}
    for item in everything.endpoints:
        assert item.project_id == sibling.project_id
        assert_sdk_time(item.created_at, "created_at")
    for raw, item in zip(everything.to_json_object()["endpoints"], everything.endpoints):
        assert_marker_id(item.marker_id, raw["marker_id"], "ListEndpoints item")
        assert_wire_times(raw, ["created_at", "updated_at"], "ListEndpoints item")

    by_id = sibling.list_endpoints(ListEndpointsRequest(id=b.id))
    assert [e.id for e in by_id.endpoints] == [b.id] and by_id.total_count == 1
    by_vpc = sibling.list_endpoints(ListEndpointsRequest(vpc_id=CONSUMER_VPC))
    assert {e.id for e in by_vpc.endpoints} == {a.id, c.id}
    by_name = sibling.list_endpoints(ListEndpointsRequest(endpoint_service_name="websvc"))
    assert {e.id for e in by_name.endpoints} == {a.id, b.id}

    page = sibling.list_endpoints(ListEndpointsRequest(limit=2, offset=2))
    assert len(page.endpoints) == 1 and page.total_count == 3
    empty = sibling.list_endpoints(ListEndpointsRequest(limit=0))
    assert empty.endpoints == [] and empty.total_count == 3


def test_endpoint_list_rejects_out_of_range_parameters(sibling):
    for request, code in [
        (ListEndpointsRequest(limit=1001), "EndPoint.0006"),
        (ListEndpointsRequest(offset=-5), "EndPoint.0010"),
        (ListEndpointsRequest(sort_key="id"), "EndPoint.0017"),
        (ListEndpointsRequest(sort_dir="sideways"), "EndPoint.0018"),
    ]:
        with sdk_error(sibling, 400, code):
            sibling.list_endpoints(request)


def test_delete_endpoint_is_204_then_404_and_the_connection_is_gone(owner, sibling):
    svc = create_service(owner, approval_enabled=False)
    ep = create_endpoint(sibling, svc.id)
    resp = sibling.delete_endpoint(DeleteEndpointRequest(vpc_endpoint_id=ep.id))
    assert resp.status_code == 204
    assert sibling.last_request_id()
    with sdk_error(sibling, 404, "EndPoint.0005"):
        endpoint_detail(sibling, ep.id)
    with sdk_error(sibling, 404, "EndPoint.0005"):
        sibling.delete_endpoint(DeleteEndpointRequest(vpc_endpoint_id=ep.id))
    conns = owner.list_service_connections(ListServiceConnectionsRequest(vpc_endpoint_service_id=svc.id))
    assert conns.connections == [] and conns.total_count == 0


def test_create_endpoint_to_an_unknown_service_is_2003(sibling):
    with sdk_error(sibling, 400, "EndPoint.2003"):
        create_endpoint(sibling, UNKNOWN_ID)
    assert sibling.list_endpoints(ListEndpointsRequest()).total_count == 0


def test_another_account_may_not_connect_to_a_service_2012(owner, stranger):
    svc = create_service(owner, approval_enabled=False)
    with sdk_error(stranger, 400, "EndPoint.2012"):
        create_endpoint(stranger, svc.id)
    assert stranger.list_endpoints(ListEndpointsRequest()).total_count == 0
    conns = owner.list_service_connections(ListServiceConnectionsRequest(vpc_endpoint_service_id=svc.id))
    assert conns.total_count == 0


def test_endpoint_descriptions_refuse_angle_brackets(owner, sibling):
    svc = create_service(owner)
    with sdk_error(sibling, 400, "EndPoint.0002"):
        create_endpoint(sibling, svc.id, description="<script>")
    assert sibling.list_endpoints(ListEndpointsRequest()).total_count == 0
