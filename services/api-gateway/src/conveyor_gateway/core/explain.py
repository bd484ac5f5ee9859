"""Why a job is not running: rules that turn facts about the job, the workers that could run it
and the queue ahead of it into reasons, most important first. Pure: the facts come in, with the
time; ``explain_facts.py`` gathers them.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from conveyor_events.states import DEPENDENCY_FAILED, LEASED, READY, TERMINAL

from .bodies import ExplainReason, JobExplanation, JobView, ReasonCode
from .worker_bodies import WorkerMode
from .worker_status import OFFLINE_AFTER

AHEAD_LIMIT: Final = 10_000  # counting stops here: past it the exact figure tells nobody anything
LISTED_DEPENDENCIES: Final = 20  # at most this many waiting dependencies are named in ``data``


class WorkerFact(msgspec.Struct, frozen=True, kw_only=True):
    """A registered worker as explain needs it: what it runs, its mode, liveness and load."""

    id: str
    name: str
    labels: tuple[str, ...] = ()
    capacity: int = 1
    mode: WorkerMode = "active"
    last_seen_at: datetime | None = None
    held: int = 0  # jobs assigned to it or running on it


class ExplainFacts(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the rules look at, read at ``now``."""

    job: JobView
    now: datetime
    matching: tuple[WorkerFact, ...] = ()  # non-deleted workers whose labels include all the job's
    registered: int = 0  # non-deleted workers in all
    holder: WorkerFact | None = None  # the worker holding an assigned or running job
    ahead: int = 0  # eligible queued jobs a matching worker would serve first (up to AHEAD_LIMIT + 1)
    dependency_states: dict[str, str] = msgspec.field(default_factory=dict)  # id -> state; absent: no such job
    project_paused: bool = False
    assign_rate: float = 0.0  # the project's assignment rate limit per second (0: none)
    # Workers granted assign access to the job's project; None when any worker may take its jobs
    # (a public project, or a name no project claims).
    assigners: frozenset[str] | None = None


class WorkerCounts(msgspec.Struct, frozen=True, kw_only=True):
    """The matching workers by availability; ``available`` ones are online and active."""

    matching: int = 0
    offline: int = 0
    paused: int = 0
    draining: int = 0
    available: int = 0
    in_use: int = 0  # jobs held by the available workers
    capacity: int = 0  # slots of the available workers
    free: int = 0  # free slots of the available workers


def is_online(last_seen_at: datetime | None, now: datetime) -> bool:
    """Whether a worker heartbeat recently enough (the same cut-off as a worker's ``state``)."""
    return last_seen_at is not None and now - last_seen_at <= OFFLINE_AFTER


def count_workers(workers: tuple[WorkerFact, ...], now: datetime) -> WorkerCounts:
    """Sort workers into offline, paused, draining and available (online and active), in that precedence."""
    offline = [w for w in workers if not is_online(w.last_seen_at, now)]
    online = [w for w in workers if is_online(w.last_seen_at, now)]
    available = [w for w in online if w.mode == "active"]
    return WorkerCounts(
        matching=len(workers),
        offline=len(offline),
        paused=sum(1 for w in online if w.mode == "paused"),
        draining=sum(1 for w in online if w.mode == "draining"),
        available=len(available),
        in_use=sum(w.held for w in available),
        capacity=sum(w.capacity for w in available),
        free=sum(max(0, w.capacity - w.held) for w in available),
    )


def explain(facts: ExplainFacts) -> JobExplanation:
    """The explanation of ``facts.job``: every reason that applies, and a summary of the first two."""
    reasons = reasons_for(facts)
    return JobExplanation(job_id=facts.job.id, state=facts.job.state, summary=summarize(reasons), reasons=reasons)


def summarize(reasons: list[ExplainReason]) -> str:
    """One or two sentences: the details of the two most important reasons."""
    return " ".join(r.detail for r in reasons[:2])


