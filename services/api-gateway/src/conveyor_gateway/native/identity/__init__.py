"""The gateway's native.identity layer."""
