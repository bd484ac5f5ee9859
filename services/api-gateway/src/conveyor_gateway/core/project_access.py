"""Who may do what with a project and its jobs: pure decisions over a project's row and roles.

- Admins (an admin user's token with the ``admin`` scope) hold every role everywhere; a project's
  owner holds every role on it; anyone else holds the roles granted to them.
- A ``hidden`` project does not exist for whoever lacks ``read``; ``public`` and ``private`` ones
  are listed for every caller.
- A job is readable by its owner, by ``read`` holders of its project, by the users its read
  list names (``*``: everyone) and, in a ``public`` project, by everyone; writable by its
  owner, ``edit`` holders and the users its write list names. A job whose project was
  never created belongs to its owner alone.
- Submitting needs ``edit`` on an existing project; of the names no project claims only
  ``default`` is open (admins may use any), so submitting into a hidden project one cannot read
  answers exactly as submitting into a missing one.
"""

from datetime import datetime
from typing import Final

import msgspec

from conveyor_events import PROJECT_ROLES

from .token_auth import Principal

ALL_ROLES: Final = frozenset(PROJECT_ROLES)


class ProjectDoc(msgspec.Struct, frozen=True, kw_only=True):
    """A project row of the ``identity.projects`` projection (secrets included: never send it as is)."""

    id: str
    name: str
    owner: str
    priority: int
    visibility: str
    paused: bool
    motd: str
    version: str
    clone_url: str
    chain_target: str
    secret: str
    webhook_secret: str
    submit_rate: float = 0.0
    submit_burst: int = 0
    assign_rate: float = 0.0
    assign_burst: int = 0
    created_at: datetime
    updated_at: datetime
    last_seq: int


def effective_roles(principal: Principal, project: ProjectDoc, granted: tuple[str, ...]) -> frozenset[str]:
    """The roles ``principal`` holds on ``project``."""
    if principal.has_scope("admin") or project.owner == principal.user_id:
        return ALL_ROLES
    return frozenset(granted) & ALL_ROLES


def can_see_project(project: ProjectDoc, roles: frozenset[str]) -> bool:
    return project.visibility != "hidden" or "read" in roles


def can_read_job(
    principal: Principal,
    owner: str,
    project: ProjectDoc | None,
    roles: frozenset[str],
    read: tuple[str, ...] = (),
    write: tuple[str, ...] = (),
) -> bool:
    """Owner, admin, the job's read (``*``: anyone) or write list, or the project's read role."""
    if principal.has_scope("admin") or owner == principal.user_id:
        return True
    if "*" in read or principal.user_id in read or principal.user_id in write:
        return True
    return project is not None and (project.visibility == "public" or "read" in roles)


def can_write_job(
    principal: Principal, owner: str, project: ProjectDoc | None, roles: frozenset[str], write: tuple[str, ...] = ()
) -> bool:
    """Owner, admin, the job's write list, or the project's edit role."""
    if principal.has_scope("admin") or owner == principal.user_id or principal.user_id in write:
        return True
    return project is not None and "edit" in roles


OPEN_PROJECT: Final = "default"
"""The one name anyone may submit to while no project claims it (the default of a submission)."""


def can_submit(principal: Principal, name: str, project: ProjectDoc | None, roles: frozenset[str]) -> bool:
    """Submitting into a project needs ``edit`` on it. Of the names no project claims, only
    ``default`` takes jobs (admins: any), so a hidden project refuses exactly as a missing one."""
    if principal.has_scope("admin"):
        return True
    if project is None:
        return name == OPEN_PROJECT
    return "edit" in roles
