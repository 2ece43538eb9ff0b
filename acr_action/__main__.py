"""Command-line and runner entry: `main()` renders errors and returns the exit code; `run()` raises.

On a runner, inputs arrive as `INPUT_<NAME>` variables. From a laptop the same inputs can be
given as options: `python -m acr_action --resource-group demo-rg --registry myacr ...`;
`--help` lists them from the input table, `--version` prints the version, and an unknown option
is refused with the nearest input's name, like any bad input.

Cancelling: the runner sends SIGINT, then SIGTERM 7.5 s later, then kills the process tree 2.5 s
after that (https://docs.github.com/actions/reference/workflow-cancellation-reference; actions/runner
`src/Runner.Sdk/ProcessInvoker.cs`); a container action gets the signals through `docker run`'s
signal proxy, and the kill ends only the `docker run` client, not the container. Python, as the
container's PID 1, would ignore SIGTERM without a handler. Each cancel signal unwinds the run
(temporary files removed, the build stopped) and ends it with one error naming the signal and
the phase, within `EXIT_GRACE_SECONDS`, inside the SIGINT window; the container then exits and
`--rm` removes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import TextIO

from . import __version__
from .errors import ActionError, InputError, InputProblem
from .inputs_table import GROUPS, INPUTS, MODES, SPECS, InputSpec
from .runner import Runner

USAGE = (
    "usage: python -m acr_action [--INPUT VALUE ...] [--help] [--version]\n"
    "       python -m acr_action setup|doctor --help   (one-time Azure setup, and its check)"
)

CANCEL_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
# After a cancel signal the process ends within this many seconds even when a worker thread is
# stuck in a network call (the thread pool and interpreter exit would wait for it); None: never
# (for tests that signal their own process).
EXIT_GRACE_SECONDS: float | None = 5.0
# The phase a cancel interrupted, by the innermost acr_action function running at the time.
_PHASES = {
    "sign_in": "sign-in",
    "refresh_token": "the registry token exchange",
    "run_build": "the image build",
    "push": "the push to the registry",
    "resolve_digest": "resolving the image",
    "apply": "the deployment (Azure Container Instances completes the operation it accepted)",
    "wait_running": "the wait for the containers to run",
    "probe": "the readiness probe",
    "delete": "the deletion",
    "sweep": "the sweep",
}


def options_to_env(argv: Sequence[str]) -> dict[str, str]:
    """`--resource-group x` → `{"INPUT_RESOURCE-GROUP": "x"}` (the runner's naming).

    Only the inputs of the table are options; a secret one is refused, because a command line is
    visible to every process on the machine (`ps`): it comes from the environment instead.
    """
    env: dict[str, str] = {}
    args = list(argv)
    while args:
        option = args.pop(0)
        name, eq, value = option.removeprefix("--").partition("=")
        if not option.startswith("--") or name not in SPECS:
            raise InputError([_unknown_option(option, name if option.startswith("--") else "")])
        spec = SPECS[name]
        if spec.secret:
            message = (
                f"is secret, and a command line is visible to every process on the machine: "
                f"set it in the environment as `{spec.env_key}` instead"
            )
            raise InputError([InputProblem(name, message, spec.example)])
        if not eq:
            if not args:
                message = f"needs a value (`--{name} VALUE` or `--{name}=VALUE`)\n{USAGE}"
                raise InputError([InputProblem(name, message, spec.example)])
            value = args.pop(0)
        env[spec.env_key] = value
    return env


def _unknown_option(option: str, name: str) -> InputProblem:
    """The problem of an option that is no input, naming the nearest input when one is close."""
    import difflib  # here: only a mistyped option needs it, and bench/ times importing this module

    nearest = difflib.get_close_matches(name, list(SPECS), n=1, cutoff=0.6) if name else []
    if nearest:
        hint = f"did you mean `--{nearest[0]}`?"
    else:
        hint = "`python -m acr_action --help` lists them"
    what = "is not an input of the action" if name else "is not an option (`--INPUT VALUE`)"
    example = SPECS[nearest[0]].example if nearest else SPECS["resource-group"].example
    shown = option if _printable_option(option) else None
    return InputProblem(name or option, f"{what}; {hint}", example, shown)


def _printable_option(option: str) -> bool:
    """Whether an unknown argument is safe to echo: an option name, never a stray value."""
    return len(option) <= 64 and all(char.isalnum() or char in "-_" for char in option)


def help_text() -> str:
    """`--help`: every input by group, with its description, default and choices from the table."""
    lines = [
        USAGE,
        "",
        "Build an image, push it to Azure Container Registry and deploy it to Azure Container",
        "Instances. Every input of action.yml is an option of the same name; on a runner the same",
        "inputs arrive as INPUT_<NAME> variables. Secret inputs come from the environment only.",
        "",
        "  --help     show this help and exit",
        "  --version  show the version and exit",
    ]
    for group, heading in GROUPS.items():
        lines += ["", f"{heading}:"]
        for spec in (spec for spec in INPUTS if spec.group == group):
            lines += _help_entry(spec)
    return "\n".join(lines) + "\n"


def _help_entry(spec: InputSpec) -> list[str]:
    """One input's lines of `--help`."""
    import textwrap  # here: only `--help` needs it, and bench/ times importing this module

    notes = []
    if spec.required:
        notes.append("required")
    if spec.default is not None:
        notes.append(f"default: {spec.default}")
    if spec.choices:
        notes.append(f"one of {', '.join(spec.choices)}")
    if spec.modes != MODES:
        notes.append(f"mode: {', '.join(spec.modes)}")
    if spec.multiline:
        notes.append("may span lines")
    # A secret is never an option (see options_to_env): its entry names its variable.
    usage = (
        f"{spec.env_key}=VALUE (secret, environment only)"
        if spec.secret
        else f"--{spec.name} VALUE"
    )
    head = f"  {usage}" + (f"  ({'; '.join(notes)})" if notes else "")
    indent = " " * 6
    body = textwrap.wrap(
        spec.description,
        96,
        initial_indent=indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
    )
    if spec.rule is not None:
        body += textwrap.wrap(
            f"The value {spec.rule.says}.", 96, initial_indent=indent, subsequent_indent=indent
        )
    return [head, *body]


class Cancellation:
    """Turns the runner's cancel signals into `KeyboardInterrupt` and reports the cancel once."""

    def __init__(self, runner: Runner) -> None:
        """Report through `runner`."""
        self.runner = runner
        self.signal_name: str | None = None
        self._phase: str | None = None  # where the first signal found the main thread
        self._reported: int | None = None
        self._lock = threading.Lock()

    def install(self) -> Callable[[], None]:
        """Handle the cancel signals (main thread only); returns what puts the old handlers back."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {}
        for name in CANCEL_SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, self._handle)

        def restore() -> None:
            for number, handler in previous.items():
                signal.signal(number, handler)

        return restore

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signal_name is not None:
            self._exit_now()  # the second signal: the runner kills the process tree next
        self.signal_name = signal.Signals(number).name
        # Kept for an exit without unwinding (the watchdog), where no traceback is left to read.
        self._phase = _phase_of_frame(frame)
        if EXIT_GRACE_SECONDS is not None:
            watchdog = threading.Timer(EXIT_GRACE_SECONDS, self._exit_now)
            watchdog.daemon = True
            watchdog.start()
        raise KeyboardInterrupt(self.signal_name)

    def report(self, exc: BaseException | None = None) -> int:
        """Print the cancel (once) and return the exit code: 128 + the signal number."""
        with self._lock:
            if self._reported is not None:
                return self._reported
            phase = _phase_of(exc) or self._phase
            during = f" during {phase}" if phase else ""
            if self.signal_name:
                what = f"Cancelled by {self.signal_name}{during}"
                code = 128 + int(getattr(signal, self.signal_name))
            else:
                what, code = f"Interrupted{during}", 130
            message = (
                f"{what}. Temporary files are removed and the build is stopped; what Azure "
                "already has (the pushed image, the container group) is kept. Rerun the step "
                "with the same inputs: it picks up from there and converges to the same state."
            )
            self.runner.error(message, title="acr-action cancelled")
            self.runner.summary(f"### acr-action cancelled\n\n{message}\n")
            self._reported = code
            return code

    def _exit_now(self) -> None:
        # Leaving without unwinding skips every `finally`: remove the registry token's folder
        # first, so that even this exit leaves no credential behind.
        from .registry import remove_live_configs

        with contextlib.suppress(Exception):
            remove_live_configs()
        code = self.report()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # closed or broken: nothing to save
                stream.flush()
        os._exit(code)


def _phase_of(exc: BaseException | None) -> str | None:
    """The phase the exception interrupted: the innermost acr_action function with a name for it."""
    found = None
    for frame, _ in traceback.walk_tb(exc.__traceback__ if exc is not None else None):
        if frame.f_globals.get("__name__", "").startswith("acr_action."):
            found = _PHASES.get(frame.f_code.co_name, found)
    return found


def _phase_of_frame(frame: FrameType | None) -> str | None:
    """The phase a signal interrupted: the innermost acr_action function, from `frame` out."""
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("acr_action."):
            phase = _PHASES.get(frame.f_code.co_name)
            if phase:
                return phase
        frame = frame.f_back
    return None


def run(env: Mapping[str, str], runner: Runner) -> int:
    """Parse the inputs, carry out the run, write outputs and the summary; raises `ActionError`."""
    from . import orchestrate
    from .inputs import parse_inputs

    inputs = parse_inputs(env)
    outcome = orchestrate.run(inputs, env, runner)
    orchestrate.write_outputs(outcome, runner)
    for note in outcome.notes:
        runner.info(note)
    mode = orchestrate.MODES[inputs.mode]
    title = "Skipped" if outcome.outputs.get("state") == "Skipped" else mode.title
    runner.summary(f"### acr-action: {title} `{mode.subject(inputs) or inputs.container.name}`\n")
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
    runner = Runner(environment, out or sys.stdout)
    from .inputs import secret_values

    for secret in secret_values(environment):
        runner.mask(secret)  # before anything could print them (no option carries a secret)
    # `setup` and `doctor` are laptop commands with their own options (commands.py).
    command = argv[0] if argv and argv[0] in ("setup", "doctor") else None
    if command is None and {"--help", "-h"} & set(argv):
        runner.info(help_text())
        return 0
    if command is None and "--version" in argv:
        runner.info(f"acr-action {__version__}")
        return 0
    cancellation = Cancellation(runner)
    restore = cancellation.install()
    try:
        if command is not None:
            from . import commands

            return commands.run(command, argv[1:], environment, runner)
        environment.update(options_to_env(argv))
        return run(environment, runner)
    except ActionError as exc:
        message = runner.scrub(exc.render())
        runner.error(message, title=runner.scrub(exc.title))
        runner.summary(f"### acr-action failed\n\n{message}\n")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        return cancellation.report(exc)
    except Exception as exc:
        detail = runner.scrub("".join(traceback.format_exception(exc)))
        runner.error(
            f"Unexpected {type(exc).__name__}: {runner.scrub(str(exc))}. This is a bug in acr-action; please report it with the log.",
            title="acr-action failed unexpectedly",
        )
        with runner.group("Details of the unexpected error"):
            runner.info(detail)
        return 1
    finally:
        restore()


if __name__ == "__main__":
    sys.exit(main(argv=sys.argv[1:]))
