"""Gateway errors: domain kinds (not HTTP codes) with stable codes; problems.py maps them."""

from .bodies import FieldError


class GatewayError(Exception):
    """Root of the gateway's errors. ``code`` is stable and names the problem type."""

    code = "gateway_error"
    title = "Request failed"

    def __init__(self, detail: str = "", *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors


class NotFoundError(GatewayError):
    code = "not_found"
    title = "Not found"


class ConflictError(GatewayError):
    code = "conflict"
    title = "Conflict"


class RejectedError(GatewayError):
    """The request is well-formed JSON but breaks a rule (HTTP 422)."""

    code = "invalid_request"
    title = "The request is invalid"


class MalformedError(GatewayError):
    """The request cannot be parsed at all (HTTP 400)."""

    code = "malformed_request"
    title = "The request body is not valid JSON"


class TooLargeError(GatewayError):
    code = "body_too_large"
    title = "The request body is too large"


class UnsupportedMediaError(GatewayError):
    code = "unsupported_media_type"
    title = "The request body must be JSON"


class JobNotFoundError(NotFoundError):
    code = "job_not_found"
    title = "No such job"


class InvalidIdError(RejectedError):
    code = "invalid_id"
    title = "Not a valid id"


class ValidationFailedError(RejectedError):
    code = "validation_failed"
    title = "The request body is invalid"


class InvalidQueryError(RejectedError):
    code = "invalid_query"
    title = "A query parameter is invalid"
