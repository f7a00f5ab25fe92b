"""Service whitelists through the SDK: AddOrRemoveServicePermissions,
BatchAddEndpointServicePermissions, BatchRemoveEndpointServicePermissions,
ListServicePermissionsDetails, UpdateEndpointServicePermissionDesc, and what they do to
CreateEndpoint from other accounts (only whitelisted accounts may connect)."""

from __future__ import annotations

from huaweicloudsdkvpcep.v1 import (
    AddOrRemoveServicePermissionsRequest,
    AddOrRemoveServicePermissionsRequestBody,
    BatchAddEndpointServicePermissionsRequest,
    BatchAddEndpointServicePermissionsRequestBody,
    BatchRemoveEndpointServicePermissionsRequest,
    BatchRemoveEndpointServicePermissionsRequestBody,
    EpsAddPermissionRequest,
    EpsPermission,
    EpsRemovePermissionRequest,
    EpsUpdatePermissionDesc,
    ListServicePermissionsDetailsRequest,
    PermissionObject,
    UpdateEndpointServicePermissionDescRequest,
    UpdateEndpointServicePermissionDescRequestBody,
)

from harness import (
    UNKNOWN_ID,
    assert_sdk_time,
    assert_uuid,
    assert_wire_times,
    connection,
    create_endpoint,
    create_service,
    sdk_error,
)


def entry(domain_id):
    return f"iam:domain::{domain_id}"


def permission_action(sdk, service_id, action, *permissions):
    return sdk.add_or_remove_service_permissions(AddOrRemoveServicePermissionsRequest(
        vpc_endpoint_service_id=service_id,
        body=AddOrRemoveServicePermissionsRequestBody(
            permissions=list(permissions), permission_type="domainId", action=action)))


def batch_add(sdk, service_id, *pairs):
    return sdk.batch_add_endpoint_service_permissions(BatchAddEndpointServicePermissionsRequest(
        vpc_endpoint_service_id=service_id,
        body=BatchAddEndpointServicePermissionsRequestBody(
            permissions=[EpsAddPermissionRequest(permission=p, description=d) for p, d in pairs])))


def batch_remove(sdk, service_id, *ids):
    return sdk.batch_remove_endpoint_service_permissions(BatchRemoveEndpointServicePermissionsRequest(
        vpc_endpoint_service_id=service_id,
        body=BatchRemoveEndpointServicePermissionsRequestBody(
            permissions=[EpsRemovePermissionRequest(id=i) for i in ids])))


def listed(sdk, service_id, **query):
    return sdk.list_service_permissions_details(
        ListServicePermissionsDetailsRequest(vpc_endpoint_service_id=service_id, **query))


def redescribe(sdk, service_id, permission_id, text):
    return sdk.update_endpoint_service_permission_desc(UpdateEndpointServicePermissionDescRequest(
        vpc_endpoint_service_id=service_id, permission_id=permission_id,
        body=UpdateEndpointServicePermissionDescRequestBody(
            permission=EpsUpdatePermissionDesc(description=text))))


def test_add_and_remove_answer_the_resulting_whitelist(owner):
    svc = create_service(owner)
    a, b = entry("aaaa1111"), entry("bbbb2222")
    resp = permission_action(owner, svc.id, "add", a, b)
    assert resp.status_code == 200
    assert sorted(resp.permissions) == sorted([a, b])
    assert resp.permission_type == "domainId"
    resp = permission_action(owner, svc.id, "remove", a)
    assert resp.permissions == [b]
    assert [p.permission for p in listed(owner, svc.id).permissions] == [b]


def test_batch_add_answers_the_new_records_in_the_sdk_types(owner):
    svc = create_service(owner)
    resp = batch_add(owner, svc.id, ("*", "everyone"), (entry("cccc3333"), "one account"))
    assert resp.status_code == 200
    assert len(resp.permissions) == 2
    raws = {r["permission"]: r for r in resp.to_json_object()["permissions"]}
    for rec, (perm, desc) in zip(sorted(resp.permissions, key=lambda r: r.permission),
                                 sorted([("*", "everyone"), (entry("cccc3333"), "one account")])):
        assert isinstance(rec, EpsPermission)
        assert_uuid(rec.id, "permission id")
        assert (rec.permission, rec.description, rec.permission_type) == (perm, desc, "domainId")
        assert_sdk_time(rec.created_at, "created_at")
        assert_wire_times(raws[perm], ["created_at"], "EpsPermission")


