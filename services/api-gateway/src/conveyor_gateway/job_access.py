"""Job-level access, checked by the route guard (reads and commands) and by submissions.

An admin needs no lookup, a job's owner one (the job's row); anyone else also the project's row
and their roles. A job the caller may not read answers exactly as a missing one (404), so ids
leak nothing; one they may read but not change answers 403.
"""

from collections.abc import Iterable

from starlette.requests import Request

from conveyor_events import parse_uuid

from .bodies import FieldError
from .errors import ForbiddenError, JobNotFoundError, ValidationFailedError
from .project_access import OPEN_PROJECT, can_read_job, can_submit, can_write_job, effective_roles
from .project_reader import ProjectReader
from .run_tokens import run_project_refused
from .token_auth import Principal
from .worker_submit import check_worker_parent, check_worker_submit


async def check_job_access(request: Request, principal: Principal, *, write: bool) -> None:
    """Refuse if ``principal`` may not read (or, with ``write``, change) the job in the path.

    Raises:
        JobNotFoundError: It may not read the job (as if there were none).
        ForbiddenError: It may read the job but not change it.
    """
    job_id = parse_uuid(request.path_params.get("job_id", ""))
    if job_id is None:
        return  # the handler answers 422
    await check_access_to(request, principal, job_id, write=write)


async def check_parent_access(request: Request, principal: Principal, parent: str | None, at: str) -> None:
    """A child may only be added under a job the caller may change.

    Raises:
        ValidationFailedError: The caller may not see the parent (as for a missing one).
        ForbiddenError: It may see the parent but not change it.
    """
    if parent is None or parent == principal.run_job_id:
        return  # a run token's follow-up goes under its own job (run_tokens.follow_up)
    if principal.worker_id is not None:
        await check_worker_parent(request.scope["state"], principal.worker_id, parent, at)
        return
    try:
        await check_access_to(request, principal, parent, write=True)
    except JobNotFoundError:
        raise ValidationFailedError(
            "unknown parent", errors=[FieldError(pointer=at, detail=f"no job {parent}")]
        ) from None


async def check_access_to(request: Request, principal: Principal, job_id: str, *, write: bool) -> None:
    """As ``check_job_access``, for the job ``job_id`` (a missing one passes: callers answer 404/422)."""
    if principal.has_scope("admin"):
        return
    projects: ProjectReader = request.scope["state"]["projects"]
    found = await projects.job_owner(job_id)
    if found is None or found.owner == principal.user_id:
        return  # missing: the handler answers 404; the owner may do everything
    project, granted = await projects.with_roles(found.project, principal.user_id)
    roles = effective_roles(principal, project, granted) if project is not None else frozenset[str]()
    if not can_read_job(principal, found.owner, project, roles, found.read, found.write):
        raise JobNotFoundError(f"no job {job_id}")
    if write and not can_write_job(principal, found.owner, project, roles, found.write):
        raise ForbiddenError("you may read this job but not change it: that needs the edit role on its project")


def submit_refused(name: str) -> str:
    """The one refusal for a project one may not submit to, whether it exists, is hidden or not."""
    return (
        f"you may not submit to project {name!r}: that needs the edit role on an existing project"
        f" (create one with POST /v1/projects; {OPEN_PROJECT!r} takes jobs while no project claims it)"
    )


async def check_submit_access(request: Request, principal: Principal, project_names: Iterable[str]) -> None:
    """Refuse a submission into a project the caller holds no ``edit`` role on, or a name no
    project claims other than ``default`` (a worker: no granted ``submit`` access, see
    ``worker_submit``).

    Raises:
        ForbiddenError: For the first such project; the same answer whether it exists or not.
    """
    if principal.run_job_id is not None:  # a run token: its job's project only
        refused = run_project_refused(principal, list(project_names))
        if refused is not None:
            raise ForbiddenError(f"a run token submits only into its job's project, not {refused!r}")
        return
    if principal.has_scope("admin"):
        return
    projects: ProjectReader = request.scope["state"]["projects"]
    if principal.worker_id is not None:
        await check_worker_submit(projects.pool, principal.worker_id, project_names)
        return
    for name in dict.fromkeys(project_names):
        project, granted = await projects.with_roles(name, principal.user_id)
        roles = effective_roles(principal, project, granted) if project is not None else frozenset[str]()
        if not can_submit(principal, name, project, roles):
            raise ForbiddenError(submit_refused(name))
