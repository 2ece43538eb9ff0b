"""The slowest steps of a BuildKit build, read from its `--progress plain` log.

The plain log numbers each vertex: `#8 [4/6] RUN pip install ...` names it, `#8 12.3 Collecting ...`
lines are its output, and `#8 DONE 95.3s` (or `CACHED`, `ERROR: ...`) ends it: the forms that
moby/buildkit's util/progress/progressui/printer.go writes (`"#%d %s\n"`, `"#%d DONE%s\n"`).
A missed target is explained by the steps that took the time.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"#(\d+) (.*)")
_DONE = re.compile(r"DONE (\d+(?:\.\d+)?)s")
_NOT_A_NAME = re.compile(
    r"(\d+(\.\d+)? |CACHED|ERROR|CANCELED|sha256:|extracting |writing |naming )"
)


def build_steps(log: str) -> list[tuple[str, float]]:
    """(name, seconds) of each finished vertex, slowest first."""
    names: dict[str, str] = {}
    done: list[tuple[str, float]] = []
    for line in log.splitlines():
        match = _LINE.fullmatch(line.strip())
        if match is None:
            continue
        vertex, rest = match.groups()
        finished = _DONE.fullmatch(rest)
        if finished:
            done.append((names.get(vertex, f"#{vertex}"), float(finished.group(1))))
        elif vertex not in names and not _NOT_A_NAME.match(rest):
            names[vertex] = " ".join(rest.split())
    return sorted(done, key=lambda step: -step[1])


def slowest(log: str, count: int = 3, width: int = 48) -> str:
    """The `count` slowest steps as `name 1.2 s; ...` (names cut at `width`), or `no build log`."""
    steps = build_steps(log)[:count]
    return "; ".join(f"{name[:width]} {seconds:.1f} s" for name, seconds in steps) or "no build log"
