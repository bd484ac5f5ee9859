"""The gateway's native.events layer."""
