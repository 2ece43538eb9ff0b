"""README.md stays true: its tables match action.yml, its workflows match examples/workflows/."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
WORKFLOWS = ROOT / "examples" / "workflows"
# Our own action, referenced by a placeholder owner and a major-version tag: exempt from pinning.
OWN_ACTION = "acr-action/acr-action@v1"
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
# `<!-- file: PATH -->`, then a yaml fence; the block is everything up to the closing fence.
FILE_BLOCK = re.compile(
    r"^<!-- file: (?P<path>\S+) -->\n```yaml\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL
)
# Table cells are split at `|` that is not escaped as `\|`.
CELL_SPLIT = re.compile(r"(?<!\\)\|")
PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def load_action() -> dict[str, Any]:
    with (ROOT / "action.yml").open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def table_rows(marker: str) -> list[list[str]]:
    """The body rows of the markdown table between `<!-- {marker}:start/end -->`, as cells."""
    text = readme_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    assert text.count(start) == 1, f"README.md needs exactly one {start}"
    assert text.count(end) == 1, f"README.md needs exactly one {end}"
    section = text.split(start, 1)[1].split(end, 1)[0]
    lines = [line.strip() for line in section.strip().splitlines()]
    assert lines, f"no table between the {marker} markers"
    assert all(line.startswith("|") and line.endswith("|") for line in lines), (
        f"only table rows belong between the {marker} markers"
    )
    # lines[0] is the header, lines[1] the |---| separator.
    assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[1]), lines[1]
    return [[cell.strip() for cell in CELL_SPLIT.split(line)[1:-1]] for line in lines[2:]]


def code_name(cell: str) -> str:
    """`name` in a table cell → name."""
    match = re.fullmatch(r"`([^`]+)`", cell)
    assert match, f"expected a `code` name, got {cell!r}"
    return match.group(1)


def static_default(cell: str) -> str | None:
    """The static default a Default cell states: `value` → value; (computed)/—/(required) → None."""
    match = re.fullmatch(r"`([^`]*)`", cell)
    if match:
        return match.group(1)
    assert cell == "—" or cell.startswith(("(computed) ", "(required)")), (
        f"a Default cell is `value`, '(computed) <rule>', '(required)' or '—'; got {cell!r}"
    )
    return None


def readme_blocks() -> dict[str, str]:
    blocks: dict[str, str] = {}
    for match in FILE_BLOCK.finditer(readme_text()):
        path = match.group("path")
        assert path not in blocks, f"README.md shows {path} twice"
        blocks[path] = match.group("body")
    return blocks


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def load_workflow(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{path.name} is not a YAML mapping"
    return loaded


def triggers_of(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The `on:` mapping; PyYAML reads the key `on` as the boolean True (YAML 1.1)."""
    triggers = workflow.get("on", workflow.get(True))
    assert isinstance(triggers, dict), "`on:` must be a mapping of events"
    return triggers


def uses_of(workflow: dict[Any, Any]) -> list[str]:
    """Every `uses:` of a workflow: reusable workflows at job level and actions in steps."""
    found: list[str] = []
    for job in workflow["jobs"].values():
        if "uses" in job:
            found.append(job["uses"])
        found.extend(step["uses"] for step in job.get("steps", []) if "uses" in step)
    return found


WORKFLOW_PARAMS = [pytest.param(path, id=path.stem) for path in workflow_files()]


# --------------------------------------------------------------------------- inputs and outputs


def test_inputs_table_lists_the_inputs_of_action_yml_in_order() -> None:
    names = [code_name(row[0]) for row in table_rows("inputs")]
    assert names == list(load_action()["inputs"])


def test_inputs_table_has_three_columns() -> None:
    for row in table_rows("inputs"):
        assert len(row) == 3, f"Input | Default | Description, got {row}"
        assert row[2], f"{row[0]} has no description"


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in load_action()["inputs"]])
def test_inputs_table_states_the_static_default_of_action_yml(name: str) -> None:
    rows = {code_name(row[0]): row for row in table_rows("inputs")}
    declared = load_action()["inputs"][name]
    default = declared.get("default")
    assert static_default(rows[name][1]) == (None if default is None else str(default))
    if declared.get("required"):
        assert rows[name][1] == "(required)", f"{name} is required in action.yml"


def test_outputs_table_lists_the_outputs_of_action_yml_in_order() -> None:
    rows = table_rows("outputs")
    assert all(len(row) == 2 and row[1] for row in rows), "Output | Description"
    assert [code_name(row[0]) for row in rows] == list(load_action()["outputs"])


# --------------------------------------------------------------------------- workflows


def test_examples_have_workflows() -> None:
    assert workflow_files(), f"no workflow in {WORKFLOWS.relative_to(ROOT)}"


def test_readme_shows_exactly_the_example_workflows() -> None:
    shown = set(readme_blocks())
    on_disk = {path.relative_to(ROOT).as_posix() for path in workflow_files()}
    assert shown == on_disk


