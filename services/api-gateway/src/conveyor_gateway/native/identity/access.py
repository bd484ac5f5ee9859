"""Who may call the user and token endpoints: their rows of the route guard's table (``http.access``)."""

from typing import Final

from ...http.access import AUTHENTICATED, Rules

ACCESS: Final[Rules] = {
    ("GET", "/v1/me"): AUTHENTICATED,
    ("GET", "/v1/tokens"): AUTHENTICATED,
    ("POST", "/v1/tokens"): AUTHENTICATED,
    ("DELETE", "/v1/tokens/{token_id}"): AUTHENTICATED,
    ("POST", "/v1/users"): "admin",
    ("GET", "/v1/users"): "admin",
    ("POST", "/v1/users/{user_id}/tokens"): "admin",
    ("GET", "/v1/users/{user_id}/tokens"): "admin",
}
