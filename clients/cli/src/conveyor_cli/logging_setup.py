"""Log output of the long-running commands: readable on a terminal, JSON lines otherwise."""

import logging
import os
import sys

import structlog


def configure_worker_logging() -> None:
    """structlog to stderr: console rendering on a terminal, JSON otherwise (or with CONVEYOR_LOG_JSON=1)."""
    is_json = os.environ.get("CONVEYOR_LOG_JSON", "") == "1" or not sys.stderr.isatty()
    level = getattr(logging, os.environ.get("CONVEYOR_LOG_LEVEL", "info").upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if is_json else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks if is_json else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
