"""Endpoint services through the SDK: CreateEndpointService, ListEndpointService,
ListServiceDetails, UpdateEndpointService, UpdateEndpointServiceName, DeleteEndpointService,
ListServiceDescribeDetails."""

from __future__ import annotations

from huaweicloudsdkvpcep.v1 import (
    AcceptOrRejectEndpointRequest,
    AcceptOrRejectEndpointRequestBody,
    DeleteEndpointServiceRequest,
    ListEndpointInfoDetailsRequest,
    ListEndpointServiceRequest,
    ListServiceConnectionsRequest,
    ListServiceDescribeDetailsRequest,
    ListServiceDetailsRequest,
    PortList,
    UpdateEndpointServiceNameRequest,
    UpdateEndpointServiceNameRequestBody,
    UpdateEndpointServiceRequest,
    UpdateEndpointServiceRequestBody,
)

from harness import (
    PORT_ID,
    SERVICE_VPC,
    UNKNOWN_ID,
    assert_sdk_time,
    assert_uuid,
    assert_wire_times,
    create_endpoint,
    create_service,
    sdk_error,
    sleep_past_second,
)


def detail(sdk, service_id):
    return sdk.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=service_id))


def test_create_service_answers_the_settled_service_in_the_sdk_types(owner):
    svc = create_service(owner, service_name="web", approval_enabled=False, description="front door",
                         port_id=PORT_ID)
    assert svc.status_code == 200
    sid = assert_uuid(svc.id, "id")
    assert svc.service_name == f"local-1.web.{sid}"
    assert svc.status == "available"
    assert svc.server_type == "VM"
    assert svc.service_type == "interface"
    assert svc.approval_enabled is False
    assert svc.port_id == PORT_ID and svc.vpc_id == SERVICE_VPC
    assert svc.project_id == owner.project_id
    assert svc.description == "front door"
    assert svc.tcp_proxy == "close"
    assert len(svc.ports) == 1 and isinstance(svc.ports[0], PortList)
    assert (svc.ports[0].client_port, svc.ports[0].server_port, svc.ports[0].protocol) == (80, 8080, "TCP")
    created = assert_sdk_time(svc.created_at, "created_at")
    assert assert_sdk_time(svc.updated_at, "updated_at") == created
    assert_wire_times(svc.to_json_object(), ["created_at", "updated_at"], "CreateEndpointService")
    assert owner.last_request_id()


def test_approval_is_required_unless_the_service_says_otherwise(owner):
    assert create_service(owner).approval_enabled is True
    assert create_service(owner, approval_enabled=False).approval_enabled is False


def test_a_service_without_a_name_is_named_region_dot_id(owner):
    svc = create_service(owner)
    assert svc.service_name == f"local-1.{svc.id}"


def test_service_detail_matches_the_created_service(owner):
    svc = create_service(owner, service_name="db", description="d")
    got = detail(owner, svc.id)
    assert got.status_code == 200
    for key in ("id", "service_name", "port_id", "vpc_id", "server_type", "service_type",
                "approval_enabled", "status", "project_id", "description", "tcp_proxy",
                "created_at", "updated_at"):
        assert getattr(got, key) == getattr(svc, key), key
    assert [p.to_dict() for p in got.ports] == [p.to_dict() for p in svc.ports]
    assert got.error == [], "a settled service carries no task errors"
    assert_sdk_time(got.created_at, "created_at")
    assert_wire_times(got.to_json_object(), ["created_at", "updated_at"], "ListServiceDetails")


def test_service_list_shows_only_the_callers_services_with_a_true_total(owner, sibling):
    mine = {create_service(owner, service_name=f"web{i}").id for i in range(3)}
    theirs = create_service(sibling, service_name="web9").id

    resp = owner.list_endpoint_service(ListEndpointServiceRequest(limit=1000))
    assert resp.total_count == 3
    assert {s.id for s in resp.endpoint_services} == mine
    for item in resp.endpoint_services:
        assert item.domain_id == owner.credential.domain_id
        assert item.project_id == owner.project_id
        assert type(item.connection_count) is int and item.connection_count == 0
        assert_sdk_time(item.created_at, "created_at")
        assert_sdk_time(item.updated_at, "updated_at")
    for raw in resp.to_json_object()["endpoint_services"]:
        assert_wire_times(raw, ["created_at", "updated_at"], "ListEndpointService item")

    sibling_list = sibling.list_endpoint_service(ListEndpointServiceRequest())
    assert [s.id for s in sibling_list.endpoint_services] == [theirs]
    assert sibling_list.total_count == 1


