"""The instance's Ed25519 webhook key (sourcehut's ``webhooks.private-key``): its public half, which
receivers verify ``X-Payload-Signature`` with; the hook dispatcher signs with the private half."""

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def public_key(private_b64: str) -> str:
    """The base64 public key of a base64 private key (a 32-byte seed, or 64 bytes: seed and public
    key, as sourcehut's key generator writes it); ``""`` for none.

    Raises:
        ValueError: The setting is not such a key.
    """
    if not private_b64:
        return ""
    try:
        raw = base64.b64decode(private_b64, validate=True)
    except binascii.Error as exc:
        raise ValueError("the webhook key is not base64") from exc
    if len(raw) not in (32, 64):
        raise ValueError("the webhook key is not an Ed25519 key (32 or 64 bytes)")
    key = Ed25519PrivateKey.from_private_bytes(raw[:32])
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
