"""`python -m tests.harness serve|demo`: the local Azure with the action's demo on top."""

from __future__ import annotations

import argparse
import sys

from localazure.__main__ import docker_ready, serve, serve_parser

from .workflow import default_inputs


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser(commands)
    demo_parser = commands.add_parser("demo", help="deploy examples/iris-api through the action")
    demo_parser.add_argument(
        "--keep", action="store_true", help="keep the local Azure running until Enter"
    )
    demo_parser.add_argument(
        "--from-empty",
        action="store_true",
        help="start from an empty subscription: `setup` first, `doctor` last",
    )
    args = parser.parse_args(argv)
    if not docker_ready():
        return 1
    if args.command == "serve":
        # The demo inputs as INPUT_<NAME>, as a step running the action would have them.
        return serve(
            args.seed,
            args.port,
            lambda azure: {f"INPUT_{k.upper()}": v for k, v in default_inputs(azure).items()},
        )
    from .demo import run_demo

    return run_demo(keep=args.keep, from_empty=args.from_empty)


if __name__ == "__main__":
    sys.exit(main())
