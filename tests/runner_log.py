"""A model of how the GitHub runner reads a step: what a person then sees in the job log.

The runner reads a step's stdout line by line, acts on workflow commands, masks every line it
writes with the values registered so far, and after the step reads `GITHUB_OUTPUT` and the step
summary. Each rule below is carried over from actions/runner (read at commit 258d6c8):

- Lines: `src/Runner.Sdk/ProcessInvoker.cs` reads with .NET `StreamReader.ReadLine`, which ends a
  line at CR, LF or CRLF (and nothing else).
- Which lines are tried as commands: `src/Runner.Worker/Handlers/OutputManager.cs`
  `OnDataReceived` tries any line containing `##[` or `::`; a line that is not a command is
  written to the log as it is (with `##[start-action`/`##[end-action` defused).
- Parsing: `src/Runner.Common/ActionCommand.cs`. `TryParseV2`: after `TrimStart`, the line starts
  with `::`, the name runs to the next `::` (properties after a space, split on `,`), and the
  name must be registered. `TryParse` (legacy): `##[` found *anywhere* (`IndexOf`), name and
  properties (split on `;`) up to the next `]`, data after it. V2 is tried first.
- `src/Runner.Worker/ActionCommandManager.cs`: `::stop-commands::TOKEN` registers TOKEN as a
  command (and masks it when longer than 6 characters); until a line whose command is TOKEN
  (V2 or legacy, any case), every other command is *not processed* and its line is printed as
  plain text - an `::add-mask::` inside that window registers nothing and shows its value. The
  stop and resume lines themselves are printed. `add-mask` registers the data and each trimmed
  line of it (split on CR/LF), or warns when the data is blank. Commands are not echoed unless
  `::echo::on`; `group`/`endgroup` print `##[group]`/`##[endgroup]`; `set-env` and `add-path`
  fail with an error.
- Annotations: `src/Runner.Worker/ExecutionContext.cs` `AddIssue` masks the message, cuts it at
  4096 characters, and writes `##[error]`/`##[warning]`/`##[notice]` + message to the log;
  `Write` masks every log line.
- Masking: `src/Sdk/DTLogging/Logging/SecretMasker.cs` replaces every occurrence of every
  registered value, overlapping ones merged, by `***`; no minimum length. `HostContext.cs` adds
  the encoders of `ValueEncoders.cs`, so base64 (three byte alignments), JSON-, URI- and
  XML-escaped forms of each value are masked too.
- Files: `src/Runner.Worker/FileCommandManager.cs`. `GITHUB_OUTPUT` is `name=value` or
  `name<<DELIMITER` lines split on LF only (on Linux). The step summary is dropped with an error
  when larger than 1 MiB (1024 * 1024 bytes), else each line is masked.

Where the model is simpler than the runner: it searches with ordinal string operations, while
the runner's `IndexOf`/`StartsWith` without a StringComparison are culture-sensitive and, on
ICU, skip weightless characters such as NUL or a zero-width space (the action errs the other
way and ignores those characters when deciding what could be a command); `notice` is taken as
enabled (`DistributedTask.EnhancedAnnotations`, on for github.com); problem matchers and step
debug output other than `::debug::` are not modelled.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote

# ActionCommandManager.Initialize: `stop-commands` and every command extension of the worker.
REGISTERED_COMMANDS = frozenset(
    {
        "stop-commands",
        "set-env",
        "set-output",
        "save-state",
        "add-mask",
        "add-path",
        "add-matcher",
        "remove-matcher",
        "debug",
        "warning",
        "error",
        "notice",
        "group",
        "endgroup",
        "echo",
    }
)
# Commands whose line is never echoed, even with `::echo::on` (their `OmitEcho`).
_OMIT_ECHO = frozenset({"add-mask", "debug", "warning", "error", "notice"})
SUMMARY_LIMIT = 1024 * 1024  # CreateStepSummaryCommand.AttachmentSizeLimit, bytes
SUMMARY_TOO_LARGE = (
    "$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of {0}k, got {1}k. "
    "For more information see: https://docs.github.com/actions/using-workflows/"
    "workflow-commands-for-github-actions#adding-a-markdown-summary"
)  # Constants.Runner.UnsupportedSummarySize
MAX_ISSUE_MESSAGE = 4096  # ExecutionContext._maxIssueMessageLength
_READ_LINE = re.compile(r"\r\n|\r|\n")
# What .NET's String.TrimStart removes (Char.IsWhiteSpace); Python's str.lstrip also removes
# U+001C..U+001F, which .NET keeps.
_DOTNET_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
_DOTNET_WHITESPACE += "\u2028\u2029\u202f\u205f\u3000"


class RunnerRefused(Exception):
    """The real runner would fail the step here (e.g. an invalid stop-commands token)."""


def read_lines(text: str) -> list[str]:
    """Split a stream as .NET's `StreamReader.ReadLine` does: CR, LF, CRLF; no empty last line."""
    if not text:
        return []
    lines = _READ_LINE.split(text)
    if lines[-1] == "":
        lines.pop()
    return lines


