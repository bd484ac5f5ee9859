"""The run token a job gets: it submits the job's follow-ups while the run lasts, nothing more.

``cvr_<worker id>.<lease id>.<mac>``, the MAC being HMAC-SHA256 of ``run:<worker>:<lease>`` keyed
by the SHA-256 (hex) of the worker's secret, as the gateway checks it (its ``run_tokens`` module;
a test keeps the two in step). Minted here, at lease time, so it costs no call; the gateway
refuses it once the lease is no longer the job's (issue 13).
"""

import hashlib
import hmac


def mint_run_token(worker_id: str, secret: str, lease_id: str) -> str:
    """The run token of the lease ``lease_id`` of the worker with ``secret``."""
    key = hashlib.sha256(secret.encode()).hexdigest().encode()
    mac = hmac.new(key, f"run:{worker_id}:{lease_id}".encode(), hashlib.sha256).hexdigest()
    return f"cvr_{worker_id}.{lease_id}.{mac}"
