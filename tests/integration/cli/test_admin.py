"""``conveyor admin create-token`` appends an admin token (its hash only) and prints the token once."""

import asyncio

import pytest

from conveyor_cli.admin import bootstrap_token
from conveyor_cli.main import main
from conveyor_events import EVENTS_STREAM, Event, UserCreated, UserTokenIssued, decode_event
from conveyor_identity import BOOTSTRAP_ADMIN_ID, SCOPES, hash_token
from conveyor_runtime import connect_nats

pytestmark = pytest.mark.integration


async def _user_events(nats_url: str) -> list[Event]:
    nc = await connect_nats(nats_url, name="test", timeout_s=5)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
        events = []
        for seq in range(1, last + 1):
            msg = await js.get_msg(EVENTS_STREAM, seq)
            assert msg.subject is not None  # a stored message always has its subject
            events.append(decode_event(msg.subject, msg.data or b""))
        return events
    finally:
        await nc.drain()


def test_create_token_prints_a_token_whose_hash_alone_is_stored(
    nats_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "create-token", "--nats-url", nats_url, "--name", "ops"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("cvy_")
    events = asyncio.run(_user_events(nats_url))
    created = [e for e in events if isinstance(e, UserCreated)]
    issued = [e for e in events if isinstance(e, UserTokenIssued)]
    assert [(c.user_id, c.is_admin) for c in created] == [(BOOTSTRAP_ADMIN_ID, True)]
    assert [(i.user_id, i.name, i.scopes, i.token_hash) for i in issued] == [
        (BOOTSTRAP_ADMIN_ID, "ops", SCOPES, hash_token(token))
    ]
    assert token not in repr(events)


def test_bootstrap_issues_a_token_only_on_the_first_start(nats_url: str) -> None:
    first = bootstrap_token(nats_url)
    assert first is not None and first.token.startswith("cvy_")
    assert bootstrap_token(nats_url) is None
    assert "cvy_" not in repr(first)
