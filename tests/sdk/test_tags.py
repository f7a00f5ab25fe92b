"""The tag operations through the SDK: BatchAddOrRemoveResourceInstance,
ListQueryProjectResourceTags and ListResourceInstances, for services and endpoints."""

from __future__ import annotations

import pytest
from huaweicloudsdkvpcep.v1 import (
    BatchAddOrRemoveResourceInstanceRequest,
    BatchAddOrRemoveResourceInstanceRequestBody,
    ListEndpointInfoDetailsRequest,
    ListQueryProjectResourceTagsRequest,
    ListResourceInstancesRequest,
    ListServiceDetailsRequest,
    Match,
    QueryResourceInstanceTagsBody,
    ResourceTag,
    TagList,
    TagValuesList,
)

from harness import create_endpoint, create_service, sdk_error


def tag_action(sdk, kind, resource_id, action, tags):
    return sdk.batch_add_or_remove_resource_instance(BatchAddOrRemoveResourceInstanceRequest(
        resource_type=kind, resource_id=resource_id,
        body=BatchAddOrRemoveResourceInstanceRequestBody(action=action, tags=tags)))


def instances(sdk, kind, **body):
    return sdk.list_resource_instances(ListResourceInstancesRequest(
        resource_type=kind, body=QueryResourceInstanceTagsBody(**body)))


def pairs(tags):
    return [(t.key, t.value) for t in tags or []]


def test_tags_change_and_show_on_services_and_endpoints(owner):
    svc = create_service(owner, tags=[TagList(key="foo0", value="a")])
    resp = tag_action(owner, "endpoint_service", svc.id, "create",
                      [ResourceTag(key="foo1", value="b"), ResourceTag(key="foo0", value="c")])
    assert resp.status_code == 204
    got = owner.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=svc.id))
    assert pairs(got.tags) == [("foo0", "c"), ("foo1", "b")]
    tag_action(owner, "endpoint_service", svc.id, "delete", [ResourceTag(key="foo0")])
    got = owner.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=svc.id))
    assert pairs(got.tags) == [("foo1", "b")]

    ep = create_endpoint(owner, svc.id, tags=[TagList(key="team", value="x")])
    tag_action(owner, "endpoint", ep.id, "create", [ResourceTag(key="env", value="prod")])
    got = owner.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=ep.id))
    assert pairs(got.tags) == [("team", "x"), ("env", "prod")]


@pytest.mark.parametrize("tags,code", [
    ([ResourceTag(key="", value="v")], "EndPoint.3066"),
    ([ResourceTag(key="k")], "EndPoint.3066"),
    ([ResourceTag(key="k", value="1"), ResourceTag(key="k", value="2")], "EndPoint.3067"),
    ([ResourceTag(key="bad<key", value="1")], "EndPoint.3068"),
    ([ResourceTag(key=f"k{i}", value="v") for i in range(21)], "EndPoint.3069"),
    ([ResourceTag(key="k" * 129, value="v")], "EndPoint.3072"),
    ([ResourceTag(key="k", value="v" * 256)], "EndPoint.3073"),
])
def test_invalid_tag_actions_get_their_codes(owner, tags, code):
    svc = create_service(owner)
    with sdk_error(owner, 400, code):
        tag_action(owner, "endpoint_service", svc.id, "create", tags)


def test_another_tenants_resource_is_404_and_aggregates_are_per_project(owner, stranger):
    svc = create_service(owner, tags=[TagList(key="env", value="prod"), TagList(key="team", value="")])
    create_service(owner, tags=[TagList(key="env", value="dev")])
    create_service(stranger, tags=[TagList(key="secret", value="x")])
    with sdk_error(stranger, 404, "EndPoint.0005"):
        tag_action(stranger, "endpoint_service", svc.id, "delete", [ResourceTag(key="env")])
    got = owner.list_query_project_resource_tags(
        ListQueryProjectResourceTagsRequest(resource_type="endpoint_service"))
    assert got.status_code == 200
    assert [(t.key, t.values) for t in got.tags] == [("env", ["dev", "prod"]), ("team", [""])]
    got = owner.list_query_project_resource_tags(
        ListQueryProjectResourceTagsRequest(resource_type="endpoint"))
    assert got.tags == []


def test_resource_instances_filter_count_and_page(owner, stranger):
    web = create_service(owner, service_name="web", tags=[TagList(key="foo0", value="a")])
    db = create_service(owner, service_name="db", tags=[TagList(key="foo0", value="b")])
    create_service(owner, service_name="bare")
    create_service(stranger, tags=[TagList(key="foo0", value="a")])

    got = instances(owner, "endpoint_service", action="filter", limit="1000", offset="0",
                    tags=[TagValuesList(key="foo0", values=[])])
    assert got.total_count == 2
    assert {r.resource_id for r in got.resources} == {web.id, db.id}
    by_id = {r.resource_id: r for r in got.resources}
    assert by_id[web.id].resource_name == web.service_name
    assert pairs(by_id[web.id].tags) == [("foo0", "a")]

    got = instances(owner, "endpoint_service", action="filter",
                    tags_any=[TagValuesList(key="foo0", values=["a"])],
                    matches=[Match(key="resource_name", value="WEB")])
    assert [r.resource_id for r in got.resources] == [web.id]
    got = instances(owner, "endpoint_service", action="count", without_any_tag=True)
    assert got.total_count == 1 and not got.resources
    got = instances(owner, "endpoint_service", action="count",
                    not_tags_any=[TagValuesList(key="foo0", values=["a"])])
    assert got.total_count == 2
    got = instances(owner, "endpoint_service", action="filter", limit="1", offset="1")
    assert len(got.resources) == 1 and got.total_count == 3

    with sdk_error(owner, 400, "EndPoint.0006"):
        instances(owner, "endpoint_service", action="filter", limit="0")
    with sdk_error(owner, 400, "EndPoint.0002"):
        instances(owner, "endpoint_service", action="count", limit="10")
    with sdk_error(owner, 400, "EndPoint.0007"):
        instances(owner, "endpoint_service", action="list")
    with sdk_error(owner, 400, "EndPoint.3071"):
        instances(owner, "endpoint_service", action="filter",
                  tags=[TagValuesList(key="foo0", values=["a", "a"])])
