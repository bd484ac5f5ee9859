"""What coalition's stock ``worker.py`` sends: form-encoded POSTs to ``/workers/*``, the pickjob
answer read as a Python literal, the log since the last heartbeat in base64."""

import ast
import base64
from typing import Any

import httpx

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/plain"}


class StockWorker:
    """One worker named ``name`` speaking the protocol through ``client``."""

    def __init__(self, client: httpx.AsyncClient, name: str) -> None:
        self.client = client
        self.name = name
        self.ran: list[int] = []

    def _status(self) -> dict[str, str]:
        return {"hostname": self.name, "load": "[12.0, 4.0]", "free_memory": "1500", "total_memory": "4096"}

    async def pick(self) -> tuple[Any, ...]:
        response = await self.client.post("/workers/pickjob", data=self._status(), headers=FORM)
        assert response.status_code == 200, response.text
        answer = ast.literal_eval(response.text)  # the stock worker eval()s it
        assert isinstance(answer, tuple) and len(answer) == 5
        return answer

    async def beat(self, job_id: int, log: bytes) -> bool:
        form = {**self._status(), "jobId": str(job_id), "log": base64.b64encode(log).decode()}
        response = await self.client.post("/workers/heartbeat", data=form, headers=FORM)
        assert response.status_code == 200 and response.text in ("true", "false"), response.text
        return response.text == "true"

    async def end(self, job_id: int, code: int) -> None:
        form = {"hostname": self.name, "jobId": str(job_id), "errorCode": str(code)}
        response = await self.client.post("/workers/endjob", data=form, headers=FORM)
        assert response.status_code == 200, response.text

    async def run_one(self) -> int | None:
        """Pick a job and run it: one heartbeat with its log, then the end (exit 0); its id, or None."""
        job_id, command, _, _, _ = await self.pick()
        if job_id == -1:
            return None
        await self.beat(job_id, f"* START\nCMD : {command}\nPROGRESS:100\nEXIT : 0\n".encode())
        await self.end(job_id, 0)
        self.ran.append(job_id)
        return int(job_id)