# -- the secret masker -----------------------------------------------------------------------


def _json_escape(value: str) -> str:
    # Newtonsoft's JsonConvert.ToString without its quotes: `"`, `\`, controls and the three
    # characters JavaScript treats as line ends.
    escaped = json.dumps(value, ensure_ascii=False)[1:-1]
    for char in ("\u0085", "\u2028", "\u2029"):
        escaped = escaped.replace(char, f"\\u{ord(char):04x}")
    return escaped


def _xml_escape(value: str) -> str:
    # SecurityElement.Escape.
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        value = value.replace(char, entity)
    return value.replace("'", "&apos;")


def _base64_shifted(value: str, shift: int) -> str:
    data = value.encode("utf-8")
    return base64.b64encode(data[shift:] if len(data) > shift else data).decode("ascii")


def _trim_double_quotes(value: str) -> str:
    return value[1:-1] if len(value) > 8 and value.startswith('"') and value.endswith('"') else ""


def _powershell_pre_ampersand(value: str) -> str:
    if "&" not in value:
        return ""
    end = value.index("&+") + 2 if "&+" in value else value.rindex("&") + 1
    section = value[:end]
    return section if len(section) >= 6 else ""


def _powershell_post_ampersand(value: str) -> str:
    if "&" not in value:
        return ""
    if "&+" in value:
        start = value.index("&+") + 2
        section = value[start + 1 :] if len(value) > start + 1 else ""
    else:
        section = value[value.rindex("&") + 1 :]
    return section if len(section) >= 6 else ""


# HostContext's encoders, in its order.
ENCODERS = (
    lambda v: _base64_shifted(v, 0),
    lambda v: _base64_shifted(v, 1),
    lambda v: _base64_shifted(v, 2),
    lambda v: v.replace('"', '\\"'),  # CommandLineArgumentEscape
    lambda v: v.replace("'", "''"),  # ExpressionStringEscape
    _json_escape,
    lambda v: quote(v, safe=""),  # Uri.EscapeDataString: only RFC 3986 unreserved characters kept
    _xml_escape,
    _trim_double_quotes,
    _powershell_pre_ampersand,
    _powershell_post_ampersand,
)


class SecretMasker:
    """The runner's secret masker: registered values (and their encodings) become `***`."""

    def __init__(self) -> None:
        """Start with nothing registered."""
        self.originals: set[str] = set()
        self.values: set[str] = set()

    def add_value(self, value: str) -> None:
        """Register `value` and each encoded form of it."""
        if not value or value in self.originals:
            return
        self.originals.add(value)
        self.values.add(value)
        self.values.update(encoded for encode in ENCODERS if (encoded := encode(value)))

    def mask(self, text: str) -> str:
        """`text` with every occurrence of a registered value replaced by `***`."""
        positions = sorted(
            (match.start(), match.start() + len(value))
            for value in self.values
            for match in re.finditer(f"(?={re.escape(value)})", text)
        )
        if not positions:
            return text
        merged: list[list[int]] = []
        for start, end in positions:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        shown, index = [], 0
        for start, end in merged:
            shown.append(text[index:start] + "***")
            index = end
        shown.append(text[index:])
        return "".join(shown)


