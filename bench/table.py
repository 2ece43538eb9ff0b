"""The benchmark's report: rows of (item, measure, value, target) as one Markdown table."""

from __future__ import annotations

from typing import NamedTuple


class Row(NamedTuple):
    """One line of the report."""

    item: str
    measure: str
    value: str
    target: str = ""


def verdict(ok: bool, target: str) -> str:
    """The target text with a met/missed mark."""
    return f"{target} {'✓' if ok else '✗'}"


def ratio(slower: float, faster: float) -> float:
    """How many times `faster` fits in `slower` (infinite when `faster` took no time)."""
    return slower / faster if faster > 0 else float("inf")


def markdown(rows: list[Row]) -> str:
    """The rows as a Markdown table; a `|` inside a cell is escaped so it cannot split the cell."""
    lines = ["| # | measure | value | target |", "|---|---|---|---|"]
    for row in rows:
        cells = (cell.replace("|", "\\|") for cell in row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
