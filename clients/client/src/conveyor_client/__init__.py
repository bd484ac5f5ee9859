"""A small typed client of the Conveyor HTTP API.

`Client` (synchronous) serves people's tools: jobs, workers, logs. `WorkerApi` (asynchronous)
serves the worker agent: the lease protocol, logs and artifacts. `subscribe` (over NATS) and
`stream_events` (over the API's SSE stream) serve event subscribers, `WebhookVerifier` webhook
receivers. Every failure raises a
`ConveyorError` subclass whose message ends with the fix.
"""

from .client import Client
from .config import ClientConfig, ConfigError, load_config
from .errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    ConnectionFailedError,
    ConveyorError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from .event_stream import stream_events
from .models import Delivery, Hook, IssuedToken, Job, Lease, Project, Token, Worker
from .received import ReceivedEvent
from .subscriber import EventSubscription, Start, subscribe
from .webhooks import WebhookMessage, WebhookVerificationError, WebhookVerifier
from .worker_api import WorkerApi

__all__ = [
    "ApiError",
    "AuthenticationError",
    "Client",
    "ClientConfig",
    "ConfigError",
    "ConflictError",
    "ConnectionFailedError",
    "ConveyorError",
    "Delivery",
    "EventSubscription",
    "Hook",
    "InvalidRequestError",
    "IssuedToken",
    "Job",
    "Lease",
    "NotFoundError",
    "PermissionDeniedError",
    "Project",
    "ReceivedEvent",
    "Start",
    "Token",
    "UnavailableError",
    "WebhookMessage",
    "WebhookVerificationError",
    "WebhookVerifier",
    "Worker",
    "WorkerApi",
    "load_config",
    "stream_events",
    "subscribe",
]
