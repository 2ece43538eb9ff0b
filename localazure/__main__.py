"""`python -m localazure serve`: the local Azure from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .control import control_env
from .dockerd import DockerdUnavailable, ensure_dockerd
from .server import Emulator
from .state import Seed

# What a caller adds to the printed environment (e.g. a step's inputs), from the running emulator.
ExtraEnv = Callable[[Emulator], dict[str, str]]


def serve(seed_path: Path | None, port: int, extra_env: ExtraEnv | None = None) -> int:
    """Run until interrupted; print what a workflow step would need."""
    seed = Seed.load(seed_path) if seed_path else Seed.default()
    with Emulator(seed, workdir=Path(tempfile.mkdtemp(prefix="local-azure-")), port=port) as azure:
        job = azure.services["oidc"].start_job(
            repository="octo-org/iris-api", ref="refs/heads/main", event_name="push"
        )
        env = {"REQUESTS_CA_BUNDLE": str(azure.ca_path), **job}
        env.update(extra_env(azure) if extra_env else {})
        env.update(control_env(azure))  # the control API (/_emulator/), for other processes
        print(json.dumps(env, indent=2), flush=True)
        print(
            "local Azure is running; Ctrl-C stops it and removes what it started",
            file=sys.stderr,
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` command and its options."""
    parser = commands.add_parser("serve", help="run the local Azure and print a step's environment")
    parser.add_argument(
        "--seed", type=Path, help="seed file (JSON or YAML); default: the demo tenant"
    )
    parser.add_argument("--port", type=int, default=0)


def docker_ready() -> bool:
    """Start the Docker engine if none answers (the local Azure runs containers); say why not."""
    try:
        ensure_dockerd()
    except DockerdUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m localazure", description=__doc__)
    serve_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    if not docker_ready():
        return 1
    return serve(args.seed, args.port)


if __name__ == "__main__":
    sys.exit(main())
