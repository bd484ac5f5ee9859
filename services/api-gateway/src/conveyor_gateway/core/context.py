"""What the lifespan hands every request: the gateway's resources, opened once in ``app.py``."""

from collections.abc import Mapping
from typing import TypedDict

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.object_store import ObjectStore

from conveyor_events import EventAppender
from conveyor_runtime import IPNetwork, PositionWatcher

from .explain_reader import ExplainReader
from .hook_reader import HookReader
from .identity_reader import IdentityReader
from .log_store import LogStore
from .log_writer import LogWriter
from .project_reader import ProjectReader
from .reader import JobReader
from .requester import Requester
from .submit_limits import SubmitLimiter
from .token_auth import TokenAuthenticator
from .trust import Trust
from .worker_auth import WorkerAuthenticator
from .worker_reader import WorkerReader
from .worker_status import StatusBoard


class State(TypedDict):
    """What the lifespan hands every request (``request.state``)."""

    nc: NatsClient
    js: JetStreamContext
    requester: Requester
    appender: EventAppender
    reader: JobReader
    workers: WorkerReader
    auth: WorkerAuthenticator
    statuses: StatusBoard
    watcher: PositionWatcher
    explainer: ExplainReader
    tokens: TokenAuthenticator
    identity: IdentityReader
    identity_watcher: PositionWatcher
    projects: ProjectReader
    projects_watcher: PositionWatcher
    access_watcher: PositionWatcher
    submit_limits: SubmitLimiter
    max_body_bytes: int
    bulk_max_body_bytes: int
    write_wait_s: float
    logs: LogStore
    log_writer: LogWriter
    bucket: ObjectStore
    artifact_max_bytes: int
    collector: PositionWatcher
    hooks: HookReader
    hooks_watcher: PositionWatcher
    hook_allow_nets: tuple[IPNetwork, ...]
    compat_trust: Mapping[str, Trust]  # unauthenticated façade callers by network (core.trust)
