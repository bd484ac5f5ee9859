"""Outbound request targets: refuse private, loopback and link-local addresses (SSRF guard).

A webhook URL names a host; the host is resolved, every address it resolves to is checked, and
the request then goes to a checked address (never to a second, unchecked resolution), so a name
that resolves to a public address at check time and to ``127.0.0.1`` at send time gains nothing.
Networks listed in ``CONVEYOR_HOOK_ALLOW_NETS`` (comma separated CIDRs) are allowed anyway.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

__all__ = [
    "IPNetwork",
    "TargetRefusedError",
    "address_allowed",
    "check_url_syntax",
    "parse_nets",
    "resolve_checked",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefusedError(ValueError):
    """A URL whose host is not allowed: bad syntax, no address, or a non-public address."""


def parse_nets(spec: str) -> tuple[IPNetwork, ...]:
    """Parse a comma-separated list of CIDRs (``127.0.0.0/8,10.1.0.0/16``).

    Args:
        spec: The list; empty for none.

    Returns:
        The networks.

    Raises:
        ValueError: For an entry that is not a network.
    """
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def address_allowed(address: str, allow: Sequence[IPNetwork] = ()) -> bool:
    """Whether a request may go to ``address``: a global unicast address, or one in ``allow``.

    Args:
        address: An IPv4 or IPv6 address (an IPv4-mapped IPv6 address is judged as IPv4).
        allow: Networks allowed even though they are private (configuration).

    Returns:
        True when allowed.
    """
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allow):
        return True
    return ip.is_global and not (ip.is_multicast or ip.is_unspecified or ip.is_reserved)


def check_url_syntax(url: str) -> tuple[str, str, int]:
    """Split a webhook URL into ``(scheme, host, port)``.

    Raises:
        TargetRefusedError: Not an absolute http(s) URL with a host, or it carries credentials.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefusedError(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefusedError("the URL must be absolute http:// or https:// with a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefusedError("the URL must not carry credentials")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve_checked(host: str, port: int, allow: Sequence[IPNetwork] = ()) -> list[str]:
    """Resolve ``host`` and check every address it has.

    Args:
        host: A name or a literal address.
        port: The port (for the resolver).
        allow: Networks allowed even though private.

    Returns:
        The addresses, all allowed, in resolver order.

    Raises:
        TargetRefusedError: The name does not resolve, or any address is not allowed.
    """
    try:
        literal = str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        literal = ""
    if literal:  # a literal address needs no resolver round trip
        if not address_allowed(literal, allow):
            raise TargetRefusedError(f"{host!r} is a private, loopback or link-local address")
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefusedError(f"{host!r} does not resolve: {exc}") from None
    except UnicodeError:  # the resolver's IDNA encoding: an empty or over-long label
        raise TargetRefusedError(f"{host!r} is not a valid host name (IDNA)") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefusedError(f"{host!r} has no address")
    refused = [a for a in addresses if not address_allowed(a, allow)]
    if refused:
        raise TargetRefusedError(f"{host!r} resolves to a private, loopback or link-local address ({refused[0]})")
    return addresses
