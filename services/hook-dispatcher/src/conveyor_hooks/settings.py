"""Settings of the hook-dispatcher (``CONVEYOR_*`` variables)."""

from conveyor_runtime import BaseSettings


class Settings(BaseSettings, frozen=True, kw_only=True):
    """``http_port`` serves health and metrics.

    ``hook_allow_nets``: CIDRs webhooks may target although private (``127.0.0.0/8`` in tests).
    ``hook_horizon_s``: how long a delivery is retried (3 days). Backoff doubles from
    ``hook_backoff_base_s`` up to ``hook_backoff_max_s``, with jitter. A hook is disabled after
    ``hook_disable_after_failures`` failed attempts in a row spanning ``hook_disable_after_s``.
    """

    http_port: int = 8083
    hook_allow_nets: str = ""
    hook_timeout_s: float = 10.0
    hook_horizon_s: float = 3 * 86_400.0
    hook_backoff_base_s: float = 5.0
    hook_backoff_max_s: float = 3600.0
    hook_disable_after_failures: int = 20
    hook_disable_after_s: float = 86_400.0
    hook_concurrency: int = 32
    hook_response_bytes: int = 1024
    hook_poll_s: float = 0.5
    batch_size: int = 500
    # One copy leads (holds the leader key), the others stand by: a killed leader is replaced
    # after about leader_ttl_s, a stopped one at the next poll (issue 19).
    leader_ttl_s: int = 5
    leader_poll_s: float = 0.5
    # builds.sr.ht triggers (issue 17): the instance's Ed25519 key webhooks are signed with (base64;
    # the gateway serves its public half; same variable), and the SMTP server trigger emails go
    # through (none: the façade refuses email triggers; same variable as the gateway's).
    webhook_ed25519_key: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "builds@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
