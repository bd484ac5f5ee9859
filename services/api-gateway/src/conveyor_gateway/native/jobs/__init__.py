"""The gateway's native.jobs layer."""
