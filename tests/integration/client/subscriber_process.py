"""A subscriber run as its own process by the tests, so that it can be killed like a crashed one.

``python subscriber_process.py NATS_URL NAME LAST_SEQ``: follows ``EVENTS`` through the durable
consumer NAME, prints ``recv <seq>`` when an event arrives and ``ack <seq>`` once its
acknowledgement is recorded, and exits when it has acknowledged LAST_SEQ. Each event takes a
little work (10 ms), so a test can kill it mid-stream.
"""

import asyncio
import sys

import nats

from conveyor_client.subscriber import subscribe


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(url: str, name: str, last: int) -> None:
    nc = await nats.connect(url, name=name)
    async with subscribe(nc, name, ack_wait_s=1.0, batch=10) as events:
        async for event in events:
            _say(f"recv {event.seq}")
            await asyncio.sleep(0.01)  # the subscriber's work
            await event.ack()
            _say(f"ack {event.seq}")
            if event.seq >= last:
                break
    await nc.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
