"""`Client`: the user's side of the API (jobs, workers, logs, projects, tokens), synchronous."""

import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from .config import ClientConfig
from .errors import NotFoundError, connection_error, error_from_response
from .models import (
    Accepted,
    DeliveryPage,
    Explanation,
    Hook,
    HookPage,
    IssuedToken,
    Job,
    JobPage,
    LogEnd,
    LogText,
    Project,
    ProjectPage,
    Redelivery,
    TokenPage,
    Worker,
    WorkerCredentials,
    WorkerPage,
)
from .sse import parse_sse

T = TypeVar("T")
USER_AGENT = "conveyor-client/0.1"


def auth_headers(token: str | None) -> dict[str, str]:
    """``Authorization: Bearer <token>`` when a token is configured, else nothing."""
    return {"authorization": f"Bearer {token}"} if token else {}


def check(response: httpx.Response) -> httpx.Response:
    """Return the response if it succeeded, else raise the typed `ApiError` for it."""
    if response.status_code >= 400:
        raise error_from_response(
            response.status_code, response.content, method=response.request.method, url=str(response.request.url)
        )
    return response


def _drop_none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


class Client:
    """A typed client of the Conveyor API for people's tools: jobs, workers and logs.

    ``Client(ClientConfig(...))`` or ``Client.from_url("http://127.0.0.1:8080", token=...)``; use it
    as a context manager, or call `close`. Errors are `conveyor_client.errors.ConveyorError`
    subclasses whose message says how to fix them.
    """

    def __init__(self, config: ClientConfig, *, timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None):
        self.config = config
        headers = {"user-agent": USER_AGENT, **auth_headers(config.token)}
        # trust_env=False: a proxy from the environment must not intercept calls to a local stack.
        self._http = httpx.Client(
            base_url=config.url, headers=headers, timeout=timeout_s, trust_env=False, transport=transport
        )

    @classmethod
    def from_url(cls, url: str, *, token: str | None = None) -> "Client":
        """A client of the API at ``url``."""
        return cls(ClientConfig(url=url.rstrip("/"), token=token, url_source="argument", token_source=None))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; raise `ConnectionFailedError` or the typed `ApiError` on failure."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise connection_error(self.config.url, exc) from exc
        return check(response)

    def _get(self, path: str, kind: type[T], **params: Any) -> T:
        return msgspec.json.decode(self.request("GET", path, params=_drop_none(params)).content, type=kind)

    def _post(self, path: str, kind: type[T], body: Any = None) -> T:
        content = msgspec.json.encode(body if body is not None else {})
        response = self.request("POST", path, content=content, headers={"content-type": "application/json"})
        return msgspec.json.decode(response.content, type=kind)

    # Jobs

    def submit(self, job: Mapping[str, Any]) -> Job | Accepted:
        """Submit a job (the body of ``POST /v1/jobs``): the job, or `Accepted` when not yet visible."""
        content = msgspec.json.encode(job)
        response = self.request("POST", "/v1/jobs", content=content, headers={"content-type": "application/json"})
        if response.status_code == 202:
            return msgspec.json.decode(response.content, type=Accepted)
        return msgspec.json.decode(response.content, type=Job)

    def job(self, job_id: str) -> Job:
        """Read a job."""
        return self._get(f"/v1/jobs/{quote(job_id, safe='')}", Job)

    def jobs(
        self,
        *,
        state: str | None = None,
        project: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of jobs, newest first."""
        return self._get("/v1/jobs", JobPage, state=state, project=project, tag=tag, limit=limit, cursor=cursor)

    def job_action(self, job_id: str, action: str, body: Mapping[str, Any] | None = None) -> Job:
        """``cancel``, ``pause``, ``resume``, ``start``, ``reset`` or ``restart`` a job; the job after it."""
        return self._post(f"/v1/jobs/{quote(job_id, safe='')}/{action}", Job, body)

    def explain(self, job_id: str) -> Explanation:
        """Why a job is not running (or how it ended)."""
        return self._get(f"/v1/jobs/{quote(job_id, safe='')}/explain", Explanation)

    def delete_job(self, job_id: str) -> None:
        """Remove a job from every view."""
        self.request("DELETE", f"/v1/jobs/{quote(job_id, safe='')}")

    def read_log(self, job_id: str, offset: int = 0, task: str | None = None) -> bytes:
        """The job's log (or a manifest task's) from byte ``offset`` on (empty when nothing is there yet)."""
        headers = {"range": f"bytes={offset}-"} if offset else {}
        params = {"task": task} if task else {}
        try:
            response = self._http.get(f"/v1/jobs/{quote(job_id, safe='')}/log", headers=headers, params=params)
        except httpx.TransportError as exc:
            raise connection_error(self.config.url, exc) from exc
        if response.status_code == 416:  # nothing past the offset yet
            return b""
        return check(response).content

    def follow_log(self, job_id: str, *, offset: int = 0, task: str | None = None) -> Iterator[LogText | LogEnd]:
        """The job's log as it grows (`LogText` pieces), then one `LogEnd` once the job ended and its
        log is complete. Reconnects after a dropped connection from the last offset received."""
        params: dict[str, Any] = {"task": task} if task else {}
        failures = 0
        while True:
            headers = {"accept": "text/event-stream", "last-event-id": str(offset)}
            try:
                with self._http.stream(
                    "GET", f"/v1/jobs/{quote(job_id, safe='')}/log/stream", params=params, headers=headers,
                    timeout=httpx.Timeout(30.0, read=60.0),
                ) as response:  # fmt: skip
                    if response.status_code >= 400:
                        response.read()
                        check(response)
                    for message in parse_sse(response.iter_lines()):
                        failures = 0
                        if message.event == "end":
                            yield msgspec.json.decode(message.data, type=LogEnd)
                            return
                        piece = msgspec.json.decode(message.data, type=LogText)
                        offset = int(message.id) if message.id and message.id.isdigit() else offset
                        yield piece
            except httpx.TransportError as exc:
                failures += 1
                if failures > 5:
                    raise connection_error(self.config.url, exc) from exc
                time.sleep(min(5.0, 0.2 * 2**failures))

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        """The job's artifacts (path, size, sha256)."""
        body = msgspec.json.decode(self.request("GET", f"/v1/jobs/{quote(job_id, safe='')}/artifacts").content)
        items = body.get("items", body.get("artifacts", [])) if isinstance(body, dict) else body
        return list(items or [])

    def download_artifact(self, job_id: str, path: str) -> bytes:
        """One artifact's bytes."""
        return self.request("GET", f"/v1/jobs/{quote(job_id, safe='')}/artifacts/{quote(path)}").content

    # Workers

    def register_worker(self, name: str, labels: list[str], capacity: int) -> WorkerCredentials:
        """Register a worker: its id and secret (shown only now)."""
        return self._post("/v1/workers", WorkerCredentials, {"name": name, "labels": labels, "capacity": capacity})

    def worker(self, worker_id: str) -> Worker:
        """Read a worker."""
        return self._get(f"/v1/workers/{quote(worker_id, safe='')}", Worker)

    def workers(self, *, limit: int | None = None, cursor: str | None = None) -> WorkerPage:
        """One page of workers, newest first."""
        return self._get("/v1/workers", WorkerPage, limit=limit, cursor=cursor)

    def delete_worker(self, worker_id: str) -> None:
        """Delete a worker; its credentials stop working within seconds."""
        self.request("DELETE", f"/v1/workers/{quote(worker_id, safe='')}")

    def worker_action(self, worker_id: str, action: str) -> Worker:
        """``pause``, ``resume`` or ``drain`` a worker; the worker after it."""
        return self._post(f"/v1/workers/{quote(worker_id, safe='')}/{action}", Worker)

    # Webhooks

    def create_hook(self, url: str, events: list[str], *, project: str | None = None, description: str = "") -> Hook:
        """Create a hook of the caller's jobs (or of ``project``'s); its ``secret`` is shown only now."""
        body = _drop_none({"url": url, "events": events, "project": project, "description": description})
        response = self.request("POST", "/v1/hooks", json=body)
        if response.status_code == 202:  # stored; the dispatcher has not folded it yet
            accepted = msgspec.json.decode(response.content, type=dict[str, str])
            return Hook(id=accepted["id"], secret=accepted["secret"], url=url, events=events, project=project,
                        description=description)  # fmt: skip
        return msgspec.json.decode(response.content, type=Hook)

    def hooks(self) -> HookPage:
        """The hooks the caller may manage."""
        return self._get("/v1/hooks", HookPage)

    def hook(self, hook_id: str) -> Hook:
        """Read a hook."""
        return self._get(f"/v1/hooks/{quote(hook_id, safe='')}", Hook)

    def update_hook(self, hook_id: str, changes: Mapping[str, Any]) -> Hook:
        """Change a hook (``url``, ``events``, ``active``, ``description``); ``active: true`` re-enables it."""
        response = self.request("PATCH", f"/v1/hooks/{quote(hook_id, safe='')}", json=dict(changes))
        return msgspec.json.decode(response.content, type=Hook)

    def delete_hook(self, hook_id: str) -> None:
        """Delete a hook; its pending deliveries are cancelled."""
        self.request("DELETE", f"/v1/hooks/{quote(hook_id, safe='')}")

    def deliveries(self, hook_id: str, *, limit: int | None = None, cursor: str | None = None) -> DeliveryPage:
        """A hook's deliveries, newest first, each with its attempts."""
        return self._get(f"/v1/hooks/{quote(hook_id, safe='')}/deliveries", DeliveryPage, limit=limit, cursor=cursor)

    def redeliver(self, hook_id: str, delivery_id: str) -> Redelivery:
        """Send a past delivery again (same ``webhook-id``)."""
        path = f"/v1/hooks/{quote(hook_id, safe='')}/deliveries/{quote(delivery_id, safe='')}/redeliver"
        return self._post(path, Redelivery)

    # Projects

    def projects(self) -> ProjectPage:
        """The projects the caller may see, by name."""
        return self._get("/v1/projects", ProjectPage)

    def project(self, name: str) -> Project:
        """Read a project (a hidden one only with the ``read`` role: else 404, as if missing)."""
        return self._get(f"/v1/projects/{quote(name, safe='')}", Project)

    def create_project(self, body: Mapping[str, Any]) -> Project:
        """Create a project (the body of ``POST /v1/projects``); the caller becomes its owner."""
        content = msgspec.json.encode(body)
        response = self.request("POST", "/v1/projects", content=content, headers={"content-type": "application/json"})
        if response.status_code == 202:  # stored, not yet visible: read it back once it is
            for _ in range(20):
                try:
                    return self.project(str(body["name"]))
                except NotFoundError:
                    time.sleep(0.1)
        return msgspec.json.decode(response.content, type=Project)

    def update_project(self, name: str, changes: Mapping[str, Any]) -> Project:
        """Change a project's fields (the body of ``PATCH /v1/projects/{name}``); the project after it."""
        content = msgspec.json.encode(changes)
        path = f"/v1/projects/{quote(name, safe='')}"
        response = self.request("PATCH", path, content=content, headers={"content-type": "application/json"})
        return msgspec.json.decode(response.content, type=Project)

    # Tokens

    def tokens(self) -> TokenPage:
        """The caller's API tokens, newest first (never the tokens themselves)."""
        return self._get("/v1/tokens", TokenPage)

    def create_token(self, name: str, scopes: Sequence[str], expires_in_s: int | None = None) -> IssuedToken:
        """A new token for the caller, with at most the calling token's scopes; shown only now."""
        body: dict[str, Any] = {"name": name, "scopes": list(scopes)}
        if expires_in_s is not None:
            body["expires_in_s"] = expires_in_s
        return self._post("/v1/tokens", IssuedToken, body)

    def revoke_token(self, token_id: str) -> None:
        """Revoke one of the caller's tokens (an admin: anyone's)."""
        self.request("DELETE", f"/v1/tokens/{quote(token_id, safe='')}")
