"""What ``GET /v1/events`` and ``/v1/events/stream`` select, and what a caller may see of it: pure.

Only the job and worker aggregates are published to subscribers (users, projects and hooks hold
secrets or identity data). Secrets a job or worker event carries (a trigger's signing secret, a
worker's secret hash) are removed from what is sent.
"""

from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from conveyor_events import parse_uuid

from ...core.reader import decode_cursor
from ...errors import FieldError, InvalidQueryError
from ...http.plumbing import page_limit

PUBLISHED: Final = frozenset({"job", "worker"})
_SECRET_KEYS: Final = frozenset({"secret", "secret_hash", "token_hash"})
_PARAMS: Final = frozenset({"job", "worker", "type", "since", "limit", "cursor"})


class EventQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The filters: all given ones must match. ``after_seq``: resume after this stream sequence."""

    job: str | None = None
    worker: str | None = None
    types: tuple[str, ...] = ()
    since: datetime | None = None
    limit: int = 100
    after_seq: int | None = None


def parse_query(params: dict[str, str], *, paged: bool) -> EventQuery:
    """Read and check the query parameters (``limit`` and ``cursor`` only when ``paged``).

    Raises:
        InvalidQueryError: With one error per bad parameter.
    """
    allowed = _PARAMS if paged else _PARAMS - {"limit", "cursor"}
    errors = [FieldError(pointer=k, detail="unknown parameter") for k in params if k not in allowed]
    job = worker = None
    for name in ("job", "worker"):
        if name in params:
            value = parse_uuid(params[name])
            if value is None:
                errors.append(FieldError(pointer=name, detail="a UUID"))
            elif name == "job":
                job = value
            else:
                worker = value
    types = tuple(t for t in params.get("type", "").split(",") if t)
    since = None
    if "since" in params:
        try:
            since = datetime.fromisoformat(params["since"].replace("Z", "+00:00"))
            if since.tzinfo is None:
                raise ValueError("no offset")
            since = since.astimezone(UTC)  # 0001-01-01T00:00+01:00 is before the first UTC instant
        except (ValueError, OverflowError):
            errors.append(FieldError(pointer="since", detail="an RFC 3339 time with an offset"))
    limit = page_limit(params, errors, default=100)
    if errors:
        raise InvalidQueryError("invalid query parameters", errors=errors)
    after = decode_cursor(params["cursor"]) if paged and params.get("cursor") else None
    return EventQuery(job=job, worker=worker, types=types, since=since, limit=limit, after_seq=after)


def type_matches(types: tuple[str, ...], tag: str) -> bool:
    """No filter, an exact tag, or a ``prefix.*`` pattern."""
    return not types or any(t == tag or (t.endswith(".*") and tag.startswith(t[:-1])) for t in types)


def selected(query: EventQuery, aggregate: str, doc: dict[str, Any]) -> bool:
    """Whether an event (decoded to a dict) passes the query's filters."""
    if aggregate not in PUBLISHED or not type_matches(query.types, str(doc.get("type", ""))):
        return False
    if query.job is not None and doc.get("job_id") != query.job:
        return False
    return query.worker is None or doc.get("worker_id") == query.worker


def visible(
    aggregate: str, doc: dict[str, Any], *, is_admin: bool, may_see_workers: bool, readable_jobs: set[str]
) -> bool:
    """Worker events need the ``workers`` scope; job events a job the caller may read."""
    if is_admin:
        return True
    if aggregate == "worker":
        return may_see_workers
    return str(doc.get("job_id")) in readable_jobs


def redacted(doc: Any) -> Any:
    """The event without the secrets it may carry."""
    if isinstance(doc, dict):
        return {k: redacted(v) for k, v in doc.items() if k not in _SECRET_KEYS}
    if isinstance(doc, list):
        return [redacted(v) for v in doc]
    return doc
