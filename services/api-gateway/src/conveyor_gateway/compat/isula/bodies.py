"""isula's wire shapes: the task JSON (Go field names, as the real server's model had no json
tags), the JSON way to create a task, and hooks."""

from typing import Annotated

import msgspec

from ...core.hook_bodies import Description, EventTypes, HookUrl

ScriptText = Annotated[str, msgspec.Meta(max_length=262_144)]
OutputName = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class TaskDoc(msgspec.Struct, kw_only=True):
    """A task as ``GET /:user/task[/:id]`` answers; ``OutputURL`` lists its output files."""

    ID: int
    UserName: str
    Status: str
    OutputFile: str
    ConfigFile: str
    Scripts: str
    OutputURL: str


class TaskJson(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``POST /:user/task`` with a JSON body instead of an upload: the real model's fields
    (``Scripts``, ``ConfigFile``, ``OutputFile``) or the short names."""

    scripts: ScriptText | None = msgspec.field(default=None, name="Scripts")
    script: ScriptText | None = None
    config: ScriptText | None = msgspec.field(default=None, name="ConfigFile")
    output: OutputName | None = msgspec.field(default=None, name="OutputFile")


class HookIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``POST /:user/hook``: a Conveyor hook of the user's jobs (``events`` default: every job event)."""

    url: HookUrl
    events: EventTypes = msgspec.field(default_factory=lambda: ["job.*"])
    description: Description = ""
    active: bool = True


class HookDoc(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A hook as isula's hook calls answer (``Secret`` only when created)."""

    ID: str
    UserName: str
    URL: str
    Events: list[str]
    Description: str
    Active: bool
    Secret: str | None = None
