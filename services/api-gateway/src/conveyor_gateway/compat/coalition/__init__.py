"""coalition's REST API and worker protocol on Conveyor (issue 16): ``app`` serves them at its root."""

from .app import app

__all__ = ["app"]
