"""The model of the runner's log processing (tests/runner_log.py), rule by rule.

Each test names the actions/runner source the rule comes from (read at commit 258d6c8).
"""

from __future__ import annotations

import base64

import pytest

from tests.runner_log import (
    SUMMARY_LIMIT,
    RunnerRefused,
    SecretMasker,
    parse_env_file,
    read_lines,
    read_step,
    show_summary,
)

TOKEN = "0123456789abcdef0123456789abcdef"


# -- lines (ProcessInvoker: StreamReader.ReadLine) ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        pytest.param("a\nb\n", ["a", "b"], id="lf-no-empty-last-line"),
        pytest.param("a\r\nb\rc", ["a", "b", "c"], id="crlf-and-bare-cr"),
        pytest.param("a\n\nb", ["a", "", "b"], id="blank-line-kept"),
        pytest.param("a\x85b\u2028c\x0bd", ["a\x85b\u2028c\x0bd"], id="no-other-line-ends"),
        pytest.param("", [], id="empty"),
    ],
)
def test_lines_end_only_at_cr_lf_crlf(text: str, lines: list[str]) -> None:
    assert read_lines(text) == lines


# -- masks (ActionCommandManager.AddMaskCommandExtension, SecretMasker) ------------------------


def test_add_mask_hides_later_lines_and_is_not_shown() -> None:
    step = read_step("::add-mask::hunter2\nthe password is hunter2!\n")

    assert step.log == ["the password is ***!"]
    assert step.masks == {"hunter2"}


def test_mask_applies_only_to_lines_after_it() -> None:
    step = read_step("early hunter2\n::add-mask::hunter2\nlate hunter2\n")

    assert step.log == ["early hunter2", "late ***"]


def test_multi_line_mask_registers_the_whole_value_and_each_trimmed_line() -> None:
    step = read_step("::add-mask::first%0A  second  %0D%0A\n")

    assert step.masks == {"first\n  second  \r\n", "first", "second"}


def test_blank_mask_is_a_warning() -> None:
    step = read_step("::add-mask::   \n")

    assert [a.kind for a in step.annotations] == ["warning"]
    assert step.masks == frozenset()


def test_masker_merges_overlapping_values() -> None:
    masker = SecretMasker()
    masker.add_value("abcd")
    masker.add_value("cdef")

    assert masker.mask("xabcdefy abcd") == "x***y ***"


def test_masker_hides_encoded_forms() -> None:
    # HostContext registers ValueEncoders: base64 at three alignments, JSON, URI, XML, ...
    masker = SecretMasker()
    masker.add_value('p@ss "w/rd"')
    encoded = [
        base64.b64encode(b'p@ss "w/rd"').decode(),
        'p@ss \\"w/rd\\"',
        "p%40ss%20%22w%2Frd%22",
        "p@ss &quot;w/rd&quot;",
    ]

    assert [masker.mask(value) for value in encoded] == ["***"] * 4


# -- stop-commands (ActionCommandManager.TryProcessCommand) ------------------------------------


def test_mask_inside_a_stopped_window_registers_nothing_and_shows_the_value() -> None:
    step = read_step(
        f"::stop-commands::{TOKEN}\n::add-mask::hunter2\n::{TOKEN}::\nthe password is hunter2\n"
    )

    assert step.masks == {TOKEN}  # the stop token itself is masked, the secret is not
    assert step.log == [
        "::stop-commands::***",
        "::add-mask::hunter2",
        "::***::",
        "the password is hunter2",
    ]


def test_commands_inside_a_window_are_shown_verbatim() -> None:
    step = read_step(
        f"::stop-commands::{TOKEN}\n::error::fake\n##[warning]fake\n::set-output name=a::b\n"
        f"::{TOKEN}::\n::error::real\n"
    )

    assert step.log[1:4] == ["::error::fake", "##[warning]fake", "::set-output name=a::b"]
    assert [(a.kind, a.message) for a in step.annotations] == [("error", "real")]
    assert step.outputs == {}