def test_service_list_counts_only_accepted_connections(owner, sibling):
    # VPCEP API reference, ListEndpointService: connection_count counts connections in `creating`
    # or `accepted`.
    svc = create_service(owner)
    a, _ = create_endpoint(sibling, svc.id), create_endpoint(sibling, svc.id)

    def count():
        [item] = owner.list_endpoint_service(ListEndpointServiceRequest(id=svc.id)).endpoint_services
        return item.connection_count

    assert count() == 0, "pendingAcceptance connections are not counted"
    for action, want in (("receive", 1), ("reject", 0)):
        owner.accept_or_reject_endpoint(AcceptOrRejectEndpointRequest(
            vpc_endpoint_service_id=svc.id,
            body=AcceptOrRejectEndpointRequestBody(action=action, endpoints=[a.id])))
        assert count() == want, f"after {action}"


def test_service_list_pages_with_limit_and_offset(owner):
    ids = {create_service(owner).id for _ in range(5)}
    seen: list[str] = []
    for offset in (0, 2, 4):
        page = owner.list_endpoint_service(ListEndpointServiceRequest(limit=2, offset=offset))
        assert page.total_count == 5
        assert len(page.endpoint_services) == (2 if offset < 4 else 1)
        seen += [s.id for s in page.endpoint_services]
    assert sorted(seen) == sorted(ids), "pages overlap or miss services"
    empty = owner.list_endpoint_service(ListEndpointServiceRequest(limit=0))
    assert empty.endpoint_services == [] and empty.total_count == 5
    past = owner.list_endpoint_service(ListEndpointServiceRequest(offset=5))
    assert past.endpoint_services == [] and past.total_count == 5


def test_service_list_sorts_by_creation_newest_first_by_default(owner):
    older = create_service(owner).id
    sleep_past_second()  # timestamps have whole seconds
    newer = create_service(owner).id
    for request, want in [
        (ListEndpointServiceRequest(), [newer, older]),
        (ListEndpointServiceRequest(sort_key="create_at", sort_dir="desc"), [newer, older]),
        (ListEndpointServiceRequest(sort_key="create_at", sort_dir="asc"), [older, newer]),
        (ListEndpointServiceRequest(sort_key="created_at", sort_dir="asc"), [older, newer]),
    ]:
        got = [s.id for s in owner.list_endpoint_service(request).endpoint_services]
        assert got == want, (request.sort_key, request.sort_dir)


def test_service_list_filters_by_id_name_and_status(owner):
    web = create_service(owner, service_name="WebFront")
    create_service(owner, service_name="db")
    by_id = owner.list_endpoint_service(ListEndpointServiceRequest(id=web.id))
    assert [s.id for s in by_id.endpoint_services] == [web.id] and by_id.total_count == 1
    # A case-insensitive substring of the full name.
    by_name = owner.list_endpoint_service(ListEndpointServiceRequest(endpoint_service_name="webf"))
    assert [s.id for s in by_name.endpoint_services] == [web.id]
    assert owner.list_endpoint_service(ListEndpointServiceRequest(status="available")).total_count == 2
    assert owner.list_endpoint_service(ListEndpointServiceRequest(status="failed")).total_count == 0


def test_service_list_rejects_out_of_range_parameters(owner):
    for request, code in [
        (ListEndpointServiceRequest(limit=1001), "EndPoint.0006"),
        (ListEndpointServiceRequest(limit=-1), "EndPoint.0006"),
        (ListEndpointServiceRequest(offset=-1), "EndPoint.0010"),
        (ListEndpointServiceRequest(sort_key="name"), "EndPoint.0017"),
        (ListEndpointServiceRequest(sort_dir="up"), "EndPoint.0018"),
        (ListEndpointServiceRequest(status="bogus"), "EndPoint.0019"),
    ]:
        with sdk_error(owner, 400, code):
            owner.list_endpoint_service(request)


def test_update_service_changes_the_fields_it_names(owner, sibling):
    svc = create_service(owner, approval_enabled=False, description="old")
    body = UpdateEndpointServiceRequestBody(
        description="new text", approval_enabled=True, service_name="renamed",
        ports=[PortList(client_port=443, server_port=8443, protocol="TCP")])
    upd = owner.update_endpoint_service(
        UpdateEndpointServiceRequest(vpc_endpoint_service_id=svc.id, body=body))
    assert upd.status_code == 200
    assert upd.id == svc.id
    assert upd.description == "new text"
    assert upd.approval_enabled is True
    assert upd.service_name == f"local-1.renamed.{svc.id}"
    assert [(p.client_port, p.server_port, p.protocol) for p in upd.ports] == [(443, 8443, "TCP")]
    assert upd.created_at == svc.created_at
    assert_sdk_time(upd.updated_at, "updated_at")
    got = detail(owner, svc.id)
    assert (got.description, got.approval_enabled, got.service_name) == (
        "new text", True, upd.service_name)
    # New connections follow the new approval setting.
    assert create_endpoint(sibling, svc.id).status == "pendingAcceptance"