def test_permission_list_pages_and_never_shows_the_owner(owner):
    svc = create_service(owner)
    assert listed(owner, svc.id).permissions == [] and listed(owner, svc.id).total_count == 0
    added = batch_add(owner, svc.id, *[(entry(f"dddd{i}"), f"n{i}") for i in range(3)]).permissions
    resp = listed(owner, svc.id, limit=500)
    assert resp.status_code == 200 and resp.total_count == 3
    assert {p.id for p in resp.permissions} == {p.id for p in added}
    for rec, raw in zip(resp.permissions, resp.to_json_object()["permissions"]):
        assert isinstance(rec, PermissionObject)
        assert rec.permission_type == "domainId"
        assert_sdk_time(rec.created_at, "created_at")
        assert_wire_times(raw, ["created_at"], "PermissionObject")
        assert owner.credential.domain_id not in rec.permission
    page = listed(owner, svc.id, limit=2, offset=2)
    assert len(page.permissions) == 1 and page.total_count == 3
    assert [p.permission for p in listed(owner, svc.id, permission="DDDD1").permissions] == [entry("dddd1")]
    with sdk_error(owner, 400, "EndPoint.0006"):
        listed(owner, svc.id, limit=501)


def test_update_permission_description_answers_the_record_in_a_list(owner):
    svc = create_service(owner)
    rec = batch_add(owner, svc.id, (entry("eeee"), "old")).permissions[0]
    resp = redescribe(owner, svc.id, rec.id, "new text")
    assert resp.status_code == 200
    assert len(resp.permissions) == 1
    got = resp.permissions[0]
    assert (got.id, got.permission, got.description, got.created_at) == (
        rec.id, rec.permission, "new text", rec.created_at)
    with sdk_error(owner, 404, "EndPoint.0005"):
        redescribe(owner, svc.id, UNKNOWN_ID, "x")
    with sdk_error(owner, 400, "EndPoint.0002"):
        redescribe(owner, svc.id, rec.id, "a<b")


def test_batch_remove_answers_the_removed_records(owner):
    svc = create_service(owner)
    recs = batch_add(owner, svc.id, (entry("ffff1"), "x"), (entry("ffff2"), "y")).permissions
    gone = next(r for r in recs if r.permission == entry("ffff1"))
    resp = batch_remove(owner, svc.id, gone.id)
    assert resp.status_code == 200
    assert [(r.id, r.permission) for r in resp.permissions] == [(gone.id, gone.permission)]
    assert [p.permission for p in listed(owner, svc.id).permissions] == [entry("ffff2")]
    with sdk_error(owner, 400, "EndPoint.0002"):
        batch_remove(owner, svc.id, gone.id)


def test_malformed_and_empty_whitelists_are_refused(owner):
    svc = create_service(owner)
    with sdk_error(owner, 400, "EndPoint.3002"):
        permission_action(owner, svc.id, "add", "domain:1234")
    with sdk_error(owner, 400, "EndPoint.3036"):
        permission_action(owner, svc.id, "add")
    with sdk_error(owner, 400, "EndPoint.0007"):
        permission_action(owner, svc.id, "grant", entry("abcd"))
    assert listed(owner, svc.id).total_count == 0


def test_whitelists_of_another_tenants_service_are_404(owner, sibling, stranger):
    svc = create_service(owner)
    for caller in (sibling, stranger):
        with sdk_error(caller, 404, "EndPoint.0005"):
            permission_action(caller, svc.id, "add", entry(caller.credential.domain_id))
        with sdk_error(caller, 404, "EndPoint.0005"):
            listed(caller, svc.id)
    assert listed(owner, svc.id).total_count == 0


def test_a_whitelisted_account_may_connect_and_a_removed_one_may_not(owner, stranger):
    svc = create_service(owner, approval_enabled=False)
    with sdk_error(stranger, 400, "EndPoint.2012"):
        create_endpoint(stranger, svc.id)
    permission_action(owner, svc.id, "add", entry(stranger.credential.domain_id))
    ep = create_endpoint(stranger, svc.id)
    assert ep.status == "accepted"
    assert connection(owner, svc.id, ep.id).domain_id == stranger.credential.domain_id
    permission_action(owner, svc.id, "remove", entry(stranger.credential.domain_id))
    with sdk_error(stranger, 400, "EndPoint.2012"):
        create_endpoint(stranger, svc.id)
    # Removing an account stops new endpoints, not the existing connection.
    assert connection(owner, svc.id, ep.id).status == "accepted"
