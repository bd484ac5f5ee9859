"""The gateway's core layer."""
