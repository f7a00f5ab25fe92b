"""Connections (the owner's side of endpoints) through the SDK: ListServiceConnections,
AcceptOrRejectEndpoint, UpdateEndpointConnectionsDesc (docs/api.md §1)."""

from __future__ import annotations

from huaweicloudsdkvpcep.v1 import (
    AcceptOrRejectEndpointRequest,
    AcceptOrRejectEndpointRequestBody,
    ConnectionEndpoints,
    ConnectionsDesc,
    ListEndpointInfoDetailsRequest,
    ListServiceConnectionsRequest,
    UpdateEndpointConnectionsDescRequest,
    UpdateEndpointConnectionsDescRequestBody,
)

from harness import (
    UNKNOWN_ID,
    assert_marker_id,
    assert_sdk_time,
    assert_wire_times,
    connection,
    create_endpoint,
    create_service,
    sdk_error,
)


def act(sdk, service_id, action, *endpoint_ids):
    return sdk.accept_or_reject_endpoint(AcceptOrRejectEndpointRequest(
        vpc_endpoint_service_id=service_id,
        body=AcceptOrRejectEndpointRequestBody(action=action, endpoints=list(endpoint_ids))))


def describe(sdk, service_id, *pairs):
    return sdk.update_endpoint_connections_desc(UpdateEndpointConnectionsDescRequest(
        vpc_endpoint_service_id=service_id,
        body=UpdateEndpointConnectionsDescRequestBody(
            connections=[ConnectionsDesc(id=i, description=d) for i, d in pairs])))


def connections(sdk, service_id, **query):
    return sdk.list_service_connections(
        ListServiceConnectionsRequest(vpc_endpoint_service_id=service_id, **query))


def assert_connection_shape(conn, raw, what):
    assert isinstance(conn, ConnectionEndpoints), type(conn)
    assert_marker_id(conn.marker_id, raw["marker_id"], what)
    assert_sdk_time(conn.created_at, f"{what}.created_at")
    assert_sdk_time(conn.updated_at, f"{what}.updated_at")
    assert_wire_times(raw, ["created_at", "updated_at"], what)
    assert conn.error is None, "error is sent only for failed connections"


def test_connection_list_shows_each_consumer_endpoint_in_the_sdk_types(owner, sibling):
    svc = create_service(owner)
    mine = create_endpoint(owner, svc.id)
    theirs = create_endpoint(sibling, svc.id)
    resp = connections(owner, svc.id, limit=1000)
    assert resp.status_code == 200
    assert resp.total_count == 2
    raws = {r["id"]: r for r in resp.to_json_object()["connections"]}
    by_id = {c.id: c for c in resp.connections}
    assert set(by_id) == {mine.id, theirs.id}
    for ep in (mine, theirs):
        conn = by_id[ep.id]
        assert_connection_shape(conn, raws[ep.id], "ListServiceConnections item")
        assert conn.marker_id == ep.marker_id
        assert conn.created_at == ep.created_at
        assert conn.status == "pendingAcceptance"
        assert conn.description == "", "a new connection's description is empty"
        # Both projects belong to the owner's account.
        assert conn.domain_id == owner.credential.domain_id


def test_connection_list_filters_by_id_marker_id_and_status(owner, sibling):
    svc = create_service(owner)
    a, b, c = (create_endpoint(sibling, svc.id) for _ in range(3))
    act(owner, svc.id, "receive", b.id)
    act(owner, svc.id, "reject", c.id)

    assert connection(owner, svc.id, a.id).id == a.id
    by_marker = connections(owner, svc.id, marker_id=str(b.marker_id))
    assert [x.id for x in by_marker.connections] == [b.id] and by_marker.total_count == 1
    for status, want in (("pendingAcceptance", a), ("accepted", b), ("rejected", c)):
        got = connections(owner, svc.id, status=status)
        assert [x.id for x in got.connections] == [want.id], status
    assert connections(owner, svc.id, status="failed").total_count == 0
    page = connections(owner, svc.id, limit=1, offset=1)
    assert len(page.connections) == 1 and page.total_count == 3
    with sdk_error(owner, 400, "EndPoint.0019"):
        connections(owner, svc.id, status="bogus")
    with sdk_error(owner, 400, "EndPoint.0021"):
        connections(owner, svc.id, marker_id="not-a-number")
    with sdk_error(owner, 400, "EndPoint.0006"):
        connections(owner, svc.id, limit=1001)


def test_connection_status_filter_takes_only_the_four_documented_states_0019(owner, sibling):
    # VPCEP API reference, ListServiceConnections: the filter accepts only pendingAcceptance,
    # accepted, rejected and failed ("creating is not listed as a filter"); vpcep's own 0019
    # message says so.
    svc = create_service(owner)
    create_endpoint(sibling, svc.id)
    for status in ("creating", "deleting"):
        with sdk_error(owner, 400, "EndPoint.0019"):
            connections(owner, svc.id, status=status)


def test_accept_and_reject_move_the_connection_and_the_consumers_endpoint(owner, sibling):
    svc = create_service(owner)
    ep = create_endpoint(sibling, svc.id)
    for action, status in (("receive", "accepted"), ("reject", "rejected"),
                           ("receive", "accepted"), ("receive", "accepted")):
        resp = act(owner, svc.id, action, ep.id)
        assert resp.status_code == 200
        assert len(resp.connections) == 1
        conn = resp.connections[0]
        assert_connection_shape(conn, resp.to_json_object()["connections"][0], "AcceptOrRejectEndpoint")
        assert (conn.id, conn.status, conn.domain_id) == (ep.id, status, sibling.credential.domain_id)
        assert connection(owner, svc.id, ep.id).status == status
        seen = sibling.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=ep.id))
        assert seen.status == status, f"the consumer sees {seen.status} after {action}"


