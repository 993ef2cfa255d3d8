"""Fail loudly if a test dials anything but loopback.

The SDKs turn connection failures into retryable errors, so an exception alone could be
swallowed by the retry loop; the guard also records every violation, and the fixture
asserts at teardown that there were none.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class NetworkGuard:
    def __init__(self) -> None:
        self.violations: list[str] = []

    def check(self, host: object) -> None:
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and host not in LOOPBACK:
            self.violations.append(host)
            raise AssertionError(f"test tried to reach {host!r}; only 127.0.0.1 is allowed")


@pytest.fixture
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple):
            guard.check(address[0])
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if isinstance(address, tuple):
            guard.check(address[0])
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        guard.check(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    # A proxy from the host environment would route loopback traffic elsewhere.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    yield guard
    assert not guard.violations, f"tests dialled non-loopback hosts: {guard.violations}"
