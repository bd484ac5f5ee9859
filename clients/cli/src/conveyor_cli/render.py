"""How commands print: rich tables for people, JSON for scripts, colours only on a terminal."""

import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

STATE_STYLES = {
    "succeeded": "green",
    "failed": "red",
    "timed_out": "red",
    "cancelled": "yellow",
    "running": "cyan",
    "assigned": "cyan",
    "queued": "blue",
    "blocked": "magenta",
    "pending": "magenta",
    "idle": "green",
    "busy": "cyan",
    "offline": "red",
    "paused": "yellow",
    "draining": "yellow",
}


def console(stderr: bool = False) -> Console:
    """A console that colours only a terminal (rich also honours NO_COLOR)."""
    stream = sys.stderr if stderr else sys.stdout
    # Piped output is for grep and friends: one row per line, however long, instead of 80 columns.
    width = None if stream.isatty() else 10_000
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def print_json(value: Any) -> None:
    """Print a document (structs, lists, dicts) as indented JSON on stdout."""
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value), indent=2).decode() + "\n")


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """A short relative time: ``12s``, ``5m``, ``3h``, ``2d`` (``-`` for none)."""
    if moment is None:
        return "-"
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def styled(state: str) -> str:
    """The state with its colour markup."""
    style = STATE_STYLES.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[str]], *, empty: str, flexible: str | None = None
) -> None:
    """A table of rows, or the ``empty`` sentence when there are none.

    Cells never wrap (ids must stay copyable); on a narrow terminal the ``flexible`` column is
    shortened with an ellipsis first.
    """
    rows = list(rows)
    out = console()
    if not rows:
        out.print(empty)
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        if column == flexible:
            table.add_column(column, overflow="ellipsis", no_wrap=True, min_width=5, ratio=1)
        else:
            table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    out.print(table)


def print_fields(title: str, fields: Sequence[tuple[str, str]]) -> None:
    """A titled list of ``name  value`` lines."""
    out = console()
    out.print(f"[bold]{title}[/bold]")
    width = max((len(name) for name, _ in fields), default=0)
    for name, value in fields:
        out.print(f"  {name.ljust(width)}  {value}")


def shown(value: object, formatter: Callable[[Any], str] = str) -> str:
    """A field value for people: ``-`` for None or empty."""
    if value is None or value == "" or value == []:
        return "-"
    return formatter(value)
