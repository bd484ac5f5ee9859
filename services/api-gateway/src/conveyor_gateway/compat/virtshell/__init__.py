"""The VirtShell façade (issue 18): VirtShell's tasks API over Conveyor's jobs."""
