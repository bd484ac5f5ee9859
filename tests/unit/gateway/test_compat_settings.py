"""The operator's façade settings: ports of their own and networks trusted without credentials (pure)."""

import ipaddress

import pytest

from conveyor_gateway.core.trust import Trust, parse_trust, peer_trusted
from conveyor_gateway.http.ports import parse_port_map


def test_port_map_names_each_facade_and_port_once() -> None:
    assert parse_port_map("") == {}
    assert parse_port_map(" coalition=19211 , task_tracker=8091 ") == {"coalition": 19211, "task_tracker": 8091}
    for bad in ("coalition", "coalition=", "coalition=0", "coalition=65536", "Coal=1", "a=1,a=2", "a=1,b=1"):
        with pytest.raises(ValueError):
            parse_port_map(bad)
    with pytest.raises(ValueError, match="there are: coalition"):
        parse_port_map("isula=1", frozenset({"coalition"}))


def test_trust_lists_networks_and_a_user_per_facade() -> None:
    trust = parse_trust("coalition:127.0.0.1/32,::1/128@render-farm; isula:10.1.0.0/16@builds")
    assert trust == {
        "coalition": Trust(
            nets=(ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")), user="render-farm"
        ),
        "isula": Trust(nets=(ipaddress.ip_network("10.1.0.0/16"),), user="builds"),
    }
    assert parse_trust(" ") == {}
    for bad in (
        "coalition",
        "coalition:127.0.0.1",
        "coalition:@u",
        "coalition:nonsense@u",
        "a:10.0.0.0/8@u;a:10.0.0.0/8@v",
    ):
        with pytest.raises(ValueError):
            parse_trust(bad)


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("127.0.0.1", True),
        ("::ffff:127.0.0.1", True),  # IPv4-mapped: judged as IPv4
        ("::1", True),
        ("127.0.0.2", False),
        ("10.0.0.1", False),
        ("", False),
        (None, False),
        ("not-an-address", False),
    ],
)
def test_a_peer_is_trusted_only_inside_a_listed_network(peer: str | None, trusted: bool) -> None:
    nets = parse_trust("c:127.0.0.1/32,::1/128@u")["c"].nets
    assert peer_trusted(peer, nets) is trusted
    assert peer_trusted(peer, ()) is False  # none listed: nobody
