"""The published contract of the bus: an AsyncAPI 3.0 document built from the event types (pure).

Every event tag is a message whose payload is the JSON Schema msgspec derives from its struct, on
the channel of its aggregate (``conveyor.ev.<aggregate>.<id>``, see ``subjects``), with the NATS
headers Conveyor sets when it appends. The document is generated, never written by hand, so it
cannot drift from the code.
"""

from typing import Any, Final, get_args

import msgspec

from .access import AccessEvent
from .append import TRACEPARENT, TRACESTATE
from .hook import HookEvent
from .job import JobEvent
from .progress import ProgressEvent
from .project import ProjectEvent
from .streams import EVENTS_STREAM
from .subjects import EVENTS_PREFIX
from .user import UserEvent
from .worker import WorkerEvent

__all__ = ["AGGREGATE_EVENTS", "HEADERS", "build_asyncapi", "event_tags"]

AGGREGATE_EVENTS: Final[dict[str, Any]] = {
    "job": JobEvent,
    "worker": WorkerEvent,
    "progress": ProgressEvent,
    "user": UserEvent,
    "project": ProjectEvent,
    "access": AccessEvent,
    "hook": HookEvent,
}
"""The event union published on each aggregate's subject space."""

_ID_NAMES: Final = {
    "job": "job_id",
    "worker": "worker_id",
    "progress": "job_id",
    "user": "user_id",
    "project": "project_id",
    "access": "job_id",
    "hook": "hook_id",
}

HEADERS: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "description": "The event's `event_id`: JetStream drops a retried append with the same id.",
        },
        "Conveyor-Leader-Term": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "On events a leader appends (the scheduler's decisions): its leadership term.",
        },
        "Nats-Expected-Last-Subject-Sequence": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "Optimistic concurrency on append: the subject's last sequence the writer read.",
        },
        TRACEPARENT: {
            "type": "string",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "description": (
                "When tracing is on: the W3C Trace Context of the request or decision that appended the "
                "event (`version-traceid-parentid-flags`). A subscriber continues the trace by making it "
                "the parent of its own span."
            ),
        },
        TRACESTATE: {
            "type": "string",
            "description": "When tracing is on and the trace has one: the W3C vendor trace state.",
        },
    },
    "required": ["Nats-Msg-Id"],
}
"""The NATS headers on an event message, as a JSON Schema."""

_COMPAT: Final = (
    "Compatibility: a tag is never reused or removed; fields are only added, with defaults; a stored "
    "event decodes forever (superseded versions are upcast on read). Subscribers ignore fields and "
    "tags they do not know."
)


def _members(union: Any) -> tuple[type[msgspec.Struct], ...]:
    return get_args(union) or (union,)


def _tag(struct: type[msgspec.Struct]) -> str:
    tag = struct.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{struct.__name__} has no string tag")
    return tag


def event_tags() -> dict[str, str]:
    """Return every event tag and the aggregate whose subjects carry it.

    Returns:
        ``{tag: aggregate}``, in the order of ``AGGREGATE_EVENTS`` and of each union.
    """
    return {_tag(s): aggregate for aggregate, union in AGGREGATE_EVENTS.items() for s in _members(union)}


def _message(struct: type[msgspec.Struct], schema: dict[str, Any]) -> dict[str, Any]:
    doc = (struct.__doc__ or "").strip()
    message: dict[str, Any] = {
        "name": _tag(struct),
        "title": struct.__name__,
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/NatsHeaders"},
        "payload": schema,
    }
    if doc:
        message["summary"] = doc.splitlines()[0]
        message["description"] = doc
    return message


def build_asyncapi(version: str) -> dict[str, Any]:
    """Return the AsyncAPI 3.0 document of every event on the ``EVENTS`` stream.

    Args:
        version: The document's ``info.version`` (the producing package's version).

    Returns:
        The document as JSON-ready dicts.
    """
    structs = [s for union in AGGREGATE_EVENTS.values() for s in _members(union)]
    schemas, components = msgspec.json.schema_components(structs, ref_template="#/components/schemas/{name}")
    components = {**components, "NatsHeaders": HEADERS}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    by_struct = dict(zip(structs, schemas, strict=True))
    for aggregate, union in AGGREGATE_EVENTS.items():
        # Messages are keyed by struct name (the keys of channels' messages may hold no dot); each
        # message's `name` is its tag.
        keys = [s.__name__ for s in _members(union)]
        for struct in _members(union):
            messages[struct.__name__] = _message(struct, by_struct[struct])
        param = _ID_NAMES[aggregate]
        channels[aggregate] = {
            "address": f"{EVENTS_PREFIX}.{aggregate}.{{{param}}}",
            "title": f"{aggregate} events",
            "description": f"Every event of one {aggregate}, in order, on the `{EVENTS_STREAM}` stream.",
            "parameters": {param: {"description": f"The {aggregate}'s id (`{param}` in each event)."}},
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in keys},
        }
        operations[f"receive_{aggregate}_events"] = {
            "action": "receive",
            "title": f"Read {aggregate} events",
            "summary": f"A consumer on `{EVENTS_STREAM}` filtered to `{EVENTS_PREFIX}.{aggregate}.>` receives these.",
            "channel": {"$ref": f"#/channels/{aggregate}"},
            "messages": [{"$ref": f"#/channels/{aggregate}/messages/{key}"} for key in keys],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Conveyor events",
            "version": version,
            "description": f"The events Conveyor appends to the JetStream stream `{EVENTS_STREAM}`. {_COMPAT}",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": components, "messages": messages},
    }
