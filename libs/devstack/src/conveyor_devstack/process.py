"""Child process lifecycle shared by the managers: waiting for readiness, stopping, log tails."""

import contextlib
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "is_alive",
    "is_running_with",
    "log_tail",
    "read_pid_file",
    "signal_group",
    "stop_process",
    "wait_until_ready",
]

_POLL_INTERVAL_S = 0.02


def log_tail(path: Path | None, lines: int = 20, *, since: int = 0) -> str:
    """Return the last ``lines`` lines of a log file, or a note saying why there are none.

    Args:
        path: The log file.
        lines: How many lines to keep.
        since: Byte offset to start from, to skip what earlier runs appended to the same file.

    Returns:
        The lines joined with newlines.
    """
    if path is None:
        return "(no log file)"
    try:
        with path.open("r", encoding="utf-8", errors="replace") as log:
            log.seek(since)
            tail = deque(log, maxlen=lines)
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"
    return "".join(tail).rstrip("\n") or f"({path} is empty)"


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send ``sig`` to the process group that ``proc`` leads, or to ``proc`` alone.

    Children are started with ``start_new_session=True``, so their group id is their pid and
    the signal also reaches anything they started themselves.

    Args:
        proc: A child started in its own session.
        sig: The signal.
    """
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:  # started without a session of its own: never signal our own group
            proc.send_signal(sig)


def stop_process(
    proc: subprocess.Popen[bytes],
    *,
    timeout_s: float = 10.0,
    sig: signal.Signals = signal.SIGTERM,
) -> int:
    """Ask a child to stop with ``sig``, SIGKILL it after ``timeout_s``, and reap it.

    Args:
        proc: The child, started in its own session.
        timeout_s: How long to wait after ``sig`` before SIGKILL.
        sig: The polite signal (SIGINT is PostgreSQL's fast shutdown).

    Returns:
        The exit status (negative for a signal, as in `subprocess`).
    """
    signal_group(proc, sig)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        signal_group(proc, signal.SIGKILL)
        return proc.wait()


def wait_until_ready(
    is_ready: Callable[[], bool],
    *,
    proc: subprocess.Popen[bytes],
    timeout_s: float,
    describe: Callable[[str], Exception],
) -> None:
    """Poll ``is_ready`` until it returns True, the process exits, or time runs out.

    Args:
        is_ready: A cheap check, called repeatedly.
        proc: The process being waited on.
        timeout_s: The deadline.
        describe: Builds the exception to raise from a reason (``"exited with status 1"``).

    Raises:
        Exception: Whatever ``describe`` builds, when the process exits or the deadline passes.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if is_ready():
            return
        status = proc.poll()
        if status is not None:
            raise describe(f"exited with status {status}")
        if time.monotonic() > deadline:
            raise describe(f"was not ready after {timeout_s:g} s")
        time.sleep(_POLL_INTERVAL_S)


def read_pid_file(path: Path) -> int | None:
    """Return the pid on the first line of a pid file, or None when it is missing or garbled.

    Args:
        path: A pid file such as ``postmaster.pid``.

    Returns:
        The pid, if any.
    """
    try:
        return int(path.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def is_alive(pid: int) -> bool:
    """Tell whether a process with this pid exists (whoever owns it).

    Args:
        pid: The process id.

    Returns:
        True when it exists.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to another user
        return True
    return True


def is_running_with(pid: int, *words: str) -> bool:
    """Tell whether process ``pid`` exists and its command line contains every one of ``words``.

    Pid files outlive crashes and pids get reused, so a live pid alone proves nothing. This reads
    ``/proc`` (Linux); elsewhere it answers False and leaves the check to the server itself.

    Args:
        pid: The process id.
        words: Strings that must all appear in its command line.

    Returns:
        True when such a process is running.
    """
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return bool(argv) and all(word in argv for word in words)
