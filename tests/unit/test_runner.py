"""The runner interface: what the GitHub runner would read from stdout and its files."""

from __future__ import annotations

import io
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from acr_action.runner import Runner
from tests.runner_log import SUMMARY_LIMIT, parse_env_file, read_lines, read_step


def executed_commands(stdout: str) -> list[str]:
    """The lines of `stdout` that the runner acts on (tests/runner_log.py, the runner's rules)."""
    return read_step(stdout).commands


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file the way the runner does (split on LF only)."""
    return parse_env_file(path.read_text(encoding="utf-8"))


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Runner environment with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY in tmp_path."""
    return {
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }


# -- outputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("app.westus.azurecontainer.io", id="plain"),
        pytest.param("", id="empty"),
        pytest.param("first\nsecond\n\nfourth", id="multiline"),
        pytest.param("trailing newline\n", id="trailing-newline"),
        pytest.param("a\nEOF\nb", id="naive-delimiter-EOF"),
        pytest.param("x\nghadelimiter_\ny", id="delimiter-prefix"),
        pytest.param("name<<EOF\nvalue=1", id="looks-like-another-output"),
        pytest.param("100% sure: a, b", id="percent-colon-comma"),
    ],
)
def test_output_file_round_trips_value(files: dict[str, str], out: io.StringIO, value: str) -> None:
    runner = Runner(files, out)
    runner.set_output("fqdn", value)
    runner.set_output("state", "Running")

    assert read_outputs(Path(files["GITHUB_OUTPUT"])) == {"fqdn": value, "state": "Running"}
    assert out.getvalue() == ""


def test_output_delimiter_is_redrawn_when_it_occurs_in_value(
    files: dict[str, str], out: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws: Iterator[str] = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(secrets, "token_hex", lambda _n: next(draws))
    value = "before\nghadelimiter_aaaa\nafter"

    Runner(files, out).set_output("log", value)

    text = Path(files["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    assert text == f"log<<ghadelimiter_bbbb\n{value}\nghadelimiter_bbbb\n"


def test_outputs_are_printed_without_github_output(out: io.StringIO) -> None:
    runner = Runner({}, out)
    runner.set_output("fqdn", "app.westus.azurecontainer.io")
    runner.set_output("url", "http://app.westus.azurecontainer.io/")

    assert out.getvalue().splitlines() == [
        "fqdn=app.westus.azurecontainer.io",
        "url=http://app.westus.azurecontainer.io/",
    ]


def test_empty_github_output_means_local(out: io.StringIO, tmp_path: Path) -> None:
    Runner({"GITHUB_OUTPUT": "", "GITHUB_STEP_SUMMARY": ""}, out).set_output("name", "app")

    assert out.getvalue() == "name=app\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("a\nb", id="newline"),
        pytest.param("a<<EOF", id="heredoc"),
        pytest.param("a=b", id="equals"),
    ],
)
def test_output_name_is_checked(files: dict[str, str], out: io.StringIO, name: str) -> None:
    with pytest.raises(ValueError, match="invalid output name"):
        Runner(files, out).set_output(name, "x")


# -- masks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "masks"),
    [
        pytest.param("s3cr3t", ["s3cr3t"], id="one-line"),
        pytest.param(
            "-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----\n",
            ["-----BEGIN KEY-----", "abc", "def", "-----END KEY-----"],
            id="pem-lines",
        ),
        pytest.param("one\r\ntwo\rthree", ["one", "two", "three"], id="crlf-and-cr"),
        pytest.param("  indented\n\n   \nlast  ", ["indented", "last"], id="blank-lines-skipped"),
        pytest.param("", [], id="empty"),
        pytest.param(" \n\t\n", [], id="whitespace-only"),
        pytest.param("50%\nx", ["50%25", "x"], id="percent-escaped"),
    ],
)
def test_mask_registers_each_line(out: io.StringIO, secret: str, masks: list[str]) -> None:
    Runner({}, out).mask(secret)

    assert executed_commands(out.getvalue()) == [f"::add-mask::{m}" for m in masks]


