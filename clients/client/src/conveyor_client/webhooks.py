"""Receiving Conveyor's webhooks: `WebhookVerifier` checks a delivery's Standard Webhooks signature
and timestamp and tells a first delivery from a repeated one (pure, but for the clock).

Each delivery carries ``webhook-id`` (the same on every retry and redelivery), ``webhook-timestamp``
(Unix seconds of this attempt) and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">``, keyed with the base64 part of the hook's ``whsec_…`` secret.
"""

import base64
import binascii
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import msgspec

__all__ = ["DeliveryLog", "MemoryDeliveryLog", "WebhookMessage", "WebhookVerificationError", "WebhookVerifier"]

_SECRET_PREFIX: Final = "whsec_"
_decoder: Final = msgspec.json.Decoder(dict[str, Any])


class WebhookVerificationError(ValueError):
    """The request is not a genuine, current delivery: answer it with ``401`` and do nothing."""


@dataclass(frozen=True)
class WebhookMessage:
    """A verified delivery.

    Attributes:
        id: ``webhook-id``: the delivery's id, the same on each retry and redelivery.
        timestamp: When this attempt was sent.
        type: The event type, e.g. ``job.succeeded``.
        data: The ``data`` object (``job``, ``version``, ``stream_seq``).
        body: The raw body.
    """

    id: str
    timestamp: datetime
    type: str
    data: dict[str, Any]
    body: bytes


class DeliveryLog(Protocol):
    """Where a receiver records the ``webhook-id``s it has handled (a table in its own database,
    written in the same transaction as the handling, is the durable choice)."""

    def seen(self, webhook_id: str) -> bool:
        """Whether this delivery was handled already."""
        ...

    def add(self, webhook_id: str) -> None:
        """Record that this delivery is handled."""
        ...


class MemoryDeliveryLog:
    """The last ``size`` handled ids, in memory: enough for one process that may forget on restart."""

    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen(self, webhook_id: str) -> bool:
        """Whether this delivery was handled already."""
        return webhook_id in self._ids

    def add(self, webhook_id: str) -> None:
        """Record that this delivery is handled, forgetting the oldest beyond ``size``."""
        self._ids[webhook_id] = None
        self._ids.move_to_end(webhook_id)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(_SECRET_PREFIX)
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is whsec_ and base64") from exc


class WebhookVerifier:
    """Verifies the deliveries of one hook.

    Args:
        secret: The hook's ``whsec_…`` secret (shown once, when the hook was made).
        tolerance_s: How far ``webhook-timestamp`` may be from now, either way: an older request
            is refused as a replay.
        log: The handled ids; `MemoryDeliveryLog` by default.
        clock: Unix seconds now (for tests).
    """

    def __init__(
        self,
        secret: str,
        *,
        tolerance_s: float = 300.0,
        log: DeliveryLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = _key(secret)
        self._tolerance_s = tolerance_s
        self._log: DeliveryLog = log if log is not None else MemoryDeliveryLog()
        self._clock = clock

    def verify(self, body: bytes, headers: Mapping[str, str]) -> WebhookMessage:
        """Check a request's signature and timestamp; return the delivery it carries.

        Args:
            body: The raw body, exactly as received (not re-encoded JSON).
            headers: The request's headers (any case).

        Returns:
            The delivery.

        Raises:
            WebhookVerificationError: For a missing header, a wrong signature, a timestamp outside
                the tolerance, or a body that is not a delivery.
        """
        lower = {k.lower(): v for k, v in headers.items()}
        msg_id, stamp, signatures = (lower.get(h, "") for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
        if not (msg_id and stamp and signatures):
            raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
        if not stamp.isdigit():
            raise WebhookVerificationError("webhook-timestamp is not Unix seconds")
        if abs(self._clock() - int(stamp)) > self._tolerance_s:
            raise WebhookVerificationError("webhook-timestamp is too far from now (a replay?)")
        signed = f"{msg_id}.{stamp}.".encode() + body
        expected = base64.b64encode(hmac.new(self._key, signed, hashlib.sha256).digest()).decode()
        offered = [s.partition(",")[2] for s in signatures.split() if s.startswith("v1,")]
        if not any(hmac.compare_digest(expected, s) for s in offered):
            raise WebhookVerificationError("no valid signature")
        try:
            doc = _decoder.decode(body)
            kind, data = str(doc["type"]), doc["data"]
        except (msgspec.DecodeError, KeyError) as exc:
            raise WebhookVerificationError("the body is not a delivery") from exc
        when = datetime.fromtimestamp(int(stamp), UTC)
        return WebhookMessage(id=msg_id, timestamp=when, type=kind, data=data, body=body)

    def first_time(self, message: WebhookMessage) -> bool:
        """Whether this delivery has not been handled yet (a retry or redelivery has the same id)."""
        return not self._log.seen(message.id)

    def handled(self, message: WebhookMessage) -> None:
        """Record the delivery as handled; call it once handling succeeded, before answering 2xx."""
        self._log.add(message.id)
