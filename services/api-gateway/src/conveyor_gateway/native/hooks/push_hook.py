"""Inbound git push hooks: GitHub (``X-Hub-Signature-256: sha256=<hex>``) and Gogs
(``X-Gogs-Signature: <hex>``), both HMAC-SHA256 of the raw body with the project's webhook
secret. A valid push sets the project's ``version`` to the pushed commit (``after``).

An unknown project, a hidden one and a wrong signature all answer the same 401 after the same
work (an HMAC against a dummy key), so the hook reveals no project names.
"""

import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import ProjectUpdated, new_uuid7, project_subject

from ...core.context import State
from ...errors import FieldError, UnauthenticatedError, ValidationFailedError
from ...http.plumbing import json_response, read_json_body

_DUMMY_KEY: Final = b"conveyor-no-such-project"
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_SHA: Final = re.compile(r"^[0-9a-f]{7,64}$")
_REFUSED: Final = "the signature does not match this project's webhook secret"


class HookSignatureError(UnauthenticatedError):
    code = "invalid_signature"
    title = "The hook's signature is missing or wrong"
    headers = (("WWW-Authenticate", 'HMAC-SHA256 realm="conveyor-hooks"'),)


class PushPayload(msgspec.Struct, kw_only=True):
    """The fields of a GitHub or Gogs push event that matter here (others are ignored)."""

    after: str = ""
    ref: str = ""


def signature_of(request_headers: dict[str, str]) -> tuple[str, str] | None:
    """``(source, hex digest)`` from the GitHub or Gogs header, or None."""
    github = request_headers.get("x-hub-signature-256", "")
    if github.startswith("sha256="):
        return "github", github.removeprefix("sha256=").strip().lower()
    gogs = request_headers.get("x-gogs-signature", "")
    if gogs:
        return "gogs", gogs.strip().lower()
    return None


def signature_matches(key: bytes, body: bytes, presented: str) -> bool:
    """Constant-time comparison of the presented hex digest with HMAC-SHA256(key, body)."""
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), presented.encode("ascii", "replace"))


async def push_hook(request: Request) -> Response:
    """``POST /v1/projects/{name}/hooks/push``: 200 with the new version; 401 for a bad signature."""
    state: State = request.scope["state"]
    body = await read_json_body(request, state["max_body_bytes"])
    signed = signature_of({k.lower(): v for k, v in request.headers.items()})
    name: str = request.path_params["project"]
    project = await state["projects"].by_name(name) if _NAME.match(name) else None
    key = project.webhook_secret.encode() if project is not None else _DUMMY_KEY
    is_valid = signed is not None and signature_matches(key, body, signed[1])
    if project is None or signed is None or not is_valid:
        raise HookSignatureError(_REFUSED)
    try:
        push = msgspec.json.decode(body, type=PushPayload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValidationFailedError(
            "not a push event", errors=[FieldError(pointer="/after", detail=str(exc))]
        ) from None
    if not _SHA.match(push.after):
        raise ValidationFailedError("not a push event", errors=[FieldError(pointer="/after", detail="a commit id")])
    event = ProjectUpdated(
        event_id=new_uuid7(),
        project_id=project.id,
        occurred_at=datetime.now(UTC),
        version=push.after,
        requested_by=f"hook:{signed[0]}",
    )
    appended = await state["appender"].append(project_subject(project.id), event)
    await state["projects_watcher"].wait_for(appended.seq, state["write_wait_s"])
    return json_response({"project": project.name, "version": push.after, "source": signed[0]})


PUSH_HOOK_ROUTES: Final = [Route("/v1/projects/{project}/hooks/push", push_hook, methods=["POST"])]
