"""The dispatcher's Prometheus metrics (served on ``/metrics`` with the shared ones)."""

from typing import Final

from prometheus_client import Counter, Histogram

ATTEMPTS: Final = Counter(
    "conveyor_webhook_attempts_total",
    "Webhook delivery attempts by outcome (delivered, retry, failed, gone)",
    ["outcome"],
)
ATTEMPT_SECONDS: Final = Histogram(
    "conveyor_webhook_attempt_seconds",
    "Duration of one delivery attempt (resolve, connect, send, first bytes of the answer)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
MATCHED: Final = Counter("conveyor_webhook_deliveries_matched_total", "Deliveries added to the outbox")
