"""The gateway's native.projects layer."""
