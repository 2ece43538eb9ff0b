"""`main(env)` as the runner calls it: exit codes, outputs, summary, masks; no network."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from acr_action import __main__ as entry
from acr_action import orchestrate
from acr_action.clock import Phases
from acr_action.errors import DnsLabelTaken

SECRET = "Sup3r-Secret-Value"


def step(runner_files: dict[str, str], **inputs: str) -> dict[str, str]:
    """A push-to-main step environment with these inputs."""
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "octo-org/iris-api",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": "b28b7af69320201d1cf206ebf28373980add1451",
        **runner_files,
    }
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    return env


def run_main(env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    return entry.main(env, out=out), out.getvalue()


def test_bad_inputs_exit_1_before_any_network_call(runner_files: dict[str, str]) -> None:
    env = step(
        runner_files,
        **{"resource-group": "demo-rg", "registry": "acr", "cpu": "lots", "ports": "0"},
    )

    code, stdout = run_main(env)

    assert code == 1
    assert stdout.count("::error") == 1
    assert "cpu" in stdout
    assert "ports" in stdout
    summary = Path(runner_files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "acr-action failed" in summary
    assert "cpu" in summary


def test_secret_inputs_are_masked_first_and_never_shown(runner_files: dict[str, str]) -> None:
    env = step(
        runner_files,
        **{
            "resource-group": "demo-rg",
            "secure-environment-variables": f"TOKEN={SECRET}\nbroken line",
            "cpu": "x",
        },
    )

    code, stdout = run_main(env)

    assert code == 1
    assert stdout.startswith(f"::add-mask::{SECRET}")
    shown = "\n".join(line for line in stdout.splitlines() if not line.startswith("::add-mask::"))
    assert SECRET not in shown
    assert SECRET not in Path(runner_files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")


def test_success_writes_outputs_and_a_summary_table(
    runner_files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_run(inputs: Any, env: Any, runner: Any) -> orchestrate.Outcome:
        phases = Phases()
        phases.seconds.update({"build": 1.25, "deploy": 2.5})
        return orchestrate.Outcome(
            outputs={"fqdn": "app.westeurope.azurecontainer.io", "url": "http://app.westeurope.azurecontainer.io",
                     "digest": "sha256:" + "a" * 64, "state": "Running", "name": "iris-api"},
            phases=phases,
        )  # fmt: skip

    monkeypatch.setattr(orchestrate, "run", fake_run)
    env = step(
        runner_files,
        **{"resource-group": "demo-rg", "registry": "acractiondemo", "key-vault": "demo-kv"},
    )

    code, stdout = run_main(env)

    assert code == 0, stdout
    outputs = Path(runner_files["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    assert "fqdn<<" in outputs
    assert "app.westeurope.azurecontainer.io" in outputs
    summary = Path(runner_files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "time: build" in summary
    assert "1.2 s" in summary
    assert "http://app.westeurope.azurecontainer.io" in stdout


def test_known_failure_is_rendered_as_an_annotation(
    runner_files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(inputs: Any, env: Any, runner: Any) -> orchestrate.Outcome:
        raise DnsLabelTaken("iris-api-1a2b3c", "westeurope")

    monkeypatch.setattr(orchestrate, "run", fail)

    code, stdout = run_main(
        step(
            runner_files,
            **{"resource-group": "demo-rg", "registry": "acractiondemo", "key-vault": "demo-kv"},
        )
    )

    assert code == 1
    assert "::error title=" in stdout
    assert "iris-api-1a2b3c" in stdout
    assert "Traceback" not in stdout


def test_a_bug_is_reported_without_leaking_masked_values(
    runner_files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(inputs: Any, env: Any, runner: Any) -> orchestrate.Outcome:
        runner.mask(SECRET)
        raise RuntimeError(f"unexpected state while holding {SECRET}")

    monkeypatch.setattr(orchestrate, "run", crash)

    code, stdout = run_main(
        step(
            runner_files,
            **{"resource-group": "demo-rg", "registry": "acractiondemo", "key-vault": "demo-kv"},
        )
    )

    assert code == 1
    assert "bug in acr-action" in stdout
    shown = "\n".join(line for line in stdout.splitlines() if not line.startswith("::add-mask::"))
    assert SECRET not in shown


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["--resource-group", "rg"], {"INPUT_RESOURCE-GROUP": "rg"}, id="separate-value"
        ),
        pytest.param(["--cpu=2"], {"INPUT_CPU": "2"}, id="equals-value"),
        pytest.param(
            ["--tags", "a,b", "--mode", "build"],
            {"INPUT_TAGS": "a,b", "INPUT_MODE": "build"},
            id="several",
        ),
    ],
)
def test_command_line_options_become_inputs(argv: list[str], expected: dict[str, str]) -> None:
    assert entry.options_to_env(argv) == expected


def test_option_without_value_is_refused() -> None:
    with pytest.raises(SystemExit, match="needs a value"):
        entry.options_to_env(["--registry"])


@pytest.mark.dev_only  # reads action.yml with PyYAML
def test_every_declared_output_is_written(repo_root: Path) -> None:
    import yaml

    declared = tuple(
        yaml.safe_load((repo_root / "action.yml").read_text(encoding="utf-8"))["outputs"]
    )

    assert declared == orchestrate.OUTPUTS
