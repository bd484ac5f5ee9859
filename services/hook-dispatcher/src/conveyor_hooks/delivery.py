"""The delivery workers: claim due deliveries from the outbox, send them, record the attempt.

A claim moves the row's ``next_attempt_at`` past the request's deadline (a lease), so a
dispatcher killed mid-request leaves the row to be claimed again once the lease runs out: every
matched event is delivered at least once, with the same ``webhook-id`` each time. With tracing on,
each attempt is a ``CLIENT`` span under the matched event's trace, sent as ``traceparent``.
"""

import asyncio
import random
import secrets
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
from opentelemetry.trace import SpanKind, StatusCode

from conveyor_events import EventAppender, HookDisabled, hook_subject, new_uuid7
from conveyor_runtime import OFF, Tracing, get_logger

from . import builds
from .mailer import Mailer
from .metrics import ATTEMPT_SECONDS, ATTEMPTS
from .retry import next_attempt_at, retry_after_s, should_disable
from .sender import Outcome, Sender
from .settings import Settings
from .signing import ed25519_seed, payload_headers, webhook_headers

_log = get_logger("hook-dispatcher")
_LEASE_MARGIN_S: Final = 5.0


class Claimed:
    __slots__ = ("attempt", "body", "expires_at", "hook_id", "id", "secret", "trace", "url")

    def __init__(self, row: Any) -> None:
        self.id: str = row[0]
        self.hook_id: str | None = row[1]
        self.url: str = row[2]
        self.secret: str = row[3]
        self.body: bytes = row[4]
        self.attempt: int = row[5]
        self.expires_at: datetime = row[6]
        carried = {"traceparent": row[7], "tracestate": row[8]}
        self.trace: dict[str, str] | None = {k: v for k, v in carried.items() if v} or None


