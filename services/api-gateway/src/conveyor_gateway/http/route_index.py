"""A Starlette router that tries only the routes a path could match, not all 75 in turn.

Starlette's ``Router`` tests every route's regex until one matches: the worker's hot routes
(lease, start, finish) sit behind two dozen others, which cost the gateway more CPU per request
than its own handler code. ``IndexedRouter`` first narrows the list with the literal segments of
the route templates, then runs Starlette's own matching over what is left, in the same order, so
the route chosen (full match first, else the first partial match for 405) is the one Starlette
would choose, with two exceptions: a 405 lists the methods of every route of the template, where
Starlette's names only the first route's; and a path that a literal route has (``/v1/jobs/bulk``)
answers 405 for its other methods rather than fall to a parameter route (``{job_id}`` = "bulk").
When nothing in the narrowed list matches, the full Starlette path runs (trailing slash
redirects, 404), so unmatched requests behave exactly as before.

The narrowing is pure: ``signature`` reads a route template, ``could_match`` decides from the
path's segments. A segment is a literal, a one-segment parameter (``{id}``, ``{n:int}``), or the
end of what is known (``{path:path}``, or a parameter inside a longer segment): after that the
route stays a candidate whatever follows. Candidates are cached per *shape* of path (each
segment kept when some route has it as a literal at that place, else a wildcard), so a lease id
in the path does not make a new cache entry.
"""

from collections.abc import Sequence
from typing import Final

import msgspec
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

# Convertors whose pattern never spans a "/": their parameter is exactly one path segment.
_ONE_SEGMENT: Final = frozenset({"str", "int", "float", "uuid"})
_MAX_SHAPES: Final = 4096


class _Wild:
    """Marks a one-segment parameter in a signature, or an unknown segment in a path's shape."""

    def __repr__(self) -> str:
        return "*"


WILD: Final = _Wild()


class Signature(msgspec.Struct, frozen=True):
    """What a route template says about the segments of the paths it can match."""

    segments: tuple[str | _Wild, ...]
    """Leading segments: a literal, or ``WILD`` for a one-segment parameter."""
    open_end: bool
    """True when the template continues beyond ``segments`` in a way not known segment by segment."""


def _param_segment(segment: str) -> bool:
    """Whether ``segment`` is a whole parameter that matches one segment: ``{id}`` or ``{n:int}``."""
    if not (segment.startswith("{") and segment.endswith("}")) or segment.count("{") != 1:
        return False
    _, _, convertor = segment[1:-1].partition(":")
    return (convertor or "str") in _ONE_SEGMENT


def signature(template: str) -> Signature:
    """The signature of a route template such as ``/v1/leases/{lease_id}/start``."""
    segments: list[str | _Wild] = []
    for segment in template.split("/"):
        if "{" not in segment and "}" not in segment:
            segments.append(segment)
        elif _param_segment(segment):
            segments.append(WILD)
        else:
            return Signature(tuple(segments), open_end=True)
    return Signature(tuple(segments), open_end=False)


def could_match(sig: Signature | None, parts: Sequence[str | _Wild], length: int) -> bool:
    """Whether a route with ``sig`` may match a path of ``length`` segments starting with ``parts``.

    ``None`` (a route that is not a plain ``Route``) may match anything. ``parts`` holds at least
    ``len(sig.segments)`` leading segments of the path when it has that many; a segment that no
    route has as a literal may be given as ``WILD``, since it equals no literal either way.
    """
    if sig is None:
        return True
    for i, expected in enumerate(sig.segments):
        if i >= length:
            return False  # the template needs a segment (a literal or a non-empty parameter) the path lacks
        if expected is not WILD and parts[i] != expected:
            return False
    return sig.open_end or length == len(sig.segments)


def _signature_of(route: BaseRoute) -> Signature | None:
    """A ``Route``'s signature; a ``Mount``'s covers every path under its prefix; others match anything."""
    if isinstance(route, Route):
        return signature(route.path)
    if isinstance(route, Mount):
        return signature(route.path + "/{path:path}")
    return None


class IndexedRouter(Router):
    """``Router`` that narrows the routes to try by the path's literal segments (see the module)."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: object) -> None:
        super().__init__(routes, **kwargs)  # type: ignore[arg-type]
        self._signatures = [_signature_of(r) for r in self.routes]
        depth = max((len(s.segments) for s in self._signatures if s is not None), default=0)
        self._depth = depth
        self._literals: list[frozenset[str]] = [
            frozenset(
                seg for s in self._signatures if s is not None for seg in s.segments[i : i + 1] if isinstance(seg, str)
            )
            for i in range(depth)
        ]
        self._shapes: dict[tuple[object, ...], tuple[BaseRoute, ...]] = {}

    def candidates(self, path: str) -> tuple[BaseRoute, ...]:
        """The routes that may match ``path``, in the router's order."""
        split = path.split("/")
        length = min(len(split), self._depth + 1)
        shape = tuple(part if part in self._literals[i] else WILD for i, part in enumerate(split[: self._depth]))
        key = (length, *shape)
        found = self._shapes.get(key)
        if found is None:
            found = tuple(
                route
                for route, sig in zip(self.routes, self._signatures, strict=True)
                if could_match(sig, shape, length)
            )
            if len(self._shapes) < _MAX_SHAPES:
                self._shapes[key] = found
        return found

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        full: tuple[BaseRoute, Scope] | None = None
        partials: list[tuple[BaseRoute, Scope]] = []
        for route in self.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL and full is None:
                full = route, child_scope
            elif match is Match.PARTIAL:
                partials.append((route, child_scope))
        # A literal route of the path (``/v1/jobs/bulk``) owns it: another method there is a 405,
        # not a parameter route's match (``/v1/jobs/{job_id}`` with the id "bulk").
        literal = next((p for p in partials if "{" not in getattr(p[0], "path", "{")), None)
        if full is not None and (literal is None or "{" not in getattr(full[0], "path", "{")):
            route, child_scope = full
            scope.setdefault("router", self)
            scope["route"] = route
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return
        if partials:
            route, child_scope = literal or partials[0]
            scope.setdefault("router", self)
            scope["route"] = route
            scope.update(child_scope)
            # Several routes may share a template, one per method: the 405 names them all, where
            # Starlette's names only the first route's methods.
            template = getattr(route, "path", None)
            allowed = {
                m
                for r, _ in partials
                if getattr(r, "path", None) == template
                for m in getattr(r, "methods", None) or ()
            }
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
        await super().app(scope, receive, send)  # no candidate: Starlette's redirect or 404, unchanged
