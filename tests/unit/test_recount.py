"""`preview.recount`: after its create, a new preview gives way when over `max-previews`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from acr_action.errors import PreviewLimitReached
from acr_action.github_context import GitHubContext
from acr_action.inputs import PreviewSettings
from acr_action.preview import TAG_CREATED, TAG_PR, TAG_REPOSITORY, recount

REPO = "octo-org/iris-api"


class Runner:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, title: str = "") -> None:
        self.warnings.append(message)


def remover(gone: list[str]) -> Any:
    def remove(name: str) -> bool:
        gone.append(name)
        return True

    return remove


def aci(groups: dict[str, str]) -> Any:
    """A client whose list shows preview groups by name -> created stamp."""

    def listed(resource_group: str) -> list[Any]:
        return [
            SimpleNamespace(
                name=name, tags={TAG_REPOSITORY: REPO, TAG_PR: str(i), TAG_CREATED: created}
            )
            for i, (name, created) in enumerate(sorted(groups.items()))
        ]

    return SimpleNamespace(container_groups=SimpleNamespace(list_by_resource_group=listed))


def runner() -> Any:
    return Runner()


GITHUB = GitHubContext(repository=REPO, event_name="pull_request", pr_number=9)
GROUPS = {
    "old": "2026-01-01T00:00:00Z",
    "mid": "2026-02-01T00:00:00Z",
    "new": "2026-03-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("on_max", "removed"),
    [
        pytest.param("fail", ["new"], id="fail-gives-way-itself"),
        pytest.param("evict-oldest", ["old"], id="evict-oldest-makes-room"),
    ],
)
def test_over_the_limit_after_the_create(on_max: str, removed: list[str]) -> None:
    gone: list[str] = []
    settings = PreviewSettings(max_previews=2, on_max_previews=on_max)  # type: ignore[arg-type]  # a str from the parameter, not the Literal

    def run() -> None:
        recount(
            aci(GROUPS),
            "rg",
            "new",
            remover(gone),
            settings=settings,
            github=GITHUB,
            runner=runner(),
        )

    if on_max == "fail":
        with pytest.raises(PreviewLimitReached) as raised:
            run()
        assert "at the same time" in raised.value.title
        assert raised.value.raced == "new"
    else:
        run()
    assert gone == removed


def test_within_the_limit_nothing_happens() -> None:
    gone: list[str] = []
    settings = PreviewSettings(max_previews=3)

    recount(
        aci(GROUPS), "rg", "new", remover(gone), settings=settings, github=GITHUB, runner=runner()
    )

    assert gone == []
