"""Which networks may call a façade without credentials, and as whom (DESIGN §10; pure).

Some seeds' real clients send nothing to authenticate with (coalition, isula). A façade may accept
such a call only from networks the operator lists for it, acting as a user the operator names; none
is listed by default. ``CONVEYOR_COMPAT_TRUST`` holds one entry per façade, separated by ``;``::

    coalition:127.0.0.1/32,::1/128@render-farm; isula:10.1.0.0/16@builds

``http.trusted_networks.trusted_principal`` applies it to a request.
"""

import ipaddress
from collections.abc import Collection

import msgspec

from conveyor_runtime import IPNetwork, parse_nets


class Trust(msgspec.Struct, frozen=True):
    """Who may call one façade without credentials, and as whom."""

    nets: tuple[IPNetwork, ...]
    user: str


def parse_trust(spec: str) -> dict[str, Trust]:
    """Parse ``CONVEYOR_COMPAT_TRUST`` (module docstring).

    Raises:
        ValueError: An entry that is not ``<façade>:<cidr>[,<cidr>…]@<user>``, or a façade named twice.
    """
    trust: dict[str, Trust] = {}
    for entry in (e.strip() for e in spec.split(";")):
        if not entry:
            continue
        facade, colon, rest = (s.strip() for s in entry.partition(":"))
        nets_text, at, user = (s.strip() for s in rest.rpartition("@"))
        if not (colon and at and facade and user and nets_text):
            raise ValueError(f"{entry!r} is not <façade>:<cidr>[,<cidr>…]@<user> (like coalition:127.0.0.1/32@farm)")
        if facade in trust:
            raise ValueError(f"façade {facade!r} is listed twice")
        try:
            nets = parse_nets(nets_text)
        except ValueError as exc:
            raise ValueError(f"{entry!r}: {exc}") from None
        trust[facade] = Trust(nets=nets, user=user)
    return trust


def peer_trusted(peer: str | None, nets: Collection[IPNetwork]) -> bool:
    """Whether the peer address ``peer`` is in one of ``nets`` (an IPv4-mapped IPv6 peer counts as IPv4)."""
    if not peer or not nets:
        return False
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in nets)
