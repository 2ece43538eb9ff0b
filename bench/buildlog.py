"""The slowest steps of a BuildKit build, read from its `--progress plain` log.

The plain log numbers each vertex: `#8 [4/6] RUN pip install ...` names it, `#8 12.3 Collecting ...`
lines are its output, and `#8 DONE 95.3s` (or `CACHED`, `ERROR: ...`) ends it: the forms that
moby/buildkit's util/progress/progressui/printer.go writes (`"#%d %s\n"`, `"#%d DONE%s\n"`).
A missed target is explained by the steps that took the time, and a cache hit is proved by the
log itself: BuildKit names a cache import `importing cache manifest from <ref>` and ends a step
it did not run with `CACHED` (both as the bench's build logs show them).
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


# A Dockerfile step: `[4/6] RUN ...`, `[stage-0 1/8] FROM ...`.
_STEP = re.compile(r"\[(?:\S+ )?\d+/\d+\] ")


def cache_use(log: str) -> str:
    """`5 of 8 steps CACHED, cache manifest imported from <ref>`, and any x509 error, from the log."""
    names: dict[str, str] = {}
    cached: set[str] = set()
    imported: list[str] = []
    for line in log.splitlines():
        match = _LINE.fullmatch(line.strip())
        if match is None:
            continue
        vertex, rest = match.groups()
        if rest == "CACHED":
            cached.add(vertex)
        elif vertex not in names and not _NOT_A_NAME.match(rest):
            names[vertex] = rest
            if rest.startswith("importing cache manifest from "):
                imported.append(rest.removeprefix("importing cache manifest from "))
    steps = {vertex for vertex, name in names.items() if _STEP.match(name)}
    parts = [f"{len(steps & cached)} of {len(steps)} steps CACHED"]
    parts += [f"cache manifest imported from {ref}" for ref in imported] or ["no cache imported"]
    if "x509" in log:
        parts.append("x509 error in the log")
    return ", ".join(parts)
