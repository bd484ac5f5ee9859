"""The rebuild's reader: a second process pulls the stream and hands the replay raw events in batches.

A rebuild's one process spent about a quarter of its time in nats-py taking messages apart (the
protocol parser, headers, ``Msg`` objects: profiled on a 200k-event rebuild), on the same core
as the fold and the ``COPY`` encoding. The reader process does that part: it pulls from a consumer
of its own (no acknowledgements, from the sequence after the replay's position, the projection's
filter) and sends each batch over a pipe as one msgpack frame of ``(seq, subject, data)``; the
replay decodes a frame in one call. The replay's durable consumer is left as ``prepare`` made it
(the checkpoint, not the server's ack floor, is where a projector resumes).
"""

import asyncio
import contextlib
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Final

import msgspec
import uvloop
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from conveyor_runtime import StreamEvent, connect_nats
from conveyor_runtime.feed import ConsumerFeed, stream_seq

IDLE_TIMEOUT_S: Final = 30.0
_Batch = list[tuple[int, str, bytes]]
_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(_Batch)


class ReaderSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Where the reader pulls from.

    Args:
        nats_url: The NATS server (credentials in the URL, as the scheduler connects).
        stream: The stream.
        consumer: A name for the reader's own consumer (made and deleted by the reader).
        filter_subject: The projection's filter.
        batch: Messages per pull request and per frame at most.
    """

    nats_url: str
    stream: str
    consumer: str
    filter_subject: str
    batch: int


class ReaderProcess:
    """Runs ``_read`` in a spawned process and yields its batches as ``StreamEvent`` lists.

    Args:
        spec: What to read.
        after: The replay's position (the reader starts just after it).
        last: The sequence to read up to (inclusive).
    """

    def __init__(self, spec: ReaderSpec, after: int, last: int) -> None:
        self._spec = spec
        self._after = after
        self._last = last
        self._conn: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")  # nothing of this process's loop or sockets
        receive, send = context.Pipe(duplex=False)
        self._proc = context.Process(
            target=_main, args=(send, self._spec, self._after, self._last), name="replay-reader", daemon=True
        )
        self._proc.start()
        send.close()
        self._conn = receive

    async def next(self) -> list[StreamEvent]:
        """The next batch (in stream order); raises when the reader ended before ``last``."""
        assert self._conn is not None, "call start() first"
        try:
            frame = await asyncio.to_thread(self._conn.recv_bytes)
        except EOFError:
            code = self._proc.exitcode if self._proc is not None else None
            raise RuntimeError(f"the replay's reader process ended early (exit code {code})") from None
        return [StreamEvent(seq, subject, data) for seq, subject, data in _decoder.decode(frame)]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(30)  # it deletes its consumer on the way out
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
            self._proc = None


def _main(out: Connection, spec: ReaderSpec, after: int, last: int) -> None:
    uvloop.run(_read(out, spec, after, last))


async def _read(out: Connection, spec: ReaderSpec, after: int, last: int) -> None:
    nc = await connect_nats(spec.nats_url, name="conveyor-scheduler-replay-reader")
    js = nc.jetstream()
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(spec.stream, spec.consumer)
    config = ConsumerConfig(
        durable_name=spec.consumer,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE if after else DeliverPolicy.ALL,
        opt_start_seq=after + 1 if after else None,
        ack_policy=AckPolicy.NONE,
        filter_subject=spec.filter_subject,
        inactive_threshold=60.0,  # the server drops it if this process dies before deleting it
    )
    await js.add_consumer(spec.stream, config)
    feed = ConsumerFeed(nc, spec.stream, spec.consumer, batch=spec.batch)
    await feed.start()
    try:
        position = after
        quiet_since = time.monotonic()
        while position < last:
            msgs = await feed.next_batch(1.0)
            batch = [(seq, m.subject, m.data) for m in msgs if after < (seq := stream_seq(m)) <= last]
            if not batch:
                if time.monotonic() - quiet_since > IDLE_TIMEOUT_S:
                    raise TimeoutError(f"replay reader: no events for {IDLE_TIMEOUT_S}s at {position}")
                continue
            quiet_since = time.monotonic()
            out.send_bytes(_encoder.encode(batch))  # blocks while the replay is behind: back-pressure
            position = after = batch[-1][0]
    finally:
        await feed.stop()
        with contextlib.suppress(Exception):
            await js.delete_consumer(spec.stream, spec.consumer)
        await nc.close()
        out.close()
