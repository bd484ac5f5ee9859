"""OpenAPI paths of outbound webhooks (``/v1/hooks``) and event subscriptions (``/v1/events``)."""

from typing import Any, Final

from .event_feed import FeedItem
from .event_routes import EventPage
from .hook_bodies import AttemptView, DeliveryPage, DeliveryView, HookCreate, HookPage, HookPatch, HookView
from .openapi_blocks import BAD_BODY, SSE_EVENT, json_content, path_id, problem, query
from .openapi_blocks import body as json_body

HOOK_SCHEMAS: Final = (
    HookCreate,
    HookPatch,
    HookView,
    HookPage,
    AttemptView,
    DeliveryView,
    DeliveryPage,
    FeedItem,
    EventPage,
)
_HOOK: Final = path_id("hook_id", "hook")
_MISSING: Final = problem("No such hook, or not yours to manage (the same answer).")
_INVALID: Final = problem("Invalid fields, or a URL whose host is private, loopback or link-local (pointer /url).")


def hook_paths() -> dict[str, Any]:
    return {
        "/v1/hooks": {
            "post": {
                "operationId": "createHook",
                "summary": "Create a webhook of your jobs, or of a project's (edit role); the secret is shown once",
                "requestBody": json_body(HookCreate),
                "responses": {
                    "201": json_content(HookView, "The hook, with its secret (whsec_…)."),
                    "202": {"description": "Stored; the dispatcher has not caught up yet ({id, secret, status})."},
                    **BAD_BODY,
                    "403": problem("A project hook needs the edit role on the project."),
                    "422": _INVALID,
                },
            },
            "get": {
                "operationId": "listHooks",
                "summary": "Your hooks and those of projects where you hold edit",
                "responses": {"200": json_content(HookPage, "Newest first.")},
            },
        },
        "/v1/hooks/{hook_id}": {
            "get": {
                "operationId": "getHook",
                "summary": "Read a hook (active, disabled_reason, consecutive_failures)",
                "parameters": [_HOOK],
                "responses": {"200": json_content(HookView, "The hook."), "404": _MISSING},
            },
            "patch": {
                "operationId": "updateHook",
                "summary": "Change a hook; active=true re-enables a disabled one",
                "parameters": [_HOOK],
                "requestBody": json_body(HookPatch),
                "responses": {
                    "200": json_content(HookView, "The hook."),
                    **BAD_BODY,
                    "404": _MISSING,
                    "409": problem("The hook changed since it was read."),
                    "422": _INVALID,
                },
            },
            "delete": {
                "operationId": "deleteHook",
                "summary": "Delete a hook; its pending deliveries are dropped",
                "parameters": [_HOOK],
                "responses": {"204": {"description": "Deleted."}, "404": _MISSING},
            },
        },
        "/v1/hooks/{hook_id}/deliveries": {
            "get": {
                "operationId": "listHookDeliveries",
                "summary": "The delivery log: every delivery with its attempts (status, latency, first bytes)",
                "parameters": [
                    _HOOK,
                    query("limit", "1-500, default 50.", {"type": "integer", "minimum": 1, "maximum": 500}),
                    query("cursor", "The previous page's next_cursor.", {"type": "string"}),
                ],
                "responses": {"200": json_content(DeliveryPage, "Newest first."), "404": _MISSING},
            }
        },
        "/v1/hooks/{hook_id}/deliveries/{delivery_id}/redeliver": {
            "post": {
                "operationId": "redeliverHookDelivery",
                "summary": "Send a past delivery again (same webhook-id and body, a fresh retry horizon)",
                "parameters": [_HOOK, path_id("delivery_id", "delivery")],
                "responses": {
                    "202": {"description": "Queued for delivery now ({id, status: pending})."},
                    "404": problem("No such hook or delivery."),
                },
            }
        },
    }


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
