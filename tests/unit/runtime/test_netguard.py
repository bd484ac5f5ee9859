"""Webhook target classification: only global unicast addresses unless a network is allowed."""

import pytest

from conveyor_runtime import TargetRefusedError, address_allowed, check_url_syntax, parse_nets, resolve_checked


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "not-an-address",
    ],
)
def test_private_loopback_link_local_and_odd_addresses_are_refused(address: str) -> None:
    assert not address_allowed(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(address)


def test_configured_networks_are_allowed_anyway() -> None:
    allow = parse_nets("127.0.0.0/8, 10.1.0.0/16")
    assert address_allowed("127.0.0.1", allow) and address_allowed("10.1.2.3", allow)
    assert not address_allowed("10.2.0.1", allow) and not address_allowed("::1", allow)
    assert parse_nets("") == ()


def test_url_syntax() -> None:
    assert check_url_syntax("https://example.com/x") == ("https", "example.com", 443)
    assert check_url_syntax("http://h:8080") == ("http", "h", 8080)
    for bad in ("ftp://h/", "http:///x", "http://user:pw@h/", "http://h:99999/"):
        with pytest.raises(TargetRefusedError):
            check_url_syntax(bad)


async def test_every_resolved_address_is_checked() -> None:
    with pytest.raises(TargetRefusedError, match="loopback"):
        await resolve_checked("localhost", 80)
    assert await resolve_checked("127.0.0.1", 80, parse_nets("127.0.0.0/8")) == ["127.0.0.1"]
