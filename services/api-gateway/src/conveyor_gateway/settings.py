"""Gateway settings (``CONVEYOR_*`` variables)."""

from conveyor_runtime import BaseSettings


class Settings(BaseSettings, frozen=True, kw_only=True):
    """Gateway settings; ``http_port`` is the API port."""

    http_port: int = 8080
    max_body_bytes: int = 1024 * 1024
    bulk_max_body_bytes: int = 16 * 1024 * 1024  # POST /v1/jobs/bulk: up to 1000 jobs in one body
    write_wait_ms: int = 2000
    workers: int = 1
    db_pool_size: int = 16
    artifact_max_bytes: int = 1024**3  # one artifact upload
    artifact_retention_days: float = 30.0  # the artifacts bucket's TTL (same variable as the collector's)
    # How long a verified API token is trusted without a lookup: a revoked token keeps working on
    # other gateways for at most this long (plus the identity projection's lag).
    token_cache_s: float = 2.0
    # CIDRs webhook URLs may target although private (same variable as the dispatcher's).
    hook_allow_nets: str = ""
    # The dashboard (web/, issue 20): the key sealing session cookies (32 bytes, hex or base64; a
    # random one per process when empty, which signs everyone out at a restart; give every gateway
    # of a cluster the same), and how long a sign-in lasts.
    ui_session_key: str = ""
    ui_session_hours: float = 12.0

    # Façades (DESIGN §10). Each is under /compat/<name>; these give one a port of its own, where it
    # answers at the root (``coalition=19211,task_tracker=8091``), and list the networks that may call
    # a façade without credentials and the user they act as (``coalition:127.0.0.1/32@farm; ...``).
    compat_ports: str = ""
    compat_trust: str = ""
    # builds.sr.ht façade (issue 17): the project its builds go to and their timeout (sourcehut's
    # runners: 45 min); the instance's Ed25519 webhook key (base64 seed, the same variable as the
    # hook dispatcher's, which signs with it), whose public half the façade serves; email triggers
    # are taken when an SMTP host is set (the same variable as the dispatcher's, which sends them).
    builds_project: str = "default"
    builds_timeout_s: int = 45 * 60
    webhook_ed25519_key: str = ""
    smtp_host: str = ""
