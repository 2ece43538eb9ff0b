"""The GitHub runner interface: outputs, masks, annotations, groups and the step summary.

This is the only module of the action that prints. Workflow commands are documented at
https://docs.github.com/actions/reference/workflow-commands-for-github-actions.
"""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

# The runner parses a line as a command when, after leading whitespace, it starts with `::` (the
# current syntax) or `##[` (the legacy one, still accepted): actions/runner ActionCommandManager.
_COMMAND_PREFIXES = ("::", "##[")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def escape_data(text: str) -> str:
    """Escape the message part of a workflow command so that it stays on one line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a `key=value` property of a workflow command (its `:` and `,` are separators)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _looks_like_command(line: str) -> bool:
    return line.lstrip().startswith(_COMMAND_PREFIXES)


def _table_cell(text: str) -> str:
    # GitHub-flavoured markdown splits a row on every `|` not escaped by a backslash, and a
    # backslash can itself be escaped: double the backslashes in front of a pipe so that `a\|b`
    # stays one cell. A line break would end the row, so it becomes an HTML break.
    cell = re.sub(r"(\\*)\|", lambda m: m.group(1) * 2 + "\\|", text)
    return _LINE_BREAK.sub("<br>", cell)


class Runner:
    """Talks to the GitHub runner through stdout and the files named by its environment."""

    def __init__(self, env: Mapping[str, str], out: TextIO | None = None) -> None:
        """Read the runner's file paths from `env`; write to `out` (default: the current stdout)."""
        # `out` defaults to sys.stdout at construction, not at import, so pytest's capsys and
        # contextlib.redirect_stdout see what a Runner made afterwards prints.
        self._out = out if out is not None else sys.stdout
        # An empty path means the same as no path: a local run.
        self._output_path = env.get("GITHUB_OUTPUT") or None
        self._summary_path = env.get("GITHUB_STEP_SUMMARY") or None
        self._masked: set[str] = set()

    # -- secrets -----------------------------------------------------------------------------

    def mask(self, value: str) -> None:
        """Have the runner hide `value` in the log, line by line, and remember it for `scrub`."""
        # The runner matches masks against single log lines, so a multi-line secret registered
        # whole is not hidden when its lines are printed one by one: register each line.
        for line in _LINE_BREAK.split(value):
            line = line.strip()
            # Masking whitespace or an empty string would blank out every log line.
            if line and line not in self._masked:
                self._masked.add(line)
                self._write(f"::add-mask::{escape_data(line)}")

    def scrub(self, text: str) -> str:
        """Return `text` with every masked value replaced by `***`, as the runner's log does."""
        # Longest first, so that a secret containing a shorter one is replaced whole.
        for secret in sorted(self._masked, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    # -- log lines and annotations -----------------------------------------------------------

    def info(self, text: str) -> None:
        """Print `text`; lines that would read as workflow commands are printed inert."""
        text = self.scrub(text)
        lines = _LINE_BREAK.split(text)
        if any(_looks_like_command(line) for line in lines):
            self.untrusted_block(lines)
        else:
            self._write(text)

    def untrusted_block(self, lines: Iterable[str]) -> None:
        """Print `lines` (e.g. a streamed build log) with workflow commands switched off."""
        # `::stop-commands::<token>` makes the runner ignore every command until a line
        # `::<token>::`. The token is random per block, so the text cannot guess it to switch
        # commands back on early.
        token = secrets.token_hex(16)
        self._write(f"::stop-commands::{token}")
        try:
            for chunk in lines:
                parts = _LINE_BREAK.split(chunk)
                if len(parts) > 1 and not parts[-1]:
                    parts.pop()  # the chunk's own line end, not an extra blank line
                for line in parts:
                    self._write(self.scrub(line))
        finally:
            self._write(f"::{token}::")

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
            self._write("::endgroup::")

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
        self._append(self._summary_path, self.scrub(markdown))

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
        self._write(head + escape_data(self.scrub(message)))

    def _write(self, line: str) -> None:
        self._out.write(line + "\n")
        # Commands must reach the runner before any output of a child process that follows.
        self._out.flush()

    @staticmethod
    def _append(path: str, text: str) -> None:
        with open(path, "a", encoding="utf-8", newline="") as file:
            file.write(text)
