"""The embedded nats-server's config file: users, the sync policy, the payload limit."""

import json

from conveyor_devstack import NatsUser, render_config


def test_nothing_to_configure_writes_nothing() -> None:
    assert render_config() == ""


def test_sync_policy_and_payload_limit() -> None:
    text = render_config(sync_interval="always", max_payload=8 << 20)
    assert text.splitlines() == [f"max_payload: {8 << 20}", 'jetstream { sync_interval: "always" }']


def test_users_carry_their_permissions() -> None:
    user = NatsUser(name="gw", password='p"w', publish=("a.>",), subscribe=("_INBOX.>",), deny_publish=("a.b",))
    text = render_config(users=[user])
    assert text.startswith("authorization ")
    block = json.loads(text.removeprefix("authorization "))  # NATS reads the JSON form too
    assert block == {
        "users": [
            {
                "user": "gw",
                "password": 'p"w',
                "permissions": {"publish": {"allow": ["a.>"], "deny": ["a.b"]}, "subscribe": {"allow": ["_INBOX.>"]}},
            }
        ]
    }
