"""Integer ids for the façades whose clients know only numbers (task_tracker): reads that map
them to Conveyor's own ids and back.

Every number is the stream sequence of the thing's first event, which a restart or a projection
rebuild gives again: a job's ``submitted_seq``, a worker's ``registered_seq``, a project's and a
user's ``created_seq`` (identity projection). Reads only; the façades never write these tables.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import msgspec

from .bodies import JobView
from .context import State
from .project_access import ProjectDoc
from .project_reader import project_columns
from .reader import fetch_projection

_job_decoder: Final = msgspec.json.Decoder(JobView)


class NumberedWorker(msgspec.Struct, frozen=True, kw_only=True):
    """A worker as a numbered façade shows it."""

    id: str
    seq: int
    name: str
    mode: str
    deleted: bool
    registered_at: datetime


class NumberedProject(msgspec.Struct, frozen=True, kw_only=True):
    """A project with its number and its chain target's number (0: none)."""

    doc: ProjectDoc
    seq: int
    chain_seq: int


class NumberedUser(msgspec.Struct, frozen=True, kw_only=True):
    """A user with its number."""

    id: str
    seq: int
    name: str
    is_admin: bool
    created_at: datetime


_WORKER_COLS: Final = "id::text AS id, registered_seq AS seq, name, mode, deleted, registered_at"


def _worker(row: Any) -> NumberedWorker:
    return msgspec.convert(dict(row), NumberedWorker)


async def worker_by_seq(state: State, seq: int) -> NumberedWorker | None:
    """The worker registered at ``seq`` (deleted ones too: the caller decides)."""
    rows = await fetch_projection(
        state["reader"].pool, f"SELECT {_WORKER_COLS} FROM scheduler.workers WHERE registered_seq = $1", seq
    )
    return _worker(rows[0]) if rows else None


async def workers_by_id(state: State, ids: Sequence[str]) -> dict[str, NumberedWorker]:
    """The workers among ``ids``, by id."""
    rows = await fetch_projection(
        state["reader"].pool, f"SELECT {_WORKER_COLS} FROM scheduler.workers WHERE id = ANY($1::uuid[])", list(ids)
    )
    return {row["id"]: _worker(row) for row in rows}


async def all_workers(state: State, limit: int = 10_000) -> list[NumberedWorker]:
    """Live workers, oldest first."""
    rows = await fetch_projection(
        state["reader"].pool,
        f"SELECT {_WORKER_COLS} FROM scheduler.workers WHERE NOT deleted ORDER BY registered_seq LIMIT $1",
        limit,
    )
    return [_worker(row) for row in rows]


async def job_by_seq(state: State, seq: int) -> JobView | None:
    """The live job submitted at ``seq``, whole (``job_numbers.job_at_seq`` gives its id only)."""
    rows = await fetch_projection(
        state["reader"].pool, "SELECT doc::text FROM scheduler.jobs WHERE submitted_seq = $1 AND NOT deleted", seq
    )
    return _job_decoder.decode(rows[0][0]) if rows else None


_PROJECT_SQL: Final = (
    "SELECT {cols}, p.created_seq AS seq, COALESCE(c.created_seq, 0) AS chain_seq FROM identity.projects p"
    " LEFT JOIN identity.projects c ON c.name = p.chain_target AND p.chain_target <> ''"
)


def _project(row: Any) -> NumberedProject:
    fields = dict(row)
    seq, chain_seq = fields.pop("seq"), fields.pop("chain_seq")
    return NumberedProject(doc=msgspec.convert(fields, ProjectDoc), seq=seq or 0, chain_seq=chain_seq)


async def project_by_seq(state: State, seq: int) -> NumberedProject | None:
    """The project created at ``seq``."""
    sql = _PROJECT_SQL.format(cols=project_columns("p")) + " WHERE p.created_seq = $1"
    rows = await fetch_projection(state["projects"].pool, sql, seq)
    return _project(rows[0]) if rows else None


async def project_by_name(state: State, name: str) -> NumberedProject | None:
    """The project called ``name``."""
    sql = _PROJECT_SQL.format(cols=project_columns("p")) + " WHERE p.name = $1"
    rows = await fetch_projection(state["projects"].pool, sql, name)
    return _project(rows[0]) if rows else None


async def numbered_projects(state: State, limit: int = 1000) -> list[NumberedProject]:
    """Every numbered project, oldest first (the caller filters what its caller may see)."""
    sql = _PROJECT_SQL.format(cols=project_columns("p")) + " WHERE p.created_seq IS NOT NULL ORDER BY p.created_seq"
    rows = await fetch_projection(state["projects"].pool, sql + " LIMIT $1", limit)
    return [_project(row) for row in rows]


_USER_COLS: Final = "id::text AS id, created_seq AS seq, name, is_admin, created_at"


async def user_by_seq(state: State, seq: int) -> NumberedUser | None:
    rows = await fetch_projection(
        state["projects"].pool, f"SELECT {_USER_COLS} FROM identity.users WHERE created_seq = $1", seq
    )
    return msgspec.convert(dict(rows[0]), NumberedUser) if rows else None


async def users_by_id(state: State, ids: Sequence[str]) -> dict[str, NumberedUser]:
    rows = await fetch_projection(
        state["projects"].pool,
        f"SELECT {_USER_COLS} FROM identity.users WHERE id::text = ANY($1::text[]) AND created_seq IS NOT NULL",
        list(ids),
    )
    return {row["id"]: msgspec.convert(dict(row), NumberedUser) for row in rows}


async def numbered_users(state: State, limit: int = 1000) -> list[NumberedUser]:
    rows = await fetch_projection(
        state["projects"].pool,
        f"SELECT {_USER_COLS} FROM identity.users WHERE created_seq IS NOT NULL ORDER BY created_seq LIMIT $1",
        limit,
    )
    return [msgspec.convert(dict(row), NumberedUser) for row in rows]
