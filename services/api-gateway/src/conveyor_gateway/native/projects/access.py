"""Who may call the project endpoints: their rows of the route guard's table (``http.access``)."""

from typing import Final

from ...http.access import WORKER, Rules

ACCESS: Final[Rules] = {
    ("POST", "/v1/projects"): "projects",
    ("GET", "/v1/projects"): "projects",
    ("GET", "/v1/projects/{project}"): "projects",
    ("PATCH", "/v1/projects/{project}"): "projects",
    ("GET", "/v1/projects/{project}/roles"): "projects",
    ("PUT", "/v1/projects/{project}/roles/{user_id}"): "projects",
    ("POST", "/v1/workers/{worker_id}/access-requests"): WORKER,
    ("GET", "/v1/workers/{worker_id}/projects"): WORKER,
    ("GET", "/v1/projects/{project}/workers"): "projects",
    ("PUT", "/v1/projects/{project}/workers/{worker_id}"): "projects",
    **{
        ("POST", f"/v1/projects/{{project}}/maintenance/{a}"): "projects"
        for a in ("reset-failed", "reclaim-assigned", "hard-reset")
    },
}
