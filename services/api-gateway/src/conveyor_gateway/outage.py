"""A dependency that is away (NATS or PostgreSQL restarting): 503 with ``Retry-After``, never 500.

Issue 13: during a PostgreSQL restart, token authentication and the read after an append
answered a bare 500. Every exception below means "a dependency did not answer", which a client
should retry; the problem names the dependency. A write whose event was already appended when a
dependency failed is not answered here: it answers ``202`` with the job's id (``stored_anyway``).
"""

from typing import Final

import asyncpg
import msgspec
import nats.errors
from nats.js.errors import NoStreamResponseError, ServerError, ServiceUnavailableError
from starlette.requests import Request
from starlette.responses import Response

from conveyor_events import AppendConflictError, AppendError
from conveyor_runtime import get_logger

from .bodies import JobAccepted
from .problems import unexpected_problem

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

_encoder: Final = msgspec.json.Encoder()
_log = get_logger("gateway")


class DependencyProblem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem for a dependency outage; ``dependency`` says which one.

    A submission whose append was not confirmed also carries the job's ``id`` and ``stored:
    "unknown"``: the event may still be stored when NATS is back, so the client reads ``id``
    (or resubmits with a ``dedupe_key``) rather than resubmitting blindly.
    """

    type: str
    title: str
    status: int
    detail: str
    instance: str
    dependency: str
    id: str | None = None
    stored: str | None = None


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


async def outage_problem(request: Request, exc: Exception) -> Response:
    """503 ``dependency_unavailable`` with ``Retry-After``; anything else is a genuine failure."""
    if not is_outage(exc):
        return await unexpected_problem(request, exc)
    dependency = dependency_of(exc)
    _log.warning("dependency_unavailable", path=request.url.path, dependency=dependency, error=type(exc).__name__)
    problem = DependencyProblem(
        type="/problems/dependency_unavailable",
        title="Dependency unavailable",
        status=503,
        detail=f"{dependency} is not available (restarting or unreachable); retry after {RETRY_AFTER_S} s",
        instance=request.url.path,
        dependency=dependency,
    )
    return Response(
        _encoder.encode(problem),
        status_code=503,
        media_type="application/problem+json",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def stored_anyway(job_id: str, exc: BaseException) -> Response:
    """``202`` for a submission whose event is stored though a dependency failed after it.

    The client must not submit again (that would make a second job): the job exists and will be
    readable at ``Location`` once the dependency is back.
    """
    dependency = dependency_of(exc)
    _log.warning("stored_but_unconfirmed", job_id=job_id, dependency=dependency, error=type(exc).__name__)
    detail = f"stored; {dependency} failed after the job was stored, so it is readable at Location once it is back"
    return Response(
        _encoder.encode(JobAccepted(id=job_id, detail=detail)),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/v1/jobs/{job_id}", "Retry-After": str(RETRY_AFTER_S)},
    )


def unconfirmed_submission(job_id: str) -> Response:
    """``503`` for a submission whose append NATS did not confirm in time (see `DependencyProblem`)."""
    _log.warning("submission_unconfirmed", job_id=job_id)
    problem = DependencyProblem(
        type="/problems/dependency_unavailable",
        title="Dependency unavailable",
        status=503,
        detail=(
            "nats did not confirm the submission in time; it may still be stored: read GET /v1/jobs/{id} after "
            f"{RETRY_AFTER_S} s before submitting again (a dedupe_key makes a retry safe)"
        ),
        instance="/v1/jobs",
        dependency="nats",
        id=job_id,
        stored="unknown",
    )
    return Response(
        _encoder.encode(problem),
        status_code=503,
        media_type="application/problem+json",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


OUTAGE_HANDLERS: Final = {kind: outage_problem for kind in OUTAGE_ERRORS}
"""Exception handlers for ``Starlette(exception_handlers=...)``."""
