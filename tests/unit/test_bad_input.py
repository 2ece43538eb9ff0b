"""Bad input through `main(env)`, as the runner calls it: one table, one rule for every case.

Each case: exit 1 before any network call; the error names exactly the expected input; it shows
the bad value (unless secret, or unsafe to echo, or there is no single value: a conflict); it
gives a correct example; and nothing a user typed, nor the event payload (branch names, pull
request titles), reaches stdout as a workflow command. `tests/unit/test_inputs.py` covers the
same rules at the `parse_inputs` level; this is the end-to-end view a user gets.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from acr_action import __main__ as entry
from acr_action.errors import display_value
from acr_action.inputs_table import SPECS
from tests.unit.support import CLIENT_ID, CREDS, SECRET, SUBSCRIPTION_ID, TENANT_ID, runner_env

# How the bad value must appear.
SECRET_VALUE = "secret"  # never shown (the case's `secret` must not appear anywhere)
DESCRIBED = "described"  # unsafe to echo (line breaks, `::`, control characters): described
NO_VALUE = "no value"  # a conflict or a duplicate: there is no one value to show

EVIL = "evil.example"  # in every injection payload: must never be printed raw


@dataclass(frozen=True)
class Case:
    """One bad input (or several, naming the same input) and how its error must read."""

    named: str
    inputs: dict[str, str]
    shown: str  # the raw bad value, or SECRET_VALUE / DESCRIBED / NO_VALUE
    secret: str | None = None
    github: dict[str, str] = field(default_factory=dict)  # GITHUB_* overrides
    event: dict[str, Any] | None = None  # the event payload, when it matters
    hostile: tuple[str, ...] = ()  # text that must not be printed raw on stdout
    example: str | None = None  # the example's first line, when not the named input's own


def bad(case_id: str, named: str, inputs: dict[str, str], shown: str, **more: Any) -> Any:
    return pytest.param(Case(named, inputs, shown, **more), id=case_id)


def value(case_id: str, named: str, text: str, **more: Any) -> Any:
    """The common case: one input with one bad value, shown as it was given."""
    return bad(case_id, named, {named: text}, text, **more)


HOSTILE_PR = {
    "action": "opened",
    "number": 7,
    "pull_request": {
        "number": 7,
        "state": "open",
        "title": f"Fix\n::set-output name=url::https://{EVIL}\r\n::add-mask::Fix",
        "body": f"%0A::error::{EVIL}",
        "head": {
            "sha": "b28b7af69320201d1cf206ebf28373980add1451",
            "ref": f"feature/::set-env name=PATH::{EVIL}",
            "repo": {"full_name": "octo-org/My-App", "fork": False},
        },
        "base": {"ref": "main", "repo": {"full_name": "octo-org/My-App"}},
    },
    "repository": {"full_name": "octo-org/My-App"},
}
PR_GITHUB = {
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_REF": "refs/pull/7/merge",
    "GITHUB_REF_NAME": "7/merge",
    "GITHUB_HEAD_REF": f"feature/::set-env name=PATH::{EVIL}",
}

CASES = [
    # --- names that break Azure's rules
    value("group-name-upper-case", "name", "My_App"),
    value("group-name-too-long", "name", "a" * 64),
    value("group-name-double-hyphen", "name", "my--app"),
    value("group-name-leading-hyphen", "name", "-app"),
    value("group-name-dot", "name", "app.v2"),
    value("dns-label-too-short", "dns-name-label", "abcd"),
    value("dns-label-digit-first", "dns-name-label", "1abcde"),
    value("dns-label-underscore", "dns-name-label", "my_label"),
    value("registry-login-server", "registry", "myacr.azurecr.io"),
    value("registry-too-short", "registry", "acr"),
    value("registry-hyphen", "registry", "my-acr"),
    value("registry-too-long", "registry", "a" * 51),
    value("registry-group-trailing-dot", "registry-resource-group", "shared-rg."),
    value("registry-group-slash", "registry-resource-group", "shared/rg"),
    value("registry-subscription-not-guid", "registry-subscription-id", "my-subscription"),
    value(
        "registry-id-of-a-vault",
        "registry",
        "/subscriptions/6d1f3b2a-4c5e-4f7a-9b8c-0d1e2f3a4b5c/resourceGroups/rg"
        "/providers/Microsoft.KeyVault/vaults/mycompanyacr",
    ),
    bad(
        "registry-id-and-group",
        "registry-resource-group",
        {
            "registry": "/subscriptions/6d1f3b2a-4c5e-4f7a-9b8c-0d1e2f3a4b5c/resourceGroups/rg"
            "/providers/Microsoft.ContainerRegistry/registries/mycompanyacr",
            "registry-resource-group": "other-rg",
        },
        NO_VALUE,
    ),
    bad(
        "registry-group-without-registry",
        "registry-resource-group",
        {"registry-resource-group": "shared-rg", "registry": "", "mode": "delete"},
        NO_VALUE,
    ),
    value("vault-too-short", "key-vault", "kv"),
    value("vault-double-hyphen", "key-vault", "my--vault"),
    value("vault-underscore", "key-vault", "my_vault"),
    value("vault-too-long", "key-vault", "a" * 25),
    value("vault-url-not-https", "key-vault", "http://my-vault.vault.azure.net"),
    value("secret-name-underscore", "registry-username-secret", "pull_usr"),
    value("secret-name-dot", "registry-password-secret", "pull.pwd"),
    bad(
        "secret-name-in-list-space",
        "secrets-from-key-vault",
        {"secrets-from-key-vault": "DATABASE_URL=database url"},
        "DATABASE_URL=database url",
    ),
    value("image-name-upper-case", "image-name", "MyApp"),
    value("image-name-empty-component", "image-name", "team//app"),
    value("image-name-trailing-dot", "image-name", "app."),
    value("tag-leading-dot", "tags", ".hidden"),
    value("tag-space", "tags", "has space"),
    value("tag-too-long", "tags", "x" * 129),
    value("tag-slash", "tags", "v1/2"),
    value("image-upper-case", "image", "Team/App:1"),
    value("image-two-tags", "image", "app:tag:tag"),
    value("image-short-digest", "image", "app@sha256:abc"),
    value("resource-group-trailing-dot", "resource-group", "rg."),
    value("resource-group-slash", "resource-group", "rg/1"),
    value("resource-group-too-long", "resource-group", "r" * 91),
    value("location-punctuation", "location", "west_europe!"),
    value("location-display-name-typo", "location", "West Europe!"),
    # --- numbers
    value("cpu-text", "cpu", "two"),
    value("cpu-zero", "cpu", "0"),
    value("cpu-above-4", "cpu", "5"),
    value("cpu-nan", "cpu", "nan"),
    value("cpu-negative", "cpu", "-1"),
    value("cpu-comma-decimal", "cpu", "0,5"),
    value("memory-text", "memory", "lots"),
    value("memory-below-0.1", "memory", "0.05"),
    value("memory-above-16", "memory", "32"),
    value("memory-not-in-tenths", "memory", "1.55"),
    value("memory-with-unit", "memory", "1.5GB"),
    value("port-zero", "ports", "0"),
    value("port-65536", "ports", "65536"),
    value("port-duplicate", "ports", "80, 443, 80"),
    value("port-zero-in-list", "ports", "80 0 443"),
    value("port-text", "ports", "http"),
    value("port-negative", "ports", "-1"),
    value("port-range", "ports", "80-90"),
    # --- KEY=VALUE lines
    bad(
        "env-line-without-equals",
        "environment-variables",
        {"environment-variables": "GREETING=hi\nNOEQUALS"},
        "NOEQUALS",
    ),
    bad(
        "env-name-hyphen",
        "environment-variables",
        {"environment-variables": "MY-VAR=x"},
        "MY-VAR=x",
    ),
    bad("env-name-digit-first", "environment-variables", {"environment-variables": "1A=x"}, "1A=x"),
    bad("env-name-twice", "environment-variables", {"environment-variables": "A=1\nA=2"}, "A=2"),
    bad(
        "build-arg-without-equals", "build-args", {"build-args": "PYTHON_VERSION"}, "PYTHON_VERSION"
    ),
    bad("build-arg-name-space", "build-args", {"build-args": "BAD ARG=1"}, "BAD ARG=1"),
    bad("label-key-leading-hyphen", "labels", {"labels": "-team=web"}, "-team=web"),
    bad("label-without-equals", "labels", {"labels": "team"}, "team"),
    bad("resource-tag-name-slash", "resource-tags", {"resource-tags": "team/web=1"}, "team/web=1"),
    bad(
        "secure-line-without-equals",
        "secure-environment-variables",
        {"secure-environment-variables": f"API_KEY {SECRET}"},
        SECRET_VALUE,
        secret=SECRET,
    ),
    # --- choices
    value("mode-unknown", "mode", "ship"),
    value("environment-unknown", "environment", "AzureMoon"),
    value("restart-policy-unknown", "restart-policy", "Sometimes"),
    value("os-type-unknown", "os-type", "Plan9"),
    value("protocol-unknown", "protocol", "SCTP"),
    value("on-immutable-change-unknown", "on-immutable-change", "ignore"),
    value("wait-not-boolean", "wait", "yes"),
    value("network-unknown", "network", "bridge"),
    value("platform-not-a-platform", "platform", "amd64"),
    value("target-digit-first", "target", "1stage"),
    value("health-path-without-slash", "health-check-path", "healthz"),
    value("endpoint-not-https", "resource-manager-endpoint", "http://management.local"),
    # --- auth
    bad(
        "client-id-not-guid",
        "client-id",
        {"client-id": "my-app", "tenant-id": TENANT_ID, "subscription-id": SUBSCRIPTION_ID},
        "my-app",
    ),
    bad(
        "subscription-id-not-guid",
        "subscription-id",
        {"client-id": CLIENT_ID, "tenant-id": TENANT_ID, "subscription-id": "prod"},
        "prod",
    ),
    bad("creds-bad-json", "creds", {"creds": CREDS[:-1]}, SECRET_VALUE, secret=SECRET),
    bad(
        "creds-not-an-object", "creds", {"creds": json.dumps([SECRET])}, SECRET_VALUE, secret=SECRET
    ),
    bad(
        "creds-missing-keys",
        "creds",
        {"creds": json.dumps({"clientId": CLIENT_ID, "clientSecret": SECRET})},
        SECRET_VALUE,
        secret=SECRET,
    ),
    bad(
        "creds-with-client-id",
        "creds",
        {"creds": CREDS, "client-id": CLIENT_ID},
        SECRET_VALUE,
        secret=SECRET,
        example="client-id: ${{ vars.AZURE_CLIENT_ID }}",
    ),
    # --- conflicts
    bad(
        "image-with-build-args",
        "build-args",
        {"image": "nginx:1.27", "build-args": "A=1"},
        NO_VALUE,
        example=SPECS["image"].example,
    ),
    bad(
        "image-with-dockerfile",
        "dockerfile",
        {"image": "nginx:1.27", "dockerfile": "Dockerfile"},
        NO_VALUE,
        example=SPECS["image"].example,
    ),
    bad("build-mode-with-image", "image", {"mode": "build", "image": "nginx:1.27"}, NO_VALUE),
    bad(
        "key-vault-with-registry-password",
        "registry-password",
        {"registry-password": SECRET},
        SECRET_VALUE,
        secret=SECRET,
        example=SPECS["key-vault"].example,
    ),
    bad(
        "salt-with-dns-label",
        "dns-label-salt",
        {"dns-name-label": "my-app-label", "dns-label-salt": SECRET},
        SECRET_VALUE,
        secret=SECRET,
    ),
    bad(
        "github-token-without-comment",
        "github-token",
        {"github-token": SECRET},
        SECRET_VALUE,
        secret=SECRET,
    ),
    # --- timeouts
    value("timeout-text", "timeout", "soon"),
    value("timeout-zero", "timeout", "0"),
    value("timeout-negative", "timeout", "-5m"),
    value("timeout-words", "timeout", "10 minutes"),
    value("timeout-minutes-without-unit-after", "timeout", "1h30"),
    value("timeout-exponent", "timeout", "1e3"),
    # --- workflow-command injection through inputs
    bad(
        "newline-then-set-output",
        "name",
        {"name": f"app\n::set-output name=fqdn::{EVIL}"},
        DESCRIBED,
        hostile=(f"::set-output name=fqdn::{EVIL}",),
    ),
    bad(
        "set-output-command",
        "target",
        {"target": f"::set-output name=url::https://{EVIL}"},
        DESCRIBED,
        hostile=(EVIL,),
    ),
    bad(
        "add-mask-in-a-list",
        "tags",
        {"tags": "v1\n::add-mask::v1"},
        DESCRIBED,
        hostile=("::add-mask::v1",),
    ),
    bad(
        "percent-encoded-newline-and-command",
        "image-name",
        {"image-name": f"app%0A::set-output name=url::{EVIL}"},
        DESCRIBED,
        hostile=(EVIL,),
    ),
    bad(
        "percent-encoded-newline-shown-escaped",
        "image-name",
        {"image-name": "app%0Aevil"},
        "app%0Aevil",
        hostile=("app%0Aevil",),  # raw in stdout, the runner would decode %0A to a line break
    ),
    bad(
        "crlf-then-add-mask",
        "location",
        {"location": "westeurope\r\n::add-mask::westeurope"},
        DESCRIBED,
        hostile=("::add-mask::westeurope",),
    ),
    bad(
        "carriage-return-then-error",
        "dockerfile",
        {"dockerfile": f"Dockerfile\r::error::{EVIL}"},
        DESCRIBED,
        hostile=(EVIL,),
    ),
    bad("ansi-escape", "context", {"context": "./app\x1b[2J"}, DESCRIBED, hostile=("\x1b",)),
    bad(
        "command-as-env-line",
        "environment-variables",
        {"environment-variables": f"A=1\n::set-output name=x::{EVIL}"},
        DESCRIBED,
        hostile=(EVIL,),
    ),
    pytest.param(
        Case(
            "build-args", {"build-args": f"::stop-commands::{EVIL}=1"}, DESCRIBED, hostile=(EVIL,)
        ),
        id="stop-commands-as-build-arg",
    ),
    bad(
        "warning-command-as-label",
        "labels",
        {"labels": f"::warning file=x::{EVIL}=1"},
        DESCRIBED,
        hostile=(EVIL,),
    ),
    value("legacy-command-prefix", "tags", "##[set-output name=url;]evil"),
    bad(
        "newline-in-mode",
        "mode",
        {"mode": "deploy\n::set-output name=state::Running"},
        DESCRIBED,
        hostile=("::set-output name=state",),
    ),
    bad(
        "command-in-timeout",
        "timeout",
        {"timeout": f"10m%0A::add-mask::{EVIL}"},
        DESCRIBED,
        hostile=(EVIL,),
    ),
    bad(
        "command-in-secret",
        "registry-password",
        {
            "registry-password": f"{SECRET}\n::set-output name=x::{EVIL}",
            "registry-username": "u",
            "key-vault": "",
        },
        SECRET_VALUE,
        secret=SECRET,
    ),
    # --- workflow-command injection through the event payload (with one bad input)
    bad(
        "hostile-branch-name-on-push",
        "cpu",
        {"cpu": "lots"},
        "lots",
        github={
            "GITHUB_REF": f"refs/heads/x%0A::set-output name=url::{EVIL}",
            "GITHUB_REF_NAME": f"x%0A::set-output name=url::{EVIL}",
        },
        hostile=(EVIL,),
    ),
    bad(
        "hostile-pr-title-and-branch",
        "ports",
        {"ports": "0"},
        "0",
        github=PR_GITHUB,
        event=HOSTILE_PR,
        hostile=(EVIL, "::add-mask::Fix"),
    ),
    bad(
        "hostile-pr-with-bad-mode",
        "mode",
        {"mode": "ship"},
        "ship",
        github=PR_GITHUB,
        event=HOSTILE_PR,
        hostile=(EVIL,),
    ),
]

# The runner's command prefixes: a line starting with one is a workflow command.
COMMAND = re.compile(r"^\s*(::|##\[)")


def unescape(text: str) -> str:
    """A workflow command's data or property, as the runner reads it."""
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


