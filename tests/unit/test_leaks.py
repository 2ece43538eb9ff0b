"""The leak check every integration and end-to-end step goes through (tests/leaks.py)."""

from __future__ import annotations

import pytest

from tests.leaks import assert_nothing_leaked, secure_inputs

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9jdG8ifQ.c2lnbmF0dXJl"


def test_secure_inputs_are_the_values_long_enough_to_look_for() -> None:
    inputs = {"secure-environment-variables": "API_KEY=k3y-v4lue-1\nSHORT=abc\nEMPTY=\n"}
    assert secure_inputs(inputs) == {"k3y-v4lue-1"}
    assert secure_inputs({}) == set()


def test_a_clean_step_passes() -> None:
    assert_nothing_leaked("Deployed https://app.example\n", {"k3y-v4lue-1"}, "the log")


@pytest.mark.parametrize(
    ("shown", "message"),
    [
        pytest.param("value: k3y-v4lue-1", "1 secret value(s) appear in the log", id="secret"),
        pytest.param(f"token {TOKEN}", "a token (JWT) appears in the log", id="jwt"),
    ],
)
def test_a_secret_or_a_token_fails_the_step_without_showing_it(shown: str, message: str) -> None:
    with pytest.raises(AssertionError) as info:
        assert_nothing_leaked(shown, {"k3y-v4lue-1"}, "the log")
    assert message in str(info.value)
    assert "k3y-v4lue-1" not in str(info.value)  # the failure names no secret
