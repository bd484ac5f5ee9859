"""OpenAPI paths of the event feed (``/v1/events``, ``/v1/events/stream``)."""

from typing import Any, Final

from ..openapi_blocks import SSE_EVENT, json_content, problem, query
from .feed import FeedItem
from .routes import EventPage

EVENT_SCHEMAS: Final = (FeedItem, EventPage)
_FILTERS: Final = [
    query("job", "Only this job's events.", {"type": "string", "format": "uuid"}),
    query("worker", "Only events naming this worker (worker_id).", {"type": "string", "format": "uuid"}),
    query("type", "Comma-separated event types or prefix patterns (job.succeeded,worker.*).", {"type": "string"}),
    query("since", "Events appended at or after this RFC 3339 time.", {"type": "string", "format": "date-time"}),
]


def event_paths() -> dict[str, Any]:
    return {
        "/v1/events": {
            "get": {
                "operationId": "listEvents",
                "summary": "The event history (job and worker events you may read), oldest first, paged",
                "parameters": [
                    *_FILTERS,
                    query("limit", "1-500, default 100.", {"type": "integer", "minimum": 1, "maximum": 500}),
                    query("cursor", "The previous page's next_cursor.", {"type": "string"}),
                ],
                "responses": {
                    "200": json_content(EventPage, "Events, oldest first."),
                    "422": problem("A bad query parameter."),
                },
            }
        },
        "/v1/events/stream": {
            "get": {
                "operationId": "streamEvents",
                "summary": "Follow events live (Server-Sent Events); resume with Last-Event-ID (the stream sequence)",
                "parameters": [
                    *_FILTERS,
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "description": "Resume after this stream sequence (the id of the last message received).",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "text/event-stream: id = stream sequence, event = type, data = a FeedItem.",
                        "content": {"text/event-stream": {"schema": SSE_EVENT}},
                    },
                    "422": problem("A bad query parameter."),
                },
            }
        },
    }
