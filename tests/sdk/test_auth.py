"""Authentication and tenancy as the SDK meets them: AK/SK signing with SDK-HMAC-SHA256 and
SDK-HMAC-SM3 (401 EndPoint.0003), the project of the credential (403 EndPoint.0004), and the
`X-Request-Id` of every answer (docs/api.md §2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from huaweicloudsdkvpcep.v1 import (
    AcceptOrRejectEndpointRequest,
    AcceptOrRejectEndpointRequestBody,
    AddOrRemoveServicePermissionsRequest,
    AddOrRemoveServicePermissionsRequestBody,
    BatchAddEndpointServicePermissionsRequest,
    BatchAddEndpointServicePermissionsRequestBody,
    BatchRemoveEndpointServicePermissionsRequest,
    BatchRemoveEndpointServicePermissionsRequestBody,
    ConnectionsDesc,
    DeleteEndpointRequest,
    DeleteEndpointServiceRequest,
    EpsAddPermissionRequest,
    EpsRemovePermissionRequest,
    EpsUpdatePermissionDesc,
    ListEndpointInfoDetailsRequest,
    ListEndpointServiceRequest,
    ListEndpointsRequest,
    ListServiceConnectionsRequest,
    ListServiceDescribeDetailsRequest,
    ListServiceDetailsRequest,
    ListServicePermissionsDetailsRequest,
    ListSpecifiedVersionDetailsRequest,
    ListVersionDetailsRequest,
    UpdateEndpointConnectionsDescRequest,
    UpdateEndpointConnectionsDescRequestBody,
    UpdateEndpointServicePermissionDescRequest,
    UpdateEndpointServicePermissionDescRequestBody,
    UpdateEndpointServiceRequest,
    UpdateEndpointServiceRequestBody,
)

from harness import (
    SHA256,
    SM3,
    UNKNOWN_ID,
    both_algorithms,
    create_endpoint,
    create_service,
    sdk_error,
)


def list_services(sdk):
    return sdk.list_endpoint_service(ListEndpointServiceRequest())


@both_algorithms
def test_signed_requests_succeed_and_every_answer_has_its_own_request_id(owner, algorithm):
    svc = create_service(owner)
    assert list_services(owner).total_count == 1
    assert owner.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=svc.id)).id == svc.id
    with sdk_error(owner, 404, "EndPoint.0005"):
        owner.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=UNKNOWN_ID))
    exchanges = owner.wire.exchanges
    assert [x.status for x in exchanges] == [200, 200, 200, 404]
    assert all(x.authorization.startswith(algorithm + " ") for x in exchanges), \
        [x.authorization.split(" ")[0] for x in exchanges]
    ids = [x.request_id for x in exchanges]
    assert all(isinstance(i, str) and i for i in ids), ids
    assert len(set(ids)) == len(ids), f"request ids repeat: {ids}"


@both_algorithms
def test_a_wrong_secret_key_is_401_0003(server, algorithm):
    cred = server.owner
    forged = server.sdk(cred, algorithm=algorithm, secret_key=cred.secret_key[::-1])
    with sdk_error(forged, 401, "EndPoint.0003"):
        list_services(forged)
    with sdk_error(forged, 401, "EndPoint.0003"):
        create_service(forged)
    assert list_services(server.sdk(cred, algorithm=algorithm)).total_count == 0


def test_an_unknown_access_key_is_401_0003(server):
    unknown = server.sdk(server.owner, access_key="UNKNOWNACCESSKEY0000")
    with sdk_error(unknown, 401, "EndPoint.0003"):
        list_services(unknown)


def test_a_deleted_credential_is_401_at_once(server, owner, sibling_cred):
    sibling = server.sdk(sibling_cred)
    assert list_services(sibling).total_count == 0
    server.delete_credential(sibling_cred)
    with sdk_error(sibling, 401, "EndPoint.0003"):
        list_services(sibling)
    # Other credentials, of the same account too, keep working.
    assert list_services(owner).total_count == 0


def dated(server, moment):
    sdk = server.sdk(server.owner)
    sdk.client.preset_headers = {"X-Sdk-Date": moment.strftime("%Y%m%dT%H%M%SZ")}
    return sdk


def test_a_signature_dated_more_than_15_minutes_from_the_server_clock_is_401(server):
    now = datetime.now(timezone.utc)
    for skew in (timedelta(minutes=-20), timedelta(minutes=20)):
        sdk = dated(server, now + skew)
        with sdk_error(sdk, 401, "EndPoint.0003"):
            list_services(sdk)
    for skew in (timedelta(minutes=-10), timedelta(minutes=10)):
        assert list_services(dated(server, now + skew)).total_count == 0


def test_a_body_changed_after_signing_is_401(server, owner, sibling):
    svc = create_service(owner)
    ep = create_endpoint(sibling, svc.id)

    def tamper(**kwargs):
        # Runs after the SDK signed the request, before it is sent.
        request = kwargs["request"]
        body = request.body if isinstance(request.body, str) else request.body.decode()
        assert "signed text" in body
        request.body = body.replace("signed text", "other text").encode()

    tampering = server.sdk(server.owner, request_hooks=[tamper])
    desc = UpdateEndpointConnectionsDescRequestBody(
        connections=[ConnectionsDesc(id=ep.id, description="signed text")])
    with sdk_error(tampering, 401, "EndPoint.0003"):
        tampering.update_endpoint_connections_desc(
            UpdateEndpointConnectionsDescRequest(vpc_endpoint_service_id=svc.id, body=desc))
    resp = owner.list_service_connections(ListServiceConnectionsRequest(vpc_endpoint_service_id=svc.id))
    assert [c.description for c in resp.connections] == [""]


def test_another_accounts_credential_with_this_project_id_is_403_0004(server, owner, stranger_cred):
    create_service(owner)
    intruder = server.sdk(stranger_cred, project_id=owner.project_id)
    with sdk_error(intruder, 403, "EndPoint.0004"):
        list_services(intruder)
    with sdk_error(intruder, 403, "EndPoint.0004"):
        create_service(intruder)
    assert list_services(owner).total_count == 1


@both_algorithms
def test_a_sibling_projects_credential_with_this_project_id_is_403_0004(server, owner, sibling_cred,
                                                                        algorithm):
    # Same account, other project: a credential names one project, not the account's.
    intruder = server.sdk(sibling_cred, project_id=owner.project_id, algorithm=algorithm)
    with sdk_error(intruder, 403, "EndPoint.0004"):
        list_services(intruder)


def test_a_bad_signature_is_401_before_the_project_is_checked(server):
    # docs/api.md §2 order: authentication (401) before project match (403); a 403 is never given
    # to a request whose signature is not valid.
    forged = server.sdk(server.owner, secret_key="wrong", project_id="f" * 32)
    with sdk_error(forged, 401, "EndPoint.0003"):
        list_services(forged)


def test_a_bad_signature_is_401_before_the_path_ids_are_checked(server):
    # docs/api.md §2 order: authentication (401) before path parameter syntax (400), as it is for
    # token and unauthenticated requests.
    forged = server.sdk(server.owner, secret_key="wrong")
    with sdk_error(forged, 401, "EndPoint.0003"):
        forged.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id="bad_id"))


def test_both_algorithms_reach_the_same_tenant(server):
    sha = server.sdk(server.owner, algorithm=SHA256)
    sm3 = server.sdk(server.owner, algorithm=SM3)
    svc = create_service(sha)
    assert [s.id for s in list_services(sm3).endpoint_services] == [svc.id]
    assert sm3.wire.last.authorization.startswith(SM3 + " ")
    assert sha.wire.last.authorization.startswith(SHA256 + " ")


@both_algorithms
def test_every_implemented_operation_accepts_the_sdks_signature(owner, stranger, algorithm):
    # One call of each of the 20 operations: GETs with and without queries, POST/PUT bodies,
    # DELETEs, the version routes. All signed with `algorithm`, all 2xx.
    svc = create_service(owner, service_name="tour")                                   # 1
    sid = svc.id
    owner.list_endpoint_service(ListEndpointServiceRequest(limit=5, sort_dir="asc"))    # 2
    owner.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=sid))  # 3
    owner.update_endpoint_service(UpdateEndpointServiceRequest(                         # 4
        vpc_endpoint_service_id=sid, body=UpdateEndpointServiceRequestBody(description="tour")))
    stranger.list_service_describe_details(ListServiceDescribeDetailsRequest(id=sid))   # 5
    owner.add_or_remove_service_permissions(AddOrRemoveServicePermissionsRequest(       # 6
        vpc_endpoint_service_id=sid, body=AddOrRemoveServicePermissionsRequestBody(
            permissions=[f"iam:domain::{stranger.credential.domain_id}"], action="add")))
    added = owner.batch_add_endpoint_service_permissions(                               # 7
        BatchAddEndpointServicePermissionsRequest(
            vpc_endpoint_service_id=sid, body=BatchAddEndpointServicePermissionsRequestBody(
                permissions=[EpsAddPermissionRequest(permission="iam:domain::abc1", description="d")])))
    pid = added.permissions[0].id
    owner.list_service_permissions_details(ListServicePermissionsDetailsRequest(        # 8
        vpc_endpoint_service_id=sid, permission="abc"))
    owner.update_endpoint_service_permission_desc(UpdateEndpointServicePermissionDescRequest(  # 9
        vpc_endpoint_service_id=sid, permission_id=pid,
        body=UpdateEndpointServicePermissionDescRequestBody(
            permission=EpsUpdatePermissionDesc(description="e"))))
    owner.batch_remove_endpoint_service_permissions(BatchRemoveEndpointServicePermissionsRequest(  # 10
        vpc_endpoint_service_id=sid, body=BatchRemoveEndpointServicePermissionsRequestBody(
            permissions=[EpsRemovePermissionRequest(id=pid)])))
    ep = create_endpoint(stranger, sid)                                                 # 11
    stranger.list_endpoints(ListEndpointsRequest(endpoint_service_name="tour"))         # 12
    stranger.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=ep.id))  # 13
    owner.list_service_connections(ListServiceConnectionsRequest(                       # 14
        vpc_endpoint_service_id=sid, id=ep.id, marker_id=str(ep.marker_id), limit=1000))
    owner.accept_or_reject_endpoint(AcceptOrRejectEndpointRequest(                      # 15
        vpc_endpoint_service_id=sid,
        body=AcceptOrRejectEndpointRequestBody(action="receive", endpoints=[ep.id])))
    owner.update_endpoint_connections_desc(UpdateEndpointConnectionsDescRequest(        # 16
        vpc_endpoint_service_id=sid, body=UpdateEndpointConnectionsDescRequestBody(
            connections=[ConnectionsDesc(id=ep.id, description="描述 tour")])))
    stranger.delete_endpoint(DeleteEndpointRequest(vpc_endpoint_id=ep.id))              # 17
    owner.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=sid))  # 18
    owner.list_version_details(ListVersionDetailsRequest())                             # 19
    owner.list_specified_version_details(ListSpecifiedVersionDetailsRequest(version="v1"))  # 20

    exchanges = owner.wire.exchanges + stranger.wire.exchanges
    assert len(exchanges) == 20
    for x in exchanges:
        assert x.authorization.startswith(algorithm + " "), (x.method, x.url, x.authorization[:20])
        assert x.status in (200, 204), (x.method, x.url, x.status)
        assert x.request_id, (x.method, x.url)
