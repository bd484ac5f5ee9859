"""task_tracker's request bodies, decoded as its Go server did: whatever the content type (its
clients send none, or curl's form type), unknown fields ignored, absent ones zero, a wrong type
or malformed JSON answered ``400 "Could not parse request"``; then each body's own validity rule.
"""

from typing import Annotated, Final, TypeVar

import msgspec
from starlette.requests import Request

from .envelope import TtError

T = TypeVar("T", bound=msgspec.Struct)

Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Int16 = Annotated[int, msgspec.Meta(ge=-(2**15), le=2**15 - 1)]
MAX_BODY: Final = 1024 * 1024
BULK_MAX_BODY: Final = 16 * 1024 * 1024
PARSE_ERROR: Final = "Could not parse request"


class CreateWorker(msgspec.Struct, kw_only=True):
    alias: str = ""


class UpdateWorker(msgspec.Struct, kw_only=True):
    alias: str = ""


class SetPaused(msgspec.Struct, kw_only=True):
    worker: Int64 = 0
    paused: bool = False


class SubmitTask(msgspec.Struct, kw_only=True):
    """``/task/submit``. The real key is ``hash_u64``; the document's ``hash64`` is taken too."""

    project: Int64 = 0
    max_retries: Int16 = 0
    recipe: str = ""
    priority: Int16 = 0
    max_assign_time: Int64 = 0
    hash_u64: Int64 = 0
    hash64: Int64 = 0
    unique_string: str = ""
    verification_count: Int16 = 0


class BulkSubmit(msgspec.Struct, kw_only=True):
    requests: list[SubmitTask] | None = None


class ReleaseTask(msgspec.Struct, kw_only=True):
    task_id: Int64 = 0
    result: Int64 = 0
    verification: Int64 = 0


class LogLine(msgspec.Struct, kw_only=True):
    """``/log/<level>``. The Go client sends ``Message`` (its struct's tag), the Python drone
    ``message``: Go's decoder matched keys in any case, so both are read."""

    scope: str = ""
    message: str = ""
    go_message: str = msgspec.field(default="", name="Message")
    timestamp: Int64 = 0

    @property
    def text(self) -> str:
        return self.message or self.go_message


class GetLogs(msgspec.Struct, kw_only=True):
    level: Int64 = 0
    since: Int64 = 0


class AccessAsk(msgspec.Struct, kw_only=True):
    assign: bool = False
    submit: bool = False
    project: Int64 = 0


class ProjectFields(msgspec.Struct, kw_only=True):
    """``/project/create`` and ``/project/update/:id`` (``paused`` only on update)."""

    name: str = ""
    clone_url: str = ""
    git_repo: str = ""
    version: str = ""
    priority: Int64 = 0
    motd: str = ""
    public: bool = False
    hidden: bool = False
    chain: Int64 = 0
    paused: bool = False
    assign_rate: float = 0.0
    submit_rate: float = 0.0


class Credentials(msgspec.Struct, kw_only=True):
    username: str = ""
    password: str = ""


class SetRole(msgspec.Struct, kw_only=True):
    manager: Int64 = 0
    role: Int64 = 0


class SetSecret(msgspec.Struct, kw_only=True):
    secret: str = ""


class SetWebhookSecret(msgspec.Struct, kw_only=True):
    webhook_secret: str = ""


def decode(raw: bytes, kind: type[T]) -> T:
    """``raw`` as a ``kind``.

    Raises:
        TtError: Malformed JSON, not an object, or a field of the wrong type (400).
    """
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise TtError(PARSE_ERROR) from None


async def read_body(request: Request, kind: type[T], limit: int = MAX_BODY) -> T:
    """The request's body as a ``kind``, whatever its content type.

    Raises:
        TtError: Too large (413) or not a ``kind`` (400).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TtError("Request body too large", 413)
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise TtError("Request body too large", 413)
    return decode(bytes(chunks), kind)
