"""OpenAPI paths of a job's access lists (``/v1/jobs/{job_id}/access``)."""

from typing import Any, Final

from ..openapi_blocks import BAD_BODY, json_content, path_id, problem
from ..openapi_blocks import body as json_body
from .acl import AccessLists

ACL_SCHEMAS: Final = (AccessLists,)


def job_acl_paths() -> dict[str, Any]:
    job_id = path_id("job_id", "job")
    return {
        "/v1/jobs/{job_id}/access": {
            "get": {
                "operationId": "getJobAccess",
                "summary": "A job's access lists",
                "parameters": [job_id],
                "responses": {
                    "200": json_content(AccessLists, "The lists."),
                    "404": problem("No such job (or hidden)."),
                },
            },
            "put": {
                "operationId": "setJobAccess",
                "summary": "Replace a job's access lists (its owner or an admin)",
                "description": "`read`: user ids, `*` for anyone with jobs:read; `write`: user ids.",
                "parameters": [job_id],
                "requestBody": json_body(AccessLists),
                "responses": {
                    "200": json_content(AccessLists, "The lists now."),
                    **BAD_BODY,
                    "404": problem("No such job (or hidden)."),
                    "422": problem("Invalid fields."),
                },
            },
        }
    }
