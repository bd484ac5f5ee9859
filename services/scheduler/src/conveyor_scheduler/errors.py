"""Scheduler error root."""


class SchedulerError(Exception):
    """Root of the scheduler's own errors."""

    code = "scheduler_error"


class SchedulerBusyError(SchedulerError):
    """Another scheduler process holds the scheduler lock (rebuild refused)."""

    code = "scheduler_running"


class LeaseNotCurrentError(SchedulerError):
    """A report names a lease the job no longer holds (expired, cancelled, reassigned)."""

    code = "lease_not_current"
