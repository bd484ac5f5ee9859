"""Constrained field types shared by every event schema.

Events stay permissive on purpose (no ``forbid_unknown_fields``), but the primitive types carry
their bounds so that an event built from bad data fails at encode-time tests, not in production.
"""

from datetime import datetime
from typing import Annotated

import msgspec

UtcDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
"""A timezone-aware datetime. Every ``*_at`` field uses it; values are UTC."""

Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
"""A short name: project slug, owner, label. Starts with a letter or digit; no spaces or slashes."""

JobId = Annotated[
    str,
    msgspec.Meta(
        min_length=36, max_length=36, pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    ),
]
"""A job id: a canonical lowercase UUID string."""

Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
"""A free-form tag attached to a job."""
