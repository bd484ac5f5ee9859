"""Serving the gateway's calls (``conveyor.sched.*``) and running the engine's timer.

Only the leader subscribes, in a queue group, so a call reaches exactly one active scheduler.
Each call is served in its own task: a long-polling lease request must not hold up heartbeats.
With tracing on, each call is a ``SERVER`` span under the gateway request's trace context (its
NATS headers), and the events it appends carry that span's context.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from opentelemetry.trace import SpanKind

from conveyor_events import scheduler_subject
from conveyor_events.scheduler_api import (
    FinishRequest,
    HeartbeatRequest,
    LeaseRequest,
    ReportBatchRequest,
    ReportReply,
    StartRequest,
    TaskRequest,
)
from conveyor_runtime import OFF, Tracing, get_logger, trace_headers

from .engine import Engine

_log = get_logger("calls")
_encoder: Final = msgspec.json.Encoder()
QUEUE_GROUP: Final = "conveyor-scheduler"

Handler = Callable[[Any], Awaitable[msgspec.Struct]]


class SchedulerCalls:
    """Subscribes the engine to the call subjects and ticks its timer until stopped."""

    def __init__(self, nc: NatsClient, engine: Engine, *, tick_s: float = 0.25, tracing: Tracing = OFF) -> None:
        self._nc = nc
        self._engine = engine
        self._tick_s = tick_s
        self._tracing = tracing

    async def _heartbeat(self, req: HeartbeatRequest) -> msgspec.Struct:
        return self._engine.heartbeat(req)

    async def run(self, stop: asyncio.Event) -> None:
        routes: dict[str, tuple[type[msgspec.Struct], Handler]] = {
            "lease": (LeaseRequest, self._engine.lease),
            "heartbeat": (HeartbeatRequest, self._heartbeat),
            "start": (StartRequest, self._engine.start),
            "finish": (FinishRequest, self._engine.finish),
            "task": (TaskRequest, self._engine.task),
            "reports": (ReportBatchRequest, self._engine.report_batch),
        }
        async with asyncio.TaskGroup() as tasks:
            subs: list[Subscription] = []
            for call, (request_type, handler) in routes.items():
                decoder = msgspec.json.Decoder(request_type)

                async def on_msg(msg: Msg, decoder: Any = decoder, handler: Handler = handler) -> None:
                    tasks.create_task(_serve(msg, decoder, handler, self._tracing))

                subs.append(await self._nc.subscribe(scheduler_subject(call), queue=QUEUE_GROUP, cb=on_msg))
            _log.info("serving_calls", calls=sorted(routes))
            try:
                while not stop.is_set():
                    try:
                        await self._engine.tick()
                    except Exception:  # the timer must survive a failed append; it retries next tick
                        _log.exception("engine_tick_failed")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._tick_s)
            finally:
                self._engine.stop_waiting()  # the task group then waits only for calls in progress
                for sub in subs:
                    await sub.unsubscribe()


async def _serve(msg: Msg, decoder: Any, handler: Handler, tracing: Tracing) -> None:
    if not tracing.is_on:
        await _answer(msg, decoder, handler)
        return
    name = "scheduler " + msg.subject.rsplit(".", 1)[-1]
    with tracing.span(name, parent=trace_headers(msg.headers), kind=SpanKind.SERVER):
        await _answer(msg, decoder, handler)


async def _answer(msg: Msg, decoder: Any, handler: Handler) -> None:
    try:
        request = decoder.decode(msg.data)
    except msgspec.ValidationError as exc:
        _log.warning("call_rejected", subject=msg.subject, error=str(exc))
        await msg.respond(_encoder.encode(ReportReply(error="bad_request")))
        return
    try:
        reply = await handler(request)
    except Exception:
        _log.exception("call_failed", subject=msg.subject)
        reply = ReportReply(error="internal")
    await msg.respond(_encoder.encode(reply))
