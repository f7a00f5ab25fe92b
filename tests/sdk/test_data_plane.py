"""The data plane (`serve --data-plane`) driven by the official SDK: a service with `ip` and
`tcp_proxy`, an endpoint from another project, accept and reject through the SDK, and real TCP
through the `ip` the SDK reads, with the Proxy Protocol v2 header checked against the SDK's own
`marker_id` and endpoint id."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time

import pytest
from huaweicloudsdkvpcep.v1 import ListEndpointInfoDetailsRequest, PortList

from harness import create_endpoint, create_service
from test_connections import act

BLOCK_SECOND = random.randrange(16, 32)
BLOCK_THIRD = random.randrange(0, 256)
BLOCK = f"127.{BLOCK_SECOND}.{BLOCK_THIRD}.0/24"
pytestmark = pytest.mark.parametrize(
    "serve_args", [("--data-plane", "--data-plane-cidr", BLOCK)], ids=["data-plane"])


class Backend:
    """Accepts on 127.0.0.1, reads one Proxy Protocol v2 header per connection, then echoes."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.headers: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            fixed = _read_exactly(conn, 16)
            rest = _read_exactly(conn, struct.unpack(">H", fixed[14:16])[0])
            self.headers.append(fixed + rest)
            while data := conn.recv(4096):
                conn.sendall(data)


def _read_exactly(conn: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed before the header ended")
        out += chunk
    return out


def _tlvs(header: bytes) -> dict[int, bytes]:
    tlvs, at = {}, 28
    while at < len(header):
        kind, length = header[at], struct.unpack(">H", header[at + 1:at + 3])[0]
        tlvs[kind] = header[at + 3:at + 3 + length]
        at += 3 + length
    return tlvs


def _echo_within(address: tuple[str, int], seconds: float) -> socket.socket:
    deadline = time.monotonic() + seconds
    while True:
        try:
            s = socket.create_connection(address, timeout=1)
            s.sendall(b"ping")
            if s.recv(4) == b"ping":
                return s
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{address} did not forward within {seconds} s"
        time.sleep(0.02)


def test_the_sdk_flow_carries_tcp_with_the_marker_id_until_the_owner_rejects(owner, sibling):
    backend = Backend()
    client_port = random.randrange(20000, 50000)
    svc = create_service(owner, ip="127.0.0.1", tcp_proxy="proxy_open", approval_enabled=True,
                         ports=[PortList(client_port=client_port, server_port=backend.port,
                                         protocol="TCP")])
    ep = create_endpoint(sibling, svc.id)
    assert ep.status == "pendingAcceptance"
    act(owner, svc.id, "receive", ep.id)
    detail = sibling.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=ep.id))
    assert detail.status == "accepted" and detail.ip.startswith(f"127.{BLOCK_SECOND}.{BLOCK_THIRD}.")
    conn = _echo_within((detail.ip, client_port), 1.5)
    header = backend.headers[-1]
    assert header[:12] == b"\r\n\r\n\x00\r\nQUIT\n" and header[12:14] == b"\x21\x11"
    assert socket.inet_ntoa(header[20:24]) == detail.ip
    assert struct.unpack(">H", header[26:28])[0] == client_port
    tlvs = _tlvs(header)
    assert tlvs[0xE1] == str(detail.marker_id).encode()
    assert tlvs[0xE2] == ep.id.encode()

    act(owner, svc.id, "reject", ep.id)
    conn.settimeout(1.0)
    try:
        closed = conn.recv(1) == b""
    except (ConnectionResetError, TimeoutError, socket.timeout) as e:
        closed = not isinstance(e, (TimeoutError, socket.timeout))
    assert closed, "the open connection outlived the reject by a second"