# -- workflow commands -----------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One parsed workflow command."""

    name: str
    properties: dict[str, str]
    data: str


def _unescape(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for escaped, char in pairs:
        text = text.replace(escaped, char)
    return text


_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_LEGACY = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))


def _properties(text: str, separator: str, pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in filter(None, text.split(separator)):
        pair = [part for part in item.split("=", 1) if part]
        if len(pair) == 2:
            found[pair[0].lower()] = _unescape(pair[1], pairs)
    return found


def parse_v2(line: str, registered: set[str] | frozenset[str]) -> Command | None:
    """ActionCommand.TryParseV2: `::name props::data` after leading whitespace."""
    message = line.lstrip(_DOTNET_WHITESPACE)
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props = info.partition(" ")
    if name.lower() not in registered:
        return None
    properties = _properties(props.strip(), ",", _PROPERTY) if " " in info else {}
    return Command(name, properties, _unescape(message[end + 2 :], _DATA))


def parse_legacy(line: str, registered: set[str] | frozenset[str]) -> Command | None:
    """ActionCommand.TryParse: `##[name props]data` anywhere in the line."""
    prefix = line.find("##[")
    if prefix < 0:
        return None
    bracket = line.find("]", prefix)
    if bracket < 0:
        return None
    info = line[prefix + 3 : bracket]
    name, _, props = info.partition(" ")
    if name.lower() not in registered:
        return None
    properties = _properties(props, ";", _LEGACY) if " " in info else {}
    return Command(name, properties, _unescape(line[bracket + 1 :], _LEGACY))


@dataclass(frozen=True)
class Annotation:
    """An error, warning or notice the step created (as the checks page shows it)."""

    kind: str
    message: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class StepLog:
    """The runner's reading of one step's stdout, line by line, as it happens."""

    debug: bool = False
    masker: SecretMasker = field(default_factory=SecretMasker)
    lines: list[str] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    command_outputs: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)  # lines acted on, stop/resume aside
    stop_token: str | None = None
    echo: bool = False
    _registered: set[str] = field(default_factory=lambda: set(REGISTERED_COMMANDS))

    def feed(self, text: str) -> None:
        """Read a stretch of stdout (whole lines)."""
        for line in read_lines(text):
            self.line(line)

    def line(self, line: str) -> None:
        """OutputManager.OnDataReceived for one line."""
        if line and ("##[" in line or "::" in line) and self._try_command(line):
            return
        line = line.replace("##[start-action", "##[\\start-action")
        self._write(line.replace("##[end-action", "##[\\end-action"))

    def _write(self, text: str) -> None:
        self.lines.append(self.masker.mask(text))

    def _try_command(self, line: str) -> bool:
        command = parse_v2(line, self._registered) or parse_legacy(line, self._registered)
        if command is None:
            return False
        name = command.name.lower()
        if self.stop_token is not None:
            if name == self.stop_token.lower():
                self._write(line)
                self._registered.discard(name)
                self.stop_token = None
                return True
            return False  # printed as plain text, not processed
        if name == "stop-commands":
            token = command.data
            if not token or token.lower() in self._registered or token.lower() == "pause-logging":
                raise RunnerRefused(f"invalid stop-commands token {token!r}")
            self.stop_token = token
            self._registered.add(token.lower())
            if len(token) > 6:
                self.masker.add_value(token)
            self._write(line)
            return True
        if self.echo and name not in _OMIT_ECHO:
            self._write(line)
        self.commands.append(line.lstrip(_DOTNET_WHITESPACE))
        self._process(name, command)
        return True

    def _process(self, name: str, command: Command) -> None:
        data = command.data
        if name == "add-mask":
            if not data.strip():
                self.issue(
                    "warning", "Can't add secret mask for empty string in ##[add-mask] command."
                )
                return
            self.masker.add_value(data)
            for item in re.split(r"[\r\n]", data):
                self.masker.add_value(item.strip())
        elif name == "debug":
            if self.debug:
                self._write("##[debug]" + data)
        elif name in ("error", "warning", "notice"):
            self.issue(name, data, command.properties)
        elif name == "group":
            self._write("##[group]" + data)
        elif name == "endgroup":
            self._write("##[endgroup]")
        elif name == "echo":
            self.echo = data.strip().upper() == "ON"
        elif name == "set-output" and command.properties.get("name"):
            self.command_outputs[command.properties["name"]] = data
        elif name in ("set-env", "add-path"):
            self.issue("error", f"Unable to process command '{command.name}' successfully.")

    def issue(self, kind: str, message: str, properties: dict[str, str] | None = None) -> None:
        """ExecutionContext.AddIssue: an annotation, and its line in the log."""
        message = self.masker.mask(message)[:MAX_ISSUE_MESSAGE]
        self.annotations.append(Annotation(kind, message, dict(properties or {})))
        if message:
            self._write(f"##[{kind}]{message}")


