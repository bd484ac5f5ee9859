"""One outbound webhook request: the target checked (SSRF guard), no redirects, a deadline, and
only the first bytes of the answer kept."""

import asyncio
import time
from collections.abc import Sequence

import httpx
import msgspec

from conveyor_runtime import IPNetwork, TargetRefusedError, check_url_syntax, resolve_checked


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What one attempt got: the status (``None``: no answer), latency, error and answer head."""

    status: int | None
    latency_ms: float
    error: str = ""
    response: str = ""
    retry_after: str | None = None

    @property
    def is_success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender:
    """Posts signed bodies; ``allow`` lists private networks that are allowed anyway."""

    def __init__(self, *, allow: Sequence[IPNetwork], timeout_s: float, response_bytes: int) -> None:
        self._allow = tuple(allow)
        self._timeout_s = timeout_s
        self._response_bytes = response_bytes
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=timeout_s,
            trust_env=False,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        started = time.perf_counter()
        try:
            return await asyncio.wait_for(self._send(url, headers, body, started), self._timeout_s)
        except TargetRefusedError as exc:
            return Outcome(status=None, latency_ms=_ms(started), error=f"refused: {exc}")
        except TimeoutError:
            return Outcome(status=None, latency_ms=_ms(started), error="timeout")
        except httpx.HTTPError as exc:
            return Outcome(status=None, latency_ms=_ms(started), error=f"{type(exc).__name__}: {exc}"[:500])

    async def _send(self, url: str, headers: dict[str, str], body: bytes, started: float) -> Outcome:
        scheme, host, port = check_url_syntax(url)
        addresses = await resolve_checked(host, port, self._allow)
        original = httpx.URL(url)
        # Connect to the address just checked, not to a second resolution of the name.
        target = original.copy_with(host=addresses[0])
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        request = self._client.build_request(
            "POST",
            target,
            content=body,
            headers={**headers, "host": original.netloc.decode(), "user-agent": "Conveyor-Webhooks/1"},
            extensions=extensions,
        )
        response = await self._client.send(request, stream=True)
        try:
            head = bytearray()
            async for chunk in response.aiter_raw():
                head += chunk
                if len(head) >= self._response_bytes:
                    break
        finally:
            await response.aclose()
        return Outcome(
            status=response.status_code,
            latency_ms=_ms(started),
            response=bytes(head[: self._response_bytes]).decode("utf-8", "replace"),
            retry_after=response.headers.get("retry-after"),
        )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