def test_mask_is_registered_once(out: io.StringIO) -> None:
    runner = Runner({}, out)
    runner.mask("pw")
    runner.mask("pw")

    assert out.getvalue() == "::add-mask::pw\n"


def test_masked_values_are_scrubbed_from_everything_written(
    files: dict[str, str], out: io.StringIO
) -> None:
    runner = Runner(files, out)
    runner.mask("hunter2\nsecond-line")
    runner.mask("hunter2-long")
    out.truncate(0)
    out.seek(0)

    runner.info("password is hunter2-long")
    runner.error("login failed for hunter2", title="second-line")
    runner.untrusted_block(["echo hunter2"])
    runner.set_output("leak", "hunter2")
    runner.summary("| pw | second-line |")

    text = out.getvalue() + Path(files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    text += Path(files["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    assert "hunter2" not in text
    assert "second-line" not in text
    assert "password is ***" in text
    assert "::error title=***::login failed for ***" in text


# -- annotations and escaping ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(
            lambda r: r.error("100% failed"), "::error::100%25 failed", id="percent-in-data"
        ),
        pytest.param(
            lambda r: r.warning("line 1\r\nline 2"),
            "::warning::line 1%0D%0Aline 2",
            id="crlf-in-data",
        ),
        pytest.param(
            lambda r: r.notice("a: b, c"), "::notice::a: b, c", id="colon-comma-kept-in-data"
        ),
        pytest.param(
            lambda r: r.error("boom", title="Deploy: failed, 50%\nretry"),
            "::error title=Deploy%3A failed%2C 50%25%0Aretry::boom",
            id="property-escaping",
        ),
        pytest.param(
            lambda r: r.warning("x", title="t", file="src/a,b.py"),
            "::warning title=t,file=src/a%2Cb.py::x",
            id="two-properties",
        ),
        pytest.param(lambda r: r.debug("50%\n::x"), "::debug::50%25%0A::x", id="debug"),
    ],
)
def test_workflow_commands_are_escaped(
    out: io.StringIO, call: Callable[[Runner], None], expected: str
) -> None:
    call(Runner({}, out))

    assert out.getvalue() == expected + "\n"


def test_group_is_closed_when_its_body_raises(out: io.StringIO) -> None:
    runner = Runner({}, out)

    def build() -> None:
        with runner.group("Build: app, 100%"):
            runner.info("step 1")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        build()

    assert out.getvalue().splitlines() == ["::group::Build: app, 100%25", "step 1", "::endgroup::"]


def test_default_out_is_stdout_at_construction(capsys: pytest.CaptureFixture[str]) -> None:
    Runner({}).info("hello")

    assert capsys.readouterr().out == "hello\n"


# -- untrusted text ----------------------------------------------------------------------------

UNTRUSTED = [
    pytest.param("::set-output name=x::y", id="set-output"),
    pytest.param("::add-mask::abc", id="add-mask"),
    pytest.param("   ::error::fake failure", id="leading-spaces"),
    pytest.param("##[set-output name=x;]y", id="legacy-syntax"),
    pytest.param("fix: branch\n::add-mask::abc\nmore", id="command-on-second-line"),
    pytest.param("title\r::set-env name=A::B", id="command-after-bare-cr"),
    pytest.param("::stop-commands::guess\n::guess::\n::add-mask::abc", id="guessed-token"),
]


@pytest.mark.parametrize("text", UNTRUSTED)
def test_info_cannot_issue_commands(out: io.StringIO, text: str) -> None:
    Runner({}, out).info(text)

    assert executed_commands(out.getvalue()) == []
    shown = read_lines(out.getvalue())
    for line in read_lines(text):
        assert line in shown, f"{line!r} was not shown as it is"


@pytest.mark.parametrize("text", UNTRUSTED)
def test_untrusted_block_cannot_issue_commands(out: io.StringIO, text: str) -> None:
    log = iter(["#1 [internal] load build definition\n", text, "#2 DONE 0.1s\n"])

    Runner({}, out).untrusted_block(log)

    assert executed_commands(out.getvalue()) == []
    assert "#1 [internal] load build definition\n" in out.getvalue()
    assert "\n\n" not in out.getvalue()  # chunk line ends are not doubled