def reasons_for(facts: ExplainFacts) -> list[ExplainReason]:
    """Every reason that applies, most important first."""
    job = facts.job
    if job.state in TERMINAL:
        return [_finished(job)]
    if job.payload is None:
        return [r for r in (_group(job), _paused(facts), _cancel_requested(facts)) if r is not None]
    rules: tuple[Callable[[ExplainFacts], ExplainReason | None], ...]
    if job.state in LEASED:
        rules = (_leased, _paused, _cancel_requested)
    else:
        rules = (
            _submitted,
            _verification,
            _held,
            _paused,
            _project_paused,
            _cancel_requested,
            _retry_backoff,
            _dependencies,
            _blocked,
            _worker_access,
            _workers,
            _behind,
            _rate_limited,
        )
    reasons = [r for r in (rule(facts) for rule in rules) if r is not None]
    if job.state == "queued" and all(r.code == "rate_limited" for r in reasons):
        reasons.append(_ready(facts))  # nothing holds it back (a rate only paces it)
    return reasons


def _reason(code: ReasonCode, detail: str, **data: Any) -> ExplainReason:
    return ExplainReason(code=code, detail=detail, data=data)


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(seconds: float) -> str:
    s = round(abs(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 2 * 86_400:
        return f"{s // 3600} h"
    return f"{s // 86_400} days"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _labels(labels: list[str] | tuple[str, ...]) -> str:
    return ", ".join(labels)


def _finished(job: JobView) -> ExplainReason:
    ended_at = job.finished_at or job.updated_at
    when = _at(ended_at)
    match job.state:
        case "succeeded":
            code = "" if job.exit_code is None else f" (exit code {job.exit_code})"
            detail = f"The job succeeded at {when}{code}."
        case "failed":
            detail = f"The job failed at {when} after {_plural(job.attempts, 'attempt')}: {job.reason or 'failed'}."
        case "timed_out":
            limit = f" of {job.timeout_s} s" if job.timeout_s is not None else ""
            detail = f"The job timed out at {when}: it ran past its timeout{limit}."
        case _:
            detail = f"The job was cancelled at {when}" + (f": {job.reason}." if job.reason else ".")
    return _reason(
        "finished",
        detail,
        state=job.state,
        reason=job.reason,
        exit_code=job.exit_code,
        finished_at=ended_at,
        attempts=job.attempts,
    )


def _worker_name(worker: WorkerFact | None, worker_id: str | None) -> str:
    if worker is None:
        return f"worker {worker_id or 'unknown'}"
    return f"worker {worker.name} ({worker.id})"


def _leased(facts: ExplainFacts) -> ExplainReason:
    job, holder, now = facts.job, facts.holder, facts.now
    since = (job.started_at if job.state == "running" else None) or job.updated_at
    verb = "is running on" if job.state == "running" else "is assigned to"
    ago = _span((now - since).total_seconds())
    is_worker_online = holder is not None and is_online(holder.last_seen_at, now)
    offline = (
        "" if holder is None or is_worker_online else "; the worker sent no heartbeat for 30 s, so the lease lapses"
    )
    detail = (
        f"The job {verb} {_worker_name(holder, job.worker_id)} since {_at(since)} ({ago} ago), "
        f"attempt {job.attempts} of {job.max_retries + 1}{offline}."
    )
    return _reason(
        "running" if job.state == "running" else "assigned",
        detail,
        worker_id=job.worker_id,
        worker_name=holder.name if holder is not None else None,
        worker_online=is_worker_online,
        lease_id=job.lease_id,
        since=since,
        attempt=job.attempts,
        max_attempts=job.max_retries + 1,
    )


def _submitted(facts: ExplainFacts) -> ExplainReason | None:
    if facts.job.state != "submitted":
        return None
    return _reason("submitted", "The scheduler has not decided on the job yet; it normally does within moments.")


def _group(job: JobView) -> ExplainReason:
    counts = ", ".join(f"{n} {state}" for state, n in sorted(job.children.items())) or "none yet"
    total = sum(job.children.values())
    kids = f"{total} child" if total == 1 else f"{total} children"
    detail = f"A group runs nothing itself: its state follows its {kids} ({counts}); it ends when they all have."
    return _reason("group", detail, children=dict(job.children))


def _verification(facts: ExplainFacts) -> ExplainReason | None:
    job = facts.job
    if job.state != "awaiting_verification":
        return None
    voters = sorted({v.worker_id for v in job.votes})
    best = max((sum(1 for v in job.votes if v.hash == h) for h in {v.hash for v in job.votes}), default=0)
    detail = (
        f"It needs {job.verification} agreeing results from different workers and has {best} so far "
        f"({_plural(len(job.votes), 'run')}); it waits for a run on a worker other than "
        f"{', '.join(voters)}."
    )
    return _reason("awaiting_verification", detail, needed=job.verification, agreeing=best, voters=voters)


def _held(facts: ExplainFacts) -> ExplainReason | None:
    job = facts.job
    if job.state != "pending":
        return None
    detail = f"The job is held (submitted with execute=false): start it with POST /v1/jobs/{job.id}/start."
    return _reason("held", detail, execute=job.execute)


def _paused(facts: ExplainFacts) -> ExplainReason | None:
    job = facts.job
    if not job.paused:
        return None
    detail = f"The job is paused and is not handed to any worker: resume it with POST /v1/jobs/{job.id}/resume."
    return _reason("paused", detail)


def _project_paused(facts: ExplainFacts) -> ExplainReason | None:
    job = facts.job
    if not facts.project_paused:
        return None
    detail = (
        f"Its project {job.project!r} is paused: none of its jobs is handed out until it is resumed "
        f"(PATCH /v1/projects/{job.project} with paused: false)."
    )
    return _reason("project_paused", detail, project=job.project)


def _rate_limited(facts: ExplainFacts) -> ExplainReason | None:
    if facts.job.state != "queued" or facts.assign_rate <= 0:
        return None
    per_min = facts.assign_rate * 60
    detail = (
        f"Its project {facts.job.project!r} hands out at most {per_min:g} jobs a minute; "
        "it may be waiting for its turn under that rate."
    )
    return _reason("rate_limited", detail, project=facts.job.project, assign_rate_per_s=facts.assign_rate)


def _cancel_requested(facts: ExplainFacts) -> ExplainReason | None:
    job = facts.job
    if not job.cancel_requested:
        return None
    why = f" ({job.reason})" if job.reason else ""
    if job.state in LEASED:
        detail = f"Cancellation was requested{why}; the worker is told to stop at its next heartbeat."
    else:
        detail = f"Cancellation was requested{why}; the scheduler cancels the job shortly."
    return _reason("cancel_requested", detail, reason=job.reason)


def _retry_backoff(facts: ExplainFacts) -> ExplainReason | None:
    job, now = facts.job, facts.now
    if job.state not in READY or job.retry_at is None or job.retry_at <= now:
        return None
    attempts = job.max_retries + 1
    detail = (
        f"Attempt {job.attempts} of {attempts} failed ({job.reason or 'no reason given'}); attempt "
        f"{job.attempts + 1} is eligible at {_at(job.retry_at)} (in {_span((job.retry_at - now).total_seconds())})."
    )
    return _reason(
        "retry_backoff",
        detail,
        attempt=job.attempts,
        max_attempts=attempts,
        retry_at=job.retry_at,
        last_failure=job.reason,
    )


def _dependencies(facts: ExplainFacts) -> ExplainReason | None:
    """Dependencies that did not succeed: the scheduler keeps the job blocked until all did, and
    fails it without running when one failed, timed out, was cancelled or deleted."""
    job = facts.job
    states = facts.dependency_states
    waiting = [(d, states.get(d, "unknown")) for d in job.depends_on if states.get(d) != "succeeded"]
    if not waiting:
        return None
    named = ", ".join(f"{d} ({s})" for d, s in waiting[:3]) + (", …" if len(waiting) > 3 else "")
    failed = next((d for d, s in waiting if s in DEPENDENCY_FAILED), None)
    outcome = (
        f"; since {failed} will never succeed, the job fails without running"
        if failed is not None
        else f"; it is queued once {'they all succeed' if len(waiting) > 1 else 'it succeeds'}"
    )
    total = len(job.depends_on)
    of = f"{len(waiting)} of its {total} dependencies" if total > 1 else "its dependency"
    detail = f"The job waits for {of} to succeed: {named}{outcome}."
    listed = [{"id": d, "state": s} for d, s in waiting[:LISTED_DEPENDENCIES]]
    return _reason("waiting_on_dependencies", detail, waiting=listed, waiting_count=len(waiting), total=total)


def _blocked(facts: ExplainFacts) -> ExplainReason | None:
    if facts.job.state != "blocked" or _dependencies(facts) is not None:
        return None
    detail = "The job is blocked, but its dependencies all succeeded: the scheduler queues it within moments."
    return _reason("blocked", detail)


def allowed_workers(facts: ExplainFacts) -> tuple[WorkerFact, ...]:
    """The matching workers that may take jobs of the job's project (all of them for a public one)."""
    if facts.assigners is None:
        return facts.matching
    return tuple(w for w in facts.matching if w.id in facts.assigners)


def _worker_access(facts: ExplainFacts) -> ExplainReason | None:
    """Workers have the job's labels, but its project is private or hidden and none of them was
    granted assign access to it."""
    if facts.assigners is None or not facts.matching or allowed_workers(facts):
        return None
    project = facts.job.project
    having = f" with labels {_labels(facts.job.labels)}" if facts.job.labels else ""
    detail = (
        f"Its project {project!r} is not public, and none of the {_plural(len(facts.matching), 'worker')}{having} "
        "has assign access to it: a worker asks with POST /v1/workers/{id}/access-requests, and a manager grants "
        f"it with PUT /v1/projects/{project}/workers/{{worker_id}}."
    )
    return _reason(
        "no_worker_access", detail, project=project, matching=len(facts.matching), granted=len(facts.assigners)
    )


def _workers(facts: ExplainFacts) -> ExplainReason | None:
    """No worker can take the job (none has its labels, or none is online and active), or every one that can is full.
    Of a private or hidden project, only the workers granted assign access count (``_worker_access``
    speaks when there are none)."""
    if facts.matching and not allowed_workers(facts):
        return None
    counts = count_workers(allowed_workers(facts), facts.now)
    labels = list(facts.job.labels)
    if counts.matching == 0:
        has = f"has labels {_labels(labels)}" if labels else "is registered"
        detail = f"No worker {has} ({_plural(facts.registered, 'worker')} registered in all)."
        return _reason("no_matching_worker", detail, labels=labels, matching=0, registered=facts.registered)
    having = f" with labels {_labels(labels)}" if labels else ""
    if counts.available == 0:
        kinds = (("offline", counts.offline), ("paused", counts.paused), ("draining", counts.draining))
        why = ", ".join(f"{n} {kind}" for kind, n in kinds if n)
        every = "The only worker" if counts.matching == 1 else f"All {counts.matching} workers"
        are = "is" if counts.matching == 1 else "are"
        detail = f"{every}{having} {are} unavailable: {why}."
        figures = dict(kinds, matching=counts.matching, registered=facts.registered)
        return _reason("no_matching_worker", detail, labels=labels, **figures)
    if facts.job.state == "queued" and counts.free == 0:
        every = "The only available worker" if counts.available == 1 else f"All {counts.available} available workers"
        are = "is" if counts.available == 1 else "are"
        detail = f"{every}{having} {are} busy: {counts.in_use} of {_plural(counts.capacity, 'slot')} in use."
        return _reason("workers_busy", detail, workers=counts.available, in_use=counts.in_use, capacity=counts.capacity)
    return None


def _behind(facts: ExplainFacts) -> ExplainReason | None:
    job = facts.job
    if job.state != "queued" or facts.ahead <= 0:
        return None
    many = f"More than {AHEAD_LIMIT} queued jobs" if facts.ahead > AHEAD_LIMIT else _plural(facts.ahead, "queued job")
    detail = (
        f"{many} that a matching worker would serve first (higher priority, or the same priority and submitted "
        "earlier) are ahead of it; fair share across projects and aging may change this order."
    )
    return _reason("behind_higher_priority", detail, ahead=min(facts.ahead, AHEAD_LIMIT + 1), priority=job.priority)


def _ready(facts: ExplainFacts) -> ExplainReason:
    counts = count_workers(allowed_workers(facts), facts.now)
    detail = (
        "The job is queued and nothing blocks it: it will start as soon as a matching worker asks for work "
        f"({_plural(counts.free, 'free slot')} on {_plural(counts.available, 'available worker')})."
    )
    return _reason("ready", detail, available_workers=counts.available, free_slots=counts.free)
