"""The slowest steps of a BuildKit build, read from its `--progress plain` log.

The plain log numbers each vertex: `#8 [4/6] RUN pip install ...` names it, `#8 12.3 Collecting ...`
lines are its output, and `#8 DONE 95.3s` (or `CACHED`, `ERROR: ...`) ends it: the forms that
moby/buildkit's util/progress/progressui/printer.go writes (`"#%d %s\n"`, `"#%d DONE%s\n"`).
A missed target is explained by the steps that took the time, and a cache hit is proved by the
log itself: BuildKit names a cache import `importing cache manifest from <ref>` and ends a step
it did not run with `CACHED` (both as the bench's build logs show them).

`build_timeline` places the vertices on the run's clock by the arrival times of the log lines (the
harness keeps them): a `CACHED` line has no time of its own, yet a cached vertex can hold seconds
(the engine loads an imported cache inside it: see bench/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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


def imported_refs(log: str) -> list[str]:
    """The references BuildKit imported a cache from (`importing cache manifest from <ref>`)."""
    marker = "importing cache manifest from "
    found = []
    for line in log.splitlines():
        match = _LINE.fullmatch(line.strip())
        if match and match.group(2).startswith(marker):
            found.append(match.group(2).removeprefix(marker))
    return list(dict.fromkeys(found))


# A layer fetched into the content store: `#9 pulling sha256:ab12... 1.2s done` (moby's
# builder-next worker names each layer it copies `pulling <digest>`; the printer appends the
# bytes when known, then the time and `done`).
_PULLED = re.compile(r"pulling (sha256:[0-9a-f]+)\b.*? (\d+(?:\.\d+)?)s done")


@dataclass(frozen=True)
class Vertex:
    """One vertex of a build, placed on the run's clock by the arrival times of its log lines."""

    number: str
    name: str
    start: float  # `end` minus BuildKit's DONE time; a CACHED vertex: its first line's arrival
    end: float  # arrival of its DONE / CACHED / ERROR line
    done: float | None  # BuildKit's DONE time; None for a CACHED vertex (the log gives none)
    pulled: float  # the sum of its `pulling <digest> ... Xs done` statuses (layers fetched)
    fetched: float | None = None  # arrival of its last `pulling ... done` line; None if none


@dataclass(frozen=True)
class BuildTimeline:
    """A build phase split by the arrival times of its log lines (seconds since the run began)."""

    cli_start: float  # the build's log group opened; the Docker CLI is started right after
    first_vertex: float  # the first `#N ...` line arrived
    last_vertex: float  # the last vertex's DONE / CACHED line arrived
    cli_exit: float  # the group closed: the CLI exited and the action read the image id
    vertices: tuple[Vertex, ...]

    def covered(self) -> float:
        """Seconds of [first_vertex, last_vertex] during which at least one vertex was open."""
        total, reach = 0.0, self.first_vertex
        for vertex in sorted(self.vertices, key=lambda v: v.start):
            start, end = max(vertex.start, reach), min(vertex.end, self.last_vertex)
            if end > start:
                total += end - start
                reach = end
        return total

    def timed(self) -> float:
        """The sum of BuildKit's DONE times (vertices that ran; they may overlap)."""
        return sum(vertex.done or 0.0 for vertex in self.vertices)

    def cached(self) -> list[Vertex]:
        """The CACHED vertices that stayed open for a measurable time, longest first."""
        found = [v for v in self.vertices if v.done is None and v.end - v.start >= 0.05]
        return sorted(found, key=lambda v: v.start - v.end)


def build_timeline(
    lines: Sequence[tuple[float, str]], group: str = "Build "
) -> BuildTimeline | None:
    """The timeline of the first build in a run's timed lines (`::group::Build ...` to its end)."""
    opened = next(
        (i for i, (_, line) in enumerate(lines) if line.startswith("::group::" + group)), None
    )
    if opened is None:
        return None
    closed = next(
        (i for i in range(opened + 1, len(lines)) if lines[i][1] == "::endgroup::"), len(lines) - 1
    )
    first: dict[str, float] = {}
    names: dict[str, str] = {}
    ends: dict[str, tuple[float, float | None]] = {}
    pulled: dict[str, dict[str, float]] = {}
    fetched: dict[str, float] = {}
    for at, line in lines[opened + 1 : closed]:
        match = _LINE.fullmatch(line.strip())
        if match is None:
            continue
        vertex, rest = match.groups()
        first.setdefault(vertex, at)
        finished = _DONE.fullmatch(rest)
        if finished:
            ends[vertex] = (at, float(finished.group(1)))
        elif rest == "CACHED" or rest.startswith(("ERROR", "CANCELED")):
            ends[vertex] = (at, None)
        elif layer := _PULLED.match(rest):
            pulled.setdefault(vertex, {})[layer.group(1)] = float(layer.group(2))
            fetched[vertex] = at
        elif vertex not in names and rest != "..." and not _NOT_A_NAME.match(rest):
            names[vertex] = " ".join(rest.split())
    if not ends:
        return None
    vertices = tuple(
        Vertex(
            number,
            names.get(number, f"#{number}"),
            end - done if done is not None else first[number],
            end,
            done,
            sum(pulled.get(number, {}).values()),
            fetched.get(number),
        )
        for number, (end, done) in ends.items()
    )
    return BuildTimeline(
        cli_start=lines[opened][0],
        first_vertex=min(min(first.values()), *(v.start for v in vertices)),
        last_vertex=max(end for end, _ in ends.values()),
        cli_exit=lines[closed][0],
        vertices=vertices,
    )
