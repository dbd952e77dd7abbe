"""The key and the `Host` check as functions (over HTTP: test_serve_openai and test_wire_formats)."""

from __future__ import annotations

import pytest

from app.api import LOOPBACK_NAMES, allowed_hosts_for, is_loopback, new_api_key
from app.api.security import host_name, key_matches


def test_keys_are_random_and_long() -> None:
    keys = {new_api_key() for _ in range(50)}
    assert len(keys) == 50 and all(key.startswith("ossian-") and len(key) == 39 for key in keys)


@pytest.mark.parametrize(("given", "ok"), [("k3y-secret", True), ("k3y-secreT", False), ("", False),
                                          (None, False), ("k3y-secret ", False), ("ключ", False)])
def test_key_matches(given: str | None, ok: bool) -> None:
    assert key_matches(given, "k3y-secret") is ok


@pytest.mark.parametrize(("header", "name"), [
    ("localhost:8421", "localhost"), ("LocalHost.", "localhost"), ("[::1]:8421", "::1"), ("[::1]", "::1"),
    ("127.0.0.1", "127.0.0.1"), ("evil.example:80", "evil.example"), ("", ""),
])
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name


def test_allowed_hosts() -> None:
    assert allowed_hosts_for("127.0.0.1") == LOOPBACK_NAMES
    assert allowed_hosts_for("192.168.1.5", ["box.lan:8421"]) == LOOPBACK_NAMES | {"192.168.1.5", "box.lan"}
    assert allowed_hosts_for("0.0.0.0") is None and allowed_hosts_for("::") is None


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True),
                                                ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                                ("192.168.1.5", False), ("example.com", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
