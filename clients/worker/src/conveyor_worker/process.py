"""Job processes: each in its own session, output piped to a callback, the whole tree stopped at once."""

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

READ_SIZE = 64 * 1024
LINGER_S = 2.0  # how long output may go on after the job's main process exited


@dataclass
class Finished:
    """How a process ended: its exit status (negative: killed by that signal) and captured stdout."""

    exit_code: int
    stdout: bytes = b""


class JobProcess:
    """One running step. Output (stdout and stderr in one pipe, so their order is kept) goes to ``on_output``.

    With ``capture_stdout`` (recipe handlers), stdout is kept for the caller and only stderr streams.
    """

    def __init__(self, proc: asyncio.subprocess.Process, *, capture_stdout: bool) -> None:
        self.proc = proc
        self._capture = capture_stdout
        self._known: dict[int, psutil.Process] = {}

    @classmethod
    async def spawn(
        cls,
        argv: tuple[str, ...],
        *,
        env: dict[str, str],
        cwd: Path,
        stdin: bytes | None = None,
        capture_stdout: bool = False,
    ) -> "JobProcess":
        """Start ``argv`` in a new session (its own process group), so that the tree can be signalled."""
        proc = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            cwd=cwd,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE if capture_stdout else asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        job = cls(proc, capture_stdout=capture_stdout)
        if stdin is not None and proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(stdin)
                await proc.stdin.drain()
            proc.stdin.close()
        return job

    async def wait(self, on_output: Callable[[bytes], Awaitable[None]]) -> Finished:
        """Stream the output until the process and every holder of its pipe are gone; the exit status."""
        assert self.proc.stdout is not None
        captured = bytearray()
        streamed = self.proc.stderr if self._capture else self.proc.stdout

        async def keep(chunk: bytes) -> None:
            captured.extend(chunk)

        async def pump(stream: asyncio.StreamReader, sink: Callable[[bytes], Awaitable[None]]) -> None:
            # Awaiting the sink is the backpressure: while it waits, the pipe fills and the job's writes block.
            while chunk := await stream.read(READ_SIZE):
                await sink(chunk)

        pumps = []
        if streamed is not None:
            pumps.append(asyncio.ensure_future(pump(streamed, on_output)))
        if self._capture:
            pumps.append(asyncio.ensure_future(pump(self.proc.stdout, keep)))
        code = await self.proc.wait()
        # A background child may still hold the pipe: give it a moment, then stop what the job left.
        _, lingering = await asyncio.wait(pumps, timeout=LINGER_S)
        if lingering:
            self.signal_tree(signal.SIGKILL)
            await asyncio.wait(lingering)
        for done in pumps:
            done.result()
        return Finished(exit_code=code, stdout=bytes(captured))

    def _tree(self) -> list[psutil.Process]:
        """The process and its descendants, including ones that left the session (remembered)."""
        try:
            root = psutil.Process(self.proc.pid)
            for proc in [root, *root.children(recursive=True)]:
                self._known.setdefault(proc.pid, proc)
        except psutil.Error:
            pass
        return [proc for proc in self._known.values() if _alive(proc)]

    def signal_tree(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the process group and to every descendant we know of."""
        tree = self._tree()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)

    async def stop(self, grace_s: float) -> None:
        """SIGTERM the tree, wait up to ``grace_s``, then SIGKILL whatever is left of it."""
        self.signal_tree(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while loop.time() < deadline:
            if not self._tree() and self.proc.returncode is not None:
                return
            await asyncio.sleep(0.05)
        self.signal_tree(signal.SIGKILL)


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
