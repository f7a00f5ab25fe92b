"""ListQuotaDetails through the SDK, and the quotas it shows enforced on creates."""

from __future__ import annotations

from huaweicloudsdkvpcep.v1 import ListQuotaDetailsRequest

from harness import create_endpoint, create_service, sdk_error


def figures(sdk, **query):
    got = sdk.list_quota_details(ListQuotaDetailsRequest(**query))
    assert got.status_code == 200
    return [(q.type, q.used, q.quota) for q in got.quotas.resources]


def test_quotas_count_the_callers_resources_in_the_sdk_types(owner, sibling):
    assert figures(owner) == [("endpoint", 0, 150), ("endpoint_service", 0, 100)]
    svc = create_service(owner, approval_enabled=False)
    create_endpoint(sibling, svc.id)
    assert figures(owner) == [("endpoint", 0, 150), ("endpoint_service", 1, 100)]
    assert figures(sibling, type="endpoint") == [("endpoint", 1, 150)]
    with sdk_error(owner, 400, "EndPoint.0002"):
        owner.list_quota_details(ListQuotaDetailsRequest(type="vpc"))


def test_a_create_past_the_quota_is_1018(make_server):
    server = make_server("--quota-endpoint-services", "1")
    sdk = server.sdk(server.owner)
    create_service(sdk)
    with sdk_error(sdk, 400, "EndPoint.1018"):
        create_service(sdk)
    assert figures(sdk, type="endpoint_service") == [("endpoint_service", 1, 1)]
