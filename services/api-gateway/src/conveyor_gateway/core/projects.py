"""Creating and changing projects, once for every surface: the native ``/v1/projects`` and the
façades (task_tracker's ``/project/*``). The caller has checked the roles; this appends and waits
(bounded) until the projects projection has applied the change."""

import secrets
from datetime import UTC, datetime
from typing import Any

from conveyor_events import (
    AppendConflictError,
    ProjectCreated,
    ProjectRolesSet,
    ProjectUpdated,
    new_uuid7,
    project_id_of,
    project_subject,
)

from ..errors import ProjectChangedError, ProjectExistsError
from .context import State
from .project_access import ProjectDoc


def new_secret() -> str:
    """A new project or webhook secret."""
    return secrets.token_urlsafe(32)


async def create_project(state: State, name: str, owner: str, **fields: Any) -> ProjectDoc | None:
    """Create project ``name`` owned by ``owner`` (every role), with ``fields`` of
    ``ProjectCreated``; new secrets unless given. The project as stored, or None when the
    projection has not applied it within the write wait.

    Raises:
        ProjectExistsError: A project has this name.
    """
    project_id = project_id_of(name)
    fields.setdefault("secret", new_secret())
    fields.setdefault("webhook_secret", new_secret())
    event = ProjectCreated(
        event_id=new_uuid7(), project_id=project_id, occurred_at=datetime.now(UTC), name=name, owner=owner, **fields
    )
    try:
        appended = await state["appender"].append(project_subject(project_id), event, expected_last_subject_seq=0)
    except AppendConflictError:
        raise ProjectExistsError(f"a project is named {name!r}") from None
    if not await state["projects_watcher"].wait_for(appended.seq, state["write_wait_s"]):
        return None
    return await state["projects"].by_name(name)


async def update_project(state: State, project: ProjectDoc, by: str, **changes: Any) -> ProjectDoc:
    """Change ``changes`` (fields of ``ProjectUpdated``; None keeps one) on top of the version
    read; returns the project after.

    Raises:
        ProjectChangedError: The project changed since it was read (409).
    """
    event = ProjectUpdated(
        event_id=new_uuid7(), project_id=project.id, occurred_at=datetime.now(UTC), requested_by=by, **changes
    )
    await _append_and_wait(state, project, event)
    after = await state["projects"].by_name(project.name)
    assert after is not None  # projects are never deleted
    return after


async def set_project_roles(state: State, project: ProjectDoc, user_id: str, roles: tuple[str, ...], by: str) -> None:
    """Replace ``user_id``'s roles on the project (empty: none).

    Raises:
        ProjectChangedError: The project changed since it was read (409).
    """
    event = ProjectRolesSet(
        event_id=new_uuid7(),
        project_id=project.id,
        occurred_at=datetime.now(UTC),
        user_id=user_id,
        roles=roles,
        requested_by=by,
    )
    await _append_and_wait(state, project, event)


async def _append_and_wait(state: State, project: ProjectDoc, event: ProjectUpdated | ProjectRolesSet) -> None:
    try:
        appended = await state["appender"].append(
            project_subject(project.id), event, expected_last_subject_seq=project.last_seq
        )
    except AppendConflictError:
        raise ProjectChangedError("the project changed since it was read; read it again and retry") from None
    await state["projects_watcher"].wait_for(appended.seq, state["write_wait_s"])
