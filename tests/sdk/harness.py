"""The harness of the official-SDK tests: real `vpcep serve` processes on fresh databases, and
`VpcepClient`s of the Huawei Cloud Python SDK pointed at them.

Each server gets a SQLite file of its own, or, with `VPCEP_SDK_BACKEND=postgres`, a uniquely named
PostgreSQL database on `VPCEP_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`),
created (with `psql`) before the server starts and dropped after it stops, as the Rust harness's
`TestDb` does.

The server is driven only through its documented interface (docs/api.md §4): `vpcep credentials
create|delete`, `vpcep serve --listen 127.0.0.1:0`, the listening line on stdout, SIGTERM. Clients
talk only to 127.0.0.1 and always carry a project id, so the SDK never asks IAM for one.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import (
    ClientRequestException,
    ServerResponseException,
    ServiceResponseException,
)
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.http.http_handler import HttpHandler
from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
from huaweicloudsdkvpcep.v1 import (
    CreateEndpointRequest,
    CreateEndpointRequestBody,
    CreateEndpointServiceRequest,
    CreateEndpointServiceRequestBody,
    ListServiceConnectionsRequest,
    PortList,
    VpcepClient,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# A cold start runs the migrations on a new file; a debug build on a busy machine can be slow.
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 20.0
LISTENING_PREFIX = "vpcep listening on http://"

# Signing algorithms, by the name they carry in the Authorization header.
SHA256 = "SDK-HMAC-SHA256"
SM3 = "SDK-HMAC-SM3"
ALGORITHMS = {SHA256: SigningAlgorithm.HMAC_SHA256, SM3: SigningAlgorithm.HMAC_SM3}
# Runs a test once per algorithm: overrides the `algorithm` fixture of conftest.py, which the
# `owner`, `sibling` and `stranger` clients are built with.
both_algorithms = pytest.mark.parametrize("algorithm", [SHA256, SM3])

# The table text every error message starts with (the VPCEP API reference's error code table,
# docs/api.md §2).
ERROR_TEXT = {
    "EndPoint.0001": "System error. Please retry.",
    "EndPoint.0002": "Parameter error.",
    "EndPoint.0003": "Authentication failed or authentication information is invalid.",
    "EndPoint.0004": "Authentication information is incorrect or you have no permissions.",
    "EndPoint.0005": "The requested resource does not exist.",
    "EndPoint.0006": "Invalid limit.",
    "EndPoint.0007": "Invalid action.",
    "EndPoint.0010": "Invalid offset.",
    "EndPoint.0016": "The number of batch operated resources exceeded the limit.",
    "EndPoint.0017": "Invalid sort_key.",
    "EndPoint.0018": "Invalid sort_dir.",
    "EndPoint.0019": "Invalid status.",
    "EndPoint.0021": "Invalid marker_id.",
    "EndPoint.1018": "Quota exceeded.",
    "EndPoint.2003": "The endpoint service does not exist.",
    "EndPoint.2012": "You have no permission to connect to the VPC endpoint service.",
    "EndPoint.2013": "The endpoint does not belong to the endpoint service.",
    "EndPoint.2017": "Invalid endpoint ID.",
    "EndPoint.2031": "Only one endpoint is allowed.",
    "EndPoint.2044": "Invalid whitelist.",
    "EndPoint.2045": "The maximum number of whitelist records has been reached.",
    "EndPoint.3002": "Invalid permission.",
    "EndPoint.3006": "The endpoint service is being used.",
    "EndPoint.3036": "Invalid permissions.",
    "EndPoint.3062": "Invalid endpoint service ID.",
    "EndPoint.2010": "The input parameter subnet ID is empty.",
    "EndPoint.3021": "Invalid serverType.",
    "EndPoint.3066": "The tag cannot be empty.",
    "EndPoint.3067": "The tag key cannot be duplicated.",
    "EndPoint.3068": "Tag keys and values should meet relevant requirements.",
    "EndPoint.3069": "The maximum number of tags has been reached.",
    "EndPoint.3071": "The tag value cannot be duplicated.",
    "EndPoint.3072": "The tag key size is invalid.",
    "EndPoint.3073": "The tag value size is invalid.",
    "EndPoint.1019": "Invalid route table ID.",
    "EndPoint.2039": "The route table is being used by another VPC endpoint.",
    "EndPoint.2040": "The VPC endpoint has no route table bound.",
    "EndPoint.2048": "The VPC endpoint policy is invalid.",
    "EndPoint.2049": "The VPC endpoint has no policy associated.",
    "EndPoint.3076": "Invalid service name.",
}

UTC_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# Fixed, well-formed ids for the fields vpcep checks only for their format.
PORT_ID = "4189d3c2-8882-4871-a3c2-d380272eed88"
SERVICE_VPC = "0d3bca9b-2a3c-4ad5-8f53-2a1f1c3c1e11"
CONSUMER_VPC = "5189d3c2-8882-4871-a3c2-d380272eed88"
CONSUMER_SUBNET = "6189d3c2-8882-4871-a3c2-d380272eed88"
UNKNOWN_ID = "0b7c4a52-1f0e-4c8e-9a55-3f3d2f4c9e01"


def vpcep_bin() -> Path:
    """`VPCEP_BIN`, default `target/debug/vpcep`; relative paths are taken from the repo root."""
    path = Path(os.environ.get("VPCEP_BIN") or "target/debug/vpcep")
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def _clean_env() -> dict[str, str]:
    """The environment for vpcep processes, without the developer's `VPCEP_*` settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VPCEP_")}