def test_window_ends_with_the_legacy_form_too_in_any_case() -> None:
    step = read_step(f"::stop-commands::{TOKEN}\nx ##[{TOKEN.upper()}]\n::error::after\n")

    assert [a.message for a in step.annotations] == ["after"]


def test_short_stop_token_is_not_masked() -> None:
    step = read_step("::stop-commands::abcdef\n::abcdef::\n")

    assert step.log == ["::stop-commands::abcdef", "::abcdef::"]


@pytest.mark.parametrize("token", ["", "add-mask", "pause-logging"])
def test_invalid_stop_token_fails_the_step(token: str) -> None:
    with pytest.raises(RunnerRefused):
        read_step(f"::stop-commands::{token}\n")


# -- parsing (ActionCommand.TryParseV2 and TryParse) -------------------------------------------


def test_v2_command_after_leading_whitespace() -> None:
    step = read_step("   ::warning title=A%3A b%2C c::50%25 done\n")

    assert step.annotations[0].properties == {"title": "A: b, c"}
    assert step.log == ["##[warning]50% done"]


def test_leading_whitespace_is_what_dotnet_trims() -> None:
    step = read_step("\u3000\t::error::trimmed\n\x1c::error::kept\n")

    assert [a.message for a in step.annotations] == ["trimmed"]
    assert step.log == ["##[error]trimmed", "\x1c::error::kept"]


def test_legacy_command_is_found_anywhere_in_a_line() -> None:
    step = read_step("#5 0.3 building ##[error]fake failure\n")

    assert [(a.kind, a.message) for a in step.annotations] == [("error", "fake failure")]


def test_legacy_add_mask_anywhere_registers() -> None:
    step = read_step("noise ##[add-mask]hunter2\nhunter2\n")

    assert step.log == ["***"]


def test_unknown_commands_are_plain_text() -> None:
    step = read_step("::nope::x\n##[nope]x\n:: not a command\n")

    assert step.log == ["::nope::x", "##[nope]x", ":: not a command"]


def test_group_and_debug_rendering() -> None:
    assert read_step("::group::Build%0A\n::debug::hidden\n::endgroup::\n").log == [
        "##[group]Build\n",
        "##[endgroup]",
    ]
    assert read_step("::debug::shown\n", debug=True).log == ["##[debug]shown"]


def test_set_env_on_stdout_fails() -> None:
    step = read_step("::set-env name=A::b\n")

    assert [a.kind for a in step.annotations] == ["error"]


# -- files (FileCommandManager) ----------------------------------------------------------------


def test_output_file_is_split_on_lf_only() -> None:
    text = "a=1\rb=2\nc<<EOF\nline 1\r\nline 2\nEOF\n"

    assert parse_env_file(text) == {"a": "1\rb=2", "c": "line 1\r\nline 2"}


def test_output_heredoc_without_its_delimiter_fails() -> None:
    with pytest.raises(RunnerRefused, match="delimiter not found"):
        parse_env_file("c<<EOF\nvalue\n")


def test_output_heredoc_delimiter_must_end_with_a_newline_before_eof() -> None:
    with pytest.raises(RunnerRefused, match="EOF marker"):
        parse_env_file("c<<EOF\nvalue")


def test_summary_is_masked_line_by_line() -> None:
    step = read_step("::add-mask::hunter2\n", summary=b"| pw | hunter2 |\r\nok")

    assert step.summary == "| pw | *** |\nok\n"


def test_summary_of_exactly_one_mib_is_kept() -> None:
    shown, error = show_summary(b"x" * SUMMARY_LIMIT, SecretMasker())

    assert error is None
    assert shown is not None


def test_summary_over_one_mib_is_dropped_with_an_error() -> None:
    step = read_step("", summary=b"x" * (SUMMARY_LIMIT + 1))

    assert step.summary is None
    assert step.annotations[0].kind == "error"
    assert "supports content up to a size of 1024k, got 1024k" in step.annotations[0].message
