"""`WebhookVerifier` against signatures made by the Standard Webhooks reference package: a genuine
delivery passes; another secret, a changed body, a stale or future timestamp and missing headers
are refused; a repeated webhook-id is recognised once handled."""

import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from conveyor_client.webhooks import MemoryDeliveryLog, WebhookVerificationError, WebhookVerifier

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"x" * 32).decode()
NOW = 1_800_000_000
BODY = b'{"type":"job.succeeded","timestamp":"2027-01-15T08:00:00Z","data":{"job":{"id":"j1"},"stream_seq":7}}'


def _headers(secret: str = SECRET, msg_id: str = "d1", at: int = NOW, body: bytes = BODY) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(at, UTC), body.decode())
    return {"Webhook-Id": msg_id, "Webhook-Timestamp": str(at), "Webhook-Signature": signature}


def _verifier(secret: str = SECRET) -> WebhookVerifier:
    return WebhookVerifier(secret, clock=lambda: float(NOW))


def test_a_genuine_delivery_is_verified() -> None:
    message = _verifier().verify(BODY, _headers())
    assert (message.id, message.type, message.data["stream_seq"]) == ("d1", "job.succeeded", 7)
    assert message.timestamp == datetime.fromtimestamp(NOW, UTC)


@pytest.mark.parametrize(
    ("body", "headers", "why"),
    [
        (BODY, _headers(OTHER), "signature"),
        (BODY.replace(b"j1", b"j2"), _headers(), "signature"),
        (BODY, _headers(at=NOW - 301), "too far"),
        (BODY, _headers(at=NOW + 301), "too far"),
        (BODY, {k: v for k, v in _headers().items() if k != "Webhook-Signature"}, "missing"),
        (BODY, {**_headers(), "Webhook-Timestamp": "soon"}, "Unix seconds"),
        (b"[]", _headers(body=b"[]"), "not a delivery"),
    ],
    ids=["other-secret", "changed-body", "stale", "future", "unsigned", "bad-timestamp", "not-a-delivery"],
)
def test_what_is_not_a_genuine_current_delivery_is_refused(body: bytes, headers: dict[str, str], why: str) -> None:
    with pytest.raises(WebhookVerificationError, match=why):
        _verifier().verify(body, headers)


def test_one_valid_signature_among_several_is_enough() -> None:
    both = _headers()
    both["Webhook-Signature"] = _headers(OTHER)["Webhook-Signature"] + " " + both["Webhook-Signature"]
    assert _verifier().verify(BODY, both).id == "d1"


def test_a_delivery_is_first_until_handled_and_retries_share_its_id() -> None:
    verifier = _verifier()
    first = verifier.verify(BODY, _headers())
    assert verifier.first_time(first)
    verifier.handled(first)
    retry = verifier.verify(BODY, _headers(at=NOW + 60))
    assert not verifier.first_time(retry)
    assert verifier.first_time(verifier.verify(BODY, _headers(msg_id="d2")))


def test_the_memory_log_forgets_the_oldest_beyond_its_size() -> None:
    log = MemoryDeliveryLog(size=2)
    for webhook_id in ("a", "b", "c"):
        log.add(webhook_id)
    assert [log.seen(i) for i in "abc"] == [False, True, True]


def test_a_secret_that_is_not_base64_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="base64"):
        WebhookVerifier("whsec_not*base64")