def environment(case: Case, tmp_path: Path) -> dict[str, str]:
    env = runner_env(case.inputs)
    env.update(case.github)
    for name in ("output", "summary"):
        (tmp_path / name).touch()
    env["GITHUB_OUTPUT"] = str(tmp_path / "output")
    env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "summary")
    if case.event is not None:
        (tmp_path / "event.json").write_text(json.dumps(case.event), encoding="utf-8")
        env["GITHUB_EVENT_PATH"] = str(tmp_path / "event.json")
    # Blank inputs in the case mean "not given", as when a `with:` line is left out.
    return {k: v for k, v in env.items() if not (k.startswith("INPUT_") and not v.strip())}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_clearly_before_any_network_call(case: Case, tmp_path: Path) -> None:
    out = io.StringIO()
    code = entry.main(environment(case, tmp_path), out=out)

    stdout = out.getvalue()
    summary = (tmp_path / "summary").read_text(encoding="utf-8")
    assert code == 1, stdout
    # stdout: the masks, then exactly one error; no other line could be a command.
    lines = stdout.splitlines()
    masks = [line for line in lines if line.startswith("::add-mask::")]
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 1, stdout
    assert len(masks) + len(errors) == len(lines), stdout
    head, _, data = errors[0].partition("::")[2].partition("::")
    title = unescape(head.removeprefix("error title="))
    message = unescape(data)
    # Exactly the expected input is named.
    named = title.split(" in ", 1)[1].split(", ")
    assert named == [case.named], title
    assert f"- `{case.named}`:" in message
    assert not any(COMMAND.match(line) for line in message.splitlines()), message
    assert "Nothing was sent to Azure" in message
    # A correct example for it, in the annotation and in the summary.
    example = case.example or SPECS[case.named].example.splitlines()[0]
    assert example in message
    assert example in summary
    # The bad value: shown, described or (a secret, a conflict) left out.
    if case.shown == DESCRIBED:
        assert "not shown" in message or "single line" in message, message
    elif case.shown not in (SECRET_VALUE, NO_VALUE):
        assert f"got `{display_value(case.shown)}`" in message, message
    shown = "\n".join(line for line in lines if not line.startswith("::add-mask::"))
    for text in case.hostile:
        assert text not in shown
    if case.secret:
        assert case.secret not in shown
        assert case.secret not in summary
    assert (tmp_path / "output").read_text(encoding="utf-8") == ""


def test_the_table_is_big_enough_and_names_many_inputs() -> None:
    cases = [param.values[0] for param in CASES]
    assert len(cases) >= 50
    assert len({case.named for case in cases}) >= 30
