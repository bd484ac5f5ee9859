"""A lean worker over HTTP for the drill: leases jobs through one gateway and reports each as
succeeded at once, retrying a report the API could not take (503 while a scheduler takes over)."""

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime

import httpx

RETRY_S = 0.2


class LeanWorker:
    """One registered worker with ``capacity`` slots, a lease loop and a heartbeat."""

    def __init__(self, gateway_url: str, token: str, name: str, capacity: int = 8) -> None:
        self.gateway_url = gateway_url
        self.token = token
        self.name = name
        self.capacity = capacity
        self.held: set[str] = set()
        self.counts: Counter[str] = Counter()
        self._reports: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.gateway_url, timeout=30) as client:
            answer = await client.post(
                "/v1/workers",
                json={"name": self.name, "labels": [], "capacity": self.capacity},
                headers={"Authorization": f"Bearer {self.token}"},
            )
            assert answer.status_code in (201, 202), answer.text
            registered = answer.json()
            worker_id, auth = registered["id"], httpx.BasicAuth(registered["id"], registered["secret"])
            beat = asyncio.create_task(self._heartbeat(client, worker_id, auth))
            try:
                await self._lease_loop(client, worker_id, auth, stop)
                while self._reports:  # every lease received is reported before the worker leaves
                    await asyncio.gather(*self._reports)
            finally:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat

    async def _lease_loop(
        self, client: httpx.AsyncClient, worker_id: str, auth: httpx.Auth, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            free = self.capacity - len(self.held)
            if free <= 0:
                await asyncio.sleep(0.02)
                continue
            try:
                answer = await client.post(f"/v1/workers/{worker_id}/lease", json={"max": free, "wait_s": 1}, auth=auth)
            except httpx.TransportError:
                self.counts["lease_unanswered"] += 1
                await asyncio.sleep(RETRY_S)
                continue
            if answer.status_code != 200:  # 401 until the gateway knows the worker; 503 in a takeover
                self.counts[f"lease_{answer.status_code}"] += 1
                await asyncio.sleep(RETRY_S)
                continue
            for lease in answer.json()["leases"]:
                self.held.add(lease["lease_id"])
                self.counts["leased"] += 1
                task = asyncio.create_task(self._finish(client, lease["lease_id"], auth))
                self._reports.add(task)
                task.add_done_callback(self._reports.discard)

    async def _finish(self, client: httpx.AsyncClient, lease_id: str, auth: httpx.Auth) -> None:
        body = {"result": "succeeded", "exit_code": 0, "started_at": datetime.now(UTC).isoformat()}
        try:
            for _ in range(600):
                try:
                    answer = await client.post(f"/v1/leases/{lease_id}/finish", json=body, auth=auth)
                except httpx.TransportError:
                    self.counts["finish_unanswered"] += 1
                    await asyncio.sleep(RETRY_S)
                    continue
                if answer.status_code == 200:
                    self.counts["finished"] += 1
                    return
                self.counts[f"finish_{answer.status_code}"] += 1
                if answer.status_code == 409:  # the lease is no longer ours: the job went elsewhere
                    return
                await asyncio.sleep(RETRY_S)
        finally:
            self.held.discard(lease_id)

    async def _heartbeat(self, client: httpx.AsyncClient, worker_id: str, auth: httpx.Auth) -> None:
        while True:
            await asyncio.sleep(2)
            with contextlib.suppress(httpx.TransportError):
                answer = await client.post(
                    f"/v1/workers/{worker_id}/heartbeat", json={"leases": sorted(self.held)}, auth=auth
                )
                if answer.status_code != 200:
                    self.counts[f"heartbeat_{answer.status_code}"] += 1
