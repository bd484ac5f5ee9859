"""Subject names. Build every subject through these functions, never inline (CONVENTIONS §3)."""

from typing import Final

__all__ = [
    "AGGREGATES",
    "EVENTS_FILTER",
    "EVENTS_PREFIX",
    "LOGS_FILTER",
    "LOGS_PREFIX",
    "aggregate_of",
    "event_subject",
    "job_subject",
    "log_subject",
    "position_subject",
    "scheduler_subject",
    "worker_subject",
]

EVENTS_PREFIX: Final = "conveyor.ev"
EVENTS_FILTER: Final = f"{EVENTS_PREFIX}.>"
LOGS_PREFIX: Final = "conveyor.log"
LOGS_FILTER: Final = f"{LOGS_PREFIX}.>"
_POSITION_PREFIX: Final = "conveyor.pos"

AGGREGATES: Final = frozenset({"job", "worker", "user", "project", "access"})
"""Aggregate kinds that have a subject space under ``conveyor.ev``."""


def event_subject(aggregate: str, aggregate_id: str) -> str:
    """Return the subject that holds every event of one aggregate instance.

    Args:
        aggregate: The aggregate kind, one of ``AGGREGATES``.
        aggregate_id: The instance id; must not contain ``.``, ``*``, ``>`` or whitespace.

    Returns:
        ``conveyor.ev.<aggregate>.<aggregate_id>``.

    Raises:
        ValueError: For an unknown aggregate or an id that would break the subject hierarchy.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"unknown aggregate {aggregate!r}")
    if not aggregate_id or any(c in aggregate_id for c in ".*> \t\r\n"):
        raise ValueError(f"invalid aggregate id {aggregate_id!r}")
    return f"{EVENTS_PREFIX}.{aggregate}.{aggregate_id}"


def job_subject(job_id: str) -> str:
    """Return the subject of one job's events.

    Args:
        job_id: The job id.

    Returns:
        ``conveyor.ev.job.<job_id>``.
    """
    return event_subject("job", job_id)


def worker_subject(worker_id: str) -> str:
    """Return the subject of one worker's events.

    Args:
        worker_id: The worker id.

    Returns:
        ``conveyor.ev.worker.<worker_id>``.
    """
    return event_subject("worker", worker_id)


def user_subject(user_id: str) -> str:
    """Return the subject of one user's events (the user and their API tokens).

    Args:
        user_id: The user id.

    Returns:
        ``conveyor.ev.user.<user_id>``.
    """
    return event_subject("user", user_id)


def project_subject(project_id: str) -> str:
    """Return the subject of one project's events.

    Args:
        project_id: The project id (see ``project_id_of``).

    Returns:
        ``conveyor.ev.project.<project_id>``.
    """
    return event_subject("project", project_id)


def access_subject(job_id: str) -> str:
    """Return the subject of one job's access lists.

    Args:
        job_id: The job id.

    Returns:
        ``conveyor.ev.access.<job_id>``.
    """
    return event_subject("access", job_id)


SCHEDULER_PREFIX: Final = "conveyor.sched"
"""Requests the gateway sends to the active scheduler (lease, heartbeat, start, finish)."""


def scheduler_subject(call: str) -> str:
    """Return the request subject of one scheduler call.

    Args:
        call: ``lease``, ``heartbeat``, ``start`` or ``finish``.

    Returns:
        ``conveyor.sched.<call>``.
    """
    return f"{SCHEDULER_PREFIX}.{call}"


def aggregate_of(subject: str) -> tuple[str, str]:
    """Split an event subject into ``(aggregate, aggregate_id)``.

    Args:
        subject: A subject under ``conveyor.ev``.

    Returns:
        The aggregate kind and the instance id.

    Raises:
        ValueError: When the subject is not an event subject.
    """
    parts = subject.split(".", 3)
    if len(parts) != 4 or f"{parts[0]}.{parts[1]}" != EVENTS_PREFIX:
        raise ValueError(f"not an event subject: {subject!r}")
    return parts[2], parts[3]


def log_subject(job_id: str) -> str:
    """Return the subject that carries a job's log chunks on the ``LOGS`` stream.

    Args:
        job_id: The job id.

    Returns:
        ``conveyor.log.<job_id>``.
    """
    if not job_id or any(c in job_id for c in ".*> \t\r\n"):
        raise ValueError(f"invalid job id {job_id!r}")
    return f"{LOGS_PREFIX}.{job_id}"


def position_subject(consumer: str) -> str:
    """Return the core-NATS subject on which a projector announces its committed position.

    Args:
        consumer: The projector's durable consumer name.

    Returns:
        ``conveyor.pos.<consumer>``.
    """
    return f"{_POSITION_PREFIX}.{consumer}"
