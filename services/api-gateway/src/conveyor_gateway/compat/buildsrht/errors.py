"""sourcehut's error envelope, ``{"errors": [{"field"?, "reason"}]}``, as an exception (pure)."""

from typing import Any


class BuildsError(Exception):
    """A refusal in sourcehut's words: an HTTP status and the errors, each with its field if any."""

    def __init__(self, status: int, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.errors: list[dict[str, Any]] = [{"field": field, "reason": reason} if field else {"reason": reason}]

    @classmethod
    def of(cls, status: int, errors: list[tuple[str | None, str]]) -> "BuildsError":
        """One refusal listing several errors (``(field, reason)``, field None for the whole request)."""
        first_field, first_reason = errors[0]
        exc = cls(status, first_reason, first_field)
        exc.errors = [{"field": f, "reason": r} if f else {"reason": r} for f, r in errors]
        return exc

    def body(self) -> dict[str, Any]:
        return {"errors": self.errors}
