"""The benchmark's reading of `python -X importtime` output (bench/importtime.py)."""

from __future__ import annotations

from bench.importtime import by_package, cumulative, outermost, top_level

LINES = [
    "import time: self [us] | cumulative | imported package",
    "import time:       100 |        100 |     urllib3.util",
    "import time:       300 |        400 |   urllib3",
    "import time:       200 |        600 | requests",
    "import time:        50 |         50 |   acr_action.runner",
    "import time:        70 |        120 | acr_action.errors",
    "a line the program printed",
]


def test_outermost_are_the_least_indented_largest_first() -> None:
    assert outermost(LINES) == [("requests", 600), ("acr_action.errors", 120)]


def test_self_times_add_up_per_package() -> None:
    assert by_package(LINES) == [("urllib3", 400), ("requests", 200), ("acr_action", 120)]


def test_cumulative_and_top_level_as_the_issue_7_rows_read_them() -> None:
    assert cumulative(LINES)["urllib3"] == 400
    assert top_level(LINES) == [("requests", 600), ("acr_action", 120)]
