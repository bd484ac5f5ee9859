"""VirtShell's task documents: what ``POST`` and ``PUT /tasks/…`` take, and the task ``GET`` answers.

The real server took any JSON and stored it; here the known fields are checked (lengths) and
other fields are ignored, never stored.
"""

from typing import Annotated

import msgspec

Status = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
LogText = Annotated[str, msgspec.Meta(max_length=65_536)]


class TaskIn(msgspec.Struct, kw_only=True):
    """``POST /tasks/``: a new task; ``status`` other than pending/queued claims it at once."""

    description: Annotated[str, msgspec.Meta(max_length=4096)] = ""
    status: Status = "pending"
    type: Annotated[str, msgspec.Meta(max_length=128)] = ""
    object_uuid: Annotated[str, msgspec.Meta(max_length=128)] = ""
    log: LogText = ""


class TaskUpdate(msgspec.Struct, kw_only=True):
    """``PUT /tasks/<uuid>``: the task's new status, and a log of what happened."""

    status: Status
    log: LogText = ""


class Created(msgspec.Struct, kw_only=True):
    at: str
    by: str


class TaskDoc(msgspec.Struct, kw_only=True):
    """A task as the document shows it, plus the ``status_history`` the real server kept
    (``[status, time, log]`` of each status it had before the current one)."""

    uuid: str
    description: str
    status: str
    type: str
    object_uuid: str
    created: Created
    last_update: str
    log: str
    status_history: list[tuple[str, str, str]]


class TaskList(msgspec.Struct, kw_only=True):
    tasks: list[TaskDoc]


class Recipe(msgspec.Struct, kw_only=True):
    """What a VirtShell task carries as its Conveyor job's recipe (``{"virtshell": …}``), so a
    native worker with a recipe handler can run it too."""

    description: str = ""
    type: str = ""
    object_uuid: str = ""
    status: str = "pending"
    log: str = ""


class RecipeDoc(msgspec.Struct, kw_only=True):
    virtshell: Recipe
