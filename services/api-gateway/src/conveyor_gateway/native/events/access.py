"""Who may call the event feed endpoints: their rows of the route guard's table (``http.access``)."""

from typing import Final

from ...http.access import Rules

ACCESS: Final[Rules] = {
    ("GET", "/v1/events"): "jobs:read",
    ("GET", "/v1/events/stream"): "jobs:read",
}
