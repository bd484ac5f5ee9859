"""What projects allow the scheduler to hand out: paused projects get nothing, and a project with
an assignment rate gets leases only while its token bucket (in PostgreSQL) has tokens.

The engine asks two things (issue 7): ``may_assign(worker_id, project)`` while it picks, a cheap
in-memory answer; and ``admit(project, now)`` for each job it picked from a rate-limited project,
the authoritative atomic take in PostgreSQL. The bucket lives in the database, so a standby
that takes over continues from the tokens its predecessor spent, never from a fresh bucket.
"""

import math
from datetime import datetime
from typing import Any, Final, Protocol

import asyncpg
import msgspec

from conveyor_identity import burst_of, refill, take_token
from conveyor_runtime import get_logger

_log = get_logger("project_policy")
_KIND: Final = "assign"


class ProjectPolicy(Protocol):
    """The engine's view of project rules (a fake in unit tests, `ProjectRules` in the service)."""

    def may_assign(self, worker_id: str, project: str) -> bool: ...

    async def admit(self, project: str, now: datetime) -> bool: ...


class ProjectRule(msgspec.Struct, frozen=True):
    paused: bool
    rate: float
    burst: int
    is_public: bool = True
    assigners: frozenset[str] = frozenset()  # workers granted assign access


def _relaxed(old: ProjectRule, new: ProjectRule | None) -> bool:
    """Whether a rule change may let a waiting worker have a job it could not have before."""
    if new is None:
        return True
    return (
        (old.paused and not new.paused)
        or new.rate > old.rate
        or (new.is_public and not old.is_public)
        or bool(new.assigners - old.assigners)
    )


class ProjectRules:
    """Project rules refreshed from the projects projection; assignment buckets in PostgreSQL."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool
        self._rules: dict[str, ProjectRule] = {}
        self._tokens: dict[str, tuple[float, datetime]] = {}  # last known bucket, for may_assign

    @property
    def has_limits(self) -> bool:
        """Whether any project has an assignment rate (waiting lease calls then retry as buckets refill)."""
        return any(r.rate > 0 for r in self._rules.values())

    async def refresh(self) -> bool:
        """Reload the rules; True when one became less strict (a project resumed or got a higher rate)."""
        async with self._pool.acquire() as conn:
            try:
                rows = await conn.fetch(
                    "SELECT p.name, p.paused, p.assign_rate, p.assign_burst, p.visibility = 'public' AS is_public,"
                    " COALESCE(array_agg(w.worker_id::text) FILTER (WHERE w.assign AND w.status = 'granted'),"
                    " ARRAY[]::text[]) AS assigners"
                    " FROM identity.projects p LEFT JOIN identity.worker_access w ON w.project_id = p.id"
                    " GROUP BY p.id"
                )
            except asyncpg.UndefinedTableError:
                rows = []
        rules = {
            r["name"]: ProjectRule(
                r["paused"], float(r["assign_rate"]), int(r["assign_burst"]), r["is_public"], frozenset(r["assigners"])
            )
            for r in rows
        }
        relaxed = any(_relaxed(old, rules.get(name)) for name, old in self._rules.items())
        self._rules = rules
        return relaxed

    def may_assign(self, worker_id: str, project: str) -> bool:
        """The worker may take the project's jobs (public, or granted assign access), the project
        is not paused, and (as last seen) its bucket has a token; ``admit`` has the final word."""
        rule = self._rules.get(project)
        if rule is None:
            return True  # a project name no project claims: any worker
        if rule.paused or not (rule.is_public or worker_id in rule.assigners):
            return False
        if rule.rate <= 0:
            return True
        seen = self._tokens.get(project)
        if seen is None:
            return True
        tokens, at = seen
        now = datetime.now(at.tzinfo)
        return refill(tokens, (now - at).total_seconds(), rule.rate, burst_of(rule.rate, rule.burst)) >= 1.0

    async def admit(self, project: str, now: datetime) -> bool:
        """Take an assignment token for a job of ``project`` (always True without a rate)."""
        rule = self._rules.get(project)
        if rule is None or rule.rate <= 0:
            return rule is None or not rule.paused
        async with self._pool.acquire() as conn:
            wait_s = await take_token(conn, project, _KIND, rate=rule.rate, burst=rule.burst, now=now)
            row = await conn.fetchrow(
                "SELECT tokens, updated_at FROM ratelimit.buckets WHERE project = $1 AND kind = $2", project, _KIND
            )
        if row is not None:
            self._tokens[project] = (float(row["tokens"]), row["updated_at"])
        if wait_s > 0:
            _log.debug("assignment_rate_limited", project=project, retry_in_s=None if math.isinf(wait_s) else wait_s)
        return wait_s == 0
