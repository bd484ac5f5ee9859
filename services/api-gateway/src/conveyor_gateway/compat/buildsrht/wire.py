"""A Conveyor job in builds.sr.ht's JSON (pure): the legacy REST shape, also the webhook's."""

from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from ...core.bodies import JobView
from .states import job_status, task_status

RESULTS_PER_PAGE: Final = 50


def timestamp(at: datetime | None) -> str | None:
    """sourcehut's ``%Y-%m-%dT%H:%M:%S`` (UTC)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S") if at is not None else None


def log_url(base: str, number: int, task: str | None = None) -> str:
    """Where a build's setup log (``task`` None) or a task's log is served, as the runner's were."""
    return f"{base}logs/{number}/{quote(task, safe='')}/log" if task else f"{base}logs/{number}/log"


def owner_json(name: str) -> dict[str, str]:
    return {"canonical_name": f"~{name}", "name": name}


def job_json(job: JobView, number: int, owner_name: str, base: str) -> dict[str, Any]:
    """``GET /api/jobs/:id``: ``{id, status, setup_log, tasks[], note, runner, tags, owner}``."""
    return {
        "id": number,
        "status": job_status(job.state),
        "setup_log": log_url(base, number),
        "tasks": [
            {"name": t.name, "status": task_status(t.state, job.state), "log": log_url(base, number, t.name)}
            for t in job.tasks
        ],
        "note": job.note or None,
        "runner": job.worker_id,
        "tags": "/".join(job.tags) or None,
        "owner": owner_json(owner_name),
        "created": timestamp(job.created_at),
        "updated": timestamp(job.updated_at),
    }


def page_json(results: list[dict[str, Any]], next_start: int | None, total: int) -> dict[str, Any]:
    """sourcehut's list envelope: ``{next, results, results_per_page, total}``."""
    return {"next": next_start, "results": results, "results_per_page": RESULTS_PER_PAGE, "total": total}