def test_accept_or_reject_takes_exactly_one_endpoint_2031(owner, sibling):
    svc = create_service(owner)
    a, b = create_endpoint(sibling, svc.id), create_endpoint(sibling, svc.id)
    for ids in ((a.id, b.id), ()):
        with sdk_error(owner, 400, "EndPoint.2031"):
            act(owner, svc.id, "receive", *ids)
    assert {x.status for x in connections(owner, svc.id).connections} == {"pendingAcceptance"}


def test_accept_or_reject_refuses_an_unknown_action_0007(owner, sibling):
    svc = create_service(owner)
    ep = create_endpoint(sibling, svc.id)
    with sdk_error(owner, 400, "EndPoint.0007"):
        act(owner, svc.id, "approve", ep.id)
    assert connection(owner, svc.id, ep.id).status == "pendingAcceptance"


def test_accepting_an_endpoint_of_another_service_is_2013(owner, sibling):
    svc, other = create_service(owner), create_service(owner)
    ep = create_endpoint(sibling, other.id)
    for endpoint_id in (ep.id, UNKNOWN_ID):
        with sdk_error(owner, 400, "EndPoint.2013"):
            act(owner, svc.id, "receive", endpoint_id)
    assert connection(owner, other.id, ep.id).status == "pendingAcceptance"


def test_connection_description_is_the_owners_and_leaves_the_endpoint_description_alone(owner, sibling):
    svc = create_service(owner)
    ep = create_endpoint(sibling, svc.id, description="the consumer's own text")
    resp = describe(owner, svc.id, (ep.id, "billing team, ticket 42"))
    assert resp.status_code == 200
    assert len(resp.connections) == 1
    conn = resp.connections[0]
    assert_connection_shape(conn, resp.to_json_object()["connections"][0], "UpdateEndpointConnectionsDesc")
    assert (conn.id, conn.description, conn.status) == (ep.id, "billing team, ticket 42", "pendingAcceptance")
    assert connection(owner, svc.id, ep.id).description == "billing team, ticket 42"
    seen = sibling.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=ep.id))
    assert seen.description == "the consumer's own text"
    # The empty string clears it.
    assert describe(owner, svc.id, (ep.id, "")).connections[0].description == ""
    assert connection(owner, svc.id, ep.id).description == ""


def test_connection_description_answers_exactly_the_named_connections(owner, sibling):
    svc = create_service(owner)
    a, b, c = (create_endpoint(sibling, svc.id) for _ in range(3))
    resp = describe(owner, svc.id, (a.id.upper(), "first"), (c.id, "third"))
    assert {x.id: x.description for x in resp.connections} == {a.id: "first", c.id: "third"}
    assert connection(owner, svc.id, b.id).description == ""


def test_connection_descriptions_count_characters_not_bytes(owner, sibling):
    svc = create_service(owner)
    ep = create_endpoint(sibling, svc.id)
    text = "描" * 512
    assert describe(owner, svc.id, (ep.id, text)).connections[0].description == text
    with sdk_error(owner, 400, "EndPoint.0002"):
        describe(owner, svc.id, (ep.id, "描" * 513))
    assert connection(owner, svc.id, ep.id).description == text


def test_a_description_with_an_angle_bracket_is_0002_and_changes_nothing(owner, sibling):
    svc = create_service(owner)
    a, b = create_endpoint(sibling, svc.id), create_endpoint(sibling, svc.id)
    describe(owner, svc.id, (a.id, "kept"))
    with sdk_error(owner, 400, "EndPoint.0002", contains="connections[1].description"):
        describe(owner, svc.id, (a.id, "changed"), (b.id, "a<b"))
    assert connection(owner, svc.id, a.id).description == "kept"
    assert connection(owner, svc.id, b.id).description == ""


def test_an_id_that_is_not_a_connection_of_the_service_is_2013_and_changes_nothing(owner, sibling):
    svc, other = create_service(owner), create_service(owner)
    mine = create_endpoint(sibling, svc.id)
    foreign = create_endpoint(sibling, other.id)
    with sdk_error(owner, 400, "EndPoint.2013", contains=foreign.id):
        describe(owner, svc.id, (mine.id, "would change"), (foreign.id, "not mine"))
    with sdk_error(owner, 400, "EndPoint.2013", contains=UNKNOWN_ID):
        describe(owner, svc.id, (UNKNOWN_ID, "nobody"))
    assert connection(owner, svc.id, mine.id).description == ""
    assert connection(owner, other.id, foreign.id).description == ""


def test_connection_description_of_another_tenants_service_is_404(owner, sibling, stranger):
    svc = create_service(owner)
    ep = create_endpoint(sibling, svc.id)
    for caller in (sibling, stranger):
        with sdk_error(caller, 404, "EndPoint.0005"):
            describe(caller, svc.id, (ep.id, "taken over"))
    assert connection(owner, svc.id, ep.id).description == ""


def test_body_rules_are_checked_before_the_service_exists(owner):
    # docs/api.md §2 order: body (400) before the path's resource (404).
    with sdk_error(owner, 400, "EndPoint.0002"):
        describe(owner, UNKNOWN_ID, (UNKNOWN_ID, "a>b"))
    with sdk_error(owner, 404, "EndPoint.0005"):
        describe(owner, UNKNOWN_ID, (UNKNOWN_ID, "fine"))
