"""Registering a worker, once for every surface: a new id and secret, ``WorkerRegistered``
appended on the worker's empty subject, and the scheduler waited for (read-your-writes)."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from conveyor_events import AppendConflictError, WorkerRegistered, new_uuid7, worker_subject

from .context import State
from .reads import first_seq, wait_applied
from .worker_auth import hash_secret
from .worker_bodies import WorkerRegistration


@dataclass(frozen=True, slots=True)
class Registered:
    """A new worker's credentials.

    Attributes:
        worker_id: Its id (the HTTP Basic user).
        secret: Its secret (the password), known only to this answer: only its hash is stored.
        visible: The scheduler has seen it (its credentials work now), else they work shortly.
        seq: The stream sequence of its registration (its ``registered_seq``: the façades' integer id).
    """

    worker_id: str
    secret: str
    visible: bool
    seq: int = 0


async def register_worker(
    state: State, reg: WorkerRegistration, *, registered_by: str, secret: str | None = None
) -> Registered:
    """Register a worker with ``reg``'s name, labels and capacity, owned by ``registered_by``: they
    (or an admin) may pause, drain or delete it (issue 13). ``secret``: one the caller made in its
    own wire's form (task_tracker's base64 of 32 random bytes); by default a new URL-safe one."""
    worker_id = new_uuid7()
    secret = secret or secrets.token_urlsafe(32)
    event = WorkerRegistered(
        event_id=new_uuid7(),
        worker_id=worker_id,
        occurred_at=datetime.now(UTC),
        name=reg.name,
        labels=tuple(reg.labels),
        capacity=reg.capacity,
        secret_hash=hash_secret(secret),
        registered_by=registered_by,
    )
    # A new UUIDv7 subject is empty; a conflict would be a bug and goes to the 500 handler.
    appended = await state["appender"].append(worker_subject(worker_id), event, expected_last_subject_seq=0)
    visible = await wait_applied(state, appended.seq)
    return Registered(worker_id=worker_id, secret=secret, visible=visible, seq=appended.seq)


async def ensure_service_worker(
    state: State, worker_id: str, name: str, labels: tuple[str, ...], capacity: int
) -> None:
    """Register a worker the gateway itself acts as (a façade's claims, e.g. VirtShell's
    dispatchers), under a fixed id, once: a later call finds it registered. It has no owner and no
    usable secret (a random one, discarded): no client can log in as it."""
    if await state["workers"].get(worker_id) is not None:
        return
    event = WorkerRegistered(
        event_id=new_uuid7(),
        worker_id=worker_id,
        occurred_at=datetime.now(UTC),
        name=name,
        labels=labels,
        capacity=capacity,
        secret_hash=hash_secret(secrets.token_urlsafe(32)),
    )
    subject = worker_subject(worker_id)
    try:
        seq = (await state["appender"].append(subject, event, expected_last_subject_seq=0)).seq
    except AppendConflictError:
        seq = await first_seq(state, subject)  # registered meanwhile: wait until the scheduler has it
    await wait_applied(state, seq)
