"""Standard Webhooks signatures: ``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``;
and builds.sr.ht's Ed25519 ``X-Payload-Signature`` for its triggers."""

import base64
import hashlib
import hmac
import secrets
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SECRET_PREFIX: Final = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret."""
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of one request."""
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers; no signature when there is no secret (an unsigned trigger)."""
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "content-type": "application/json"}
    if secret:
        headers["webhook-signature"] = signature(secret, msg_id, timestamp, body)
    return headers


def payload_headers(private_key: bytes, body: bytes, nonce: str) -> dict[str, str]:
    """builds.sr.ht's headers: ``X-Payload-Signature``, the base64 Ed25519 signature of the body
    followed by ``X-Payload-Nonce`` (issue 17); no signature when no key is configured."""
    headers = {"content-type": "application/json", "x-payload-nonce": nonce}
    if private_key:
        signed = Ed25519PrivateKey.from_private_bytes(private_key).sign(body + nonce.encode())
        headers["x-payload-signature"] = base64.b64encode(signed).decode()
    return headers


def ed25519_seed(setting: str) -> bytes:
    """The 32-byte seed of ``webhook_ed25519_key`` (base64 of the seed, or of seed and public key
    as sourcehut writes it); empty for no key.

    Raises:
        ValueError: The setting is not such a key.
    """
    if not setting:
        return b""
    raw = base64.b64decode(setting, validate=True)
    if len(raw) not in (32, 64):
        raise ValueError("webhook_ed25519_key is not an Ed25519 key (32 or 64 bytes in base64)")
    return raw[:32]
