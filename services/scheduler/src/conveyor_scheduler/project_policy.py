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
                    "SELECT name, paused, assign_rate, assign_burst FROM identity.projects"
                    " WHERE paused OR assign_rate > 0"
                )
            except asyncpg.UndefinedTableError:
                rows = []
        rules = {r["name"]: ProjectRule(r["paused"], float(r["assign_rate"]), int(r["assign_burst"])) for r in rows}
        relaxed = any(
            name not in rules or (old.paused and not rules[name].paused) or rules[name].rate > old.rate
            for name, old in self._rules.items()
        )
        self._rules = rules
        return relaxed

    def may_assign(self, worker_id: str, project: str) -> bool:
        """Not paused, and (as last seen) a token in the bucket; ``admit`` has the final word."""
        del worker_id  # worker access to projects is not enforced yet (issue 7, slice 4)
        rule = self._rules.get(project)
        if rule is None:
            return True
        if rule.paused:
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
