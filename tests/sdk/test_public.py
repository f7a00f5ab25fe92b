"""The public catalogue, gateway endpoints with route tables and policies, through the SDK:
ListServicePublicDetails, CreateEndpoint to a public service, UpdateEndpointRoutetable,
UpdateEndpointPolicy and DeleteEndpointPolicy."""

from __future__ import annotations

import json
import uuid

from huaweicloudsdkvpcep.v1 import (
    CreateEndpointRequest,
    CreateEndpointRequestBody,
    DeleteEndpointPolicyRequest,
    ListEndpointInfoDetailsRequest,
    ListServiceDescribeDetailsRequest,
    ListServicePublicDetailsRequest,
    PolicyStatement,
    UpdateEndpointPolicyRequest,
    UpdateEndpointPolicyRequestBody,
    UpdateEndpointRoutetableRequest,
    UpdateEndpointRoutetableRequestBody,
)

from harness import CONSUMER_VPC, assert_sdk_time, create_endpoint, run_vpcep, sdk_error

OBS = "local-1.com.myhuaweicloud.v4.obsv2"


def public(sdk, **query):
    got = sdk.list_service_public_details(ListServicePublicDetailsRequest(**query))
    assert got.status_code == 200
    return got


def obs_id(sdk) -> str:
    got = public(sdk, endpoint_service_name="obsv2")
    assert [s.service_name for s in got.endpoint_services] == [OBS]
    return got.endpoint_services[0].id


def statement(action="obs:*:*", effect="Allow"):
    return PolicyStatement(effect=effect, action=[action], resource=["obs:*:*:*:*/*"])


def test_the_catalogue_in_the_sdk_types(owner, stranger):
    got = public(owner, limit=10, offset=0)
    assert got.total_count == 2
    assert [(s.service_type, s.owner, s.is_charge) for s in got.endpoint_services] == [
        ("interface", "vpcep", False), ("gateway", "vpcep", False)]
    for s in got.endpoint_services:
        assert_sdk_time(s.created_at, "created_at", near_now=False)
    assert public(stranger).total_count == 2
    assert public(owner, offset=2).endpoint_services == []
    summary = owner.list_service_describe_details(ListServiceDescribeDetailsRequest(id=obs_id(owner)))
    assert (summary.service_name, summary.service_type, summary.enable_policy) == (OBS, "gateway", True)
    with sdk_error(owner, 400, "EndPoint.0006"):
        public(owner, limit=1001)


def test_a_gateway_endpoint_with_route_tables_and_a_policy(stranger):
    sid = obs_id(stranger)
    tables = [str(uuid.uuid4()), str(uuid.uuid4())]
    created = stranger.create_endpoint(CreateEndpointRequest(body=CreateEndpointRequestBody(
        endpoint_service_id=sid, vpc_id=CONSUMER_VPC, routetables=tables[:1],
        policy_statement=[statement()])))
    assert created.status_code == 200 and created.service_type == "gateway"
    got = stranger.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=created.id))
    assert (got.status, got.routetables, got.ip) == ("accepted", tables[:1], None)
    assert [(p.effect, p.action) for p in got.policy_statement] == [("Allow", ["obs:*:*"])]

    moved = stranger.update_endpoint_routetable(UpdateEndpointRoutetableRequest(
        vpc_endpoint_id=created.id, body=UpdateEndpointRoutetableRequestBody(routetables=tables)))
    assert moved.routetables == tables and not moved.error
    with sdk_error(stranger, 400, "EndPoint.1019"):
        stranger.update_endpoint_routetable(UpdateEndpointRoutetableRequest(
            vpc_endpoint_id=created.id, body=UpdateEndpointRoutetableRequestBody(routetables=["rtb"])))
    with sdk_error(stranger, 400, "EndPoint.2040"):
        stranger.update_endpoint_routetable(UpdateEndpointRoutetableRequest(
            vpc_endpoint_id=created.id, body=UpdateEndpointRoutetableRequestBody(routetables=[])))

    # A second endpoint in the VPC: a table the first holds is reported, the rest bound.
    second = stranger.create_endpoint(CreateEndpointRequest(body=CreateEndpointRequestBody(
        endpoint_service_id=sid, vpc_id=CONSUMER_VPC, routetables=[str(uuid.uuid4())])))
    fresh = str(uuid.uuid4())
    partial = stranger.update_endpoint_routetable(UpdateEndpointRoutetableRequest(
        vpc_endpoint_id=second.id, body=UpdateEndpointRoutetableRequestBody(routetables=[tables[0], fresh])))
    assert partial.routetables == [fresh]
    assert [f.id for f in partial.error[0].bind_failed] == [tables[0]]

    updated = stranger.update_endpoint_policy(UpdateEndpointPolicyRequest(
        vpc_endpoint_id=created.id, body=UpdateEndpointPolicyRequestBody(
            policy_statement=[statement("obs:object:GetObject", "Deny")])))
    assert updated.status_code == 200
    assert [(p.effect, p.action) for p in updated.policy_statement] == [("Deny", ["obs:object:GetObject"])]
    with sdk_error(stranger, 400, "EndPoint.2048"):
        stranger.update_endpoint_policy(UpdateEndpointPolicyRequest(
            vpc_endpoint_id=created.id, body=UpdateEndpointPolicyRequestBody(policy_document={"a": 1})))
    deleted = stranger.delete_endpoint_policy(DeleteEndpointPolicyRequest(vpc_endpoint_id=created.id))
    assert deleted.status_code == 200 and deleted.policy_statement == []
    with sdk_error(stranger, 400, "EndPoint.2049"):
        stranger.delete_endpoint_policy(DeleteEndpointPolicyRequest(vpc_endpoint_id=created.id))


def test_an_interface_endpoints_policy_document(server, owner, stranger):
    # The SDK's CreateEndpointServiceRequestBody has no enable_policy: an operator's public
    # interface service that takes policies.
    added = run_vpcep("public-services", "add", "--database", server.db_url,
                      "--name", "com.example.v1.api", "--enable-policy", "--port", "443:8443")
    assert added.returncode == 0, added.stderr
    sid = json.loads(added.stdout)["id"]
    ep = create_endpoint(owner, sid)
    doc = {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]}
    got = owner.update_endpoint_policy(UpdateEndpointPolicyRequest(
        vpc_endpoint_id=ep.id, body=UpdateEndpointPolicyRequestBody(policy_document=doc)))
    assert got.policy_document == doc
    with sdk_error(owner, 400, "EndPoint.2048"):
        owner.update_endpoint_policy(UpdateEndpointPolicyRequest(
            vpc_endpoint_id=ep.id, body=UpdateEndpointPolicyRequestBody(policy_statement=[statement()])))
    with sdk_error(owner, 400, "EndPoint.0002"):
        owner.update_endpoint_routetable(UpdateEndpointRoutetableRequest(
            vpc_endpoint_id=ep.id, body=UpdateEndpointRoutetableRequestBody(routetables=[str(uuid.uuid4())])))
    with sdk_error(stranger, 404, "EndPoint.0005"):
        stranger.delete_endpoint_policy(DeleteEndpointPolicyRequest(vpc_endpoint_id=ep.id))
