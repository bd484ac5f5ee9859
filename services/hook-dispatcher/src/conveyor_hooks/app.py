"""Composition root of the hook-dispatcher: it delivers signed webhooks (hooks and delivery come next)."""

from conveyor_events import EVENTS_FILTER, EVENTS_STREAM
from conveyor_runtime import CHECKPOINT_MIGRATION, ConsumerSpec, checkpoint_only, consumer_main

from .settings import Settings

SPEC = ConsumerSpec(
    name="hook-dispatcher",
    schema="hooks",
    migrations=[CHECKPOINT_MIGRATION],
    stream=EVENTS_STREAM,
    filter_subject=EVENTS_FILTER,
    make_handler=checkpoint_only("hook-dispatcher"),
)


def main() -> None:
    """Run the hook-dispatcher until SIGTERM."""
    consumer_main(Settings, SPEC)
