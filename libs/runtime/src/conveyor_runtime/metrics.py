"""Prometheus metrics shared by the services (module-level like loggers: CONVENTIONS §5)."""

from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "CONTENT_TYPE_LATEST",
    "EVENT_LOOP_LAG_SECONDS",
    "GC_PAUSE_SECONDS",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "JOBS_READY",
    "PROJECTOR_APPLIED",
    "PROJECTOR_BATCH_SECONDS",
    "PROJECTOR_COMMIT_SECONDS",
    "PROJECTOR_POSITION",
    "PROJECTOR_QUARANTINED",
    "render_metrics",
]

PROJECTOR_APPLIED: Final = Counter(
    "conveyor_projector_events_applied_total", "Events applied by a projector", ["consumer"]
)
PROJECTOR_POSITION: Final = Gauge(
    "conveyor_projector_position", "Last stream sequence applied by a projector", ["consumer"]
)
PROJECTOR_QUARANTINED: Final = Counter(
    "conveyor_projector_quarantined_total",
    "Events a projector could not apply as they were: sanitised, or skipped (see its quarantine table)",
    ["consumer", "outcome"],
)
PROJECTOR_BATCH_SECONDS: Final = Histogram(
    "conveyor_projector_batch_seconds",
    "Time to apply one batch, commit included",
    ["consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
PROJECTOR_COMMIT_SECONDS: Final = Histogram(
    "conveyor_projector_commit_seconds",
    "Time PostgreSQL took to commit one batch's transaction (the awaited COMMIT alone)",
    ["consumer"],
    buckets=(0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
# What keeps an event loop from running (``pauses``): how late it woke a timer, and each GC.
_PAUSE_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
EVENT_LOOP_LAG_SECONDS: Final = Histogram(
    "conveyor_event_loop_lag_seconds",
    "How much later than asked the event loop ran a timer (sampled every 50 ms)",
    ["service"],
    buckets=_PAUSE_BUCKETS,
)
GC_PAUSE_SECONDS: Final = Histogram(
    "conveyor_gc_pause_seconds", "Time of each garbage collection", ["service", "generation"], buckets=_PAUSE_BUCKETS
)
# Read at scrape time from the leading scheduler's ready queue (a standby reports 0): what a
# worker autoscaler (the KEDA ScaledObject in deploy/k8s/overlays/ha) scales on.
JOBS_READY: Final = Gauge("conveyor_jobs_ready", "Jobs ready to run and waiting for a worker (leader only)")
HTTP_REQUESTS: Final = Counter("conveyor_http_requests_total", "HTTP requests served", ["method", "route", "status"])
HTTP_SECONDS: Final = Histogram(
    "conveyor_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def render_metrics() -> bytes:
    """Return every registered metric in the Prometheus text format."""
    return generate_latest()
