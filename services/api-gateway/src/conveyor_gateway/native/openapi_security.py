"""The security of every operation in the OpenAPI document, from the native access table."""

from typing import Any, Final

from ..http.access import AUTHENTICATED, PUBLIC, SIGNED, WORKER
from .access import RULE_BY_TEMPLATE, WORKER_MAY_CALL
from .openapi_blocks import problem

TOKEN_SECURITY_SCHEME: Final = {
    "apiToken": {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "An API token: `Authorization: Bearer <token>`. Each endpoint names the scope it needs "
            "(`jobs:read`, `jobs:write`, `workers`, `hooks`, `projects`, `admin`)."
        ),
    }
}
_AUTH_HEADER: Final = {
    "name": "Authorization",
    "in": "header",
    "required": True,
    "description": "`Bearer <token>` (an API token with the scope this endpoint needs).",
    "schema": {"type": "string"},
}


def secure_paths(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation with the security its ``ROUTE_ACCESS`` rule names, and the 401/403 it can answer."""
    for path, operations in paths.items():
        for method, op in operations.items():
            rule = RULE_BY_TEMPLATE[(method.upper(), path)]  # a documented path without a rule is a bug
            if rule in (PUBLIC, WORKER, SIGNED):
                continue  # worker operations carry their own Basic security, hooks an HMAC
            op["security"] = [{"apiToken": [] if rule == AUTHENTICATED else [rule]}]
            op["parameters"] = [_AUTH_HEADER, *op.get("parameters", [])]
            needs = "any valid token" if rule == AUTHENTICATED else f"a token with the `{rule}` scope"
            if (method.upper(), path) in WORKER_MAY_CALL:
                op["security"].append({"workerBasic": []})
                needs += (
                    ", or a worker's Basic credentials with `submit` access granted on each job's project"
                    " (the job's owner is then `worker:<worker id>`)"
                )
            op["description"] = (op.get("description", "") + f"\n\nNeeds {needs}.").strip()
            op["responses"] = {
                **op["responses"],
                "401": problem("No valid token (`WWW-Authenticate: Bearer`)."),
                **(
                    {}
                    if rule == AUTHENTICATED
                    else {"403": problem(f"The token lacks `{rule}` (`insufficient_scope`).")}
                ),
            }
    return paths