def run_vpcep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(vpcep_bin()), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=60,
    )


# -------------------------------------------------------------------------------------------------
# Credentials
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    name: str
    domain_id: str
    project_id: str
    access_key: str
    secret_key: str
    token: str

    @staticmethod
    def from_json(text: str) -> "Credential":
        value = json.loads(text)
        assert isinstance(value, dict), f"a credential is a JSON object: {text!r}"
        keys = ("name", "domain_id", "project_id", "access_key", "secret_key", "token")
        missing = [k for k in keys if not isinstance(value.get(k), str)]
        assert not missing, f"credential JSON lacks the strings {missing}: {text!r}"
        return Credential(**{k: value[k] for k in keys})


# -------------------------------------------------------------------------------------------------
# Clients: a VpcepClient plus a record of what went over the wire
# -------------------------------------------------------------------------------------------------


@dataclass
class Exchange:
    method: str
    url: str
    authorization: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def request_id(self) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == "x-request-id":
                return value
        return None


class Wire:
    """Records each request (its Authorization header) and its response (status, headers), via
    the SDK's own `HttpHandler` hooks, so that tests can see what the parsed objects hide:
    the signing algorithm actually used and the `X-Request-Id` of successes."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def handler(self, request_hooks: Iterable[Callable[..., None]] = ()) -> HttpHandler:
        handler = HttpHandler().add_request_handler(self._on_request)
        for hook in request_hooks:  # after the recording: they see (and may change) the signed request
            handler.add_request_handler(hook)
        return handler.add_response_handler(self._on_response)

    def _on_request(self, **kwargs: Any) -> None:
        request = kwargs["request"]
        headers = request.header_params or {}
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        with self._lock:
            self.exchanges.append(Exchange(request.method, request.url, auth))

    def _on_response(self, **kwargs: Any) -> None:
        response = kwargs["response"]
        with self._lock:
            exchange = self.exchanges[-1]
            exchange.status = response.status_code
            exchange.headers = dict(response.headers)

    @property
    def last(self) -> Exchange:
        assert self.exchanges, "no request was sent"
        return self.exchanges[-1]


@dataclass
class Sdk:
    """One SDK client, as one caller (credential, project, algorithm)."""

    client: VpcepClient
    wire: Wire
    credential: Credential
    project_id: str
    algorithm: str

    def __getattr__(self, name: str) -> Any:
        # sdk.create_endpoint(...) is VpcepClient.create_endpoint(...)
        return getattr(self.client, name)

    def last_request_id(self) -> str:
        exchange = self.wire.last
        rid = exchange.request_id
        assert rid, f"{exchange.method} {exchange.url} answered {exchange.status} without X-Request-Id"
        assert exchange.authorization.startswith(self.algorithm + " "), (
            f"the SDK signed with {exchange.authorization.split(' ')[0]!r}, not {self.algorithm}"
        )
        return rid


def build_client(
    base_url: str,
    credential: Credential,
    *,
    algorithm: str = SHA256,
    project_id: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    request_hooks: Iterable[Callable[..., None]] = (),
) -> Sdk:
    """A VpcepClient exactly as docs/signing.md §10 builds one: plain-HTTP endpoint with its
    scheme, BasicCredentials with an explicit project id, no region (so no IAM call)."""
    config = HttpConfig.get_default_config()
    config.signing_algorithm = ALGORITHMS[algorithm]
    config.timeout = (5, 30)
    project = project_id or credential.project_id
    wire = Wire()
    client = (
        VpcepClient.new_builder()
        .with_http_config(config)
        .with_credentials(
            BasicCredentials(
                access_key or credential.access_key,
                secret_key or credential.secret_key,
                project,
            )
        )
        .with_endpoints([base_url])
        .with_http_handler(wire.handler(request_hooks))
        .build()
    )
    return Sdk(client, wire, credential, project, algorithm)


# -------------------------------------------------------------------------------------------------
# The database of a server
# -------------------------------------------------------------------------------------------------

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
BACKENDS = ("sqlite", "postgres")


def sdk_backend() -> str:
    """`VPCEP_SDK_BACKEND`: `sqlite` (the default) or `postgres`."""
    backend = os.environ.get("VPCEP_SDK_BACKEND") or "sqlite"
    if backend not in BACKENDS:
        pytest.fail(f"VPCEP_SDK_BACKEND={backend!r}: expected one of {BACKENDS}", pytrace=False)
    return backend


def postgres_base() -> str:
    """The PostgreSQL server of the suite, without a database name."""
    return (os.environ.get("VPCEP_TEST_POSTGRES") or DEFAULT_POSTGRES).rstrip("/")


def postgres_admin(sql: str) -> None:
    """Runs administrative SQL on the PostgreSQL server's `postgres` database with `psql`."""
    url = f"{postgres_base()}/postgres"
    try:
        out = subprocess.run(
            ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
            timeout=60,
        )
    except FileNotFoundError:
        pytest.fail("VPCEP_SDK_BACKEND=postgres needs `psql` on the PATH", pytrace=False)
    if out.returncode != 0:
        pytest.fail(
            f"psql on {url} failed for {sql!r}: {out.stderr.strip()}; the PostgreSQL run needs "
            f"the server of VPCEP_TEST_POSTGRES (default {DEFAULT_POSTGRES})",
            pytrace=False,
        )


