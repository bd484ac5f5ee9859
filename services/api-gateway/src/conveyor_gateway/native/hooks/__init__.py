"""The gateway's native.hooks layer."""
