"""Who may call the log, progress and artifact endpoints: their rows of the route guard's table (``http.access``)."""

from typing import Final

from ...http.access import WORKER, Rules

_J = "/v1/jobs/{job_id}"
ACCESS: Final[Rules] = {
    ("GET", f"{_J}/log"): "jobs:read",
    ("GET", f"{_J}/log/stream"): "jobs:read",
    ("GET", f"{_J}/artifacts"): "jobs:read",
    ("GET", f"{_J}/artifacts/{{path:path}}"): "jobs:read",
    ("POST", "/v1/leases/{lease_id}/log"): WORKER,
    ("POST", "/v1/leases/{lease_id}/progress"): WORKER,
    ("PUT", "/v1/leases/{lease_id}/artifacts/{path:path}"): WORKER,
    ("POST", "/v1/workers/{worker_id}/log/{level}"): WORKER,
    ("GET", "/v1/workers/{worker_id}/log"): "workers",
}
