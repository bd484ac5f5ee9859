"""`conveyor_client.webhooks.WebhookVerifier` on real deliveries of the dispatcher: it verifies
them, tells a redelivery by its webhook-id, and refuses the same request replayed later or checked
with another hook's secret (issue 22)."""

import time

import httpx
import pytest

from conveyor_client.webhooks import WebhookVerificationError, WebhookVerifier

from .conftest import wait_until
from .receiver import Receiver
from .test_delivery import _delivered, create_hook


async def test_the_helper_verifies_a_real_delivery_and_its_redelivery(
    hooks_api: httpx.AsyncClient, receiver: Receiver
) -> None:
    hook = await create_hook(hooks_api, receiver.url(), ["job.submitted"])
    other = await create_hook(hooks_api, receiver.url("/other"), ["job.failed"])
    job = (await hooks_api.post("/v1/jobs", json={"command": "true", "title": "verified"})).json()
    [got] = await receiver.wait_for(lambda r: len(r) >= 1)

    verifier = WebhookVerifier(hook["secret"])
    message = verifier.verify(got.body, got.headers)
    assert message.type == "job.submitted" and message.data["job"]["id"] == job["id"]
    assert message.id == got.webhook_id and verifier.first_time(message)
    verifier.handled(message)

    [done] = await wait_until(lambda: _delivered(hooks_api, hook["id"]))
    again = await hooks_api.post(f"/v1/hooks/{hook['id']}/deliveries/{done['id']}/redeliver")
    assert again.status_code == 202, again.text
    _, second = await receiver.wait_for(lambda r: len(r) >= 2)
    redelivered = verifier.verify(second.body, second.headers)
    assert redelivered.id == message.id and not verifier.first_time(redelivered)

    with pytest.raises(WebhookVerificationError, match="signature"):
        WebhookVerifier(other["secret"]).verify(got.body, got.headers)
    later = WebhookVerifier(hook["secret"], clock=lambda: time.time() + 600)
    with pytest.raises(WebhookVerificationError, match="too far"):
        later.verify(got.body, got.headers)  # the captured request, replayed ten minutes on
