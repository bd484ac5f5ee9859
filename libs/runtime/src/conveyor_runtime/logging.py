"""structlog configuration: JSON lines in production, readable lines on a terminal."""

import logging
import sys
from typing import Any

import msgspec
import structlog

__all__ = ["configure_logging", "get_logger"]

_json_encoder = msgspec.json.Encoder()


def _serialize(obj: Any, **_: Any) -> str:
    return _json_encoder.encode(obj).decode()


def configure_logging(level: str = "info", json: bool | None = None) -> None:
    """Configure structlog and the standard library loggers (uvicorn, asyncpg, nats).

    Args:
        level: Minimum level name.
        json: JSON lines when true, console rendering when false; when ``None``, JSON unless
            stderr is a terminal.
    """
    use_json = (not sys.stderr.isatty()) if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_serialize) if use_json else structlog.dev.ConsoleRenderer()
    )
    # Never the frames' local variables: they hold request bodies and credentials (CONVENTIONS §7).
    no_locals = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
    tracebacks: list[Any] = [structlog.processors.ExceptionRenderer(no_locals)] if use_json else []
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, *tracebacks, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tracebacks, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    """Return a structlog logger bound to a component name.

    Args:
        name: The component, e.g. ``"projector"``.

    Returns:
        A lazy logger: it binds on first use, so module-level loggers pick up the configuration
        that ``configure_logging`` installs later.
    """
    return structlog.get_logger(name, component=name)
