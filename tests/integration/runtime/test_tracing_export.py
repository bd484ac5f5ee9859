"""Spans leave a service over OTLP/HTTP to the configured collector, named by the service (issue 22)."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from conveyor_runtime import start_tracing

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    """A local OTLP/HTTP endpoint that keeps what it receives; yields its base URL."""
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_spans_are_exported_over_otlp_http_with_the_service_name(collector: str) -> None:
    tracing = start_tracing("conveyor-scheduler", endpoint=collector, environ={})
    with tracing.span("scheduler fold job.submitted", parent={"traceparent": PARENT}):
        pass
    tracing.shutdown()  # flushes the batch
    [(path, body)] = _Collector.received
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "conveyor-scheduler"
    [span] = resource_spans.scope_spans[0].spans
    assert span.name == "scheduler fold job.submitted"
    assert span.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
