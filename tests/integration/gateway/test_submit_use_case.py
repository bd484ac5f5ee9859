"""``core.submit`` called as a façade would call it: no HTTP, the gateway's resources from its
lifespan, real NATS and PostgreSQL. No scheduler runs, so nothing is waited for past the write
wait; what is checked is what the use case stores and answers."""

from collections.abc import AsyncIterator
from typing import cast

import msgspec
import pytest
from nats.aio.client import Client as NatsClient

from conveyor_events import JobSubmitted, decode_job_event, job_subject
from conveyor_gateway.app import create_app
from conveyor_gateway.core.bodies import JobSubmission
from conveyor_gateway.core.context import State
from conveyor_gateway.core.submit import submit, submit_batch
from conveyor_gateway.core.token_auth import Principal
from conveyor_gateway.errors import ForbiddenError
from conveyor_gateway.settings import Settings

ADMIN = Principal(user_id="u-admin", name="admin", is_admin=True, scopes=frozenset({"admin"}), token_id="t1")
STRANGER = Principal(user_id="u-x", name="x", is_admin=False, scopes=frozenset({"jobs:write"}), token_id="t2")


@pytest.fixture
async def state(nats_url: str, database_url: str) -> AsyncIterator[State]:
    app = create_app(Settings(nats_url=nats_url, database_url=database_url, write_wait_ms=200, log_level="warning"))
    async with app.router.lifespan_context(app) as resources:
        yield cast(State, resources)


def _job(**fields: object) -> JobSubmission:
    return msgspec.convert({"project": "default", "command": "true", **fields}, JobSubmission)


async def _stored(nc: NatsClient, job_id: str) -> JobSubmitted:
    msg = await nc.jetstream().get_msg("EVENTS", subject=job_subject(job_id), direct=True, next=True, seq=1)
    assert msg.data is not None
    event = decode_job_event(msg.data)
    assert isinstance(event, JobSubmitted)
    return event


async def test_submit_stores_the_callers_job_and_a_used_dedupe_key_finds_it(state: State, nc: NatsClient) -> None:
    first = await submit(state, ADMIN, _job(title="one", dedupe_key="k1"), wait=False)
    again = await submit(state, ADMIN, _job(title="two", dedupe_key="k1"))
    assert (first.created, first.job) == (True, None)
    assert (again.job_id, again.created) == (first.job_id, False)
    stored = await _stored(nc, first.job_id)
    assert (stored.owner, stored.title, stored.project) == ("u-admin", "one", "default")


async def test_submit_batch_answers_in_order_and_sees_a_key_used_earlier_in_the_batch(state: State) -> None:
    done = await submit_batch(state, ADMIN, [_job(dedupe_key="a"), _job(), _job(dedupe_key="a")], wait=False)
    assert [created for _, created in done.jobs] == [True, True, False]
    assert done.jobs[0][0] == done.jobs[2][0]
    assert done.visible is False


async def test_submit_refuses_a_project_the_caller_may_not_submit_to(state: State) -> None:
    with pytest.raises(ForbiddenError):
        await submit(state, STRANGER, _job(project="someone-elses"))
