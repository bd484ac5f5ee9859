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
    # Façades (DESIGN §10). Each is under /compat/<name>; these give one a port of its own, where it
    # answers at the root (``coalition=19211,task_tracker=8091``), and list the networks that may call
    # a façade without credentials and the user they act as (``coalition:127.0.0.1/32@farm; ...``).
    compat_ports: str = ""
    compat_trust: str = ""
