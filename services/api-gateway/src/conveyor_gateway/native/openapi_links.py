"""OpenAPI links: where one operation's answer names what another operation takes.

A client (or a stateful test such as Schemathesis's) follows them: the id a submission answers
with is the ``job_id`` of the job's own operations; a registration's id is the worker's; a lease
batch's first lease is the run's.
"""

from typing import Any, Final

_JOB_OPS: Final = (
    "getJob", "cancelJob", "pauseJob", "resumeJob", "explainJob", "listChildren", "getJobLog",
    "listArtifacts", "getJobAccess", "deleteJob",
)  # fmt: skip
_WORKER_OPS: Final = ("getWorker", "pauseWorker", "resumeWorker", "drainWorker", "workerProjects", "deleteWorker")
_HOOK_OPS: Final = ("getHook", "updateHook", "listHookDeliveries", "deleteHook")
_RUN_OPS: Final = ("startRun", "reportProgress", "finishRun")

# operationId of the source -> (its statuses that carry the id, parameter, where in the body, targets)
_LINKS: Final[dict[str, tuple[tuple[str, ...], str, str, tuple[str, ...]]]] = {
    "submitJob": (("201", "200"), "job_id", "$response.body#/id", _JOB_OPS),
    "registerWorker": (("201",), "worker_id", "$response.body#/id", _WORKER_OPS),
    "createHook": (("201",), "hook_id", "$response.body#/id", _HOOK_OPS),
    "leaseJobs": (("200",), "lease_id", "$response.body#/leases/0/lease_id", _RUN_OPS),
}


def _link_name(target: str) -> str:
    return target[0].upper() + target[1:]


def add_links(paths: dict[str, Any]) -> dict[str, Any]:
    """``paths`` with the ``links`` of ``_LINKS`` on each source operation's responses."""
    operations = {op["operationId"]: op for item in paths.values() for op in item.values() if isinstance(op, dict)}
    for source, (statuses, parameter, expression, targets) in _LINKS.items():
        operation = operations.get(source)
        if operation is None:
            continue
        links = {
            _link_name(t): {"operationId": t, "parameters": {parameter: expression}} for t in targets if t in operations
        }
        for status in statuses:
            response = operation["responses"].get(status)
            if response is not None:
                response["links"] = {**response.get("links", {}), **links}
    return paths
