"""OpenAPI paths of the commands on a job and its tree, edits, dependencies, children and task
reports."""

from typing import Any, Final

from conveyor_events.states import JOB_STATES

from .bodies import JobAccepted, JobEdit, JobPage, JobView, RunReported, TaskUpdate
from .dependencies import DependenciesBody
from .openapi_blocks import BAD_BODY, body, json_content, path_id, problem, query

JOB_SCHEMAS: Final = (JobEdit, TaskUpdate, DependenciesBody)
_JOB_ID: Final = path_id("job_id", "job")
_ANSWERED: Final = {
    "202": json_content(JobAccepted, "Stored, not yet visible; poll `Location`."),
    "404": problem("No such job."),
    "422": problem("The id is not a UUID, or a field is invalid."),
}
_COMMANDS: Final = {
    "pause": ("pauseJob", "Pause a job and its tree", "Not handed out while paused; a running job is released "
              "without counting the attempt and its worker told to stop. `409 job_finished` for a finished job."),
    "resume": ("resumeJob", "Resume a job and its tree", "Lifts the pause. `409 job_finished` for a finished job."),
    "start": ("startJob", "Start a held job", "For a job submitted with `execute: false` (`409 job_not_held` "
              "otherwise)."),
    "reset": ("resetJob", "Reset a job and its tree", "Back to the queue from scratch: attempts, tasks, votes, "
              "reason and exit code cleared, any live run stopped; applies to every descendant."),
    "restart": ("restartJob", "Restart a finished job and its tree", "As reset, for a finished job "
                "(`409 job_not_finished` otherwise)."),
}  # fmt: skip


def _command(op_id: str, summary: str, description: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": op_id,
            "summary": summary,
            "description": description + " Answers with the job once the scheduler has seen the command.",
            "parameters": [_JOB_ID],
            "responses": {
                "200": json_content(JobView, "The job after the command."),
                **_ANSWERED,
                "409": problem("The command does not apply to the job's state."),
            },
        }
    }


def job_paths() -> dict[str, Any]:
    """Paths under ``/v1/jobs/{job_id}`` besides read and cancel, and the task report."""
    paths: dict[str, Any] = {f"/v1/jobs/{{job_id}}/{name}": _command(*spec) for name, spec in _COMMANDS.items()}
    paths["/v1/jobs/{job_id}/dependencies"] = {
        "put": {
            "operationId": "setDependencies",
            "summary": "Replace a job's dependencies",
            "description": "For a job not yet handed out. Unknown ids `422`, a cycle `422 dependency_cycle`.",
            "parameters": [_JOB_ID],
            "requestBody": body(DependenciesBody),
            "responses": {
                "200": json_content(JobView, "The job with its new dependencies."),
                **BAD_BODY,
                **_ANSWERED,
                "409": problem("The job was already handed out (`job_started`)."),
            },
        }
    }
    paths["/v1/jobs/{job_id}/children"] = {
        "get": {
            "operationId": "listChildren",
            "summary": "List a job's direct children, newest first",
            "parameters": [
                _JOB_ID,
                query("state", "Only children in this state.", {"type": "string", "enum": list(JOB_STATES)}),
                query("limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
                query("cursor", "`next_cursor` of the previous page.", {"type": "string"}),
            ],
            "responses": {
                "200": json_content(JobPage, "One page."),
                "404": problem("No such job."),
                "422": problem("A parameter is invalid."),
            },
        }
    }
    paths["/v1/leases/{lease_id}/tasks/{name}"] = {
        "post": {
            "operationId": "reportTask",
            "summary": "Report a manifest task's state (worker credentials)",
            "description": "`running`, `succeeded`, `failed` or `skipped`, with the task's exit code.",
            "security": [{"workerBasic": []}],
            "parameters": [
                path_id("lease_id", "lease"),
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "description": "The task's name in the manifest.",
                    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]{1,64}$"},
                },
            ],
            "requestBody": body(TaskUpdate),
            "responses": {
                "200": json_content(RunReported, "The job's state now."),
                **BAD_BODY,
                "401": problem("Missing or wrong worker credentials."),
                "409": problem("The lease is no longer the job's (`lease_not_current`)."),
                "422": problem("No such task in the job's manifest (`unknown_task`), or an invalid body."),
            },
        }
    }
    return paths


def job_item_methods() -> dict[str, Any]:
    """PATCH and DELETE of ``/v1/jobs/{job_id}``."""
    return {
        "patch": {
            "operationId": "editJob",
            "summary": "Edit a job",
            "description": (
                "Changes the fields given (`JobEdited`); they apply to runs that start afterwards. "
                "`?restart=true` also restarts the finished job. A group takes no payload."
            ),
            "parameters": [_JOB_ID, query("restart", "Restart the finished job too.", {"type": "boolean"})],
            "requestBody": body(JobEdit),
            "responses": {
                "200": json_content(JobView, "The edited job."),
                **BAD_BODY,
                **_ANSWERED,
                "409": problem("`restart=true` for a job that has not finished (`job_not_finished`)."),
            },
        },
        "delete": {
            "operationId": "deleteJob",
            "summary": "Delete a job and its tree",
            "description": "Removes the job and its descendants from every view; a live run is stopped. "
            "Their events stay in the stream.",
            "parameters": [_JOB_ID],
            "responses": {
                "204": {"description": "Deleted."},
                "202": {"description": "Stored, not yet applied."},
                "404": problem("No such job."),
            },
        },
    }
