"""Who may call the webhook endpoints: their rows of the route guard's table (``http.access``)."""

from typing import Final

from ...http.access import SIGNED, Rules

ACCESS: Final[Rules] = {
    ("POST", "/v1/projects/{project}/hooks/push"): SIGNED,
    ("POST", "/v1/hooks"): "hooks",
    ("GET", "/v1/hooks"): "hooks",
    ("GET", "/v1/hooks/{hook_id}"): "hooks",
    ("PATCH", "/v1/hooks/{hook_id}"): "hooks",
    ("DELETE", "/v1/hooks/{hook_id}"): "hooks",
    ("GET", "/v1/hooks/{hook_id}/deliveries"): "hooks",
    ("POST", "/v1/hooks/{hook_id}/deliveries/{delivery_id}/redeliver"): "hooks",
}