class Deliverer:
    """Runs up to ``hook_concurrency`` deliveries at once; ``wake`` says new work may be due."""

    def __init__(
        self,
        *,
        pool: "asyncpg.Pool[Any]",
        schema: str,
        sender: Sender,
        appender: EventAppender,
        settings: Settings,
        rng: random.Random | None = None,
        tracing: Tracing = OFF,
    ) -> None:
        self._pool = pool
        self._tracing = tracing
        self._s = schema
        self._sender = sender
        self._appender = appender
        self._settings = settings
        self._rng = rng or random.Random()
        self._mailer = Mailer(settings)
        self._builds_key = ed25519_seed(settings.webhook_ed25519_key)
        self._inflight: set[asyncio.Task[None]] = set()
        self.wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; requests in flight finish first."""
        limit = self._settings.hook_concurrency
        try:
            while not stop.is_set():
                self.wake.clear()  # before the claim: a wake-up during it is not lost
                free = limit - len(self._inflight)
                # Nearly full: wait for a few more slots rather than claim one row per completion.
                has_room = free >= max(1, limit // 4)
                claimed = await self._claim(free) if has_room else []
                for item in claimed:
                    task = asyncio.create_task(self._deliver(item))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if claimed and len(claimed) == free:
                    continue  # there may be more due
                waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waiters, timeout=self._settings.hook_poll_s, return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
        finally:
            if self._inflight:
                await asyncio.wait(self._inflight)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self.wake.set()
        if not task.cancelled() and task.exception() is not None:
            _log.error("webhook_delivery_crashed", error=str(task.exception()))

    async def _claim(self, n: int) -> list[Claimed]:
        s = self._s
        lease = self._settings.hook_timeout_s + _LEASE_MARGIN_S
        try:
            rows = await self._pool.fetch(
                f"WITH due AS (SELECT d.id FROM {s}.deliveries d LEFT JOIN {s}.hooks h ON h.id = d.hook_id"
                " WHERE d.status = 'pending' AND d.next_attempt_at <= now()"
                " AND (d.hook_id IS NULL OR (h.is_active AND NOT h.deleted))"
                " ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED),"
                f" claimed AS (UPDATE {s}.deliveries d SET attempts = d.attempts + 1,"
                " next_attempt_at = now() + make_interval(secs => $2) FROM due WHERE d.id = due.id"
                " RETURNING d.id, d.hook_id, d.url, d.secret, d.body, d.attempts, d.expires_at, d.traceparent,"
                " d.tracestate) SELECT c.id::text, c.hook_id::text, coalesce(h.url, c.url),"
                " coalesce(h.secret, c.secret), c.body, c.attempts, c.expires_at, c.traceparent, c.tracestate"
                f" FROM claimed c LEFT JOIN {s}.hooks h ON h.id = c.hook_id",
                n,
                lease,
            )
        except (asyncpg.PostgresError, OSError) as exc:
            _log.warning("webhook_claim_failed", error=str(exc))
            return []
        return [Claimed(r) for r in rows]

    async def _deliver(self, item: Claimed) -> None:
        attempted_at = datetime.now(UTC)
        if item.secret == builds.EMAIL:  # a builds.sr.ht trigger email (issue 17)
            outcome = await self._mailer.send(item.body)
        else:
            if item.secret == builds.SIGNED:  # a builds.sr.ht trigger webhook: sourcehut's signature
                headers = payload_headers(self._builds_key, item.body, secrets.token_hex(8))
            else:
                headers = webhook_headers(item.secret, item.id, int(attempted_at.timestamp()), item.body)
            if item.trace is None or not self._tracing.is_on:
                outcome = await self._sender.send(item.url, headers, item.body)
            else:
                outcome = await self._send_traced(item, headers)
        ATTEMPT_SECONDS.observe(outcome.latency_ms / 1000)
        _log.info(
            "webhook_attempted",
            delivery_id=item.id,
            hook_id=item.hook_id,
            attempt=item.attempt,
            status=outcome.status,
            latency_ms=outcome.latency_ms,
            error=outcome.error or None,
        )
        disable = await self._record(item, attempted_at, outcome)
        if disable is not None and item.hook_id is not None:
            await self._disable(item.hook_id, *disable)

    async def _send_traced(self, item: Claimed, headers: dict[str, str]) -> Outcome:
        """The attempt as a ``CLIENT`` span under the matched event's trace; the receiver gets its ``traceparent``."""
        attributes: dict[str, str | int] = {
            "http.request.method": "POST",
            "conveyor.webhook.id": item.id,
            "conveyor.attempt": item.attempt,
        }
        with self._tracing.span("webhook POST", parent=item.trace, kind=SpanKind.CLIENT, attributes=attributes) as span:
            outcome = await self._sender.send(item.url, {**headers, **self._tracing.current_headers()}, item.body)
            if span is not None:
                if outcome.status is not None:
                    span.set_attribute("http.response.status_code", outcome.status)
                if not outcome.is_success:
                    span.set_status(StatusCode.ERROR, outcome.error or None)
        return outcome

    async def _record(
        self, item: Claimed, attempted_at: datetime, outcome: Outcome
    ) -> tuple[str, int, datetime | None] | None:
        """Store the attempt and the delivery's next state; what to disable the hook for, if anything."""
        s, cfg = self._s, self._settings
        now = datetime.now(UTC)
        o = outcome
        attempt = (item.id, item.attempt, attempted_at, o.status, o.latency_ms, o.error, o.response)
        if outcome.is_success:  # the hot path: one statement (atomic on its own), one round trip
            await self._pool.execute(
                f"WITH a AS (INSERT INTO {s}.attempts (delivery_id, attempt, attempted_at, status, latency_ms, error,"
                " response) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING),"
                f" d AS (UPDATE {s}.deliveries SET status = 'delivered', last_status = $4 WHERE id = $1)"
                f" UPDATE {s}.hooks SET failures = 0, failing_since = NULL"
                " WHERE id = $8 AND (failures <> 0 OR failing_since IS NOT NULL)",
                *attempt,
                item.hook_id,
            )
            ATTEMPTS.labels("delivered").inc()
            return None
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"INSERT INTO {s}.attempts (delivery_id, attempt, attempted_at, status, latency_ms, error, response)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                *attempt,
            )
            if outcome.status == 410:  # the receiver says the endpoint is gone: stop, and turn the hook off
                await conn.execute(
                    f"UPDATE {s}.deliveries SET status = 'gone', last_status = 410 WHERE id = $1", item.id
                )
                ATTEMPTS.labels("gone").inc()
                if item.hook_id is None:
                    return None
                sent = await conn.fetchval(
                    f"UPDATE {s}.hooks SET disable_sent = true WHERE id = $1 AND NOT disable_sent RETURNING id",
                    item.hook_id,
                )
                return ("gone", 0, None) if sent else None
            retry_at = next_attempt_at(
                now,
                item.attempt,
                retry_after_s(outcome.retry_after, now),
                base_s=cfg.hook_backoff_base_s,
                max_s=cfg.hook_backoff_max_s,
                jitter=self._rng.random(),
            )
            status = "failed" if retry_at > item.expires_at else "pending"
            ATTEMPTS.labels("failed" if status == "failed" else "retry").inc()
            await conn.execute(
                f"UPDATE {s}.deliveries SET status = $2, last_status = $3, next_attempt_at = $4 WHERE id = $1",
                item.id,
                status,
                outcome.status,
                retry_at,
            )
            if item.hook_id is None:
                return None
            row = await conn.fetchrow(
                f"UPDATE {s}.hooks SET failures = failures + 1, failing_since = coalesce(failing_since, $2)"
                " WHERE id = $1 RETURNING failures, failing_since, disable_sent",
                item.hook_id,
                attempted_at,
            )
            if row is None or row[2]:
                return None
            if not should_disable(
                row[0], row[1], now, after_failures=cfg.hook_disable_after_failures, after_s=cfg.hook_disable_after_s
            ):
                return None
            await conn.execute(f"UPDATE {s}.hooks SET disable_sent = true WHERE id = $1", item.hook_id)
            return ("failing", int(row[0]), row[1])

    async def _disable(self, hook_id: str, reason: str, failures: int, since: datetime | None) -> None:
        """Record the hook's disabling as an event (the projection then turns it off)."""
        event = HookDisabled(
            event_id=new_uuid7(),
            hook_id=hook_id,
            occurred_at=datetime.now(UTC),
            reason=reason,
            failures=failures,
            since=since,
        )
        try:
            await self._appender.append(hook_subject(hook_id), event)
        except Exception as exc:  # let the next failure try again rather than lose the decision
            _log.error("webhook_disable_failed", hook_id=hook_id, error=str(exc))
            await self._pool.execute(f"UPDATE {self._s}.hooks SET disable_sent = false WHERE id = $1", hook_id)
            return
        _log.warning("webhook_disabled", hook_id=hook_id, reason=reason, failures=failures)