def test_untrusted_block_switches_commands_back_on_when_the_log_fails(out: io.StringIO) -> None:
    runner = Runner({}, out)

    def log() -> Iterator[str]:
        yield "::add-mask::abc"
        raise OSError("build stream broken")

    with pytest.raises(OSError, match="build stream broken"):
        runner.untrusted_block(log())
    runner.error("build failed")

    assert executed_commands(out.getvalue()) == ["::error::build failed"]


def test_untrusted_block_tokens_differ(out: io.StringIO) -> None:
    runner = Runner({}, out)
    runner.untrusted_block(["a"])
    runner.untrusted_block(["b"])

    tokens = re.findall(r"^::stop-commands::(\S+)$", out.getvalue(), flags=re.MULTILINE)
    assert len(tokens) == 2
    assert tokens[0] != tokens[1]
    assert all(len(token) >= 32 for token in tokens)


def test_plain_info_is_printed_as_is(out: io.StringIO) -> None:
    Runner({}, out).info("Deployed app: http://a.b/ (50% faster)\nsecond line")

    assert out.getvalue() == "Deployed app: http://a.b/ (50% faster)\nsecond line\n"


# -- step summary ------------------------------------------------------------------------------


def test_summary_appends_markdown(files: dict[str, str], out: io.StringIO) -> None:
    runner = Runner(files, out)
    runner.summary("## Deployed")
    runner.summary("done\n")

    assert Path(files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8") == "## Deployed\ndone\n"


def test_summary_table_escapes_cells(files: dict[str, str], out: io.StringIO) -> None:
    runner = Runner(files, out)
    runner.summary_table(
        [
            ("image", "reg.azurecr.io/app:sha-1234567"),
            ("a|b", "line 1\nline 2\r\nline 3"),
            ("backslash", "C:\\|x"),
        ],
        header=("Property", "Value"),
    )

    assert Path(files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8") == (
        "\n"
        "| Property | Value |\n"
        "| --- | --- |\n"
        "| image | reg.azurecr.io/app:sha-1234567 |\n"
        "| a\\|b | line 1<br>line 2<br>line 3 |\n"
        "| backslash | C:\\\\\\|x |\n"
    )


def test_summary_table_default_header_is_blank(files: dict[str, str], out: io.StringIO) -> None:
    Runner(files, out).summary_table([("state", "Running")])

    lines = Path(files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8").splitlines()
    assert lines == ["", "|  |  |", "| --- | --- |", "| state | Running |"]


def test_summary_is_a_no_op_locally(out: io.StringIO, tmp_path: Path) -> None:
    runner = Runner({}, out)
    runner.summary("## Deployed")
    runner.summary_table([("a", "b")])

    assert out.getvalue() == ""
    assert list(tmp_path.iterdir()) == []


def test_untrusted_block_keeps_blank_lines(out: io.StringIO) -> None:
    Runner({}, out).untrusted_block(["a\n", "\n", "b\r\n\r\n", "c"])

    assert out.getvalue().splitlines()[1:-1] == ["a", "", "b", "", "c"]


# -- several threads, one stdout ---------------------------------------------------------------


def test_mask_from_another_thread_during_untrusted_block_is_registered(out: io.StringIO) -> None:
    # Key Vault answers in a background thread while the build log streams in a stop-commands
    # window; the runner ignores an add-mask inside a window and prints it, secret included
    # (actions/runner ActionCommandManager.cs).
    runner = Runner({}, out)
    secret = "kv-secret-" + secrets.token_hex(8)

    def log() -> Iterator[str]:
        yield "#1 [internal] load build definition"
        reader = threading.Thread(target=runner.mask, args=(secret,))
        reader.start()
        reader.join()
        yield f"#2 RUN echo {secret}"
        yield "#3 DONE"

    runner.untrusted_block(log())
    step = read_step(out.getvalue())

    assert secret in step.masks
    assert secret not in step.shown
    assert step.log[-3:] == ["#2 RUN echo ***", "#3 DONE", "::***::"]


def test_commands_of_other_threads_work_during_untrusted_block(out: io.StringIO) -> None:
    runner = Runner({}, out)

    def log() -> Iterator[str]:
        yield "building"
        for call in (
            lambda: runner.warning("Key Vault throttled, retrying"),
            lambda: runner.info("::error::not a command, from a thread"),
        ):
            worker = threading.Thread(target=call)
            worker.start()
            worker.join()
        yield "::add-mask::from-the-build-log"

    runner.untrusted_block(log())
    runner.error("after the block")
    step = read_step(out.getvalue())

    assert [(a.kind, a.message) for a in step.annotations] == [
        ("warning", "Key Vault throttled, retrying"),
        ("error", "after the block"),
    ]
    assert "::error::not a command, from a thread" in step.log
    assert "::add-mask::from-the-build-log" in step.log
    assert step.masks == {m for m in step.masks if len(m) == 32}  # stop tokens only


def test_masks_from_many_threads_while_a_log_streams(out: io.StringIO) -> None:
    runner = Runner({}, out)
    values = [f"secret-{n}-{secrets.token_hex(6)}" for n in range(8)]
    start = threading.Barrier(len(values) + 1)

    def mask(value: str) -> None:
        start.wait()
        runner.mask(value)

    workers = [threading.Thread(target=mask, args=(v,)) for v in values]
    for worker in workers:
        worker.start()

    def log() -> Iterator[str]:
        start.wait()
        for n in range(2000):
            yield f"#{n} step output line with some length to it"
        for worker in workers:
            worker.join()
        yield from (f"echo {value}" for value in values)

    runner.untrusted_block(log())
    step = read_step(out.getvalue())

    assert set(values) <= step.masks
    assert not [v for v in values if v in step.shown]
    assert all(
        re.fullmatch(r"#\d+ step output line with some length to it|echo \*\*\*|::.*", line)
        for line in step.log
    ), "a line was torn or merged"


def test_untrusted_blocks_of_two_threads_share_one_window(out: io.StringIO) -> None:
    runner = Runner({}, out)
    inside = threading.Event()
    finish = threading.Event()

    def other() -> None:
        def lines() -> Iterator[str]:
            yield "::set-output name=a::from-thread"
            inside.set()
            finish.wait(5)
            yield "::set-output name=b::from-thread"

        runner.untrusted_block(lines())

    worker = threading.Thread(target=other)
    worker.start()
    inside.wait(5)
    runner.untrusted_block(["::set-output name=c::main"])
    runner.mask("hunter2-x")
    finish.set()
    worker.join()
    runner.error("done")
    step = read_step(out.getvalue())

    assert step.outputs == {}
    assert "hunter2-x" in step.masks
    assert step.commands == ["::add-mask::hunter2-x", "::error::done"]


# -- the legacy `##[` form anywhere in a line --------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("#5 0.2 ##[error]fake failure", id="mid-line"),
        pytest.param("step ##[add-mask]abc", id="mid-line-add-mask"),
        pytest.param("x ##[set-output name=url;]evil", id="mid-line-set-output"),
        pytest.param("x #\u200b#[error]zero-width", id="zero-width-inside"),
    ],
)
def test_legacy_command_anywhere_in_info_is_inert(out: io.StringIO, text: str) -> None:
    Runner({}, out).info(text)
    step = read_step(out.getvalue())

    assert step.commands == []
    assert text in step.log


