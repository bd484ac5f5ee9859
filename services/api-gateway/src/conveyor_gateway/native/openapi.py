"""The OpenAPI 3.1 document, generated from the same msgspec types that validate requests."""

from typing import Any

import msgspec

from ..core.bodies import Problem
from .events.openapi import EVENT_SCHEMAS, event_paths
from .hooks.openapi import HOOK_SCHEMAS, hook_paths, push_hook_paths
from .identity.openapi import IDENTITY_SCHEMAS, identity_paths
from .jobs.openapi import JOB_SCHEMAS, job_paths, submit_and_read_paths
from .jobs.openapi_acl import ACL_SCHEMAS, job_acl_paths
from .jobs.openapi_bulk_explain import BULK_EXPLAIN_SCHEMAS, bulk_explain_paths
from .openapi_blocks import REF, input_problems
from .openapi_links import add_links
from .openapi_security import TOKEN_SECURITY_SCHEME, secure_paths
from .output.openapi import OUTPUT_SCHEMAS, output_paths
from .projects.openapi import PROJECT_SCHEMAS, maintenance_paths, project_paths
from .workers.openapi import WORKER_SCHEMAS, WORKER_SECURITY_SCHEMES, lease_paths, worker_paths


def _health() -> dict[str, Any]:
    ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "/healthz": {"get": {"operationId": "healthz", "summary": "The process is alive", "responses": {"200": ok}}},
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "NATS and PostgreSQL are reachable",
                "responses": {
                    "200": ok,
                    "503": {"description": "Not ready; `checks` says which dependency fails."},
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "Text exposition format"}},
            }
        },
    }


def build_openapi(version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the native API."""
    _, components = msgspec.json.schema_components(
        [
            *JOB_SCHEMAS,
            *WORKER_SCHEMAS,
            Problem,
            *BULK_EXPLAIN_SCHEMAS,
            *ACL_SCHEMAS,
            *OUTPUT_SCHEMAS,
            *IDENTITY_SCHEMAS,
            *PROJECT_SCHEMAS,
            *HOOK_SCHEMAS,
            *EVENT_SCHEMAS,
        ],
        ref_template=REF,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Conveyor API",
            "version": version,
            "description": "Event-sourced job scheduler. Errors are RFC 9457 problem+json documents.",
        },
        "paths": secure_paths(
            add_links(
                input_problems(
                    {
                        **submit_and_read_paths(),
                        **job_paths(),
                        **bulk_explain_paths(),
                        **worker_paths(),
                        **lease_paths(),
                        **output_paths(),
                        **identity_paths(),
                        **project_paths(),
                        **maintenance_paths(),
                        **push_hook_paths(),
                        **job_acl_paths(),
                        **hook_paths(),
                        **event_paths(),
                        **_health(),
                    }
                )
            )
        ),
        "components": {
            "schemas": components,
            "securitySchemes": {**WORKER_SECURITY_SCHEMES, **TOKEN_SECURITY_SCHEME},
        },
    }
