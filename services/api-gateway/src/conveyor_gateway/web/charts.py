"""Bar charts drawn server-side as inline SVG geometry (pure): no script, no style attribute."""

from typing import Final

import msgspec

from ..core.job_counts import Bucket

WIDTH: Final = 600
HEIGHT: Final = 120


class Rect(msgspec.Struct, frozen=True, kw_only=True):
    x: float
    y: float
    w: float
    h: float
    kind: str  # ok | bad
    title: str


def bars(buckets: list[Bucket], label: str) -> tuple[list[Rect], int]:
    """Stacked bars (succeeded under failed) for each bucket, and the scale's maximum."""
    top = max((b.finished for b in buckets), default=0) or 1
    step = WIDTH / max(len(buckets), 1)
    rects: list[Rect] = []
    for i, b in enumerate(buckets):
        ok_h = (b.finished - b.failed) / top * (HEIGHT - 4)
        bad_h = b.failed / top * (HEIGHT - 4)
        x = round(i * step + 1, 1)
        w = round(max(step - 2, 1), 1)
        when = b.start.strftime("%H:%M" if label == "hour" else "%d %H:00")
        title = f"{when}: {b.finished} finished, {b.failed} failed"
        if ok_h:
            rects.append(Rect(x=x, y=round(HEIGHT - ok_h, 1), w=w, h=round(ok_h, 1), kind="ok", title=title))
        if bad_h:
            rects.append(Rect(x=x, y=round(HEIGHT - ok_h - bad_h, 1), w=w, h=round(bad_h, 1), kind="bad", title=title))
    return rects, top
