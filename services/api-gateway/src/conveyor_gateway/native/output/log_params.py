"""Query parameters and raw bodies of the log, progress and artifact endpoints."""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from ...errors import FieldError, InvalidQueryError

INT64_MAX: Final = 2**63 - 1
MAX_ATTEMPT: Final = 2**31 - 1  # the logs tables' attempt column is a PostgreSQL integer
_TASK: Final = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")  # the manifest's task-name rule


def check_params(params: Mapping[str, str], allowed: frozenset[str]) -> list[FieldError]:
    return [FieldError(pointer=name, detail="unknown query parameter") for name in params if name not in allowed]


def task_param(params: Mapping[str, str], errors: list[FieldError]) -> str:
    """``task``: a task name, or ``""`` for the job's own log."""
    task = params.get("task", "")
    if task and not _TASK.match(task):
        errors.append(FieldError(pointer="task", detail="a task name: 1-64 of A-Z a-z 0-9 _ . -"))
    return task


def int_param(
    params: Mapping[str, str], name: str, errors: list[FieldError], *, minimum: int, maximum: int | None = None
) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    return bounded_int(raw, name, errors, minimum=minimum, maximum=maximum)


def bounded_int(
    raw: str, name: str, errors: list[FieldError], *, minimum: int, maximum: int | None = None
) -> int | None:
    """``raw`` as an integer from ``minimum`` to ``maximum`` (at most int64: PostgreSQL's bigint)."""
    top = min(maximum, INT64_MAX) if maximum is not None else INT64_MAX
    # ASCII digits only: str.isdigit() also holds for "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > 19 or not minimum <= int(raw) <= top:
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"from {minimum} to {INT64_MAX}"
        errors.append(FieldError(pointer=name, detail=f"an integer {bound}"))
        return None
    return int(raw)


def time_param(params: Mapping[str, str], name: str, errors: list[FieldError]) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        errors.append(FieldError(pointer=name, detail="an RFC 3339 time with a zone, e.g. 2026-01-02T03:04:05Z"))
        return None
    return value


def raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidQueryError("invalid query parameters", errors=errors)
