"""The one gate every read of a job's output passes (logs, live tail, artifacts).

User authorization (issue 7) adds its permission check here, once, for all of them.
"""

from starlette.requests import Request

from ...core.bodies import JobView
from ...core.context import State
from ...errors import JobNotFoundError
from ...http.plumbing import path_id


async def readable_job(request: Request, state: State) -> JobView:
    """The job in the path, when it exists and the caller may read it.

    Raises:
        JobNotFoundError: No such job (or, later, not visible to the caller).
    """
    job_id = path_id(request, "job_id", "job")
    job = await state["reader"].get(job_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id}")
    return job