def rename(sdk, service_id, name):
    return sdk.update_endpoint_service_name(UpdateEndpointServiceNameRequest(
        vpc_endpoint_service_id=service_id,
        body=UpdateEndpointServiceNameRequestBody(endpoint_service_name=name)))


def test_rename_answers_the_full_name_that_the_service_and_its_endpoints_show(owner, sibling):
    svc = create_service(owner, approval_enabled=False)
    ep = create_endpoint(sibling, svc.id)
    got = rename(owner, svc.id, "obs_test")
    assert got.status_code == 200
    assert got.endpoint_service_name == f"local-1.obs_test.{svc.id}"
    assert detail(owner, svc.id).service_name == got.endpoint_service_name
    seen = sibling.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=ep.id))
    assert seen.endpoint_service_name == got.endpoint_service_name
    # An empty name removes the short name.
    assert rename(owner, svc.id, "").endpoint_service_name == f"local-1.{svc.id}"


def test_rename_refuses_bad_names_and_other_tenants(owner, stranger):
    svc = create_service(owner)
    with sdk_error(owner, 400, "EndPoint.3076"):
        rename(owner, svc.id, "no.dots")
    with sdk_error(stranger, 404, "EndPoint.0005"):
        rename(stranger, svc.id, "mine")
    with sdk_error(owner, 404, "EndPoint.0005"):
        rename(owner, UNKNOWN_ID, "x")
    assert detail(owner, svc.id).service_name == svc.service_name


def test_service_descriptions_refuse_angle_brackets(owner):
    with sdk_error(owner, 400, "EndPoint.0002"):
        create_service(owner, description="a<b")
    assert owner.list_endpoint_service(ListEndpointServiceRequest()).total_count == 0
    svc = create_service(owner, description="kept")
    with sdk_error(owner, 400, "EndPoint.0002"):
        owner.update_endpoint_service(UpdateEndpointServiceRequest(
            vpc_endpoint_service_id=svc.id,
            body=UpdateEndpointServiceRequestBody(description="a>b")))
    assert detail(owner, svc.id).description == "kept"


def test_delete_service_is_204_then_the_service_is_404(owner):
    svc = create_service(owner)
    resp = owner.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=svc.id))
    assert resp.status_code == 204
    assert owner.last_request_id()
    with sdk_error(owner, 404, "EndPoint.0005"):
        detail(owner, svc.id)
    with sdk_error(owner, 404, "EndPoint.0005"):
        owner.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=svc.id))


def test_a_service_with_connections_cannot_be_deleted_3006(owner, sibling):
    svc = create_service(owner)
    create_endpoint(sibling, svc.id)
    with sdk_error(owner, 400, "EndPoint.3006"):
        owner.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=svc.id))
    assert detail(owner, svc.id).status == "available"


def test_another_tenants_service_is_404_like_an_unknown_one(owner, sibling, stranger):
    svc = create_service(owner)
    for caller in (sibling, stranger):
        for sid in (svc.id, UNKNOWN_ID):
            with sdk_error(caller, 404, "EndPoint.0005"):
                detail(caller, sid)
            with sdk_error(caller, 404, "EndPoint.0005"):
                caller.update_endpoint_service(UpdateEndpointServiceRequest(
                    vpc_endpoint_service_id=sid,
                    body=UpdateEndpointServiceRequestBody(description="taken")))
            with sdk_error(caller, 404, "EndPoint.0005"):
                caller.list_service_connections(ListServiceConnectionsRequest(vpc_endpoint_service_id=sid))
            with sdk_error(caller, 404, "EndPoint.0005"):
                caller.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=sid))
    assert detail(owner, svc.id).description == ""


def test_a_malformed_service_id_in_the_path_is_3062(owner):
    for bad in ("not_a_service", "x" * 65):
        with sdk_error(owner, 400, "EndPoint.3062"):
            detail(owner, bad)


def test_describe_finds_any_accounts_service_by_id_or_full_name(owner, stranger):
    svc = create_service(owner, service_name="shared")
    for request in (ListServiceDescribeDetailsRequest(id=svc.id),
                    ListServiceDescribeDetailsRequest(endpoint_service_name=svc.service_name)):
        got = stranger.list_service_describe_details(request)
        assert got.status_code == 200
        assert got.id == svc.id
        assert got.service_name == svc.service_name
        assert got.service_type == "interface"
        assert got.created_at == svc.created_at
        assert_sdk_time(got.created_at, "created_at")
        assert type(got.is_charge) is bool
        assert_wire_times(got.to_json_object(), ["created_at"], "ListServiceDescribeDetails")


def test_describe_needs_exactly_one_of_id_and_name(owner):
    svc = create_service(owner, service_name="one")
    for request in (ListServiceDescribeDetailsRequest(),
                    ListServiceDescribeDetailsRequest(id=svc.id, endpoint_service_name=svc.service_name)):
        with sdk_error(owner, 400, "EndPoint.0002"):
            owner.list_service_describe_details(request)
