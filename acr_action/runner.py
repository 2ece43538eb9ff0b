"""The GitHub runner interface: outputs, masks, annotations, groups and the step summary.

This is the only module of the action that prints. Workflow commands are documented at
https://docs.github.com/actions/reference/workflow-commands-for-github-actions.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Characters a reader cannot see. The runner finds `##[` and `::` with .NET's culture-sensitive
# IndexOf/StartsWith, which on ICU skips "weightless" characters such as NUL or a zero-width
# space (https://learn.microsoft.com/dotnet/standard/base-types/string-comparison-net-5-plus),
# so they are ignored when deciding whether a line could read as a command.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]"
)
# The runner shows at most this much of a step summary: a larger file is dropped whole, with an
# error (actions/runner FileCommandManager.cs, CreateStepSummaryCommand.AttachmentSizeLimit).
SUMMARY_LIMIT = 1024 * 1024
_SUMMARY_CUT = (
    "\n\n> [!NOTE]\n> The rest of this summary was left out: GitHub shows at most 1 MiB of a "
    "step summary. The full details are in the step's log.\n"
)


def escape_data(text: str) -> str:
    """Escape the message part of a workflow command so that it stays on one line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a `key=value` property of a workflow command (its `:` and `,` are separators)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def looks_like_command(line: str) -> bool:
    """Could the runner read `line` as a workflow command?

    actions/runner (src/Runner.Common/ActionCommand.cs) tries `::name::` at the start of the
    left-trimmed line, then the legacy `##[name]` found *anywhere* in it (`IndexOf("##[")`).
    """
    visible = _INVISIBLE.sub("", line)
    return "##[" in visible or visible.lstrip().startswith("::")


def inert_line(line: str) -> str:
    """`line` changed just enough that the runner cannot read it as a workflow command.

    Its invisible characters go (the runner's search skips them), each `##[` is broken up and
    a prefix keeps `::` off the start of the line.
    """
    if not looks_like_command(line):
        return line
    return "| " + _INVISIBLE.sub("", line).replace("##[", "# #[")


def _table_cell(text: str) -> str:
    # GitHub-flavoured markdown splits a row on every `|` not escaped by a backslash, and a
    # backslash can itself be escaped: double the backslashes in front of a pipe so that `a\|b`
    # stays one cell. A line break would end the row, so it becomes an HTML break.
    cell = re.sub(r"(\\*)\|", lambda m: m.group(1) * 2 + "\\|", text)
    return _LINE_BREAK.sub("<br>", cell)


