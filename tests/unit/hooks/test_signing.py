"""Conveyor's Standard Webhooks signatures verify with the reference package, and only with the
right secret, id, timestamp and body."""

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conveyor_hooks.signing import new_secret, signature, webhook_headers


def test_signed_headers_verify_with_the_reference_implementation() -> None:
    import time

    secret = new_secret()
    assert secret.startswith("whsec_")
    body = b'{"type":"job.succeeded","data":{}}'
    headers = webhook_headers(secret, "01a2-msg", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {"type": "job.succeeded", "data": {}}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "other"})


def test_the_signature_is_of_id_timestamp_and_body() -> None:
    # The example from the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_an_unsigned_trigger_has_id_and_timestamp_only() -> None:
    headers = webhook_headers("", "m1", 1, b"{}")
    assert headers["webhook-id"] == "m1" and headers["webhook-timestamp"] == "1"
    assert "webhook-signature" not in headers