# -- files -----------------------------------------------------------------------------------


def parse_env_file(text: str) -> dict[str, str]:
    """EnvFileKeyValuePairs: `name=value` or `name<<DELIMITER` lines, split on LF only."""
    found: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # ReadLine returns no line after a final LF
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            key, value = line.split("=", 1)
            found[key] = value
            continue
        if heredoc < 0:
            raise RunnerRefused(f"Invalid format '{line}'")
        key, delimiter = line.split("<<", 1)
        if not key or not delimiter:
            raise RunnerRefused(f"Invalid format '{line}'")
        body: list[str] = []
        while True:
            if i >= len(lines):
                raise RunnerRefused(f"Invalid value. Matching delimiter not found '{delimiter}'")
            if lines[i] == delimiter:
                i += 1
                break
            body.append(lines[i])
            i += 1
            if i == len(lines) and not text.endswith("\n"):
                raise RunnerRefused("Invalid value. EOF marker missing new line.")
        found[key] = "\n".join(body)
    return found


def show_summary(data: bytes, masker: SecretMasker) -> tuple[str | None, str | None]:
    """CreateStepSummaryCommand: (the summary as shown or None, the error the runner reports)."""
    if not data:
        return None, None
    if len(data) > SUMMARY_LIMIT:
        return None, SUMMARY_TOO_LARGE.format(SUMMARY_LIMIT // 1024, len(data) // 1024)
    text = data.decode("utf-8-sig", errors="replace")
    return "".join(masker.mask(line) + "\n" for line in read_lines(text)), None


# -- one step --------------------------------------------------------------------------------


@dataclass
class Step:
    """What the runner made of one step: the log, annotations, masks, outputs and summary."""

    log: list[str]
    annotations: list[Annotation]
    masks: frozenset[str]
    outputs: dict[str, str]
    summary: str | None
    commands: list[str] = field(default_factory=list)

    @property
    def shown(self) -> str:
        """Everything a reader of the job can see: the log, the summary, the output values."""
        return "\n".join([*self.log, self.summary or "", *self.outputs.values()])


def read_step(stdout: str, outputs: str = "", summary: bytes = b"", *, debug: bool = False) -> Step:
    """Read a step as the runner does: stdout as it streams, then the output and summary files."""
    log = StepLog(debug=debug)
    log.feed(stdout)
    values = {**log.command_outputs, **parse_env_file(outputs)}
    shown_summary, error = show_summary(summary, log.masker)
    if error:
        log.issue("error", error)
    return Step(
        log.lines,
        log.annotations,
        frozenset(log.masker.originals),
        values,
        shown_summary,
        log.commands,
    )
