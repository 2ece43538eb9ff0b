"""The shape of a run: one session from sign-in, one table of modes, short named steps."""

from __future__ import annotations

import ast
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import FrozenInstanceError, fields
from pathlib import Path
from typing import Any

import pytest

from acr_action import __main__ as entry
from acr_action import orchestrate
from acr_action.inputs_table import MODES
from tests.unit.support import make_env

PACKAGE = Path(orchestrate.__file__).parent


def test_the_mode_table_lists_every_mode_of_the_input_table() -> None:
    assert set(orchestrate.MODES) == set(MODES)
    assert [mode for mode in orchestrate.MODES if not orchestrate.MODES[mode].container_groups] == [
        "build"
    ]


@pytest.mark.parametrize(
    ("inputs", "heading"),
    [
        pytest.param(
            {"mode": "deploy", "name": "iris-api"},
            "Deployed `iris-api`",
            id="deploy",
        ),
        pytest.param(
            {"mode": "build", "image-name": "iris-api"}, "Built and pushed `iris-api`", id="build"
        ),
        pytest.param({"mode": "delete", "name": "iris-api"}, "Deleted `iris-api`", id="delete"),
        pytest.param(
            {"mode": "sweep", "max-age": "7d"}, "Swept previews in `my-app-rg`", id="sweep"
        ),
    ],
)
def test_the_summary_heading_comes_from_the_mode_table(
    runner_files: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    inputs: dict[str, str],
    heading: str,
) -> None:
    monkeypatch.setattr(orchestrate, "run", lambda *_: orchestrate.Outcome())
    env = {**make_env(inputs), **runner_files}
    out = io.StringIO()

    assert entry.main(env, out=out) == 0, out.getvalue()
    summary = Path(runner_files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert f"### acr-action: {heading}\n" in summary


def test_the_session_is_one_frozen_value() -> None:
    names = {field.name for field in fields(orchestrate.Session)}
    assert {"credential", "endpoints", "subscription", "tokens", "retrier", "deadline"} <= names
    session = orchestrate.Session(**dict.fromkeys(names))  # type: ignore[arg-type]  # shape only
    with pytest.raises(FrozenInstanceError):
        session.subscription = "another"  # type: ignore[misc]  # the point of the test


def test_a_registry_token_is_exchanged_once_per_run_and_masked_first() -> None:
    calls: list[str] = []
    masked: list[str] = []
    started = threading.Barrier(4)

    def login() -> tuple[str, str]:
        calls.append("exchange")
        return "acractiondemo.azurecr.io", "refresh-token-value"

    def mask(value: str) -> None:
        masked.append(value)

    tokens = orchestrate.Tokens(arm=object(), mask=mask)  # type: ignore[arg-type]  # unused here

    def get(_: int) -> tuple[str, str]:
        started.wait()
        return tokens.registry("acractiondemo", login)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(get, range(4)))

    assert results == [("acractiondemo.azurecr.io", "refresh-token-value")] * 4
    assert calls == ["exchange"]
    assert masked == ["refresh-token-value"]


def _function_lengths(path: Path) -> dict[str, int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: node.end_lineno - node.lineno + 1  # type: ignore[operator]  # set by ast.parse
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@pytest.mark.parametrize("module", ["orchestrate.py", "spec.py"])
def test_no_function_is_longer_than_sixty_lines(module: str) -> None:
    lengths: dict[str, Any] = _function_lengths(PACKAGE / module)
    assert {name: n for name, n in lengths.items() if n > 60} == {}


def test_docker_engine_is_the_steps_not_the_process_environments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docker-py reads `DOCKER_HOST` from the step's environment, as the build's Docker CLI does."""
    import docker

    from acr_action.orchestrate import docker_engine

    seen: dict[str, object] = {}
    monkeypatch.setattr(docker, "from_env", lambda **kwargs: seen.update(kwargs))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    docker_engine({"DOCKER_HOST": "unix:///tmp/other.sock"})
    assert seen["environment"] == {"DOCKER_HOST": "unix:///tmp/other.sock"}
