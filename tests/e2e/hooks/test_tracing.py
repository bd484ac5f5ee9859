"""One trace from ``POST /v1/jobs`` to the webhook of its success (issue 22), through the worker's
batched reports (issue 21).

Every service runs in this process and traces into one in-memory exporter (``tracing_into``):
the gateway, the scheduler, the log collector, the hook dispatcher and a worker agent. The caller
sends its own ``traceparent``; every span of the job's path, and the ``traceparent`` the webhook
receiver gets, belong to that trace.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import jsonschema  # type: ignore[import-untyped]  # no stubs are published for it
import nats
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from conveyor_client import Start, WorkerApi, subscribe
from conveyor_devstack import free_port
from conveyor_gateway.app import create_app
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_logs.app import serve as serve_logs
from conveyor_logs.settings import Settings as LogsSettings
from conveyor_runtime import serve_http, start_tracing, tracing_into
from conveyor_worker.agent import Agent, WorkerSettings

from ..conftest import Service, _ready, scheduler_serving
from .receiver import Receiver

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """Finished spans of every service started under ``tracing_into`` in this test."""
    return InMemorySpanExporter()


@pytest.fixture
async def traced_api(
    exporter: InMemorySpanExporter,
    gateway_settings: GatewaySettings,
    admin_token: str,
    start_scheduler: Callable[[], Service],
    start_dispatcher: Callable[..., Service],
    nats_url: str,
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    """Gateway, scheduler, log collector, dispatcher and a worker, all tracing into ``exporter``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    base_url = f"http://127.0.0.1:{gateway_settings.http_port}"
    with tracing_into(provider):
        scheduler = start_scheduler()
        start_dispatcher()
        logs = LogsSettings(nats_url=nats_url, database_url=database_url, http_port=free_port(), log_level="warning")
        collector = Service(lambda stop: serve_logs(logs, stop))
        app = create_app(gateway_settings)
        gateway = Service(lambda stop: serve_http(app, "127.0.0.1", gateway_settings.http_port, stop, lifespan=True))
        headers = {"Authorization": f"Bearer {admin_token}"}
        async with httpx.AsyncClient(base_url=base_url, timeout=10, headers=headers) as client:
            await _ready(client)
            await scheduler_serving(nats_url)
            tracing = start_tracing("conveyor-worker")
            settings = WorkerSettings(
                url=base_url, token=admin_token, credentials_file=tmp_path / "worker.json",
                work_dir=tmp_path / "work", lease_wait_s=1, heartbeat_s=1, grace_s=5,
            )  # fmt: skip
            async with WorkerApi(base_url, token=admin_token, stamp=tracing.stamp) as worker_api:
                agent = Agent(settings, worker_api, tracing=tracing)
                working = asyncio.create_task(agent.serve())
                try:
                    yield client
                finally:
                    agent.request_stop()
                    agent.request_stop()
                    await asyncio.wait_for(working, 15)
        await gateway.stop()
        await collector.stop()
        await scheduler.stop()


def _ours(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == TRACE_ID]


async def _span_named(exporter: InMemorySpanExporter, name: str, within_s: float = 10.0) -> ReadableSpan:
    async with asyncio.timeout(within_s):
        while True:
            found = [s for s in _ours(exporter) if s.name == name]
            if found:
                return found[0]
            await asyncio.sleep(0.05)


async def test_one_trace_from_submission_to_the_webhook_of_its_success(
    traced_api: httpx.AsyncClient, exporter: InMemorySpanExporter, receiver: Receiver, nats_url: str
) -> None:
    hook = await traced_api.post("/v1/hooks", json={"url": receiver.url(), "events": ["job.succeeded"]})
    assert hook.status_code == 201, hook.text

    submitted = await traced_api.post(
        "/v1/jobs",
        json={"project": "traced", "title": "traced", "command": "echo traced"},
        headers={"traceparent": CALLER, "tracestate": "caller=1"},
    )
    assert submitted.status_code == 201, submitted.text
    # A subscriber reads the request's context from the event's headers, as /asyncapi.json says.
    nc = await nats.connect(nats_url)
    try:
        async with subscribe(nc, "tracing-test", types=["job.submitted"], start=Start.beginning()) as events:
            received = await anext(aiter(events))
    finally:
        await nc.close()
    assert received.aggregate_id == submitted.json()["id"]
    assert received.headers["traceparent"].split("-")[1] == TRACE_ID
    assert received.headers["tracestate"] == "caller=1"
    headers_schema = (await traced_api.get("/asyncapi.json")).json()["components"]["schemas"]["NatsHeaders"]
    jsonschema.Draft202012Validator(headers_schema).validate(dict(received.headers))

    [delivery] = await receiver.wait_for(lambda got: len(got) >= 1, within_s=20)
    assert delivery.json()["type"] == "job.succeeded"
    version, trace_id, parent_id, _flags = delivery.headers["traceparent"].split("-")
    assert (version, trace_id) == ("00", TRACE_ID)

    webhook = await _span_named(exporter, "webhook POST")
    assert webhook.kind is SpanKind.CLIENT
    assert f"{webhook.context.span_id:016x}" == parent_id  # the receiver's parent is the delivery attempt

    spans = _ours(exporter)
    by_service: dict[str, set[str]] = {}
    for span in spans:
        assert span.instrumentation_scope is not None
        by_service.setdefault(span.instrumentation_scope.name, set()).add(span.name)
    assert "POST /v1/jobs" in by_service["conveyor-gateway"]
    assert {"scheduler fold job.submitted", "scheduler assign"} <= by_service["conveyor-scheduler"]
    assert "worker run" in by_service["conveyor-worker"]
    assert {"hook-dispatcher match job.succeeded", "webhook POST"} <= by_service["conveyor-hook-dispatcher"]
    assert {"scheduler finish", "scheduler fold job.succeeded"} <= by_service["conveyor-scheduler"]
    # The run's output was stored under the run's trace too.
    await _span_named(exporter, "log-collector store")

    # The worker sent its finish in a batched call (issue 21), which belongs to no run's trace;
    # the finish itself carried the run's context: the scheduler's span for it is the run's child,
    # linked to the call it came in, and job.succeeded (hence the webhook) continues it.
    run = next(s for s in spans if s.name == "worker run")
    finish = next(s for s in spans if s.name == "scheduler finish")
    assert finish.parent is not None and finish.parent.span_id == run.context.span_id
    everything = exporter.get_finished_spans()
    [call] = [s for s in everything if s.context.span_id in {link.context.span_id for link in finish.links}]
    assert call.name == "scheduler reports" and call.kind is SpanKind.SERVER
    assert f"{call.context.trace_id:032x}" != TRACE_ID
    gateway_call = next(s for s in everything if call.parent is not None and s.context.span_id == call.parent.span_id)
    assert gateway_call.name == "POST /v1/workers/{worker_id}/reports"
    singles = {"POST /v1/leases/{lease_id}/start", "POST /v1/leases/{lease_id}/finish"}
    assert not [s for s in spans if s.name in singles]  # the reports went batched, not one by one
    succeeded = next(s for s in spans if s.name == "scheduler fold job.succeeded")
    assert succeeded.parent is not None and succeeded.parent.span_id == finish.context.span_id

    server = next(s for s in spans if s.name == "POST /v1/jobs")
    assert server.kind is SpanKind.SERVER
    assert server.parent is not None and f"{server.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 201
    assign = next(s for s in spans if s.name == "scheduler assign")
    assert run.parent is not None and run.parent.span_id == assign.context.span_id
