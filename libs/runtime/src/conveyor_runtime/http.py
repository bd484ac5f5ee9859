"""Health and metrics endpoints that every service exposes, and a way to serve them."""

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any

import asyncpg
import msgspec
import uvicorn
from nats.aio.client import Client as NatsClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .metrics import CONTENT_TYPE_LATEST, render_metrics

__all__ = ["ReadinessCheck", "health_routes", "nats_check", "postgres_check", "serve_http"]

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises when the dependency it checks is not usable."""

_encoder = msgspec.json.Encoder()


def nats_check(nc: NatsClient) -> ReadinessCheck:
    """Return a check that fails while the NATS connection is down."""

    async def check() -> None:
        if not nc.is_connected:
            raise ConnectionError("not connected to NATS")
        await nc.flush(timeout=2)

    return check


def postgres_check(pool: "asyncpg.Pool[Any]") -> ReadinessCheck:
    """Return a check that runs ``SELECT 1`` on the pool."""

    async def check() -> None:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")

    return check


def health_routes(checks: Callable[[], Mapping[str, ReadinessCheck]]) -> list[Route]:
    """Build ``/healthz`` (the process is alive), ``/readyz`` (dependencies usable), ``/metrics``.

    Args:
        checks: Returns the named readiness checks (looked up per request, so they can be
            installed after start-up).

    Returns:
        Starlette routes.
    """

    async def healthz(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def readyz(_: Request) -> Response:
        results: dict[str, str] = {}
        current = checks()
        for name, check in current.items():
            try:
                await asyncio.wait_for(check(), 3)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"failing: {type(exc).__name__}"
        ready = bool(current) and all(v == "ok" for v in results.values())
        body = {"status": "ready" if ready else "not_ready", "checks": results}
        return Response(_encoder.encode(body), status_code=200 if ready else 503, media_type="application/json")

    async def metrics(_: Request) -> Response:
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server inside a service that handles signals itself (``lifecycle``).

    uvicorn's own ``serve`` captures SIGTERM and re-raises it on exit, which the service would
    take for a second signal.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv6 when the host has a colon), for uvicorn's ``sockets``.

    Raises:
        OSError: The port is in use or the address is not this machine's.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)  # uvicorn's worker processes serve it too
    return sock


async def serve_http(
    app: Starlette,
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    lifespan: bool = False,
    extra_ports: Sequence[int] = (),
) -> None:
    """Serve ``app`` with uvicorn (httptools) inside the running loop until ``stop`` is set.

    Args:
        app: The ASGI app.
        host: Bind address.
        port: Port.
        stop: Set to shut the server down.
        lifespan: Run the app's lifespan (the gateway's opens its connections there).
        extra_ports: More ports on ``host`` served by the same app (the gateway's façade ports;
            the app tells them apart by ``scope["server"]``).
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http="httptools",
        loop="none",
        lifespan="on" if lifespan else "off",
        log_config=None,
        access_log=False,
        # Longer than clients keep idle connections (httpx: 5 s), so the server never closes one
        # just as a client sends on it: a POST caught that way fails (clients do not retry it).
        timeout_keep_alive=75,
        # A long poll (a lease call's wait_s) or a live tail must not hold a stopping service
        # forever: after this long, requests still in flight are cut.
        timeout_graceful_shutdown=5,
    )
    server = _EmbeddedServer(config)
    sockets = [listen_socket(host, p) for p in (port, *extra_ports)] if extra_ports else None
    task = asyncio.create_task(server.serve(sockets=sockets))
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        stopped.cancel()
        await task  # re-raises a start-up failure such as a port in use
        return
    server.should_exit = True
    await task
