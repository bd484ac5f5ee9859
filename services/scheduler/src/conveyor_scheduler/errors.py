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


class ReportRejectedError(SchedulerError):
    """A worker's report is not acceptable as sent (e.g. an unknown task name); fix and resend."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
