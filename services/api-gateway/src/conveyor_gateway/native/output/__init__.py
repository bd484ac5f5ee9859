"""The gateway's native.output layer."""
