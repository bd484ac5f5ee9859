"""``conveyor_runtime.tracing``: off unless an endpoint is configured, and the W3C trace context
written and read through opentelemetry-api's propagator (the export: tests/integration/runtime)."""

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from conveyor_runtime import OFF, start_tracing, trace_headers, tracing_into
from conveyor_runtime.tracing import otlp_endpoint

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_no_endpoint_means_off() -> None:
    tracing = start_tracing("conveyor-test", environ={})
    assert tracing is OFF
    assert tracing.stamp is None
    assert tracing.current_headers() == {}
    with tracing.span("nothing", parent={"traceparent": PARENT}) as span:
        assert span is None
    assert tracing.start_span("nothing") is None


@pytest.mark.parametrize(
    ("configured", "environ", "expected"),
    [
        ("", {}, ""),
        ("http://collector:4318/", {}, "http://collector:4318/v1/traces"),
        ("", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"}, "http://otel:4318/v1/traces"),
        ("", {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://otel:4318/traces"}, "http://otel:4318/traces"),
        ("http://mine:4318", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"}, "http://mine:4318/v1/traces"),
        ("http://mine:4318", {"OTEL_SDK_DISABLED": "true"}, ""),
    ],
)
def test_the_endpoint_comes_from_the_setting_or_the_standard_variables(
    configured: str, environ: dict[str, str], expected: str
) -> None:
    assert otlp_endpoint(configured, environ) == expected


def test_a_span_continues_the_callers_context_and_passes_its_own_on() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing_into(provider):
        tracing = start_tracing("conveyor-test")
    assert tracing.is_on and tracing.stamp is not None
    with tracing.span("serve", parent={"traceparent": PARENT, "tracestate": "a=1"}, kind=SpanKind.SERVER) as span:
        assert span is not None
        carried = tracing.current_headers()
    [finished] = exporter.get_finished_spans()
    assert finished.parent is not None and f"{finished.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert f"{finished.context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert carried == {"traceparent": f"00-{finished.context.trace_id:032x}-{finished.context.span_id:016x}-01",
                       "tracestate": "a=1"}  # fmt: skip
    assert tracing.current_headers() == {}  # outside the span: nothing to carry
    assert finished.instrumentation_scope is not None and finished.instrumentation_scope.name == "conveyor-test"


def test_trace_headers_keeps_only_the_trace_context() -> None:
    assert trace_headers(None) is None
    assert trace_headers({"Nats-Msg-Id": "x"}) is None
    assert trace_headers({"Nats-Msg-Id": "x", "traceparent": PARENT}) == {"traceparent": PARENT}
