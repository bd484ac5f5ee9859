"""Which errors mean a dependency is away (NATS or PostgreSQL restarting), and which one.

Every exception below means "a dependency did not answer", which a client should retry: the HTTP
surfaces answer 503 with ``Retry-After`` (``http/outage.py``), and a use case that already stored
its event reports the job as stored instead of failing (issue 13).
"""

from typing import Final

import asyncpg
import nats.errors
from nats.js.errors import NoStreamResponseError, ServerError, ServiceUnavailableError

from conveyor_events import AppendConflictError, AppendError

RETRY_AFTER_S: Final = 2
"""What ``Retry-After`` says: a restart of either server takes a few seconds."""

POSTGRES_ERRORS: Final = (
    asyncpg.PostgresConnectionError,  # the connection broke or could not be made
    asyncpg.InterfaceError,  # the connection was closed under the pool
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.TooManyConnectionsError,
)
NATS_ERRORS: Final = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.TimeoutError,
    nats.errors.FlushTimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.errors.UnexpectedEOF,
    NoStreamResponseError,  # JetStream did not answer
    ServiceUnavailableError,  # JetStream not (yet) serving
    ServerError,  # JetStream's 5xx
    AppendError,  # the stream did not confirm an append in time
)
OUTAGE_ERRORS: Final = (*POSTGRES_ERRORS, *NATS_ERRORS, OSError, TimeoutError)
"""Everything that means a dependency is away; ``OSError``/``TimeoutError`` cover refused sockets
and a pool or request that waited too long."""


def dependency_of(exc: BaseException) -> str:
    """``"postgres"`` or ``"nats"``: which dependency an outage error came from."""
    if isinstance(exc, POSTGRES_ERRORS):
        return "postgres"
    if isinstance(exc, NATS_ERRORS):
        return "nats"
    # A refused socket or a timeout says nothing itself: the code it was raised through does.
    tb = exc.__traceback__
    named = "unknown"
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith("asyncpg"):
            named = "postgres"
        elif module.startswith("nats"):
            named = "nats"
        tb = tb.tb_next
    return named


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means a dependency is away (and not, e.g., a dedupe conflict)."""
    return isinstance(exc, OUTAGE_ERRORS) and not isinstance(exc, AppendConflictError)