class Runner:
    """Talks to the GitHub runner through stdout and the files named by its environment.

    Safe to use from several threads: every write is whole lines under one lock, and no
    command is ever written while a `::stop-commands::` window is open (see `_command_line`).
    """

    def __init__(self, env: Mapping[str, str], out: TextIO | None = None) -> None:
        """Read the runner's file paths from `env`; write to `out` (default: the current stdout)."""
        # `out` defaults to sys.stdout at construction, not at import, so pytest's capsys and
        # contextlib.redirect_stdout see what a Runner made afterwards prints.
        self._out = out if out is not None else sys.stdout
        # An empty path means the same as no path: a local run.
        self._output_path = env.get("GITHUB_OUTPUT") or None
        self._summary_path = env.get("GITHUB_STEP_SUMMARY") or None
        self._summary_full = False
        self._masked: set[str] = set()
        # Reentrant: a signal handler (the cancel report) may write while its thread holds it.
        self._lock = threading.RLock()
        # The stop-commands window: its token (None: closed), whether its stop line is surely
        # out, and how many untrusted blocks (from any thread) are printing inside it.
        self._stop_token: str | None = None
        self._stop_sure = False
        self._open_blocks = 0

    # -- secrets -----------------------------------------------------------------------------

    def mask(self, value: str) -> None:
        """Have the runner hide `value` in the log, line by line, and remember it for `scrub`."""
        # The runner matches masks against single log lines, so a multi-line secret registered
        # whole is not hidden when its lines are printed one by one: register each line.
        with self._lock:
            # Masking whitespace or an empty string would blank out every log line.
            lines = dict.fromkeys(line.strip() for line in _LINE_BREAK.split(value))
            new = [line for line in lines if line and line not in self._masked]
            self._masked.update(new)
            self._command_line(*(f"::add-mask::{escape_data(line)}" for line in new))

    def hide(self, value: str) -> None:
        """Scrub `value` from everything printed, without an `::add-mask::` line: off a runner
        (`setup` on a laptop) that line would itself print the secret to the terminal."""
        with self._lock:
            self._masked.update(line.strip() for line in _LINE_BREAK.split(value) if line.strip())

    def scrub(self, text: str) -> str:
        """Return `text` with every masked value replaced by `***`, as the runner's log does."""
        with self._lock:
            masked = sorted(self._masked, key=len, reverse=True)
        # Longest first, so that a secret containing a shorter one is replaced whole.
        for secret in masked:
            text = text.replace(secret, "***")
        return text

    # -- log lines and annotations -----------------------------------------------------------

    def info(self, text: str) -> None:
        """Print `text`; lines that would read as workflow commands are printed inert."""
        text = self.scrub(text)
        lines = _LINE_BREAK.split(text)
        if any(looks_like_command(line) for line in lines):
            self.untrusted_block(lines)
        else:
            with self._lock:
                self._write(text)

    def untrusted_block(self, lines: Iterable[str]) -> None:
        """Print `lines` (e.g. a streamed build log) with workflow commands switched off."""
        with self._commands_stopped():
            for chunk in lines:
                parts = _LINE_BREAK.split(chunk)
                if len(parts) > 1 and not parts[-1]:
                    parts.pop()  # the chunk's own line end, not an extra blank line
                for line in parts:
                    # Scrubbed under the lock: a mask registered by another thread a moment
                    # ago is applied, and its add-mask line is already out, before this line.
                    with self._lock:
                        self._ensure_stopped()
                        self._write(self.scrub(line))

    @contextmanager
    def _commands_stopped(self) -> Iterator[None]:
        # `::stop-commands::<token>` makes the runner ignore every command until a line
        # `::<token>::`. The token is random, so the text cannot guess it to switch commands
        # back on early. Blocks of several threads share one window; the last one closes it.
        with self._lock:
            self._open_blocks += 1
            self._ensure_stopped()
        try:
            yield
        finally:
            with self._lock:
                self._open_blocks -= 1
                if self._open_blocks == 0:
                    self._ensure_resumed()

    # A KeyboardInterrupt (the cancel handler) can land between writing a stop or resume line
    # and recording it, so the record may be unsure: `_stop_sure` is False then. Both lines
    # can be written again safely with the same token: a second stop line inside its own
    # window is printed as plain text, a resume line for a closed window too (the runner
    # forgets the token on resume). So when unsure, the line is simply written again; a new
    # token is drawn only once the window is known to be closed.

    def _ensure_stopped(self) -> None:
        if self._stop_token is None:
            self._stop_token = secrets.token_hex(16)
        if not self._stop_sure:
            self._write(f"::stop-commands::{self._stop_token}")
            self._stop_sure = True

    def _ensure_resumed(self) -> None:
        if self._stop_token is not None:
            self._stop_sure = False
            self._write(f"::{self._stop_token}::")
            self._stop_token = None

    def debug(self, text: str) -> None:
        """Print a debug line (shown when the workflow runs with debug logging)."""
        self._command("debug", text)

    def notice(self, message: str, title: str | None = None, file: str | None = None) -> None:
        """Create a notice annotation."""
        self._command("notice", message, title=title, file=file)

    def warning(self, message: str, title: str | None = None, file: str | None = None) -> None:
        """Create a warning annotation."""
        self._command("warning", message, title=title, file=file)

    def error(self, message: str, title: str | None = None, file: str | None = None) -> None:
        """Create an error annotation."""
        self._command("error", message, title=title, file=file)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold the lines printed inside the `with` block under `title`."""
        self._command("group", title)
        try:
            yield
        finally:
            self._command_line("::endgroup::")

    # -- outputs and the step summary --------------------------------------------------------

    def set_output(self, name: str, value: str) -> None:
        """Set the step output `name`; printed as `name=value` when not on a runner."""
        if not name or any(c in name for c in "\r\n=<"):
            raise ValueError(f"invalid output name {name!r}")
        value = self.scrub(value)
        if self._output_path is None:
            self.info(f"{name}={value}")
            return
        # The multi-line form `name<<DELIMITER` holds any value, provided no line of it equals
        # the delimiter: pick a random one and draw again in the (astronomically unlikely) case.
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        while delimiter in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        self._append(self._output_path, f"{name}<<{delimiter}\n{value}\n{delimiter}\n")

    def summary(self, markdown: str) -> None:
        """Append `markdown` to the job summary; does nothing when not on a runner."""
        if self._summary_path is None:
            return
        if not markdown.endswith("\n"):
            markdown += "\n"
        data = self.scrub(markdown).encode("utf-8")
        note = _SUMMARY_CUT.encode("utf-8")
        with self._lock:
            if self._summary_full:
                return
            used = os.path.getsize(self._summary_path) if os.path.exists(self._summary_path) else 0
            # Room is kept for the note, so the file never passes the limit: a summary cut
            # short still shows, one over the limit would not show at all.
            room = SUMMARY_LIMIT - used - len(note)
            if len(data) > room:
                self._summary_full = True
                cut = data[: max(room, 0)]
                cut = cut[: cut.rfind(b"\n") + 1]  # whole lines only (and whole UTF-8 sequences)
                data = cut + note if room >= 0 else b""
            with open(self._summary_path, "ab") as file:
                file.write(data)

    def summary_table(
        self, rows: list[tuple[str, str]], header: tuple[str, str] = ("", "")
    ) -> None:
        """Append a two-column markdown table to the job summary, escaping `|` and line breaks."""
        lines = [
            f"| {_table_cell(header[0])} | {_table_cell(header[1])} |",
            "| --- | --- |",
            *(f"| {_table_cell(key)} | {_table_cell(value)} |" for key, value in rows),
        ]
        # A blank line first: a table glued to a preceding paragraph is not parsed as a table.
        self.summary("\n" + "\n".join(lines) + "\n")

    # -- plumbing ----------------------------------------------------------------------------

    def _command(self, name: str, message: str, **properties: str | None) -> None:
        props = ",".join(
            f"{key}={escape_property(self.scrub(value))}"
            for key, value in properties.items()
            if value is not None
        )
        head = f"::{name} {props}::" if props else f"::{name}::"
        self._command_line(head + escape_data(self.scrub(message)))

    def _command_line(self, *lines: str) -> None:
        """Write workflow commands so that the runner acts on them, whatever else is printing.

        While a stop-commands window is open (another thread streaming a build log, say) the
        runner would print a command as plain text: an add-mask would register nothing and
        show its secret (actions/runner ActionCommandManager.cs, the `_stopProcessCommand`
        branch). So the window is closed, the commands written, and a new window opened with
        a fresh token. The alternative, holding the lock for a whole block, would hold up a mask
        (and the thread that needs it) for as long as a build runs.
        """
        if not lines:
            return
        with self._lock:
            try:
                self._ensure_resumed()
                for line in lines:
                    self._write(line)
            finally:
                if self._open_blocks:
                    self._ensure_stopped()

    def _write(self, line: str) -> None:
        # Callers hold the lock, so that lines of different threads never interleave.
        self._out.write(line + "\n")
        # Commands must reach the runner before any output of a child process that follows.
        self._out.flush()

    @staticmethod
    def _append(path: str, text: str) -> None:
        with open(path, "a", encoding="utf-8", newline="") as file:
            file.write(text)
