"""`WorkerApi`: the worker's side of the API (lease protocol, logs, artifacts), asynchronous."""

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from .client import USER_AGENT, auth_headers, check
from .errors import connection_error
from .models import (
    Accepted,
    ArtifactStored,
    HeartbeatAnswer,
    Job,
    LeaseBatch,
    ReportOutcome,
    ReportOutcomes,
    RunReported,
    TaskResult,
    WorkerCredentials,
)

T = TypeVar("T")
_JSON = {"content-type": "application/json"}


class WorkerApi:
    """The calls a worker makes, authenticated as the worker (HTTP Basic: id and secret).

    ``token`` (a user token) is sent only to register the worker; everything else, follow-up jobs
    included, goes with the worker's own credentials. ``stamp``, when given, is called per request
    for headers to add: the worker's current trace context (``traceparent``), so its reports
    continue the run's trace.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        stamp: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._stamp = stamp
        self._token = token
        self._auth: httpx.BasicAuth | None = None
        self.worker_id = ""
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self._http = httpx.AsyncClient(
            base_url=self.url, headers={"user-agent": USER_AGENT}, timeout=timeout_s, trust_env=False, limits=limits
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def use_credentials(self, credentials: WorkerCredentials) -> None:
        """Authenticate every worker call as this worker from now on."""
        self.worker_id = credentials.id
        self._auth = httpx.BasicAuth(credentials.id, credentials.secret)

    async def _send(self, method: str, path: str, *, as_user: bool = False, **kwargs: Any) -> httpx.Response:
        if as_user:
            kwargs["headers"] = {**kwargs.get("headers", {}), **auth_headers(self._token)}
        elif self._auth is not None:
            kwargs["auth"] = self._auth
        if self._stamp is not None and (extra := self._stamp()):
            kwargs["headers"] = {**kwargs.get("headers", {}), **extra}
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise connection_error(self.url, exc) from exc
        return check(response)

    async def _json(self, path: str, kind: type[T], body: Any, *, timeout_s: float | None = None) -> T:
        extra: dict[str, Any] = {} if timeout_s is None else {"timeout": timeout_s}
        response = await self._send("POST", path, content=msgspec.json.encode(body), headers=_JSON, **extra)
        return msgspec.json.decode(response.content, type=kind)

    async def register(self, name: str, labels: Sequence[str], capacity: int) -> WorkerCredentials:
        """Register this machine as a worker: its id and secret (shown only now)."""
        body = {"name": name, "labels": list(labels), "capacity": capacity}
        content = msgspec.json.encode(body)
        response = await self._send("POST", "/v1/workers", as_user=True, content=content, headers=_JSON)
        return msgspec.json.decode(response.content, type=WorkerCredentials)

    async def lease(self, max_jobs: int, wait_s: float) -> LeaseBatch:
        """Lease up to ``max_jobs`` jobs, waiting up to ``wait_s`` seconds for one."""
        path = f"/v1/workers/{self.worker_id}/lease"
        return await self._json(path, LeaseBatch, {"max": max_jobs, "wait_s": wait_s}, timeout_s=wait_s + 30)

    async def heartbeat(
        self, leases: Sequence[str], *, load: float | None, memory: tuple[int, int] | None
    ) -> HeartbeatAnswer:
        """Renew the leases held and report load; the answer says which runs to stop."""
        body: dict[str, Any] = {"leases": list(leases), "load": load}
        if memory is not None:
            body["memory_free_mb"], body["memory_total_mb"] = memory
        return await self._json(f"/v1/workers/{self.worker_id}/heartbeat", HeartbeatAnswer, body)

    async def start(self, lease_id: str) -> RunReported:
        """Report that the run under ``lease_id`` started."""
        return await self._json(f"/v1/leases/{lease_id}/start", RunReported, {})

    async def task_state(self, lease_id: str, task: str, state: str, exit_code: int | None = None) -> RunReported:
        """Report a manifest task's state (``running``, ``succeeded``, ``failed``, ``skipped``)."""
        body: dict[str, Any] = {"state": state}
        if exit_code is not None:
            body["exit_code"] = exit_code
        return await self._json(f"/v1/leases/{lease_id}/tasks/{quote(task, safe='')}", RunReported, body)

    async def finish(
        self,
        lease_id: str,
        result: str,
        *,
        exit_code: int | None = None,
        verification: str | None = None,
        tasks: Sequence[TaskResult] = (),
        started_at: datetime | None = None,
    ) -> RunReported:
        """Report how the run ended: ``succeeded``, ``failed``, or ``skipped`` (give the job back).

        ``started_at``: when the run began, if its start was not reported with ``start``.
        """
        body: dict[str, Any] = {"result": result, "exit_code": exit_code}
        if verification is not None:
            body["verification"] = verification
        if started_at is not None:
            body["started_at"] = started_at.isoformat()
        if tasks:
            body["tasks"] = [msgspec.to_builtins(task) for task in tasks]
        return await self._json(f"/v1/leases/{lease_id}/finish", RunReported, body)

    async def report(self, reports: Sequence[Mapping[str, Any]]) -> list[ReportOutcome]:
        """Several starts, task states and finishes in one call (``finish_report`` and ``start_report``
        build them), each fenced by its lease: one outcome per report, in order; a refused report
        is an outcome (``error.code``, e.g. ``lease_not_current``), not an exception.

        Raises:
            NotFoundError: ``route_not_found`` from a gateway older than the batched protocol.
        """
        body = {"reports": list(reports)}
        return (await self._json(f"/v1/workers/{self.worker_id}/reports", ReportOutcomes, body)).results

    async def append_log(self, lease_id: str, offset: int, data: bytes, task: str | None = None) -> None:
        """Append ``data`` to the job's log at byte ``offset``."""
        params: dict[str, Any] = {"offset": offset}
        if task is not None:
            params["task"] = task
        headers = {"content-type": "application/octet-stream"}
        await self._send("POST", f"/v1/leases/{lease_id}/log", params=params, content=data, headers=headers)

    async def progress(self, lease_id: str, percent: float, task: str | None = None) -> None:
        """Report the run's progress in percent."""
        body: dict[str, Any] = {"percent": percent}
        if task is not None:
            body["task"] = task
        await self._send("POST", f"/v1/leases/{lease_id}/progress", content=msgspec.json.encode(body), headers=_JSON)

    async def upload_artifact(self, lease_id: str, path: str, chunks: AsyncIterator[bytes]) -> ArtifactStored:
        """Upload one artifact, streamed from ``chunks``."""
        headers = {"content-type": "application/octet-stream"}
        url = f"/v1/leases/{lease_id}/artifacts/{quote(path)}"
        response = await self._send("PUT", url, content=chunks, headers=headers, timeout=300)
        return msgspec.json.decode(response.content, type=ArtifactStored)

    async def log_message(self, level: str, message: str, scope: str | None = None) -> None:
        """A leveled log line of the worker itself (``trace``, ``info``, ``warn``, ``error``)."""
        body: dict[str, Any] = {"message": message}
        if scope is not None:
            body["scope"] = scope
        path = f"/v1/workers/{self.worker_id}/log/{level}"
        await self._send("POST", path, content=msgspec.json.encode(body), headers=_JSON)

    async def submit(self, job: Mapping[str, Any]) -> Job | Accepted:
        """Submit a job (a recipe's follow-up) as this worker: its project must have granted the
        worker ``submit`` access, and a ``parent`` must be a job it holds a lease on (or one of a
        project it may submit to). The job's owner is ``worker:<worker id>``."""
        response = await self._send("POST", "/v1/jobs", content=msgspec.json.encode(job), headers=_JSON)
        if response.status_code == 202:
            return msgspec.json.decode(response.content, type=Accepted)
        return msgspec.json.decode(response.content, type=Job)


def start_report(lease_id: str) -> dict[str, Any]:
    """A ``start`` for ``WorkerApi.report``."""
    return {"type": "start", "lease_id": lease_id}


def finish_report(
    lease_id: str,
    result: str,
    *,
    exit_code: int | None = None,
    verification: str | None = None,
    tasks: Sequence[TaskResult] = (),
    started_at: datetime | None = None,
) -> dict[str, Any]:
    """A ``finish`` for ``WorkerApi.report`` (the fields of ``WorkerApi.finish``)."""
    body: dict[str, Any] = {"type": "finish", "lease_id": lease_id, "result": result, "exit_code": exit_code}
    if verification is not None:
        body["verification"] = verification
    if started_at is not None:
        body["started_at"] = started_at.isoformat()
    if tasks:
        body["tasks"] = [msgspec.to_builtins(task) for task in tasks]
    return body
