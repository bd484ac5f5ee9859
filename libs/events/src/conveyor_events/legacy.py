"""Superseded event versions and their upcasters.

When an event changes incompatibly, its old struct moves here under its old tag and an upcaster
maps it to the current type (CONVENTIONS §3). None has been needed yet: the map is empty, and
``codec.upcast`` is the identity until one is added.
"""

from collections.abc import Callable
from typing import Any

UPCASTERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""Old tag -> function turning the old JSON object into the current one (with the new tag)."""