class Database:
    """A server's database: a SQLite file in `folder`, or a PostgreSQL database of its own that
    `drop` removes (only ever the one this object created)."""

    def __init__(self, folder: Path) -> None:
        self.postgres_name: str | None = None
        if sdk_backend() == "postgres":
            name = f"vpcep_sdk_{uuid.uuid4().hex}"
            postgres_admin(f"CREATE DATABASE {name}")
            self.postgres_name = name
            self.url = f"{postgres_base()}/{name}"
        else:
            self.url = f"sqlite://{folder / 'vpcep.db'}"

    def drop(self) -> None:
        name, self.postgres_name = self.postgres_name, None
        if name is not None:
            postgres_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -------------------------------------------------------------------------------------------------
# The server process
# -------------------------------------------------------------------------------------------------


class Server:
    """One `vpcep serve` on a fresh database (`Database`: a SQLite file in a temp folder, or a
    PostgreSQL database of its own), on a port the OS picks, with an `owner` credential created
    before the start."""

    def __init__(self, extra_args: Iterable[str] = ()) -> None:
        binary = vpcep_bin()
        if not binary.is_file():
            pytest.fail(
                f"vpcep binary not found at {binary}: run `cargo build` or set VPCEP_BIN",
                pytrace=False,
            )
        self._dir = tempfile.TemporaryDirectory(prefix="vpcep-sdk-")
        self._clients: list[Sdk] = []
        self._stderr = open(Path(self._dir.name) / "serve.stderr", "wb")
        self.process: subprocess.Popen | None = None
        self.db: Database | None = None
        try:
            self.db = Database(Path(self._dir.name))
            self.db_url = self.db.url
            self.owner = self.credential("owner")
            self._lines: queue.Queue[str | None] = queue.Queue()
            self.process = subprocess.Popen(
                [
                    str(binary),
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--database",
                    self.db_url,
                    *extra_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=_clean_env(),
                text=True,
            )
            threading.Thread(target=self._drain, daemon=True).start()
            self.base_url = self._await_listening()
        except BaseException:
            self.stop(check=False)
            raise

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _await_listening(self) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        seen = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:  # __init__ stops the process and drops the database
                pytest.fail(f"vpcep serve did not print its address within {STARTUP_TIMEOUT}s: {seen}")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                code = self.process.wait()
                stderr = self.stderr()
                pytest.fail(f"vpcep serve exited ({code}) before listening: {seen}\n{stderr}",
                            pytrace=False)
            seen.append(line)
            if line.startswith(LISTENING_PREFIX):
                address = line[len(LISTENING_PREFIX):].strip()
                assert re.fullmatch(r"127\.0\.0\.1:\d+", address), line
                return "http://" + address

    def stderr(self) -> str:
        self._stderr.flush()
        return (Path(self._dir.name) / "serve.stderr").read_text(errors="replace")[-4000:]

    def credential(self, name: str, *, domain_id: str | None = None,
                   project_id: str | None = None) -> Credential:
        args = ["credentials", "create", "--database", self.db_url, "--name", name]
        if domain_id:
            args += ["--domain-id", domain_id]
        if project_id:
            args += ["--project-id", project_id]
        out = run_vpcep(*args)
        assert out.returncode == 0, f"vpcep {' '.join(args)} failed: {out.stderr}"
        return Credential.from_json(out.stdout)

    def delete_credential(self, credential: Credential) -> None:
        out = run_vpcep("credentials", "delete", "--database", self.db_url,
                        "--access-key", credential.access_key)
        assert out.returncode == 0, f"credentials delete failed: {out.stderr}"

    def sdk(self, credential: Credential, **kwargs: Any) -> Sdk:
        sdk = build_client(self.base_url, credential, **kwargs)
        self._clients.append(sdk)
        return sdk

    def terminate(self) -> int | None:
        """SIGTERM, then the exit status (None when it had to be killed after SHUTDOWN_TIMEOUT)."""
        if self.process is None:
            return None
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def stop(self, check: bool = True) -> None:
        """Stops the server (SIGTERM; with `check`, it must still be running and exit 0), then
        removes its database and temp folder. Safe to call more than once."""
        for sdk in self._clients:
            sdk.client.close()  # the pooled keep-alive connections
        try:
            died = self.process.poll() if self.process is not None else None
            if died is not None and check:
                pytest.fail(f"vpcep serve ended during the test with exit status {died} "
                            f"(negative: killed by that signal); its stderr ends with:\n"
                            f"{self.stderr()}", pytrace=False)
            code = self.terminate()
            if check and code != 0:
                pytest.fail(f"vpcep serve did not exit 0 on SIGTERM: {code}; its stderr ends with:\n"
                            f"{self.stderr()}", pytrace=False)
        finally:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()  # terminate() was interrupted
                self.process.wait()
            self._stderr.close()
            try:
                if self.db is not None:
                    self.db.drop()
            finally:
                self._dir.cleanup()


# -------------------------------------------------------------------------------------------------
# Assertions
# -------------------------------------------------------------------------------------------------


@dataclass
class Caught:
    exc: ServiceResponseException | None = None


@contextmanager
def sdk_error(sdk: Sdk, status: int, code: str, contains: str | None = None):
    """Expects the SDK call in the block to raise the exception the SDK makes of `status`
    (ClientRequestException below 500, ServerResponseException from 500), with `error_code`
    `code`, an `error_msg` that starts with the code's table text, and the response's
    `X-Request-Id` as `request_id`."""
    __tracebackhide__ = True
    caught = Caught()
    sent_before = len(sdk.wire.exchanges)
    try:
        yield caught
    except ServiceResponseException as raised:
        exc = raised
    else:
        got = sdk.wire.exchanges[sent_before:]
        what = "; ".join(f"{x.method} {x.url} -> {x.status}" for x in got) or "no request"
        pytest.fail(f"expected {status} {code}, but the call succeeded: {what}", pytrace=False)
    caught.exc = exc
    want_cls = ClientRequestException if status < 500 else ServerResponseException
    assert (exc.status_code, exc.error_code) == (status, code), (
        f"expected {status} {code}, got {exc.status_code} {exc.error_code}: {exc.error_msg}")
    assert type(exc) is want_cls, f"{type(exc).__name__} for {status}: {exc}"
    text = ERROR_TEXT[code]
    assert isinstance(exc.error_msg, str), f"error_msg is not a string: {exc}"
    assert exc.error_msg.startswith(text), f"error_msg does not start with {text!r}: {exc}"
    if contains is not None:
        assert contains in exc.error_msg, f"error_msg lacks {contains!r}: {exc}"
    rid = sdk.last_request_id()
    assert sdk.wire.last.status == status
    assert exc.request_id == rid, f"request_id {exc.request_id!r} is not X-Request-Id {rid!r}"


try:  # The SDK parses `datetime` fields with dateutil when it is installed (it is optional).
    import dateutil.parser  # noqa: F401

    SDK_PARSES_DATETIMES = True
except ImportError:
    SDK_PARSES_DATETIMES = False


def assert_sdk_time(value: Any, what: str, *, near_now: bool = True) -> datetime:
    """A `datetime` field as the SDK hands it over.

    With python-dateutil installed, the SDK parses `string if string.endswith("Z") else string +
    "Z"` and keeps the raw string (warning TypeConversionWarning, an error here) when that fails:
    so the value must be a timezone-aware UTC datetime with whole seconds. Without dateutil the
    SDK returns every datetime as its raw string: then the value must be exactly
    `YYYY-MM-DDTHH:MM:SSZ`, the only form that the dateutil path turns into the same UTC instant.
    Returns the instant as an aware datetime either way."""
    if SDK_PARSES_DATETIMES:
        assert isinstance(value, datetime), f"{what} is not parsed to a datetime: {value!r}"
        assert value.utcoffset() == timedelta(0), f"{what} is not UTC: {value!r}"
        assert value.microsecond == 0, f"{what} has fractional seconds: {value!r}"
        instant = value
    else:
        assert isinstance(value, str) and UTC_SECONDS.match(value), (
            f"{what} is not YYYY-MM-DDTHH:MM:SSZ: {value!r}")
        instant = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    if near_now:
        now = datetime.now(timezone.utc)
        assert abs(now - instant) < timedelta(minutes=5), f"{what} is not now: {value!r}"
    return instant


def assert_wire_times(raw: Any, keys: Iterable[str], what: str) -> None:
    """The raw JSON strings behind datetime fields are `YYYY-MM-DDTHH:MM:SSZ`."""
    for key in keys:
        assert isinstance(raw.get(key), str) and UTC_SECONDS.match(raw[key]), (
            f"{what}.{key} on the wire is {raw.get(key)!r}"
        )


def assert_marker_id(value: Any, raw: Any, what: str) -> int:
    """`marker_id`: an int after parsing, and a JSON integer (not a string) on the wire."""
    assert type(value) is int and value > 0, f"{what}.marker_id is {value!r}"
    assert type(raw) is int and raw == value, f"{what}.marker_id on the wire is {raw!r}"
    return value


def assert_uuid(value: Any, what: str) -> str:
    assert isinstance(value, str) and UUID_RE.match(value), f"{what} is not a lowercase UUID: {value!r}"
    return value


# -------------------------------------------------------------------------------------------------
# Polling, the way Terraform's StateChangeConf does it
# -------------------------------------------------------------------------------------------------

POLL_TIMEOUT = 5.0
POLL_INTERVAL = 0.05


def wait_for_state(what: str, refresh: Callable[[], str], pending: Iterable[str],
                   target: Iterable[str], timeout: float = POLL_TIMEOUT) -> str:
    """Calls `refresh` until it returns a target state; a state that is neither pending nor a
    target fails at once (as StateChangeConf does), and so does running out of time."""
    pending, target = set(pending), set(target)
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        state = refresh()
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in target:
            return state
        if state not in pending:
            pytest.fail(f"{what}: unexpected state {state!r} (pending {sorted(pending)}, "
                        f"target {sorted(target)}); states seen: {seen}", pytrace=False)
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: still {state!r} after {timeout}s, wanted {sorted(target)}; "
                        f"states seen: {seen}", pytrace=False)
        time.sleep(POLL_INTERVAL)


