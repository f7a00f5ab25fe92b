"""Fixtures of the official-SDK tests. Each test gets its own `vpcep serve` on a fresh database
(a start costs a few tens of milliseconds), so no test sees another's state."""

from __future__ import annotations

import os

import pytest

# Loopback only: a proxy from the environment must never see these requests (the SDK's
# `requests` session honours HTTP_PROXY for http:// URLs unless NO_PROXY covers the host).
for _key in ("NO_PROXY", "no_proxy"):
    _hosts = [h for h in os.environ.get(_key, "").split(",") if h]
    os.environ[_key] = ",".join(_hosts + ["127.0.0.1", "localhost"])

from harness import SHA256, Credential, Sdk, Server  # noqa: E402


@pytest.fixture
def serve_args() -> tuple[str, ...]:
    """Extra `vpcep serve` flags of the `server` fixture: none, unless a test parametrizes
    `serve_args` (e.g. `--transition-delay`)."""
    return ()


@pytest.fixture
def server(serve_args: tuple[str, ...]):
    srv = Server(serve_args)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def make_server():
    """A factory for servers started with extra `serve` flags."""
    started: list[Server] = []

    def make(*extra_args: str) -> Server:
        srv = Server(extra_args)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def algorithm() -> str:
    """The signing algorithm of the `owner`, `sibling` and `stranger` clients: the SDK's default,
    unless a test is marked `@both_algorithms` (harness.py), which runs it once with each."""
    return SHA256


@pytest.fixture
def owner(server: Server, algorithm: str) -> Sdk:
    """The service owner: the server's first credential."""
    return server.sdk(server.owner, algorithm=algorithm)


@pytest.fixture
def sibling_cred(server: Server) -> Credential:
    """Another project of the owner's account (same domain_id)."""
    return server.credential("sibling", domain_id=server.owner.domain_id)


@pytest.fixture
def sibling(server: Server, sibling_cred: Credential, algorithm: str) -> Sdk:
    return server.sdk(sibling_cred, algorithm=algorithm)


@pytest.fixture
def stranger_cred(server: Server) -> Credential:
    """A project of another account."""
    return server.credential("stranger")


@pytest.fixture
def stranger(server: Server, stranger_cred: Credential, algorithm: str) -> Sdk:
    return server.sdk(stranger_cred, algorithm=algorithm)
