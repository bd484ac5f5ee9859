"""Tracing: one service's OpenTelemetry spans, and the W3C trace context carried in message headers.

Tracing is off unless an OTLP/HTTP endpoint is configured (``CONVEYOR_OTLP_ENDPOINT``, or the
standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``). Off, a service
holds ``OFF``: it starts no spans, stamps no headers and reads none, and the SDK is not imported.

On, every service has its own tracer provider (``service.name`` = the service) exporting in
batches. The context crosses process boundaries as ``traceparent`` / ``tracestate`` (W3C Trace
Context, written and read by opentelemetry-api's propagator): in HTTP headers, in the NATS headers
of appended events and of calls to the scheduler, in a lease, and on webhook calls (issue 22).

A program that runs services in its own process (the tests) can hand them one provider with
``tracing_into``; the service is then named by its tracer's instrumentation scope.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from conveyor_events.append import TRACEPARENT, TRACESTATE, HeaderStamp

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

__all__ = [
    "OFF",
    "TRACEPARENT",
    "TRACESTATE",
    "HeaderStamp",
    "Tracing",
    "otlp_endpoint",
    "start_tracing",
    "trace_headers",
    "tracing_into",
]

_TRACE_KEYS: Final = (TRACEPARENT, TRACESTATE)

_propagator: Final = TraceContextTextMapPropagator()
_provider_override: ContextVar[TracerProvider | None] = ContextVar("conveyor_tracer_provider", default=None)


def trace_headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    """The trace context headers among ``headers`` (``traceparent``, ``tracestate``), or ``None``.

    Args:
        headers: A message's or a request's headers (lower-case keys), or ``None``.

    Returns:
        Only the trace context, ready to store or to pass on; ``None`` when there is none.
    """
    if not headers or TRACEPARENT not in headers:
        return None
    return {key: headers[key] for key in _TRACE_KEYS if key in headers}


class Tracing:
    """One service's tracer, or nothing at all when tracing is off (``OFF``).

    Args:
        tracer: Where spans start; ``None`` turns every method into a no-op.
        provider: The provider this object owns (flushed and shut down by ``shutdown``).
    """

    def __init__(self, tracer: Tracer | None, provider: "SdkTracerProvider | None" = None) -> None:
        self._tracer = tracer
        self._provider = provider

    @property
    def is_on(self) -> bool:
        """Whether spans are recorded and trace context travels."""
        return self._tracer is not None

    @property
    def stamp(self) -> HeaderStamp | None:
        """The current context's headers, as a callable for appenders and clients; ``None`` when off."""
        return self.current_headers if self._tracer is not None else None

    def current_headers(self) -> dict[str, str]:
        """``traceparent`` (and ``tracestate``) of the current span; empty outside one or when off."""
        carrier: dict[str, str] = {}
        if self._tracer is not None:
            _propagator.inject(carrier)
        return carrier

    def headers_of(self, span: Span | None) -> dict[str, str] | None:
        """The headers that make ``span`` the parent of what receives them; ``None`` for no span."""
        if span is None or not span.get_span_context().is_valid:
            return None
        carrier: dict[str, str] = {}
        _propagator.inject(carrier, context=trace.set_span_in_context(span))
        return carrier

    def start_span(
        self,
        name: str,
        *,
        parent: Mapping[str, str] | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        link_current: bool = False,
    ) -> Span | None:
        """Start a span that is not made current (the caller ends it); ``None`` when off.

        Args:
            name: The span's name.
            parent: Headers carrying the parent context; ``None`` (or no ``traceparent``) makes
                the current span the parent, or starts a new trace.
            kind: Server, client, producer, consumer or internal.
            attributes: The span's attributes.
            link_current: Link the span to the current one (when it has another parent): e.g. one
                item of a batched call, under its own trace, still points at the call.
        """
        if self._tracer is None:
            return None
        links = None
        if link_current and (current := trace.get_current_span().get_span_context()).is_valid:
            links = [Link(current)]
        return self._tracer.start_span(
            name, context=_parent_context(parent), kind=kind, attributes=attributes, links=links
        )

    @contextmanager
    def span(
        self,
        name: str,
        *,
        parent: Mapping[str, str] | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
    ) -> Iterator[Span | None]:
        """A span made current for the block (its exceptions recorded); yields ``None`` when off.

        Args:
            name: The span's name.
            parent: As for ``start_span``.
            kind: As for ``start_span``.
            attributes: The span's attributes.
        """
        if self._tracer is None:
            yield None
            return
        with self._tracer.start_as_current_span(
            name, context=_parent_context(parent), kind=kind, attributes=attributes
        ) as span:
            yield span

    def shutdown(self) -> None:
        """Export what is buffered and stop the exporter (a no-op for a borrowed provider)."""
        if self._provider is not None:
            self._provider.shutdown()


OFF: Final = Tracing(None)
"""Tracing turned off: no spans, no headers, no cost."""


def _parent_context(parent: Mapping[str, str] | None) -> Context | None:
    if parent is None or TRACEPARENT not in parent:
        return None
    return _propagator.extract(parent)


def otlp_endpoint(configured: str = "", environ: Mapping[str, str] | None = None) -> str:
    """The OTLP/HTTP traces URL to export to, or ``""`` when tracing is off.

    Args:
        configured: ``CONVEYOR_OTLP_ENDPOINT`` (the collector's base URL, like
            ``OTEL_EXPORTER_OTLP_ENDPOINT``); it wins over the standard variables.
        environ: The environment; ``os.environ`` when omitted.

    Returns:
        The full traces URL (``<base>/v1/traces``), or ``""``.
    """
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ""
    if configured:
        return configured.rstrip("/") + "/v1/traces"
    if traces := env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""):
        return traces
    if base := env.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""):
        return base.rstrip("/") + "/v1/traces"
    return ""


def start_tracing(service: str, *, endpoint: str = "", environ: Mapping[str, str] | None = None) -> Tracing:
    """The tracing of ``service``: exported over OTLP/HTTP when an endpoint is configured, else ``OFF``.

    Inside ``tracing_into(provider)`` the given provider is used instead, whatever is configured.

    Args:
        service: The service's name (``conveyor-gateway``...): ``service.name`` and the tracer's scope.
        endpoint: The ``CONVEYOR_OTLP_ENDPOINT`` setting (see ``otlp_endpoint``).
        environ: The environment; ``os.environ`` when omitted.
    """
    borrowed = _provider_override.get()
    if borrowed is not None:
        return Tracing(borrowed.get_tracer(service))
    url = otlp_endpoint(endpoint, environ)
    if not url:
        return OFF
    # Imported only when on: a service that does not trace does not load the SDK.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SdkTracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return Tracing(provider.get_tracer(service), provider)


@contextmanager
def tracing_into(provider: TracerProvider) -> Iterator[None]:
    """Services started in this block (and the tasks they create) trace into ``provider``.

    For programs that run services in-process, such as tests with an in-memory exporter.
    """
    token = _provider_override.set(provider)
    try:
        yield
    finally:
        _provider_override.reset(token)
