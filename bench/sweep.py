"""Benchmark: `mode: sweep` over 500 preview groups on the local Azure, timed.

    .venv/bin/python -m bench.sweep [--groups 500] [--concurrency 8] [--open-every 10]

The groups are placed with the emulator's `aci.add_group` (never provisioned: no container runs,
so no Docker is needed); every `--open-every`-th pull request is open, the rest are closed, so
about 90 % of the groups are deleted. The action runs in-process through `main(env)`, as the
integration tests run it: real SDKs, TLS, OIDC sign-in, GitHub REST for the open pull requests.
Not a test: it prints the time and the request counts, and exits non-zero if the sweep failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
from pathlib import Path

from acr_action.__main__ import main
from acr_action.preview import TAG_CREATED, TAG_PR, TAG_REPOSITORY, stamp
from localazure.server import Emulator
from localazure.state import Seed
from tests.harness.workflow import RESOURCE_GROUP, Event, step_env

REPO = "octo-org/iris-api"
TOKEN = "ghs_benchmarkToken0001"  # noqa: S105 - accepted by the local emulator only


def say(line: str) -> None:
    """One line of the benchmark's report."""
    sys.stdout.write(line + "\n")


def run(groups: int, concurrency: int, open_every: int) -> int:
    """Place the groups, sweep them, print the numbers; returns the action's exit code."""
    with tempfile.TemporaryDirectory(prefix="acr-action-bench-") as tmp:
        workdir = Path(tmp)
        with Emulator(Seed.default(), workdir=workdir / "azure", docker=False) as azure:
            os.environ["REQUESTS_CA_BUNDLE"] = str(azure.ca_path)
            github = azure.services["github"]
            github.add_token(TOKEN, REPO)
            created = stamp(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
            placing = time.monotonic()
            for number in range(1, groups + 1):
                is_open = number % open_every == 0
                github.add_pull(REPO, number, state="open" if is_open else "closed")
                azure.services["aci"].add_group(
                    RESOURCE_GROUP,
                    f"iris-api-pr-{number}",
                    tags={TAG_REPOSITORY: REPO, TAG_PR: str(number), TAG_CREATED: created},
                )
            placed = time.monotonic() - placing
            env = step_env(
                azure,
                workdir / "runner",
                event=Event(name="schedule"),
                inputs={
                    "mode": "sweep",
                    "github-token": TOKEN,
                    "sweep-concurrency": str(concurrency),
                },
            )
            env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
            out = io.StringIO()
            started = time.monotonic()
            code = main(env, out=out)
            seconds = time.monotonic() - started
            with azure.state.lock:
                left = len(azure.state.container_groups)
            deletes = azure.count("DELETE", "/containerGroups/")
            lists = azure.count("GET", "/containerGroups")
            headline = next(
                (line for line in out.getvalue().splitlines() if "preview(s) in" in line), ""
            )
    say(f"placed {groups} preview groups in {placed:.2f} s (no containers)")
    say(f"sweep: {headline}")
    say(
        f"sweep took {seconds:.2f} s with sweep-concurrency {concurrency}: "
        f"{deletes} DELETE requests ({deletes / seconds:.1f}/s), {lists} list/GET requests, "
        f"{left} groups left, exit code {code}"
    )
    return code


def main_cli(argv: list[str]) -> int:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--open-every", type=int, default=10)
    args = parser.parse_args(argv)
    return run(args.groups, args.concurrency, args.open_every)


if __name__ == "__main__":
    sys.exit(main_cli(sys.argv[1:]))
