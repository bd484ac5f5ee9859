"""Summarise py-spy ``record -f raw`` output (collapsed stacks): where a process spends its samples.

``python -m bench.profile_summary profiles/scheduler.txt [--top 25] [--match conveyor_]``

Prints the functions with the most samples on top of the stack (self), and the ones with the
most samples anywhere in the stack (inclusive, each counted once per stack), as % of all samples.
With ``--match``, inclusive figures are listed only for frames containing that text.
"""

import argparse
import re
from collections import Counter
from pathlib import Path

# A frame in py-spy's raw output: "function (path/to/file.py:123)"; the line number is dropped.
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if m is None:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m['func']} ({path})"


def summarise(path: Path, top: int, match: str | None) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")[1:]]  # the first element names the thread
        total += n
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return f"{path}: no samples"
    lines = [f"{path}: {total} samples", "  self:"]
    lines += [f"    {100 * n / total:5.1f} %  {f}" for f, n in own.most_common(top)]
    lines.append("  inclusive:")
    chosen = [(f, n) for f, n in inclusive.most_common() if match is None or match in f][:top]
    lines += [f"    {100 * n / total:5.1f} %  {f}" for f, n in chosen]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_summary", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", help="list inclusive figures only for frames containing this text")
    args = parser.parse_args()
    for path in args.files:
        print(summarise(path, args.top, args.match))


if __name__ == "__main__":
    main()
