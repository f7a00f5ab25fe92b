"""The SDK without a project id: `with_region` makes `build()` look the project up on its IAM
endpoint (`GET /v3/projects?name=<region>`, docs/signing.md §10), and global credentials without a
domain id look the account up (`GET /v3/auth/domains`). Pointed at vpcep, both are answered from
the calling credential, so a user needs only the access key, the secret key and one address."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import SdkException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkvpcep.v1 import (
    AcceptOrRejectEndpointRequest,
    AcceptOrRejectEndpointRequestBody,
    ConnectionsDesc,
    ListEndpointServiceRequest,
    UpdateEndpointConnectionsDescRequest,
    UpdateEndpointConnectionsDescRequestBody,
    VpcepClient,
)

from harness import ALGORITHMS, SHA256, Sdk, Wire, both_algorithms, connection, create_endpoint, create_service

IAM_ENV = "HUAWEICLOUD_SDK_IAM_ENDPOINT"


def regional_client(server, credential, *, region="local-1", algorithm=SHA256, iam_endpoint=None) -> Sdk:
    """A VpcepClient built as a user without a project id builds it: BasicCredentials(ak, sk),
    `with_region`. The IAM endpoint comes from the environment unless `iam_endpoint` is given."""
    config = HttpConfig.get_default_config()
    config.signing_algorithm = ALGORITHMS[algorithm]
    config.timeout = (5, 30)
    credentials = BasicCredentials(credential.access_key, credential.secret_key)
    if iam_endpoint:
        credentials = credentials.with_iam_endpoint(iam_endpoint)
    wire = Wire()
    client = (
        VpcepClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_region(Region(region, server.base_url))
        .with_http_handler(wire.handler())
        .build()
    )
    return Sdk(client, wire, credential, credentials.project_id, algorithm)


@pytest.fixture
def iam_env(server, monkeypatch):
    monkeypatch.setenv(IAM_ENV, server.base_url)


@both_algorithms
def test_with_region_and_no_project_id_finds_the_project_and_works(server, iam_env, algorithm):
    sibling = server.credential("sibling", domain_id=server.owner.domain_id)
    owner = regional_client(server, server.owner, algorithm=algorithm)
    consumer = regional_client(server, sibling, algorithm=algorithm)
    assert owner.project_id == server.owner.project_id
    assert consumer.project_id == sibling.project_id

    # The lookup build() made: signed, on the IAM endpoint, by the region's name.
    lookup = owner.wire.exchanges[0]
    url = urlsplit(lookup.url)
    assert url.path == "/v3/projects"
    assert parse_qs(url.query) == {"name": ["local-1"]}
    assert lookup.status == 200
    assert lookup.authorization.startswith(algorithm + " ")

    svc = create_service(owner, approval_enabled=True)
    ep = create_endpoint(consumer, svc.id)
    owner.accept_or_reject_endpoint(AcceptOrRejectEndpointRequest(
        vpc_endpoint_service_id=svc.id,
        body=AcceptOrRejectEndpointRequestBody(action="receive", endpoints=[ep.id])))
    owner.update_endpoint_connections_desc(UpdateEndpointConnectionsDescRequest(
        vpc_endpoint_service_id=svc.id,
        body=UpdateEndpointConnectionsDescRequestBody(
            connections=[ConnectionsDesc(id=ep.id, description="found by region")])))
    c = connection(owner, svc.id, ep.id)
    assert (c.status, c.description) == ("accepted", "found by region")
    assert owner.list_endpoint_service(ListEndpointServiceRequest()).total_count == 1


def test_the_iam_endpoint_may_be_set_on_the_credentials_instead(server, monkeypatch):
    monkeypatch.delenv(IAM_ENV, raising=False)
    sdk = regional_client(server, server.owner, iam_endpoint=server.base_url)
    assert sdk.project_id == server.owner.project_id
    assert sdk.list_endpoint_service(ListEndpointServiceRequest()).total_count == 0


def test_the_project_is_named_after_the_servers_region(make_server, monkeypatch):
    server = make_server("--region", "eu-test-7")
    monkeypatch.setenv(IAM_ENV, server.base_url)
    assert regional_client(server, server.owner, region="eu-test-7").project_id == server.owner.project_id
    # Another region has no project of this credential: the SDK's own error, from build().
    with pytest.raises(SdkException) as caught:
        regional_client(server, server.owner, region="local-1")
    assert "Failed to get project id of region 'local-1'" in str(caught.value)


def test_a_bad_secret_key_fails_the_lookup_with_401(server, iam_env):
    forged = dataclasses.replace(server.owner, secret_key="wrong")
    with pytest.raises(SdkException) as caught:
        regional_client(server, forged)
    assert "EndPoint.0003" in str(caught.value), caught.value


@both_algorithms
def test_global_credentials_without_a_domain_id_find_the_account(server, algorithm):
    # The lookup of GlobalCredentials (the SDKs' global services), run through a real client's
    # HTTP pipeline.
    sdk = regional_client(server, server.owner, algorithm=algorithm, iam_endpoint=server.base_url)
    credentials = GlobalCredentials(server.owner.access_key, server.owner.secret_key)
    credentials = credentials.with_iam_endpoint(server.base_url)
    credentials.process_auth_params(sdk.client.get_http_client(), "local-1")
    assert credentials.domain_id == server.owner.domain_id
    lookup = sdk.wire.last
    assert urlsplit(lookup.url).path == "/v3/auth/domains"
    assert lookup.status == 200
    assert lookup.authorization.startswith(algorithm + " ")
