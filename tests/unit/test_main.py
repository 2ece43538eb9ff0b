"""`main(env)` as the runner calls it: exit codes, outputs, summary, masks; no network."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from acr_action import __main__ as entry
from acr_action import __version__, orchestrate
from acr_action.clock import Phases
from acr_action.errors import DnsLabelTaken, InputError
from acr_action.inputs_table import INPUTS

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
    # An InputError since the CLI refuses bad options like any bad input (was SystemExit).
    with pytest.raises(InputError) as info:
        entry.options_to_env(["--registry"])
    assert "needs a value" in info.value.render()
    assert [problem.input for problem in info.value.problems] == ["registry"]


def run_cli(argv: list[str], runner_files: dict[str, str]) -> tuple[int, str]:
    """`python -m acr_action ARGV` in-process: the exit code and what it printed."""
    out = io.StringIO()
    code = entry.main(dict(runner_files), argv=argv, out=out)
    return code, out.getvalue()


def test_help_lists_every_input_with_its_description_and_default(
    runner_files: dict[str, str],
) -> None:
    code, text = run_cli(["--help"], runner_files)
    assert code == 0
    assert text.startswith(entry.USAGE)
    flat = " ".join(text.split())
    for spec in INPUTS:
        entry_start = spec.env_key if spec.secret else f"--{spec.name} VALUE"
        assert entry_start in text, spec.name
        assert " ".join(spec.description.split()) in flat, spec.name
        if spec.default is not None:
            assert f"default: {spec.default}" in text, spec.name
    assert "needs a value" not in text
    assert run_cli(["-h"], runner_files) == (code, text)


def test_python_dash_m_answers_help_and_version() -> None:
    """The issue's exact command, as a person types it (it used to say "--help needs a value")."""
    command = [sys.executable, "-m", "acr_action"]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run(
        [*command, "--help"], env=env, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "--resource-group VALUE  (required)" in done.stdout
    version = subprocess.run(
        [*command, "--version"], env=env, capture_output=True, text=True, check=False
    )
    assert version.stdout == f"acr-action {__version__}\n"


def test_version_prints_the_version(runner_files: dict[str, str]) -> None:
    assert run_cli(["--version"], runner_files) == (0, f"acr-action {__version__}\n")


@pytest.mark.parametrize(
    ("argv", "named", "nearest"),
    [
        pytest.param(["--resource-grup", "rg"], "resource-grup", "--resource-group", id="typo"),
        pytest.param(["--regsitry=myacr"], "regsitry", "--registry", id="transposed-equals"),
        pytest.param(["--cpus", "2"], "cpus", "--cpu", id="plural"),
        pytest.param(["--frobnicate", "x"], "frobnicate", "--help", id="nothing-near"),
        pytest.param(["stray"], "stray", "--INPUT VALUE", id="not-an-option"),
    ],
)
def test_unknown_option_is_refused_with_the_nearest_input(
    argv: list[str], named: str, nearest: str, runner_files: dict[str, str]
) -> None:
    code, text = run_cli(argv, runner_files)
    assert code == InputError.exit_code
    assert f"`{named}`" in text
    assert nearest in text
    summary = Path(runner_files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert nearest in summary


def test_secret_inputs_are_not_options(runner_files: dict[str, str]) -> None:
    """A command line is visible to every process (`ps`): secrets come from the environment."""
    code, text = run_cli(["--registry-password", SECRET], runner_files)
    assert code == InputError.exit_code
    assert "INPUT_REGISTRY-PASSWORD" in text
    assert SECRET not in text
    for spec in INPUTS:
        if spec.secret:
            with pytest.raises(InputError) as info:
                entry.options_to_env([f"--{spec.name}=x"])
            assert spec.env_key in info.value.render()


@pytest.mark.dev_only  # reads action.yml with PyYAML
def test_every_declared_output_is_written(repo_root: Path) -> None:
    import yaml

    declared = tuple(
        yaml.safe_load((repo_root / "action.yml").read_text(encoding="utf-8"))["outputs"]
    )

    assert declared == orchestrate.OUTPUTS
