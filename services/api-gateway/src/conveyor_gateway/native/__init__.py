"""The gateway's native layer."""