# -- the step summary limit --------------------------------------------------------------------


def test_summary_over_the_limit_is_cut_with_a_note_not_dropped(
    files: dict[str, str], out: io.StringIO
) -> None:
    runner = Runner(files, out)
    runner.summary("## Deployed\n")
    row = "| a row of the table | " + "é" * 40 + " |\n"
    runner.summary(row * (SUMMARY_LIMIT // len(row.encode()) + 10))
    runner.summary("## Later section")
    data = Path(files["GITHUB_STEP_SUMMARY"]).read_bytes()
    step = read_step(out.getvalue(), summary=data)

    assert len(data) <= SUMMARY_LIMIT
    assert step.annotations == []
    assert step.summary is not None
    assert step.summary.startswith("## Deployed\n| a row of the table |")
    assert "GitHub shows at most 1 MiB" in step.summary
    assert "Later section" not in step.summary
    assert all(line == row[:-1] for line in step.summary.splitlines()[1:-5])


def test_summary_just_under_the_limit_is_kept_whole(
    files: dict[str, str], out: io.StringIO
) -> None:
    runner = Runner(files, out)
    text = "x" * 1000 + "\n"
    runner.summary(text * 1000)

    assert Path(files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8") == text * 1000


class _InterruptedOnce(io.StringIO):
    """A stdout that raises KeyboardInterrupt at the `nth` line matching `pattern`.

    `after`: the line is written first (the interrupt lands after the write returned).
    """

    def __init__(self, pattern: str, nth: int, *, after: bool = False) -> None:
        super().__init__()
        self.pattern, self.left, self.after = pattern, nth, after

    def write(self, text: str) -> int:
        if re.match(self.pattern, text):
            self.left -= 1
            if self.left == 0:
                written = super().write(text) if self.after else 0
                del written
                raise KeyboardInterrupt  # the cancel handler, between two writes
        return super().write(text)


RESUME = r"::[0-9a-f]{32}::$"


@pytest.mark.parametrize(
    ("pattern", "nth", "after"),
    [
        pytest.param("::warning", 1, False, id="at-the-command"),
        pytest.param("::warning", 1, True, id="after-the-command"),
        pytest.param("::stop-commands::", 2, False, id="at-the-reopening"),
        pytest.param("::stop-commands::", 2, True, id="after-the-reopening"),
        pytest.param(RESUME, 1, False, id="at-the-closing"),
        pytest.param(RESUME, 1, True, id="after-the-closing"),
    ],
)
def test_interrupted_command_write_leaves_the_build_log_inert(
    pattern: str, nth: int, after: bool
) -> None:
    out = _InterruptedOnce(pattern, nth, after=after)
    runner = Runner({}, out)
    interrupted = []

    def log() -> Iterator[str]:
        yield "#1 building"
        try:
            runner.warning("Key Vault throttled")
        except KeyboardInterrupt:
            interrupted.append(True)
        yield "::set-output name=url::evil"
        yield "##[add-mask]x"

    runner.untrusted_block(log())
    runner.error("after")
    runner.mask("later-secret")
    runner.info("uses later-secret")
    step = read_step(out.getvalue())

    assert interrupted
    assert "later-secret" in step.masks
    assert "later-secret" not in step.shown
    assert step.outputs == {}
    assert all(len(m) == 32 for m in step.masks - {"later-secret"})  # the rest: stop tokens
    assert "::set-output name=url::evil" in step.log
    assert step.commands[-2:] == ["::error::after", "::add-mask::later-secret"]


def test_summary_already_near_the_limit_takes_nothing_more(
    files: dict[str, str], out: io.StringIO
) -> None:
    summary = Path(files["GITHUB_STEP_SUMMARY"])
    summary.write_bytes(b"x" * (SUMMARY_LIMIT - 10) + b"\n")
    runner = Runner(files, out)
    runner.summary("### acr-action failed\n\nsomething went wrong\n")
    runner.summary("more")
    data = summary.read_bytes()

    assert len(data) == SUMMARY_LIMIT - 9
    assert read_step("", summary=data).summary is not None


def test_multi_line_secret_during_a_block_reopens_the_window_once(out: io.StringIO) -> None:
    runner = Runner({}, out)

    def log() -> Iterator[str]:
        yield "building"
        runner.mask("-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----\n")
        yield "abc def"

    runner.untrusted_block(log())
    step = read_step(out.getvalue())

    assert {"-----BEGIN KEY-----", "abc", "def", "-----END KEY-----"} <= step.masks
    assert step.log[-2] == "*** ***"
    assert len(re.findall(r"^::stop-commands::", out.getvalue(), flags=re.MULTILINE)) == 2
