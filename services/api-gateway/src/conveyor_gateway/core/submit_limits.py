"""Per-project submission rate limits: the bucket lives in PostgreSQL (``conveyor_identity.ratelimit``),
so it holds across every gateway process; only the projects' configured rates are cached here."""

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from conveyor_identity import take_token

from ..errors import RateLimitedError


class _Rate(msgspec.Struct, frozen=True):
    rate: float
    burst: int
    expires_at: float


class SubmitLimiter:
    """Takes one submit token per job from each project's bucket; a project without a rate costs
    no query once its (absent) rate is cached for ``ttl_s``."""

    def __init__(
        self, pool: "asyncpg.Pool[Any]", *, ttl_s: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._clock = clock
        self._rates: dict[str, _Rate] = {}

    async def _rate(self, project: str) -> _Rate:
        now = self._clock()
        cached = self._rates.get(project)
        if cached is not None and cached.expires_at > now:
            return cached
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT submit_rate, submit_burst FROM identity.projects WHERE name = $1", project
            )
        rate = _Rate(float(row[0]) if row else 0.0, int(row[1]) if row else 0, now + self._ttl_s)
        if len(self._rates) > 10_000:
            self._rates.clear()
        self._rates[project] = rate
        return rate

    async def admit(self, projects: Iterable[str]) -> None:
        """Take a token per job (``projects`` names each job's project).

        Raises:
            RateLimitedError: A project's bucket has too few tokens (nothing is taken from the
                buckets checked after it; those checked before keep their spent tokens).
        """
        for project, n in Counter(projects).items():
            limit = await self._rate(project)
            if limit.rate <= 0:
                continue
            async with self._pool.acquire() as conn:
                wait_s = await take_token(
                    conn, project, "submit", rate=limit.rate, burst=limit.burst, now=datetime.now(UTC), n=n
                )
            if wait_s == float("inf"):
                raise RateLimitedError(
                    f"project {project!r} accepts at most {limit.burst or limit.rate:g} jobs at once", 60.0
                )
            if wait_s > 0:
                raise RateLimitedError(f"project {project!r} is over its submission rate of {limit.rate:g}/s", wait_s)
