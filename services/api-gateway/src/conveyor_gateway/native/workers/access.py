"""Who may call the worker and lease endpoints: their rows of the route guard's table (``http.access``)."""

from typing import Final

from ...http.access import WORKER, Rules

ACCESS: Final[Rules] = {
    ("POST", "/v1/workers"): "workers",
    ("GET", "/v1/workers"): "workers",
    ("GET", "/v1/workers/{worker_id}"): "workers",
    ("DELETE", "/v1/workers/{worker_id}"): "workers",
    **{("POST", f"/v1/workers/{{worker_id}}/{m}"): "workers" for m in ("pause", "resume", "drain")},
    ("POST", "/v1/workers/{worker_id}/lease"): WORKER,
    ("POST", "/v1/workers/{worker_id}/heartbeat"): WORKER,
    ("POST", "/v1/workers/{worker_id}/reports"): WORKER,
    ("POST", "/v1/leases/{lease_id}/start"): WORKER,
    ("POST", "/v1/leases/{lease_id}/finish"): WORKER,
    ("POST", "/v1/leases/{lease_id}/tasks/{name}"): WORKER,
}