def sleep_past_second() -> None:
    """Sleeps into the next whole second of the clock (the server's, on this machine), so that
    what follows gets a later timestamp than what came before."""
    time.sleep(1.02 - (time.time() % 1.0))


def status_or_deleted(fetch: Callable[[], Any]) -> Callable[[], str]:
    """A refresh function: the resource's `status`, or "deleted" when the GET answers 404."""

    def refresh() -> str:
        try:
            return fetch().status
        except ClientRequestException as exc:
            if exc.status_code == 404:
                return "deleted"
            raise

    return refresh


# -------------------------------------------------------------------------------------------------
# Resource helpers
# -------------------------------------------------------------------------------------------------


def service_body(**overrides: Any) -> CreateEndpointServiceRequestBody:
    """A VM service; each gets its own backend port_id (services sharing one port_id may not
    share a server port, EndPoint.3044)."""
    fields: dict[str, Any] = dict(
        port_id=str(uuid.uuid4()),
        vpc_id=SERVICE_VPC,
        server_type="VM",
        ports=[PortList(client_port=80, server_port=8080, protocol="TCP")],
    )
    fields.update(overrides)
    return CreateEndpointServiceRequestBody(**fields)


def create_service(sdk: Sdk, **overrides: Any):
    return sdk.create_endpoint_service(CreateEndpointServiceRequest(body=service_body(**overrides)))


def endpoint_body(service_id: str, **overrides: Any) -> CreateEndpointRequestBody:
    fields: dict[str, Any] = dict(
        endpoint_service_id=service_id, vpc_id=CONSUMER_VPC, subnet_id=CONSUMER_SUBNET
    )
    fields.update(overrides)
    return CreateEndpointRequestBody(**fields)


def create_endpoint(sdk: Sdk, service_id: str, **overrides: Any):
    return sdk.create_endpoint(CreateEndpointRequest(body=endpoint_body(service_id, **overrides)))


def connection(sdk: Sdk, service_id: str, endpoint_id: str):
    """The connection of one endpoint, read the Terraform way: `?limit=1000&id=<endpoint>`,
    first item."""
    resp = sdk.list_service_connections(
        ListServiceConnectionsRequest(vpc_endpoint_service_id=service_id, id=endpoint_id, limit=1000)
    )
    assert resp.connections, f"no connection {endpoint_id} on service {service_id}"
    assert len(resp.connections) == 1 and resp.total_count == 1, resp
    return resp.connections[0]
