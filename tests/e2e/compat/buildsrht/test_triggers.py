"""builds.sr.ht triggers through Conveyor's hook dispatcher: a webhook with sourcehut's payload and
its Ed25519 ``X-Payload-Signature`` over body and ``X-Payload-Nonce`` (checked with the public key
the façade publishes), and an email received by a real SMTP server (aiosmtpd) on 127.0.0.1;
conditions ``failure``, ``always`` and ``success`` on a build that fails."""

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import msgspec
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from conveyor_devstack import free_port
from conveyor_gateway.app import create_app
from conveyor_gateway.compat import buildsrht
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_runtime import serve_http

from ...conftest import Service
from ...conftest import _ready as ready
from ...hooks.conftest import LOOPBACK, start_dispatcher  # noqa: F401 - a fixture used below
from ...hooks.receiver import Receiver
from .conftest import Builds, wait_status

_SEED = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
WEBHOOK_KEY = base64.b64encode(_SEED).decode()


class Inbox:
    """What the SMTP server received: each message with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        self.arrived.set()
        return "250 OK"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 in this loop: its inbox and port."""
    inbox, port = Inbox(), free_port()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox), "127.0.0.1", port)
    yield inbox, port
    server.close()
    await server.wait_closed()


@pytest.fixture
def gateway_settings(gateway_settings: GatewaySettings) -> GatewaySettings:
    """Loopback webhook targets, the instance's webhook key, and an SMTP server (email triggers on)."""
    return msgspec.structs.replace(
        gateway_settings, hook_allow_nets=LOOPBACK, webhook_ed25519_key=WEBHOOK_KEY, smtp_host="127.0.0.1"
    )


@pytest.fixture
async def gateway(gateway_settings: GatewaySettings, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with the builds façade configured from ``gateway_settings`` (its key, SMTP)."""
    facades = {"builds": buildsrht.create_app(buildsrht.settings_of(gateway_settings))}
    app = create_app(gateway_settings, facades=facades)
    service = Service(lambda stop: serve_http(app, "127.0.0.1", gateway_settings.http_port, stop, lifespan=True))
    base_url = f"http://127.0.0.1:{gateway_settings.http_port}"
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=10, headers=headers) as client:
        await ready(client)
        yield client
    await service.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1."""
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def test_triggers_fire_once_the_build_ends_signed_and_mailed(
    builds_user: Callable[..., Awaitable[Builds]],
    start_worker: Callable[..., Awaitable[Any]],
    start_dispatcher: Callable[..., Service],  # noqa: F811 - the fixture imported above
    receiver: Receiver,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, smtp_port = smtp
    start_dispatcher(webhook_ed25519_key=WEBHOOK_KEY, smtp_host="127.0.0.1", smtp_port=smtp_port,
                     smtp_from="builds@conveyor.test")  # fmt: skip
    alice = await builds_user("alice")
    await start_worker("--label", "image.alpine.edge")
    manifest = f"""\
image: alpine/edge
tasks:
  - build: echo built
  - test: "false"
triggers:
  - action: webhook
    condition: always
    url: {receiver.url("/always")}
  - action: webhook
    condition: success
    url: {receiver.url("/success")}
  - action: email
    condition: failure
    to: Dev <dev@example.org>
    cc: lead@example.org
    in_reply_to: <patch-1@example.org>
"""
    submitted = await alice.post("/api/jobs", json={"manifest": manifest, "tags": ["proj", "main"], "note": "n"})
    assert submitted.status_code == 200, submitted.text
    number = submitted.json()["id"]
    assert (await wait_status(alice, number, {"failed", "success"}))["status"] == "failed"

    await asyncio.wait_for(inbox.arrived.wait(), 20)
    [hook] = await receiver.wait_for(lambda got: bool(got), within_s=20)
    assert hook.path == "/always"  # the success trigger did not fire
    published = (await alice.get("/webhook-key")).text.strip()
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(published))
    nonce = hook.headers["x-payload-nonce"]
    key.verify(base64.b64decode(hook.headers["x-payload-signature"]), hook.body + nonce.encode())
    payload = hook.json()
    assert payload["id"] == number and payload["status"] == "failed" and payload["note"] == "n"
    assert payload["owner"] == {"canonical_name": "~alice", "name": "alice"}
    assert [(t["name"], t["status"]) for t in payload["tasks"]] == [("build", "success"), ("test", "failed")]
    assert payload["tasks"][1]["log"].endswith(f"/compat/builds/logs/{number}/test/log") and payload["runner"]

    [(recipients, mail)] = inbox.messages
    inbox.arrived.clear()
    assert sorted(recipients) == ["dev@example.org", "lead@example.org"]
    assert mail["Subject"] == "[proj/main] build failed" and mail["From"] == "builds@conveyor.test"
    assert mail["In-Reply-To"] == "<patch-1@example.org>"
    text = mail.get_payload(decode=True)
    assert isinstance(text, bytes)
    assert "✓ build" in text.decode() and "✗ test" in text.decode() and f"/~alice/job/{number}" in text.decode()

    # A job group's email trigger fires once every build of the group ended, once.
    held = {"manifest": "image: alpine/edge\ntasks:\n  - ok: 'true'\n", "execute": False}
    ok = (await alice.post("/api/jobs", json=held)).json()["id"]
    failing = (
        await alice.post("/api/jobs", json=held | {"manifest": "image: alpine/edge\ntasks:\n  - bad: 'false'\n"})
    ).json()["id"]
    trigger = {"action": "email", "condition": "failure", "to": "group@example.org"}
    group = await alice.post("/api/job-group", json={"jobs": [ok, failing], "triggers": [trigger], "execute": True})
    assert group.status_code == 200, group.text
    await wait_status(alice, ok, {"success"})
    await wait_status(alice, failing, {"failed"})
    await asyncio.wait_for(inbox.arrived.wait(), 20)
    [(group_recipients, group_mail)] = inbox.messages[1:]
    assert group_recipients == ["group@example.org"]
    assert group_mail["Subject"] == f"job group #{group.json()['id']} failed"
    group_text = group_mail.get_payload(decode=True)
    assert isinstance(group_text, bytes)
    assert f"✓ #{ok} success" in group_text.decode() and f"✗ #{failing} failed" in group_text.decode()
    webhook_trigger = {"action": "webhook", "condition": "always", "url": receiver.url()}
    refused = await alice.post("/api/job-group", json={"jobs": [ok], "triggers": [webhook_trigger]})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "triggers[0].action"
