"""The gateway's native.workers layer."""