@pytest.mark.parametrize("path", WORKFLOW_PARAMS)
def test_readme_block_is_byte_identical_to_the_file(path: Path) -> None:
    block = readme_blocks()[path.relative_to(ROOT).as_posix()]
    assert block == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", WORKFLOW_PARAMS)
def test_workflow_sets_permissions_at_workflow_and_job_level(path: Path) -> None:
    workflow = load_workflow(path)
    # Nothing by default; each job grants what it needs (id-token: write only for the OIDC job).
    assert workflow.get("permissions") == {}, "workflow-level `permissions: {}`"
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"job {name} declares its permissions"
        assert job["permissions"].get("id-token") == "write", f"job {name} signs in with OIDC"


@pytest.mark.parametrize("path", WORKFLOW_PARAMS)
def test_every_job_has_a_timeout(path: Path) -> None:
    for name, job in load_workflow(path)["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"job {name} has no timeout-minutes"


@pytest.mark.parametrize("path", WORKFLOW_PARAMS)
def test_third_party_actions_are_pinned_by_commit_sha(path: Path) -> None:
    uses = uses_of(load_workflow(path))
    assert OWN_ACTION in uses, f"{path.name} does not use {OWN_ACTION}"
    for ref in uses:
        if ref != OWN_ACTION:
            assert PINNED.fullmatch(ref), f"{ref} is not pinned to a 40-hex commit SHA"
    # The version goes in a comment next to the SHA, so a reader (and Dependabot) can tell it.
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.search(r"uses: \S+@[0-9a-f]{40}", line):
            assert re.search(r"@[0-9a-f]{40} # v\d", line), f"no version comment: {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOW_PARAMS)
def test_workflow_never_runs_untrusted_code_with_secrets(path: Path) -> None:
    workflow = load_workflow(path)
    triggers = triggers_of(workflow)
    assert "pull_request_target" not in triggers
    if "pull_request" in triggers:
        for name, job in workflow["jobs"].items():
            assert FORK_GUARD in job.get("if", ""), f"job {name} must skip fork pull requests"


def test_pr_preview_deploys_on_update_and_deletes_on_close() -> None:
    workflow = load_workflow(WORKFLOWS / "pr-preview.yml")
    triggers = triggers_of(workflow)
    assert set(triggers["pull_request"]["types"]) == {"opened", "synchronize", "reopened", "closed"}
    assert "github.event.pull_request.number" in workflow["concurrency"]["group"]
    modes = {}
    for name, job in workflow["jobs"].items():
        (step,) = [step for step in job["steps"] if step.get("uses") == OWN_ACTION]
        on_close = "github.event.action == 'closed'" in job["if"]
        modes[name] = (step["with"].get("mode", "deploy"), on_close)
    assert sorted(modes.values()) == [("delete", True), ("deploy", False)]


def test_deploy_on_merge_sets_the_environment_url_from_the_step() -> None:
    workflow = load_workflow(WORKFLOWS / "deploy-on-merge.yml")
    triggers = triggers_of(workflow)
    assert triggers == {"push": {"branches": ["main"]}}
    (job,) = workflow["jobs"].values()
    (step,) = [step for step in job["steps"] if step.get("uses") == OWN_ACTION]
    assert job["environment"]["url"] == f"${{{{ steps.{step['id']}.outputs.url }}}}"


@pytest.mark.parametrize("path", WORKFLOW_PARAMS)
def test_workflow_inputs_are_inputs_of_the_action(path: Path) -> None:
    declared = set(load_action()["inputs"])
    for job in load_workflow(path)["jobs"].values():
        for step in job["steps"]:
            if step.get("uses") == OWN_ACTION:
                assert set(step["with"]) <= declared, set(step["with"]) - declared


# --------------------------------------------------------------------------- commands and paths


def shell_commands() -> list[str]:
    """The commands of the README's sh blocks, continuation lines joined, comments dropped."""
    commands: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```$", readme_text(), re.MULTILINE | re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        commands.extend(line.strip() for line in joined.splitlines() if line.strip())
    return commands


def test_laptop_command_uses_only_inputs_of_the_action() -> None:
    declared = set(load_action()["inputs"])
    runs = [command for command in shell_commands() if "-m acr_action" in command]
    assert runs, "README.md shows no `python -m acr_action` command"
    for command in runs:
        words = shlex.split(command)
        options = {word[2:] for word in words if word.startswith("--")}
        assert options, command
        after = words[words.index("acr_action") + 1]
        if after in ("setup", "doctor"):  # the laptop commands have their own options
            from acr_action.commands import parser

            known = {o[2:] for a in parser(after)._actions for o in a.option_strings}
            assert options <= known, options - known
            continue
        assert options <= declared, options - declared


def test_paths_the_readme_names_exist() -> None:
    named = set(
        re.findall(r"`((?:scripts|docs|examples|tests|requirements)/[\w./-]*)`", readme_text())
    )
    named |= {
        f"{command.split()[0]}" for command in shell_commands() if command.startswith("scripts/")
    }
    assert named
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"README.md names paths that do not exist: {missing}"
