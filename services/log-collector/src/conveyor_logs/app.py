"""Composition root of the log-collector: it stores job output (storage and progress come next)."""

from conveyor_events import LOGS_FILTER, LOGS_STREAM
from conveyor_runtime import CHECKPOINT_MIGRATION, ConsumerSpec, checkpoint_only, consumer_main

from .settings import Settings

SPEC = ConsumerSpec(
    name="log-collector",
    schema="logs",
    migrations=[CHECKPOINT_MIGRATION],
    stream=LOGS_STREAM,
    filter_subject=LOGS_FILTER,
    make_handler=checkpoint_only("log-collector"),
)


def main() -> None:
    """Run the log-collector until SIGTERM."""
    consumer_main(Settings, SPEC)
