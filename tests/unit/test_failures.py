"""One map from another service's failure to ours: every dependency, every kind of failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from acr_action import failures
from acr_action.errors import (
    AzureCallFailed,
    DependencyUnavailable,
    GitHubCallFailed,
    KeyVaultForbidden,
)
from acr_action.failures import DEPENDENCIES, KEY_VAULT, Dependency, translate, unavailable
from acr_action.retry import RETRY_STATUSES


def answer(status: int, body: object = None, text: str = "") -> requests.Response:
    """A real `requests` answer with `status` and a JSON (or text) body."""
    response = requests.Response()
    response.status_code = status
    response._content = (json.dumps(body) if body is not None else text).encode()
    return response


def sdk_error(status: int, code: str = "Boom", message: str = "it broke") -> HttpResponseError:
    """An azure-core `HttpResponseError` as an SDK client raises it for `status`."""
    error = HttpResponseError(message=message)
    error.status_code = status
    error.error = type("ODataV4Format", (), {"code": code, "message": message})()
    return error


@pytest.mark.parametrize("dependency", DEPENDENCIES, ids=lambda d: d.name)
@pytest.mark.parametrize(
    ("outcome", "last"),
    [
        pytest.param(requests.ConnectionError("reset"), "ConnectionError", id="requests-dropped"),
        pytest.param(requests.ReadTimeout("slow"), "ReadTimeout", id="requests-timeout"),
        pytest.param(ServiceRequestError("no route"), "ServiceRequestError", id="sdk-unsent"),
        pytest.param(ServiceResponseError("reset"), "ServiceResponseError", id="sdk-no-answer"),
        *(pytest.param(answer(s), f"HTTP {s}", id=f"answer-{s}") for s in sorted(RETRY_STATUSES)),
        *(pytest.param(sdk_error(s), f"HTTP {s}", id=f"sdk-{s}") for s in (429, 503)),
    ],
)
def test_transient_failures_of_every_dependency_read_the_same(
    dependency: Dependency, outcome: object, last: str
) -> None:
    error = translate(dependency, outcome)

    assert isinstance(error, DependencyUnavailable)
    assert error.dependency == dependency.name
    assert error.last == last
    assert dependency.check in error.render()


def test_every_dependency_says_what_to_check() -> None:
    names = [d.name for d in DEPENDENCIES]
    assert len(set(names)) == len(names)
    for dependency in DEPENDENCIES:
        assert dependency.check
        assert "<" not in dependency.name
        assert "<" not in dependency.check, "a check names real things, never a placeholder"


def test_where_names_the_endpoint() -> None:
    error = unavailable(KEY_VAULT, answer(503), where="https://kv.vault.azure.net")
    assert error is not None
    assert error.last == "HTTP 503 from https://kv.vault.azure.net"


@pytest.mark.parametrize(
    "outcome",
    [
        pytest.param(answer(400, {"error": {"code": "Bad", "message": "no"}}), id="answer"),
        pytest.param(sdk_error(400), id="sdk"),
        pytest.param(ClientAuthenticationError(message="AADSTS70021: no"), id="refusal"),
    ],
)
def test_a_final_answer_is_not_unavailable(outcome: object) -> None:
    assert unavailable(KEY_VAULT, outcome) is None


def test_a_final_azure_answer_becomes_the_call_failure_with_its_code() -> None:
    error = translate(failures.ARM_REGISTRY, sdk_error(400, "InvalidThing", "bad thing"))

    assert isinstance(error, AzureCallFailed)
    assert (error.status, error.code, error.message) == (400, "InvalidThing", "bad thing")
    assert error.dependency == failures.ARM_REGISTRY.name


def test_a_final_github_answer_becomes_a_github_call_failure() -> None:
    error = translate(failures.GITHUB_API, answer(404, {"message": "Not Found"}), where="GET #7")

    assert isinstance(error, GitHubCallFailed)
    assert (error.what, error.status, error.message) == ("GET #7", 404, "Not Found")


def test_the_callers_explanation_wins_over_the_generic_error() -> None:
    def forbidden(exc: HttpResponseError) -> KeyVaultForbidden | None:
        return KeyVaultForbidden("kv", "app-id") if exc.status_code == 403 else None

    assert isinstance(translate(KEY_VAULT, sdk_error(403), explain=forbidden), KeyVaultForbidden)
    assert isinstance(translate(KEY_VAULT, sdk_error(409), explain=forbidden), AzureCallFailed)
    # A transient failure is never explained away: the retries are spent.
    down = translate(KEY_VAULT, sdk_error(503), explain=forbidden)
    assert isinstance(down, DependencyUnavailable)


def test_at_names_one_target() -> None:
    one = failures.REGISTRY.at(name="the registry r.azurecr.io", check="r.azurecr.io answers")
    assert (one.name, one.check, one.kind) == (
        "the registry r.azurecr.io",
        "r.azurecr.io answers",
        "azure",
    )


def test_only_the_failures_module_decides_that_a_dependency_is_down() -> None:
    """Like httpx's check that every transport exception is mapped: no module goes around it."""
    package = Path(failures.__file__).parent
    allowed = {
        "DependencyUnavailable(": {"failures.py", "errors.py"},
        "in RETRY_STATUSES": {"failures.py", "retry.py", "deploy.py"},  # deploy: the app's probe
    }
    for module in sorted(package.glob("*.py")):
        text = module.read_text(encoding="utf-8")
        for needle, where in allowed.items():
            assert needle not in text or module.name in where, f"{module.name}: {needle}"
