"""Subject names. Build every subject through these functions, never inline (CONVENTIONS §3)."""

from typing import Final

__all__ = [
    "AGGREGATES",
    "EVENTS_FILTER",
    "EVENTS_PREFIX",
    "LOGS_FILTER",
    "LOGS_PREFIX",
    "aggregate_of",
    "artifact_subject",
    "event_subject",
    "hook_subject",
    "job_subject",
    "log_appended_subject",
    "log_kind",
    "log_subject",
    "position_subject",
    "progress_subject",
    "scheduler_subject",
    "task_token",
    "worker_log_subject",
    "worker_subject",
]

EVENTS_PREFIX: Final = "conveyor.ev"
EVENTS_FILTER: Final = f"{EVENTS_PREFIX}.>"
LOGS_PREFIX: Final = "conveyor.log"
LOGS_FILTER: Final = f"{LOGS_PREFIX}.>"
_POSITION_PREFIX: Final = "conveyor.pos"

AGGREGATES: Final = frozenset({"job", "worker", "progress", "user", "project", "access", "hook"})
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


def hook_subject(hook_id: str) -> str:
    """Return the subject of one webhook's events.

    Args:
        hook_id: The hook id.

    Returns:
        ``conveyor.ev.hook.<hook_id>``.
    """
    return event_subject("hook", hook_id)


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


def _check_token(what: str, value: str) -> str:
    if not value or any(c in value for c in ".*> \t\r\n"):
        raise ValueError(f"invalid {what} {value!r}")
    return value


def task_token(task: str) -> str:
    """Return the subject token of a task name: ``_`` for the job's own log, else ``t<hex>``.

    Task names may hold dots, which would split a subject token, hence the hex.

    Args:
        task: The task name, ``""`` for the job-level log.

    Returns:
        A token safe in a subject.
    """
    return "t" + task.encode().hex() if task else "_"


def log_subject(job_id: str, lease_id: str, task: str = "") -> str:
    """Return the subject of one attempt's log (of the job, or of one task) on ``LOGS``.

    One subject per log lets the gateway read the log's last chunk (a direct get) and append the
    next with an expected last subject sequence, so chunks of one log are stored in order.

    Args:
        job_id: The job id.
        lease_id: The lease of the attempt writing the log.
        task: The task name, ``""`` for the job-level log.

    Returns:
        ``conveyor.log.job.<job_id>.<lease_id>.<task token>``.

    Raises:
        ValueError: For an id that would break the subject hierarchy.
    """
    return f"{LOGS_PREFIX}.job.{_check_token('job id', job_id)}.{_check_token('lease id', lease_id)}.{task_token(task)}"


def worker_log_subject(worker_id: str) -> str:
    """Return the subject of a worker's leveled log lines on ``LOGS``.

    Args:
        worker_id: The worker id.

    Returns:
        ``conveyor.log.worker.<worker_id>``.
    """
    return f"{LOGS_PREFIX}.worker.{_check_token('worker id', worker_id)}"


def artifact_subject(job_id: str) -> str:
    """Return the subject of a job's artifact records on ``LOGS``.

    Args:
        job_id: The job id.

    Returns:
        ``conveyor.log.artifact.<job_id>``.
    """
    return f"{LOGS_PREFIX}.artifact.{_check_token('job id', job_id)}"


def log_kind(subject: str) -> str:
    """Return what a ``LOGS`` subject carries: ``job``, ``worker``, ``artifact`` or ``""``.

    Args:
        subject: A subject under ``conveyor.log``.

    Returns:
        The kind, empty for a subject this code does not know.
    """
    parts = subject.split(".")
    if len(parts) < 3 or f"{parts[0]}.{parts[1]}" != LOGS_PREFIX:
        return ""
    return parts[2] if parts[2] in ("job", "worker", "artifact") else ""


def log_appended_subject(job_id: str) -> str:
    """Return the core-NATS subject on which the collector says a job's log grew (a hint).

    Args:
        job_id: The job id.

    Returns:
        ``conveyor.logtail.<job_id>``.
    """
    return f"conveyor.logtail.{_check_token('job id', job_id)}"


def progress_subject(job_id: str) -> str:
    """Return the subject of one job's progress events on ``EVENTS``.

    Args:
        job_id: The job id.

    Returns:
        ``conveyor.ev.progress.<job_id>``.
    """
    return event_subject("progress", job_id)


def position_subject(consumer: str) -> str:
    """Return the core-NATS subject on which a projector announces its committed position.

    Args:
        consumer: The projector's durable consumer name.

    Returns:
        ``conveyor.pos.<consumer>``.
    """
    return f"{_POSITION_PREFIX}.{consumer}"
