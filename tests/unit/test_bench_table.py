"""The benchmark's pure helpers: the Markdown table, ratios and verdicts (bench/table.py)."""

from __future__ import annotations

import math

import pytest

from bench.table import Row, markdown, ratio, verdict


def test_markdown_has_a_header_and_one_line_per_row() -> None:
    text = markdown([Row("a", "pull", "1.2 s", "< 5 s ✓"), Row("b", "wall", "3.0 s")])
    assert text.splitlines() == [
        "| # | measure | value | target |",
        "|---|---|---|---|",
        "| a | pull | 1.2 s | < 5 s ✓ |",
        "| b | wall | 3.0 s |  |",
    ]


def test_markdown_escapes_a_pipe_inside_a_cell() -> None:
    line = markdown([Row("d", "az | docker", "1 s")]).splitlines()[-1]
    assert line == "| d | az \\| docker | 1 s |  |"


@pytest.mark.parametrize(
    ("slower", "faster", "expected"),
    [
        pytest.param(10.0, 2.0, 5.0, id="five-times"),
        pytest.param(1.0, 4.0, 0.25, id="slower-than-the-other"),
    ],
)
def test_ratio(slower: float, faster: float, expected: float) -> None:
    assert ratio(slower, faster) == pytest.approx(expected)


def test_ratio_of_no_time_is_infinite() -> None:
    assert math.isinf(ratio(3.0, 0.0))


def test_verdict_marks_met_and_missed() -> None:
    assert verdict(True, "≤ 0.25 s") == "≤ 0.25 s ✓"
    assert verdict(False, "≥ 5x") == "≥ 5x ✗"
