"""Conveyor's projects, jobs and workers in task_tracker's words. Pure.

- A project: ``public`` and ``hidden`` from its visibility (``private`` is neither), ``chain`` the
  number of its chain target (0: none), its rates as they are (0: unlimited, as in task_tracker).
- A task: status ``1`` (NEW) while it may still run, ``2`` (FAILED) once it failed for good;
  ``retries`` the failed runs so far; ``max_retries`` task_tracker's count of runs
  (``Conveyor's max_retries + 1``); ``max_assign_time`` the lease length.
"""

import json
from typing import Any, Final
from urllib.parse import urlsplit

from ...core.bodies import JobView, RecipeView
from ...core.numbered import NumberedProject, NumberedWorker

NEW: Final = 1
FAILED: Final = 2
_FAILED_STATES: Final = frozenset({"failed", "timed_out", "cancelled"})


def git_repo_of(clone_url: str) -> str:
    """task_tracker's ``git_repo`` (``owner/name``, what a push hook's ``repository.full_name``
    says), read from the project's clone URL: Conveyor keeps the URL only."""
    path = urlsplit(clone_url).path if "://" in clone_url else clone_url.partition(":")[2]
    parts = [part for part in path.removesuffix(".git").split("/") if part]
    return "/".join(parts[-2:]) if len(parts) >= 2 else ""


def project_view(p: NumberedProject) -> dict[str, Any]:
    d = p.doc
    git_repo = git_repo_of(d.clone_url)
    return {
        "id": p.seq,
        "priority": d.priority,
        "name": d.name,
        "clone_url": d.clone_url,
        "git_repo": git_repo,
        "version": d.version,
        "motd": d.motd,
        "public": d.visibility == "public",
        "hidden": d.visibility == "hidden",
        "chain": p.chain_seq,
        "paused": d.paused,
        "assign_rate": d.assign_rate,
        "submit_rate": d.submit_rate,
    }


def recipe_text(job: JobView) -> str:
    """The task's recipe: the string it was submitted with, byte for byte; a native job's JSON
    recipe as JSON text (task_tracker's recipe is a string the clients parse)."""
    payload = job.payload
    if isinstance(payload, RecipeView):
        return payload.recipe if isinstance(payload.recipe, str) else json.dumps(payload.recipe)
    return ""


def status_of(job: JobView) -> int:
    return FAILED if job.state in _FAILED_STATES else NEW


def task_view(job: JobView, seq: int, assignee: int, project: NumberedProject) -> dict[str, Any]:
    return {
        "id": seq,
        "priority": job.priority,
        "assignee": assignee,
        "retries": max(0, job.attempts - 1 - len(job.votes)),
        "max_retries": job.max_retries + 1,
        "status": status_of(job),
        "recipe": recipe_text(job),
        "max_assign_time": job.lease_s,
        "assign_time": int(job.updated_at.timestamp()),
        "verification_count": job.verification,
        "project": project_view(project),
    }


def worker_view(w: NumberedWorker, *, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": w.seq,
        "created": int(w.registered_at.timestamp()),
        "alias": w.name,
        "paused": w.mode == "paused",
    }
    if secret is not None:
        view["secret"] = secret
    return view
