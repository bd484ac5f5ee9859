"""Exceptions raised by the embedded infrastructure managers."""

__all__ = ["DevstackError", "ServerStartError"]


class DevstackError(Exception):
    """Root of every error raised by ``conveyor_devstack``."""


class ServerStartError(DevstackError):
    """A server process exited or did not become ready in time.

    The message says which server, why, and ends with the tail of its log.
    """
