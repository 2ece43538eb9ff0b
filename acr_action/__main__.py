"""Command-line and runner entry: `main()` renders errors and returns the exit code; `run()` raises.

On a runner, inputs arrive as `INPUT_<NAME>` variables. From a laptop the same inputs can be
given as options: `python -m acr_action --resource-group demo-rg --registry myacr ...`.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import TextIO

from .errors import ActionError
from .runner import Runner

USAGE = "usage: python -m acr_action [--INPUT-NAME VALUE ...]  (inputs as in action.yml)"


def options_to_env(argv: Sequence[str]) -> dict[str, str]:
    """`--resource-group x` → `{"INPUT_RESOURCE-GROUP": "x"}` (the runner's naming)."""
    env: dict[str, str] = {}
    args = list(argv)
    while args:
        option = args.pop(0)
        if not option.startswith("--"):
            raise SystemExit(f"unexpected argument {option!r}\n{USAGE}")
        name, eq, value = option[2:].partition("=")
        if not eq:
            if not args:
                raise SystemExit(f"option --{name} needs a value\n{USAGE}")
            value = args.pop(0)
        env[f"INPUT_{name.upper()}"] = value
    return env


def run(env: Mapping[str, str], runner: Runner) -> int:
    """Parse the inputs, carry out the run, write outputs and the summary; raises `ActionError`."""
    from . import orchestrate
    from .inputs import parse_inputs

    inputs = parse_inputs(env)
    outcome = orchestrate.run(inputs, env, runner)
    orchestrate.write_outputs(outcome, runner)
    for note in outcome.notes:
        runner.info(note)
    title = {
        "deploy": "Deployed",
        "build": "Built and pushed",
        "delete": "Deleted",
        "sweep": "Swept previews in",
    }[inputs.mode]
    if outcome.outputs.get("state") == "Skipped":
        title = "Skipped"
    subject = {"build": inputs.image_name, "sweep": inputs.resource_group}.get(inputs.mode)
    runner.summary(f"### acr-action: {title} `{subject or inputs.name}`\n")
    runner.summary_table(list(orchestrate.summary_rows(outcome)), header=("", ""))
    if outcome.outputs.get("url"):
        runner.info(f"{title}: {outcome.outputs['url']}")
    return 0


def main(
    env: Mapping[str, str] | None = None, argv: Sequence[str] = (), out: TextIO | None = None
) -> int:
    """Run the action; print any failure the way a user can act on it; return the exit code."""
    # azure-identity logs each refusal as a WARNING; with no handler configured Python would print
    # it raw to stderr next to our explained error. The explained error is the one to show.
    logging.getLogger("azure").setLevel(logging.CRITICAL)
    environment = dict(os.environ if env is None else env)
    environment.update(options_to_env(argv))
    runner = Runner(environment, out or sys.stdout)
    from .inputs import secret_values

    for secret in secret_values(environment):
        runner.mask(secret)  # before anything could print them
    try:
        return run(environment, runner)
    except ActionError as exc:
        message = runner.scrub(exc.render())
        runner.error(message, title=runner.scrub(exc.title))
        runner.summary(f"### acr-action failed\n\n{message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        runner.error(
            "Interrupted; a rerun converges from wherever this run stopped.",
            title="acr-action interrupted",
        )
        return 130
    except Exception as exc:
        detail = runner.scrub("".join(traceback.format_exception(exc)))
        runner.error(
            f"Unexpected {type(exc).__name__}: {runner.scrub(str(exc))}. This is a bug in acr-action; please report it with the log.",
            title="acr-action failed unexpectedly",
        )
        with runner.group("Details of the unexpected error"):
            runner.info(detail)
        return 1


if __name__ == "__main__":
    sys.exit(main(argv=sys.argv[1:]))
