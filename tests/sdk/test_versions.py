"""API versions through the SDK: ListVersionDetails (`GET /`) and ListSpecifiedVersionDetails
(`GET /{version}`), which need no authentication (docs/api.md §3)."""

from __future__ import annotations

from datetime import datetime, timezone

from huaweicloudsdkvpcep.v1 import (
    Link,
    ListSpecifiedVersionDetailsRequest,
    ListVersionDetailsRequest,
    VersionObject,
)

from harness import assert_sdk_time, assert_wire_times, both_algorithms, sdk_error


def assert_v1(version, raw, base_url):
    assert isinstance(version, VersionObject)
    assert (version.id, version.status, version.version, version.min_version) == ("v1", "CURRENT", "1", "")
    updated = assert_sdk_time(version.updated, "updated", near_now=False)
    assert updated == datetime(2018, 9, 30, tzinfo=timezone.utc)
    assert_wire_times(raw, ["updated"], "VersionObject")
    assert len(version.links) == 1 and isinstance(version.links[0], Link)
    link = version.links[0]
    assert (link.href, link.rel, link.type) == (f"{base_url}/v1", "self", "application/json")


@both_algorithms
def test_version_list_names_v1_as_current(server, owner):
    resp = owner.list_version_details(ListVersionDetailsRequest())
    assert resp.status_code == 200
    assert len(resp.versions) == 1
    assert_v1(resp.versions[0], resp.to_json_object()["versions"][0], server.base_url)
    assert owner.last_request_id()


def test_version_detail_of_v1(server, owner):
    resp = owner.list_specified_version_details(ListSpecifiedVersionDetailsRequest(version="v1"))
    assert resp.status_code == 200
    assert_v1(resp.version, resp.to_json_object()["version"], server.base_url)


def test_an_unknown_version_is_404(owner):
    with sdk_error(owner, 404, "EndPoint.0005"):
        owner.list_specified_version_details(ListSpecifiedVersionDetailsRequest(version="v9"))


def test_versions_need_no_valid_credentials(server):
    # Signed with a secret key vpcep does not know: the version routes do not look.
    anyone = server.sdk(server.owner, secret_key="not-the-secret-key")
    assert anyone.list_version_details(ListVersionDetailsRequest()).versions[0].id == "v1"
    got = anyone.list_specified_version_details(ListSpecifiedVersionDetailsRequest(version="v1"))
    assert got.version.id == "v1"
