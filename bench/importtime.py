"""`python -X importtime` output: what a start-up spends importing, by module and by package.

Each line is `import time: <self us> | <cumulative us> | <indent><module>` (CPython's
`-X importtime`, https://docs.python.org/3/using/cmdline.html#cmdoption-X); one more space of
indent per level of nesting, so the lines with the least indent are the program's own imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_IMPORT = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def cumulative(lines: Iterable[str]) -> dict[str, int]:
    """Cumulative microseconds of each module imported."""
    found = {}
    for line in lines:
        match = _IMPORT.match(line)
        if match:
            found[match.group(4)] = int(match.group(2))
    return found


def top_level(lines: Iterable[str]) -> list[tuple[str, int]]:
    """Cumulative import time of each top-level package imported at the outermost level."""
    totals: dict[str, int] = {}
    for line in lines:
        match = _IMPORT.match(line)
        if match and len(match.group(3)) == 1:  # no extra indentation: imported by the program
            name = match.group(4).split(".")[0]
            totals[name] = totals.get(name, 0) + int(match.group(2))
    return sorted(totals.items(), key=lambda item: -item[1])


def outermost(lines: Iterable[str]) -> list[tuple[str, int]]:
    """(module, cumulative us) of the imports at the least indent (the program's own), largest first."""
    found = [(m.group(3), m.group(4), int(m.group(2))) for m in map(_IMPORT.match, lines) if m]
    if not found:
        return []
    least = min(len(indent) for indent, _, _ in found)
    return sorted(
        ((name, us) for indent, name, us in found if len(indent) == least), key=lambda i: -i[1]
    )


def by_package(lines: Iterable[str]) -> list[tuple[str, int]]:
    """Self microseconds summed per top-level package (`azure`, `requests`, ...), largest first."""
    totals: dict[str, int] = {}
    for match in map(_IMPORT.match, lines):
        if match:
            name = match.group(4).split(".")[0]
            totals[name] = totals.get(name, 0) + int(match.group(1))
    return sorted(totals.items(), key=lambda item: -item[1])
