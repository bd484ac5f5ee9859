"""OpenAPI paths of projects (``/v1/projects``)."""

from typing import Any, Final

from ..openapi_blocks import BAD_BODY, json_content, path_id, problem
from ..openapi_blocks import body as json_body
from .bodies import ProjectCreate, ProjectPage, ProjectPatch, ProjectView, RoleGrant, RoleList, RolesBody
from .worker_access import AccessDecision, AccessRequest, WorkerAccessView, WorkerProject

PROJECT_SCHEMAS: Final = (
    ProjectCreate,
    ProjectPatch,
    ProjectView,
    ProjectPage,
    RolesBody,
    RoleGrant,
    RoleList,
    AccessRequest,
    AccessDecision,
    WorkerAccessView,
    WorkerProject,
)
_WORKER_ID: Final = path_id("worker_id", "worker")
_ITEMS: Final = {"type": "object", "properties": {"items": {"type": "array"}}}
PROJECT_NAME: Final = {
    "name": "project",
    "in": "path",
    "required": True,
    "description": "The project's name.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}$"},
}
_HIDDEN: Final = problem("No such project, or it is hidden from you (the same answer).")


def items(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ITEMS}}}


def project_paths() -> dict[str, Any]:
    return {
        "/v1/projects/{project}/workers": {
            "get": {
                "operationId": "listProjectWorkers",
                "summary": "Workers' access requests and grants (manage_access role)",
                "parameters": [PROJECT_NAME],
                "responses": {"200": items("WorkerAccessView items, newest first."), "404": _HIDDEN},
            }
        },
        "/v1/projects/{project}/workers/{worker_id}": {
            "put": {
                "operationId": "decideWorkerAccess",
                "summary": "Grant (assign and/or submit) or reject a worker's access (manage_access role)",
                "parameters": [PROJECT_NAME, _WORKER_ID],
                "requestBody": json_body(AccessDecision),
                "responses": {"200": items("The decision."), **BAD_BODY, "404": _HIDDEN, "422": problem("Invalid.")},
            }
        },
        "/v1/workers/{worker_id}/access-requests": {
            "post": {
                "operationId": "requestProjectAccess",
                "summary": "Ask for access to a project (worker credentials); a manager decides",
                "security": [{"workerBasic": []}],
                "parameters": [_WORKER_ID],
                "requestBody": json_body(AccessRequest),
                "responses": {
                    "202": items("Requested."),
                    **BAD_BODY,
                    "401": problem("Worker credentials missing or wrong."),
                    "403": problem("Credentials of another worker."),
                    "404": problem("No such project, or hidden from this worker."),
                },
            }
        },
        "/v1/workers/{worker_id}/projects": {
            "get": {
                "operationId": "workerProjects",
                "summary": "Projects this worker may take jobs from, with the secret where it holds assign access",
                "security": [{"workerBasic": []}],
                "parameters": [_WORKER_ID],
                "responses": {
                    "200": items("WorkerProject items."),
                    "401": problem("Worker credentials missing or wrong."),
                    "403": problem("Credentials of another worker."),
                },
            }
        },
        "/v1/projects": {
            "post": {
                "operationId": "createProject",
                "summary": "Create a project (the caller owns it, with every role)",
                "description": "The answer holds the project secret and the webhook secret.",
                "requestBody": json_body(ProjectCreate),
                "responses": {
                    "201": json_content(ProjectView, "The project, secrets included."),
                    **BAD_BODY,
                    "409": problem("A project has this name (`project_exists`)."),
                    "422": problem("Invalid fields."),
                },
            },
            "get": {
                "operationId": "listProjects",
                "summary": "Projects you may see (hidden ones only with the read role), by name",
                "responses": {"200": json_content(ProjectPage, "The projects.")},
            },
        },
        "/v1/projects/{project}": {
            "get": {
                "operationId": "getProject",
                "summary": "Read a project (its secrets only with the secret role)",
                "parameters": [PROJECT_NAME],
                "responses": {"200": json_content(ProjectView, "The project."), "404": _HIDDEN},
            },
            "patch": {
                "operationId": "updateProject",
                "summary": "Change a project's fields (edit role; rotating a secret: secret role)",
                "parameters": [PROJECT_NAME],
                "requestBody": json_body(ProjectPatch),
                "responses": {
                    "200": json_content(ProjectView, "The project after the change."),
                    **BAD_BODY,
                    "404": _HIDDEN,
                    "409": problem("The project changed meanwhile (`project_changed`); read and retry."),
                    "422": problem("Invalid fields."),
                },
            },
        },
        "/v1/projects/{project}/roles": {
            "get": {
                "operationId": "listProjectRoles",
                "summary": "Who holds which role (read or manage_access role)",
                "parameters": [PROJECT_NAME],
                "responses": {"200": json_content(RoleList, "The grants."), "404": _HIDDEN},
            }
        },
        "/v1/projects/{project}/roles/{user_id}": {
            "put": {
                "operationId": "setProjectRoles",
                "summary": "Replace a user's roles on the project (manage_access role)",
                "parameters": [PROJECT_NAME, path_id("user_id", "user")],
                "requestBody": json_body(RolesBody),
                "responses": {
                    "200": json_content(RoleGrant, "The user's roles now."),
                    **BAD_BODY,
                    "404": problem("No such project (or hidden), or no such user."),
                    "422": problem("Invalid fields."),
                },
            }
        },
    }


def maintenance_paths() -> dict[str, Any]:
    ops: dict[str, Any] = {}
    for action, what in (
        ("reset-failed", "Run every failed or timed-out job of the project again"),
        ("reclaim-assigned", "Take back every assigned or running job and queue it again"),
        ("hard-reset", "Remove every job of the project from the views (the events stay)"),
    ):
        ops[f"/v1/projects/{{project}}/maintenance/{action}"] = {
            "post": {
                "operationId": "maintenance" + "".join(w.title() for w in action.split("-")),
                "summary": f"{what} (maintenance role)",
                "parameters": [PROJECT_NAME],
                "responses": {
                    "200": items("`{project, action, jobs}`: how many jobs were touched."),
                    "202": items("Stored; the scheduler applies it shortly."),
                    "404": _HIDDEN,
                },
            }
        }
    return ops
