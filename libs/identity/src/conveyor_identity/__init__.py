"""Conveyor's identity: users, API tokens, their projection and the first admin."""

from .bootstrap import BOOTSTRAP_ADMIN_ID, IssuedToken, bootstrap_admin, issue_admin_token, provision_admin_token
from .job_access import ACCESS_CONSUMER, ACCESS_FILTER, access_projector, apply_access_events
from .projection import CONSUMER, MIGRATIONS, SCHEMA, USER_FILTER, apply_user_events, identity_projector
from .projects import PROJECT_FILTER, PROJECTS_CONSUMER, apply_project_events, projects_projector
from .ratelimit import RATE_MIGRATIONS, RATE_SCHEMA, burst_of, refill, retry_after_s, take_token
from .rebuild import IDENTITY_PROJECTIONS, rebuild_identity, shadow_schema
from .tokens import SCOPES, TOKEN_PREFIX, hash_token, new_token, unknown_scopes

__all__ = [
    "ACCESS_CONSUMER",
    "ACCESS_FILTER",
    "BOOTSTRAP_ADMIN_ID",
    "CONSUMER",
    "IDENTITY_PROJECTIONS",
    "MIGRATIONS",
    "PROJECTS_CONSUMER",
    "PROJECT_FILTER",
    "RATE_MIGRATIONS",
    "RATE_SCHEMA",
    "SCHEMA",
    "SCOPES",
    "TOKEN_PREFIX",
    "USER_FILTER",
    "IssuedToken",
    "access_projector",
    "apply_access_events",
    "apply_project_events",
    "apply_user_events",
    "bootstrap_admin",
    "burst_of",
    "hash_token",
    "identity_projector",
    "issue_admin_token",
    "new_token",
    "projects_projector",
    "provision_admin_token",
    "rebuild_identity",
    "refill",
    "retry_after_s",
    "shadow_schema",
    "take_token",
    "unknown_scopes",
]
