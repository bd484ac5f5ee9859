"""Decoding request bodies: fast strict decode, and on failure every error with a JSON pointer.

msgspec stops at the first error. When decoding fails, the body is decoded again loosely and each
top-level field is checked on its own, so a client sees all its mistakes at once.
"""

import json
import re
from typing import Any, Final, TypeVar

import msgspec

from ..core.storable import might_be_unstorable, unstorable
from ..errors import FieldError, MalformedError, ValidationFailedError

T = TypeVar("T", bound=msgspec.Struct)

_PATH: Final = re.compile(r"\$((?:\.[^.\[`]+|\[[^\]]*\])*)`?$")
_SEGMENT: Final = re.compile(r"\.([^.\[]+)|\[(\d+|\"(?:[^\"\\]|\\.)*\"|[^\]]*)\]")
_any: Final = msgspec.json.Decoder()
_OPAQUE: Final = (msgspec.Raw,)
NOT_JSON: Final = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
"""What msgspec raises for bytes that are not JSON: bad syntax, trailing junk, a string that is
not UTF-8, or nesting deeper than it recurses."""


def malformed(exc: Exception) -> MalformedError:
    """The 400 for one of ``NOT_JSON``, saying which."""
    if isinstance(exc, UnicodeDecodeError):
        return MalformedError("invalid JSON: a string is not valid UTF-8")
    if isinstance(exc, RecursionError):
        return MalformedError("invalid JSON: nested too deeply")
    return MalformedError(f"invalid JSON: {exc}")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer_of(message: str, prefix: str = "") -> tuple[str, str]:
    """Split a msgspec error message into (JSON pointer, message without the location)."""
    text, sep, where = message.rpartition(" - at `")
    if not sep:
        return prefix or "", message
    match = _PATH.match(where.rstrip("`"))
    if match is None:
        return prefix or "", text
    tokens: list[str] = []
    for name, index in _SEGMENT.findall(match.group(1)):
        token = name or index
        if token.startswith('"') and token.endswith('"'):
            token = token[1:-1]
        tokens.append("/" + _escape(token))
    return prefix + "".join(tokens), text


def decode_body(body: bytes, cls: type[T]) -> T:
    """Decode and validate a JSON body into ``cls``.

    Raises:
        MalformedError: Not JSON at all.
        ValidationFailedError: JSON with invalid fields; ``errors`` lists every one found.
    """
    try:
        value = msgspec.json.decode(body, type=cls)
    except msgspec.ValidationError as exc:
        first = str(exc)
    except NOT_JSON as exc:
        raise malformed(exc) from None
    else:
        refused = storable_errors(body)
        if refused:
            raise ValidationFailedError("the body holds text or numbers that cannot be stored", errors=refused)
        return value
    raise ValidationFailedError("the body has invalid fields", errors=collect_errors(body, cls, first))


def storable_errors(body: bytes) -> list[FieldError]:
    """Every place in a JSON body that no projection could store (``storable``), with its pointer.

    Opaque fields (``msgspec.Raw``) are checked too: they are stored as they came.
    """
    if not might_be_unstorable(body):
        return []
    try:  # the standard decoder: msgspec's refuses 1e999 without saying in which key it is
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return []  # not JSON msgspec would take either: its own error says so
    return unstorable(doc)


def collect_errors(body: bytes, cls: type[msgspec.Struct], first: str) -> list[FieldError]:
    """Check each top-level field of ``body`` separately; fall back to the first error.

    Raises:
        MalformedError: ``body`` is not JSON after all (the typed decode stopped before the fault).
    """
    try:
        doc: Any = _any.decode(body)
    except msgspec.ValidationError:  # a number out of float range, also where any JSON goes
        pointer, detail = pointer_of(first)
        return storable_errors(body) or [FieldError(pointer=pointer, detail=detail)]
    except NOT_JSON as exc:
        raise malformed(exc) from None
    if not isinstance(doc, dict):
        pointer, detail = pointer_of(first)
        return [FieldError(pointer=pointer, detail=detail)]
    fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
    errors: list[FieldError] = []
    for key in doc:
        if key not in fields:
            errors.append(FieldError(pointer="/" + _escape(key), detail="unknown field"))
    for name, info in fields.items():
        if name not in doc:
            if info.required:
                errors.append(FieldError(pointer="/" + _escape(name), detail="required field is missing"))
            continue
        if info.type in _OPAQUE:
            continue  # any JSON is accepted there
        try:
            msgspec.convert(doc[name], info.type, strict=True)
        except msgspec.ValidationError as exc:
            pointer, detail = pointer_of(str(exc), "/" + _escape(name))
            errors.append(FieldError(pointer=pointer, detail=detail))
    if not errors:  # a rule that spans fields; report what msgspec said
        pointer, detail = pointer_of(first)
        errors.append(FieldError(pointer=pointer, detail=detail))
    return errors
