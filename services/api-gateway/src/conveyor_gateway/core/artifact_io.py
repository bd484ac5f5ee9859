"""Streaming artifact bytes into and out of the Object Store bucket without holding them whole.

nats-py's ``ObjectStore.put`` reads its source with ``readinto`` on a worker thread; ``BodyReader``
feeds it from the request body (an async iterator on the event loop), counting, hashing and
enforcing the size limit on the way. Downloads read the object's chunks one direct get at a time.
"""

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Final

from nats.js import JetStreamContext
from nats.js.api import ObjectInfo
from nats.js.errors import NotFoundError

from conveyor_events import ARTIFACTS_BUCKET

from ..errors import TooLargeError

_STREAM: Final = f"OBJ_{ARTIFACTS_BUCKET}"


class BodyReader:
    """A blocking ``readinto`` source over an async byte iterator (used from a worker thread)."""

    def __init__(self, body: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self._body = body
        self._loop = loop
        self._limit = limit
        self._left = b""
        self._done = False
        self.size = 0
        self.sha256 = hashlib.sha256()

    async def _next(self) -> bytes:
        return await anext(self._body, b"")

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer)
        filled = 0
        while filled < len(view):
            if not self._left:
                if self._done:
                    break
                self._left = asyncio.run_coroutine_threadsafe(self._next(), self._loop).result()
                if not self._left:
                    self._done = True
                    break
            n = min(len(view) - filled, len(self._left))
            view[filled : filled + n] = self._left[:n]
            self._left = self._left[n:]
            filled += n
        self.size += filled
        if self.size > self._limit:
            raise TooLargeError(f"the artifact exceeds the limit of {self._limit} bytes")
        self.sha256.update(view[:filled])
        return filled


def hex_digest(info: ObjectInfo) -> str:
    """The object's SHA-256 in hex (the bucket keeps it as ``SHA-256=<base64url>``)."""
    raw = (info.digest or "").split("=", 1)[-1]
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).hex() if raw else hashlib.sha256().hexdigest()


async def read_object(js: JetStreamContext, info: ObjectInfo, start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes ``start`` to ``end`` of an object, one chunk message at a time."""
    subject = f"$O.{ARTIFACTS_BUCKET}.C.{info.nuid}"
    seq, position = 1, 0
    while position < end:
        try:
            msg = await js.get_msg(_STREAM, seq=seq, subject=subject, next=True, direct=True)
        except NotFoundError:
            return
        data = msg.data or b""
        seq = (msg.seq or seq) + 1
        chunk_end = position + len(data)
        if chunk_end > start:
            yield data[max(0, start - position) : end - position]
        position = chunk_end
