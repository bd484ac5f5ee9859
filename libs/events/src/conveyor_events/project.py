"""Events of the project aggregate (subject ``conveyor.ev.project.<project_id>``).

A project's id is derived from its name (`project_id_of`), so creating a name twice finds the
subject taken. Its two secrets travel in events because they must be handed out again: the
project secret to workers with assign access and holders of the ``secret`` role, the webhook
secret to check inbound push hooks (HMAC needs the key itself, not a hash).
"""

import uuid

import msgspec

from .fields import UtcDatetime

__all__ = [
    "PROJECT_ROLES",
    "ProjectAccessRequested",
    "ProjectCreated",
    "ProjectEvent",
    "ProjectEventBase",
    "ProjectRolesSet",
    "ProjectUpdated",
    "ProjectWorkerAccessSet",
    "project_id_of",
]

PROJECT_ROLES = ("read", "edit", "manage_access", "secret", "maintenance")
"""Roles a user can hold on a project; its owner holds them all."""

_NAMESPACE = uuid.UUID("6f1c1f0e-3b2a-5d4c-9e8f-7a6b5c4d3e2f")


def project_id_of(name: str) -> str:
    """Return the id of the project called ``name`` (a UUIDv5 of it).

    Args:
        name: The project's name, as jobs name it.

    Returns:
        A canonical UUID string.
    """
    return str(uuid.uuid5(_NAMESPACE, name))


class ProjectEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields every project event carries."""

    event_id: str
    project_id: str
    occurred_at: UtcDatetime


class ProjectCreated(ProjectEventBase, frozen=True, kw_only=True, tag="project.created"):
    """A user created a project and owns it (request event).

    Rates are token buckets: ``*_rate`` tokens per second (0: unlimited), up to ``*_burst``
    (0: the rate rounded up, at least 1).
    """

    name: str
    owner: str
    priority: int = 0
    visibility: str = "private"
    paused: bool = False
    motd: str = ""
    version: str = ""
    clone_url: str = ""
    chain_target: str = ""
    secret: str = ""
    webhook_secret: str = ""
    submit_rate: float = 0.0
    submit_burst: int = 0
    assign_rate: float = 0.0
    assign_burst: int = 0


class ProjectUpdated(ProjectEventBase, frozen=True, kw_only=True, tag="project.updated"):
    """Fields of a project changed; ``None`` leaves a field as it was (request event).

    ``requested_by`` is a user id, or ``hook:github`` / ``hook:gogs`` for a push hook.
    """

    priority: int | None = None
    visibility: str | None = None
    paused: bool | None = None
    motd: str | None = None
    version: str | None = None
    clone_url: str | None = None
    chain_target: str | None = None
    secret: str | None = None
    webhook_secret: str | None = None
    submit_rate: float | None = None
    submit_burst: int | None = None
    assign_rate: float | None = None
    assign_burst: int | None = None
    requested_by: str = ""


class ProjectRolesSet(ProjectEventBase, frozen=True, kw_only=True, tag="project.roles_set"):
    """A user's roles on the project were replaced (empty: none left) (request event)."""

    user_id: str
    roles: tuple[str, ...] = ()
    requested_by: str = ""


class ProjectAccessRequested(ProjectEventBase, frozen=True, kw_only=True, tag="project.access_requested"):
    """A worker asked for assign and/or submit access to the project (request event)."""

    worker_id: str
    assign: bool = False
    submit: bool = False


class ProjectWorkerAccessSet(ProjectEventBase, frozen=True, kw_only=True, tag="project.worker_access_set"):
    """A manager granted (or took away) a worker's access, or rejected its request (request event).

    ``status`` is ``granted`` (with ``assign``/``submit`` saying what) or ``rejected``.
    """

    worker_id: str
    status: str
    assign: bool = False
    submit: bool = False
    requested_by: str = ""


ProjectEvent = ProjectCreated | ProjectUpdated | ProjectRolesSet | ProjectAccessRequested | ProjectWorkerAccessSet
"""Every event of the project aggregate."""
