"""isula-composer-server's task statuses for Conveyor's job states (pure).

The real server knew ``new``, ``running``, ``finish``, ``failed`` and ``inner error`` (its image
builder was never written). A job waiting to run is ``new``; one leased or running is ``running``;
``finish`` is success; a failure, a time-out or a cancellation is ``failed``.
"""

from conveyor_events.states import JobStateName


def status_of(state: JobStateName) -> str:
    """The isula status word of a job in ``state``."""
    if state in ("assigned", "running"):
        return "running"
    if state == "succeeded":
        return "finish"
    if state in ("failed", "timed_out", "cancelled"):
        return "failed"
    return "new"  # submitted, held, blocked, queued, awaiting verification
