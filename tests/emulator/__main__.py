"""`python -m tests.emulator serve|demo`: the local Azure from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from .control import control_env
from .dockerd import DockerdUnavailable, ensure_dockerd
from .server import Emulator
from .state import Seed
from .workflow import default_inputs


def serve(seed_path: Path | None, port: int) -> int:
    """Run until interrupted; print what a workflow step would need."""
    seed = Seed.load(seed_path) if seed_path else Seed.default()
    with Emulator(seed, workdir=Path(tempfile.mkdtemp(prefix="local-azure-")), port=port) as azure:
        job = azure.services["oidc"].start_job(
            repository="octo-org/iris-api", ref="refs/heads/main", event_name="push"
        )
        env = {"REQUESTS_CA_BUNDLE": str(azure.ca_path), **job}
        env.update({f"INPUT_{k.upper()}": v for k, v in default_inputs(azure).items()})
        env.update(
            control_env(azure)
        )  # the control API (/_emulator/), for tests in other processes
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


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser(
        "serve", help="run the local Azure and print a step's environment"
    )
    serve_parser.add_argument(
        "--seed", type=Path, help="seed file (JSON or YAML); default: the demo tenant"
    )
    serve_parser.add_argument("--port", type=int, default=0)
    demo_parser = commands.add_parser("demo", help="deploy examples/iris-api through the action")
    demo_parser.add_argument(
        "--keep", action="store_true", help="keep the local Azure running until Enter"
    )
    args = parser.parse_args(argv)
    try:
        ensure_dockerd()  # both commands run containers: start the engine if none answers
    except DockerdUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.command == "serve":
        return serve(args.seed, args.port)
    from .demo import run_demo

    return run_demo(keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
