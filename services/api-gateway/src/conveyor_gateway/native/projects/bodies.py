"""Request and response bodies of the projects endpoints."""

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from conveyor_events.fields import Identifier

Visibility = Literal["public", "private", "hidden"]
Role = Literal["read", "edit", "manage_access", "secret", "maintenance"]
Priority = Annotated[int, msgspec.Meta(ge=-1000, le=1000)]
Motd = Annotated[str, msgspec.Meta(max_length=1000)]
Version = Annotated[str, msgspec.Meta(max_length=128)]
CloneUrl = Annotated[
    str, msgspec.Meta(max_length=2048, pattern=r"^(|(https?|ssh|git)://[^\s]+|[\w.-]+@[\w.-]+:[^\s]+)$")
]
Rate = Annotated[float, msgspec.Meta(ge=0, le=100_000)]
Burst = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
ChainTarget = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)?$")]


class ProjectCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/projects``: the caller owns the new project (every role)."""

    name: Identifier
    priority: Priority = 0
    visibility: Visibility = "private"
    paused: bool = False
    motd: Motd = ""
    version: Version = ""
    clone_url: CloneUrl = ""
    chain_target: ChainTarget = ""
    submit_rate: Rate = 0.0
    submit_burst: Burst = 0
    assign_rate: Rate = 0.0
    assign_burst: Burst = 0


class ProjectPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /v1/projects/{name}``: the fields given change (``edit``); rotating a secret needs ``secret``."""

    priority: Priority | None = None
    visibility: Visibility | None = None
    paused: bool | None = None
    motd: Motd | None = None
    version: Version | None = None
    clone_url: CloneUrl | None = None
    chain_target: ChainTarget | None = None
    submit_rate: Rate | None = None
    submit_burst: Burst | None = None
    assign_rate: Rate | None = None
    assign_burst: Burst | None = None
    rotate_secret: bool = False
    rotate_webhook_secret: bool = False


class RolesBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PUT /v1/projects/{name}/roles/{user_id}``: the user's roles, replacing any before (empty: none)."""

    roles: Annotated[list[Role], msgspec.Meta(max_length=5)]


class ProjectView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A project; ``secret`` and ``webhook_secret`` only for holders of the ``secret`` role."""

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
    submit_rate: float
    submit_burst: int
    assign_rate: float
    assign_burst: int
    created_at: datetime
    updated_at: datetime
    your_roles: list[str]
    secret: str | None = None
    webhook_secret: str | None = None


class ProjectPage(msgspec.Struct, kw_only=True):
    items: list[ProjectView]


class RoleGrant(msgspec.Struct, kw_only=True):
    user_id: str
    roles: list[str]


class RoleList(msgspec.Struct, kw_only=True):
    items: list[RoleGrant]
