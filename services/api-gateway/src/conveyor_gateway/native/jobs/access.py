"""Who may call the jobs endpoints: their rows of the route guard's table (``http.access``)."""

from typing import Final

from ...http.access import Rules

_J = "/v1/jobs/{job_id}"
ACCESS: Final[Rules] = {
    ("POST", "/v1/jobs"): "jobs:write",
    ("POST", "/v1/jobs/bulk"): "jobs:write",
    ("GET", "/v1/jobs"): "jobs:read",
    ("GET", _J): "jobs:read",
    ("GET", f"{_J}/explain"): "jobs:read",
    ("DELETE", _J): "jobs:write",
    ("PUT", f"{_J}/dependencies"): "jobs:write",
    ("GET", f"{_J}/access"): "jobs:read",
    ("PUT", f"{_J}/access"): "jobs:write",
    **{("POST", f"{_J}/{c}"): "jobs:write" for c in ("cancel", "pause", "resume", "start", "reset", "restart")},
    ("PATCH", _J): "jobs:write",
    ("GET", f"{_J}/children"): "jobs:read",
}

WORKER_MAY_CALL: Final = frozenset({("POST", "/v1/jobs"), ("POST", "/v1/jobs/bulk")})
"""Token-protected rows a worker may also call with its own credentials (``core.worker_submit``)."""
