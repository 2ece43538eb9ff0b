"""Input parsing and validation: every problem named, shown safely, and reported at once."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import itertools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from acr_action.errors import InputError, InputProblem
from acr_action.github_context import GitHubContext, github_context
from acr_action.inputs import (
    Inputs,
    env_key,
    parse_inputs,
    secret_values,
)
from acr_action.inputs_rules import parse_duration
from acr_action.inputs_table import GROUPS, INPUTS, MODES, SPECS
from tests.unit.support import (
    CLIENT_ID,
    CREDS,
    GITHUB_PUSH,
    SECRET,
    SUBSCRIPTION_ID,
    TENANT_ID,
    make_env,
    runner_env,
)

ROOT = Path(__file__).resolve().parents[2]


def problems_of(env: Mapping[str, str]) -> list[InputProblem]:
    with pytest.raises(InputError) as info:
        parse_inputs(env)
    return list(info.value.problems)


def event_file(tmp_path: Path, payload: dict[str, Any]) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- happy paths


def test_minimal_push_to_main_uses_defaults() -> None:
    inputs = parse_inputs(make_env())
    assert inputs.mode == "deploy"
    assert inputs.resource_group == "my-app-rg"
    assert inputs.acr.name == "mycompanyacr"
    assert inputs.build.image_name == "my-app"
    assert inputs.build.tags == ("sha-0123456", "main")
    assert inputs.container.name == "my-app"
    assert re.fullmatch(r"my-app-[0-9a-f]{8}", inputs.container.dns_name_label)
    assert (
        inputs.container.cpu,
        inputs.container.memory,
        inputs.container.ports,
        inputs.container.protocol,
    ) == (1.0, 1.5, (80,), "TCP")
    assert (
        inputs.container.restart_policy,
        inputs.container.os_type,
        inputs.container.on_immutable_change,
    ) == (
        "Always",
        "Linux",
        "recreate",
    )
    assert (inputs.waiting.wait, inputs.waiting.timeout, inputs.waiting.health_check_path) == (
        True,
        600.0,
        "/",
    )
    assert (inputs.build.context, inputs.build.platform, inputs.auth.environment) == (
        ".",
        "linux/amd64",
        "AzureCloud",
    )
    assert inputs.auth.audience == "api://AzureADTokenExchange"
    assert inputs.auth.auth_mode == "ambient"
    assert inputs.github.repository == "octo-org/My-App"


def test_static_defaults_from_the_runner_give_the_same_result() -> None:
    assert parse_inputs(runner_env()) == parse_inputs(make_env())


def test_full_oidc_deploy() -> None:
    inputs = parse_inputs(
        make_env(
            {
                "client-id": CLIENT_ID,
                "tenant-id": TENANT_ID,
                "subscription-id": SUBSCRIPTION_ID,
                "environment": "azureusgovernment",
                "location": "West Europe",
                "tags": "latest, v1\nstable",
                "build-args": "PYTHON=3.11",
                "labels": "com.example.team=web",
                "network": "Host",
                "key-vault": "https://my-app-kv.vault.azure.net/",
                "secrets-from-key-vault": "DB_URL = database-url \nAPI_KEY=api-key",
                "cpu": "0.5",
                "memory": "2.5",
                "ports": "80 443,8080",
                "protocol": "udp",
                "restart-policy": "onfailure",
                "resource-tags": "team=web\ncost center=12",
                "wait": "False",
                "timeout": "1h30m",
                "health-check-path": "/healthz",
                "dns-label-salt": "pepper",
            }
        )
    )
    assert inputs.auth.auth_mode == "oidc"
    assert inputs.auth.effective_subscription_id == SUBSCRIPTION_ID
    assert inputs.auth.environment == "AzureUSGovernment"
    assert inputs.location == "westeurope"
    assert inputs.build.tags == ("latest", "v1", "stable")
    assert inputs.build.network == "host"
    assert inputs.secrets.registry_username_secret == "mycompanyacr-pull-usr"
    assert inputs.secrets.registry_password_secret == "mycompanyacr-pull-pwd"
    assert inputs.secrets.secrets_from_key_vault == (
        ("DB_URL", "database-url"),
        ("API_KEY", "api-key"),
    )
    assert inputs.container.ports == (80, 443, 8080)
    assert inputs.container.protocol == "UDP"
    assert inputs.container.restart_policy == "OnFailure"
    assert inputs.container.resource_tags == (("team", "web"), ("cost center", "12"))
    assert inputs.waiting.wait is False
    assert inputs.waiting.timeout == 5400
    assert inputs.waiting.health_check_path == "/healthz"
    assert inputs.container.dns_name_label != parse_inputs(make_env()).container.dns_name_label


def test_creds_sign_in() -> None:
    inputs = parse_inputs(make_env({"creds": CREDS}))
    assert inputs.auth.auth_mode == "creds"
    assert inputs.auth.creds is not None
    assert inputs.auth.creds.client_secret == SECRET
    assert inputs.auth.effective_subscription_id == SUBSCRIPTION_ID
    assert SECRET not in repr(inputs)


def test_key_vault_secret_names_can_be_overridden() -> None:
    inputs = parse_inputs(
        make_env({"key-vault": "my-app-kv", "registry-password-secret": "pull-password"})
    )
    assert inputs.secrets.registry_username_secret == "mycompanyacr-pull-usr"
    assert inputs.secrets.registry_password_secret == "pull-password"


def test_existing_image_needs_no_registry_and_builds_nothing() -> None:
    env = make_env({"image": "mcr.microsoft.com/azuredocs/aci-helloworld:latest", "registry": ""})
    inputs = parse_inputs(env)
    assert inputs.build.image == "mcr.microsoft.com/azuredocs/aci-helloworld:latest"
    assert inputs.build.image_name is None
    assert inputs.build.tags == ()
    assert inputs.container.name == "my-app"


@pytest.mark.parametrize(
    "image",
    [
        pytest.param("nginx", id="short-name"),
        pytest.param("localhost:5000/team/app:1.0", id="registry-with-port"),
        pytest.param("myacr.azurecr.io/app@sha256:" + "a" * 64, id="by-digest"),
        pytest.param("myacr.azurecr.io/app:v1@sha256:" + "b" * 64, id="tag-and-digest"),
    ],
)
def test_image_references(image: str) -> None:
    assert parse_inputs(make_env({"image": image})).build.image == image


def test_delete_mode_needs_neither_registry_nor_build_inputs() -> None:
    inputs = parse_inputs(make_env({"mode": "delete", "registry": ""}))
    assert inputs.mode == "delete"
    assert inputs.container.name == "my-app"
    assert inputs.build.image_name is None


def test_build_mode() -> None:
    inputs = parse_inputs(make_env({"mode": "Build", "image-name": "team/web"}))
    assert inputs.mode == "build"
    assert inputs.build.image_name == "team/web"


def test_health_check_can_be_turned_off_with_an_empty_value() -> None:
    assert parse_inputs(runner_env({"health-check-path": ""})).waiting.health_check_path is None
    assert parse_inputs(make_env()).waiting.health_check_path == "/"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("600", 600, id="plain-seconds"),
        pytest.param("90s", 90, id="seconds"),
        pytest.param("10m", 600, id="minutes"),
        pytest.param("1h30m", 5400, id="hours-minutes"),
        pytest.param("1h 30m 15s", 5415, id="with-spaces"),
        pytest.param("1.5m", 90, id="fractional"),
        pytest.param("2H", 7200, id="upper-case"),
        pytest.param("soon", None, id="text"),
        pytest.param("10 minutes", None, id="words"),
        pytest.param("", None, id="empty"),
        pytest.param("m", None, id="unit-only"),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


# --------------------------------------------------------------------------- KEY=VALUE and command lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("GREETING=hello world", (("GREETING", "hello world"),), id="spaces"),
        pytest.param("PADDED=  two  ", (("PADDED", "  two  "),), id="surrounding-spaces-kept"),
        pytest.param(
            "URL=postgres://db/app?a=1&b=2", (("URL", "postgres://db/app?a=1&b=2"),), id="equals"
        ),
        pytest.param("Q=\"double\" 'single'", (("Q", "\"double\" 'single'"),), id="quotes"),
        pytest.param(
            "COLOR=#ff0000 # not a comment", (("COLOR", "#ff0000 # not a comment"),), id="hash"
        ),
        pytest.param("EMPTY=", (("EMPTY", ""),), id="empty-value"),
        pytest.param("A=1\n\n   \nB=2\n", (("A", "1"), ("B", "2")), id="blank-lines"),
        pytest.param("A=1\r\nB=2\r\n", (("A", "1"), ("B", "2")), id="crlf"),
        pytest.param("# a comment\nA=1", (("A", "1"),), id="comment-line"),
        pytest.param("  A = 1", (("A", " 1"),), id="name-trimmed-value-kept"),
        pytest.param("_X9=a=b=c", (("_X9", "a=b=c"),), id="first-equals-splits"),
    ],
)
def test_key_value_lines(text: str, expected: tuple[tuple[str, str], ...]) -> None:
    inputs = parse_inputs(make_env({"environment-variables": text, "build-args": text}))
    assert inputs.container.environment_variables == expected
    assert inputs.build.build_args == expected


def test_secure_variables_parse_like_plain_ones() -> None:
    inputs = parse_inputs(make_env({"secure-environment-variables": f"TOKEN={SECRET} # x=y"}))
    assert inputs.container.secure_environment_variables == (("TOKEN", f"{SECRET} # x=y"),)
    assert SECRET not in repr(inputs)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("python -m app", ("python", "-m", "app"), id="shell-words"),
        pytest.param(
            "sh -c 'echo \"hi there\" && sleep 1'",
            ("sh", "-c", 'echo "hi there" && sleep 1'),
            id="shell-quotes",
        ),
        pytest.param("python\n  -m app", ("python", "-m", "app"), id="shell-multiline"),
        pytest.param('["python", "-c", "print(1)"]', ("python", "-c", "print(1)"), id="json-array"),
        pytest.param(' [ "a b" ] ', ("a b",), id="json-with-spaces"),
        pytest.param("[]", (), id="json-empty"),
        pytest.param(
            "perl -MFoo::Bar -e 1", ("perl", "-MFoo::Bar", "-e", "1"), id="double-colon-ok"
        ),
    ],
)
def test_command_line(text: str, words: tuple[str, ...]) -> None:
    assert parse_inputs(make_env({"command-line": text})).container.command_line == words


# --------------------------------------------------------------------------- defaults per event


def test_tag_push() -> None:
    github = {**GITHUB_PUSH, "GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_REF_NAME": "v1.2.3"}
    inputs = parse_inputs(make_env(github=github))
    assert inputs.build.tags == ("sha-0123456", "v1.2.3")
    assert inputs.container.name == "my-app"


def test_pull_request_from_the_same_repository(tmp_path: Path) -> None:
    payload = {
        "pull_request": {
            "number": 42,
            "head": {"repo": {"full_name": "octo-org/My-App", "fork": True}},
        }
    }
    github = {
        **GITHUB_PUSH,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_REF_NAME": "42/merge",
        "GITHUB_HEAD_REF": "feature/x",
        "GITHUB_EVENT_PATH": event_file(tmp_path, payload),
    }
    inputs = parse_inputs(make_env(github=github))
    assert inputs.build.tags == ("sha-0123456", "pr-42")
    assert inputs.container.name == "my-app-pr-42"
    assert inputs.container.dns_name_label.startswith("my-app-pr-42-")
    # `fork` is true because this repository is itself a fork; the head is still this repository.
    assert inputs.github.pr_head_repo_fork is False
    assert inputs.github.head_ref == "feature/x"


@pytest.mark.parametrize(
    "head",
    [
        pytest.param({"repo": {"full_name": "stranger/My-App", "fork": True}}, id="fork"),
        pytest.param({"repo": None}, id="deleted-fork"),
        pytest.param({"repo": {"fork": True}}, id="fork-flag-only"),
    ],
)
def test_pull_request_from_a_fork(tmp_path: Path, head: dict[str, Any]) -> None:
    payload = {"pull_request": {"number": 7, "head": head}}
    env = {
        **GITHUB_PUSH,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": event_file(tmp_path, payload),
    }
    context = github_context(env)
    assert context.pr_number == 7
    assert context.pr_head_repo_fork is True
    assert context.is_pull_request


def test_pull_request_number_from_ref_without_payload() -> None:
    env = {**GITHUB_PUSH, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/5/merge"}
    assert github_context(env).pr_number == 5


@pytest.mark.parametrize(
    "content",
    [pytest.param("{not json", id="broken-json"), pytest.param("[1, 2]", id="not-an-object")],
)
def test_unreadable_event_payload_is_ignored(tmp_path: Path, content: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(content, encoding="utf-8")
    context = github_context({**GITHUB_PUSH, "GITHUB_EVENT_PATH": str(path)})
    assert context.pr_number is None


def test_missing_event_file_is_ignored(tmp_path: Path) -> None:
    context = github_context({**GITHUB_PUSH, "GITHUB_EVENT_PATH": str(tmp_path / "absent.json")})
    assert context.repository == "octo-org/My-App"


def test_github_context_outside_actions() -> None:
    assert github_context({}) == GitHubContext()


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        pytest.param(
            "2026-11-27T09:30:00Z", dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC), id="utc"
        ),
        # The push payload writes the committer's offset (GitHub's webhook push example).
        pytest.param(
            "2013-07-06T03:05:29-07:00",
            dt.datetime(2013, 7, 6, 10, 5, 29, tzinfo=dt.UTC),
            id="offset",
        ),
        pytest.param("yesterday", None, id="not-a-time"),
        pytest.param(1700000000, None, id="not-a-string"),
    ],
)
def test_pushed_head_commit_time_is_read_with_the_context(
    tmp_path: Path, timestamp: object, expected: dt.datetime | None
) -> None:
    env = {
        **GITHUB_PUSH,
        "GITHUB_EVENT_PATH": event_file(tmp_path, {"head_commit": {"timestamp": timestamp}}),
    }
    assert github_context(env).head_commit_time == expected


def _imports_of(path: Path) -> set[str]:
    """The acr_action modules a module imports, at run time or for type checking alike."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and node.module == "acr_action":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("acr_action."):
            found.add((node.module or "").split(".")[1])
    return {name.split(".")[0] for name in found}


def test_no_two_modules_of_the_action_import_each_other() -> None:
    """naming and inputs used to (for GitHubContext); the context has its own module now."""
    imports = {path.stem: _imports_of(path) for path in (ROOT / "acr_action").glob("*.py")}
    pairs = {
        tuple(sorted((module, other)))
        for module, used in imports.items()
        for other in used
        if module in imports.get(other, set())
    }
    assert not pairs
    assert "inputs" not in imports["naming"]


def test_long_repository_name() -> None:
    repository = "octo-org/" + "An-Extremely-Long-Repository-Name-For-Testing-" * 3
    inputs = parse_inputs(make_env(github={**GITHUB_PUSH, "GITHUB_REPOSITORY": repository}))
    assert len(inputs.container.name) <= 63
    assert re.fullmatch(r"[a-z](?:-?[a-z0-9])*", inputs.container.name)
    assert len(inputs.container.dns_name_label) <= 63
    assert re.fullmatch(r"[a-z][a-z0-9-]{3,61}[a-z0-9]", inputs.container.dns_name_label)


def test_outside_actions_needs_image_name_and_tags() -> None:
    found = problems_of(make_env(github={}))
    assert {p.input for p in found} == {"image-name", "tags"}
    inputs = parse_inputs(make_env({"image-name": "team/web", "tags": "dev"}, github={}))
    assert inputs.container.name == "web"
    assert inputs.build.tags == ("dev",)


def test_outside_actions_deploying_an_image_derives_the_name_from_it() -> None:
    env = make_env({"image": "myacr.azurecr.io/team/api:1.0", "registry": ""}, github={})
    assert parse_inputs(env).container.name == "api"


# --------------------------------------------------------------------------- validation errors

NOT_SHOWN = object()

INVALID = [
    # required
    pytest.param({"resource-group": ""}, "resource-group", None, id="resource-group-missing"),
    pytest.param({"registry": ""}, "registry", None, id="registry-missing"),
    pytest.param({"mode": "build", "registry": ""}, "registry", None, id="registry-missing-build"),
    # names
    pytest.param(
        {"resource-group": "rg."}, "resource-group", "rg.", id="resource-group-trailing-dot"
    ),
    pytest.param({"resource-group": "rg/1"}, "resource-group", "rg/1", id="resource-group-slash"),
    pytest.param(
        {"resource-group": "r" * 91}, "resource-group", "r" * 91, id="resource-group-too-long"
    ),
    pytest.param({"registry": "acr"}, "registry", "acr", id="registry-too-short"),
    pytest.param({"registry": "my-acr"}, "registry", "my-acr", id="registry-hyphen"),
    pytest.param(
        {"registry": "myacr.azurecr.io"}, "registry", "myacr.azurecr.io", id="registry-login-server"
    ),
    pytest.param({"name": "My_App"}, "name", "My_App", id="name-upper-case"),
    pytest.param({"name": "-app"}, "name", "-app", id="name-leading-hyphen"),
    pytest.param({"name": "app-"}, "name", "app-", id="name-trailing-hyphen"),
    pytest.param({"name": "my--app"}, "name", "my--app", id="name-double-hyphen"),
    pytest.param({"name": "a" * 64}, "name", "a" * 64, id="name-too-long"),
    pytest.param({"dns-name-label": "abcd"}, "dns-name-label", "abcd", id="dns-label-too-short"),
    pytest.param(
        {"dns-name-label": "1abcde"}, "dns-name-label", "1abcde", id="dns-label-digit-first"
    ),
    pytest.param(
        {"dns-name-label": "abcde-"}, "dns-name-label", "abcde-", id="dns-label-hyphen-last"
    ),
    pytest.param({"dns-name-label": "Abcde"}, "dns-name-label", "Abcde", id="dns-label-upper-case"),
    pytest.param({"dns-name-label": "a" * 64}, "dns-name-label", "a" * 64, id="dns-label-too-long"),
    pytest.param({"image-name": "MyApp"}, "image-name", "MyApp", id="image-name-upper-case"),
    pytest.param(
        {"image-name": "team//app"}, "image-name", "team//app", id="image-name-empty-part"
    ),
    pytest.param({"image-name": "app."}, "image-name", "app.", id="image-name-trailing-dot"),
    pytest.param({"tags": "ok, .hidden"}, "tags", ".hidden", id="tag-leading-dot"),
    pytest.param({"tags": "has space"}, "tags", "has space", id="tag-space"),
    pytest.param({"tags": "x" * 129}, "tags", "x" * 129, id="tag-too-long"),
    pytest.param({"image": "Team/App:1"}, "image", "Team/App:1", id="image-upper-case"),
    pytest.param({"image": "app:tag:tag"}, "image", "app:tag:tag", id="image-two-tags"),
    pytest.param({"location": "west_europe!"}, "location", "west_europe!", id="location-invalid"),
    pytest.param(
        {"location": "West Europe!"}, "location", "West Europe!", id="location-shown-as-written"
    ),
    pytest.param({"key-vault": "kv"}, "key-vault", "kv", id="key-vault-too-short"),
    pytest.param(
        {"key-vault": "my--vault"}, "key-vault", "my--vault", id="key-vault-double-hyphen"
    ),
    pytest.param(
        {"key-vault": "http://kv.vault.azure.net"},
        "key-vault",
        "http://kv.vault.azure.net",
        id="key-vault-http",
    ),
    pytest.param(
        {"key-vault": "my-app-kv", "registry-username-secret": "bad_name"},
        "registry-username-secret",
        "bad_name",
        id="username-secret-name",
    ),
    pytest.param(
        {"key-vault": "my-app-kv", "registry-password-secret": "bad.name"},
        "registry-password-secret",
        "bad.name",
        id="password-secret-name",
    ),
    pytest.param(
        {"key-vault": "my-app-kv", "secrets-from-key-vault": "DB=bad name"},
        "secrets-from-key-vault",
        "DB=bad name",
        id="secret-name-in-list",
    ),
    pytest.param(
        {"key-vault": "my-app-kv", "build-secrets-from-key-vault": "npm=bad name"},
        "build-secrets-from-key-vault",
        "npm=bad name",
        id="build-secret-name-in-list",
    ),
    pytest.param(
        {"build-secrets-from-key-vault": "npm=npm-token", "mode": "build", "key-vault": ""},
        "build-secrets-from-key-vault",
        None,
        id="build-secrets-from-vault-without-vault",
    ),
    pytest.param(
        {
            "key-vault": "my-app-kv",
            "build-secrets": "npm=abc",
            "build-secrets-from-key-vault": "npm=npm-token",
        },
        "build-secrets-from-key-vault",
        "npm=npm-token",
        id="build-secret-id-in-two-inputs",
    ),
    pytest.param({"target": "1stage"}, "target", "1stage", id="target-invalid"),
    pytest.param({"platform": "amd64"}, "platform", "amd64", id="platform-invalid"),
    pytest.param({"os-type": "Windows"}, "platform", "linux/amd64", id="platform-os-mismatch"),
    pytest.param({"network": "bridge"}, "network", "bridge", id="network-unknown"),
    pytest.param(
        {"health-check-path": "healthz"}, "health-check-path", "healthz", id="health-path-no-slash"
    ),
    pytest.param(
        {"resource-manager-endpoint": "http://management.local"},
        "resource-manager-endpoint",
        "http://management.local",
        id="endpoint-not-https",
    ),
    # auth
    pytest.param(
        {"client-id": "my-app", "tenant-id": TENANT_ID, "subscription-id": SUBSCRIPTION_ID},
        "client-id",
        "my-app",
        id="client-id-not-guid",
    ),
    pytest.param(
        {"client-id": CLIENT_ID, "tenant-id": "not a tenant", "subscription-id": SUBSCRIPTION_ID},
        "tenant-id",
        "not a tenant",
        id="tenant-id-invalid",
    ),
    pytest.param(
        {"client-id": CLIENT_ID, "tenant-id": TENANT_ID, "subscription-id": "sub"},
        "subscription-id",
        "sub",
        id="subscription-id-not-guid",
    ),
    pytest.param({"client-id": CLIENT_ID}, "tenant-id", None, id="oidc-incomplete"),
    pytest.param({"creds": "{not json"}, "creds", None, id="creds-bad-json"),
    pytest.param({"creds": "[1]"}, "creds", None, id="creds-not-object"),
    pytest.param(
        {"creds": json.dumps({"clientId": CLIENT_ID})}, "creds", None, id="creds-missing-keys"
    ),
    pytest.param(
        {"creds": CREDS.replace(CLIENT_ID, "not-a-guid")},
        "creds",
        None,
        id="creds-client-id-not-guid",
    ),
    pytest.param(
        {"creds": CREDS, "client-id": CLIENT_ID}, "creds", None, id="creds-with-client-id"
    ),
    # numbers
    pytest.param({"cpu": "two"}, "cpu", "two", id="cpu-text"),
    pytest.param({"cpu": "0"}, "cpu", "0", id="cpu-zero"),
    pytest.param({"cpu": "5"}, "cpu", "5", id="cpu-too-many"),
    pytest.param({"cpu": "nan"}, "cpu", "nan", id="cpu-nan"),
    pytest.param({"memory": "lots"}, "memory", "lots", id="memory-text"),
    pytest.param({"memory": "0.05"}, "memory", "0.05", id="memory-too-little"),
    pytest.param({"memory": "32"}, "memory", "32", id="memory-too-much"),
    pytest.param({"memory": "1.55"}, "memory", "1.55", id="memory-not-tenth"),
    pytest.param({"ports": "0"}, "ports", "0", id="port-zero"),
    pytest.param({"ports": "65536"}, "ports", "65536", id="port-too-big"),
    pytest.param({"ports": "80, 443, 80"}, "ports", "80, 443, 80", id="port-duplicate"),
    pytest.param({"ports": "80 http"}, "ports", "80 http", id="port-text-in-list"),
    pytest.param({"ports": "http"}, "ports", "http", id="port-text"),
    pytest.param({"ports": "-1"}, "ports", "-1", id="port-negative"),
    pytest.param({"timeout": "soon"}, "timeout", "soon", id="timeout-text"),
    pytest.param({"timeout": "0"}, "timeout", "0", id="timeout-zero"),
    pytest.param({"timeout": "-5m"}, "timeout", "-5m", id="timeout-negative"),
    # choices
    pytest.param({"mode": "ship"}, "mode", "ship", id="mode-unknown"),
    pytest.param(
        {"environment": "AzureMoon"}, "environment", "AzureMoon", id="environment-unknown"
    ),
    pytest.param(
        {"restart-policy": "Sometimes"}, "restart-policy", "Sometimes", id="restart-policy-unknown"
    ),
    pytest.param({"os-type": "Plan9"}, "os-type", "Plan9", id="os-type-unknown"),
    pytest.param({"protocol": "SCTP"}, "protocol", "SCTP", id="protocol-unknown"),
    pytest.param(
        {"on-immutable-change": "ignore"},
        "on-immutable-change",
        "ignore",
        id="on-immutable-change-unknown",
    ),
    pytest.param({"wait": "yes"}, "wait", "yes", id="wait-not-boolean"),
    # KEY=VALUE lines
    pytest.param(
        {"environment-variables": "A=1\nNOEQUALS"},
        "environment-variables",
        "NOEQUALS",
        id="env-no-equals",
    ),
    pytest.param(
        {"environment-variables": "1A=x"},
        "environment-variables",
        "1A=x",
        id="env-name-digit-first",
    ),
    pytest.param(
        {"environment-variables": "MY-VAR=x"},
        "environment-variables",
        "MY-VAR=x",
        id="env-name-hyphen",
    ),
    pytest.param(
        {"environment-variables": "=x"}, "environment-variables", "=x", id="env-name-empty"
    ),
    pytest.param(
        {"environment-variables": "A=1\nA=2"}, "environment-variables", "A=2", id="env-duplicate"
    ),
    pytest.param({"build-args": "BAD ARG=1"}, "build-args", "BAD ARG=1", id="build-arg-name"),
    pytest.param({"labels": "-bad=1"}, "labels", "-bad=1", id="label-key"),
    pytest.param({"resource-tags": "a/b=1"}, "resource-tags", "a/b=1", id="resource-tag-name"),
    pytest.param(
        {"resource-tags": "a=" + "v" * 257},
        "resource-tags",
        "a=" + "v" * 257,
        id="resource-tag-value-long",
    ),
    pytest.param(
        {"environment-variables": "A=1", "secure-environment-variables": "A=2"},
        "secure-environment-variables",
        None,
        id="env-name-in-two-inputs",
    ),
    pytest.param(
        {
            "environment-variables": "DB=1",
            "key-vault": "my-app-kv",
            "secrets-from-key-vault": "DB=db-url",
        },
        "secrets-from-key-vault",
        "DB=db-url",
        id="env-name-in-two-inputs-shows-the-line",
    ),
    # command line
    pytest.param(
        {"command-line": "echo 'unclosed"},
        "command-line",
        "echo 'unclosed",
        id="command-unbalanced",
    ),
    pytest.param(
        {"command-line": "[1, 2]"}, "command-line", "[1, 2]", id="command-json-not-strings"
    ),
    pytest.param({"command-line": '["a",'}, "command-line", '["a",', id="command-json-broken"),
    # conflicts
    pytest.param(
        {"image": "nginx", "build-args": "A=1"}, "build-args", None, id="image-with-build-args"
    ),
    pytest.param(
        {"image": "nginx", "dockerfile": "Dockerfile"},
        "dockerfile",
        None,
        id="image-with-dockerfile",
    ),
    pytest.param({"image": "nginx", "target": "runtime"}, "target", None, id="image-with-target"),
    pytest.param({"image": "nginx", "tags": "v1"}, "tags", None, id="image-with-tags"),
    pytest.param({"mode": "build", "image": "nginx"}, "image", None, id="build-mode-with-image"),
    pytest.param(
        {"key-vault": "my-app-kv", "registry-password": SECRET, "registry-username": "u"},
        "registry-password",
        None,
        id="key-vault-with-registry-password",
    ),
    pytest.param({"key-vault": ""}, "key-vault", None, id="deploy-without-pull-credentials"),
    pytest.param(
        {"registry-username": "u", "key-vault": ""},
        "registry-password",
        None,
        id="username-without-password",
    ),
    pytest.param(
        {"registry-password": SECRET, "key-vault": ""},
        "registry-username",
        None,
        id="password-without-username",
    ),
    pytest.param(
        {"registry-username-secret": "usr", "key-vault": ""},
        "registry-username-secret",
        None,
        id="secret-name-without-key-vault",
    ),
    pytest.param(
        {"secrets-from-key-vault": "A=b", "key-vault": ""},
        "secrets-from-key-vault",
        None,
        id="secrets-without-key-vault",
    ),
    pytest.param(
        {"dns-name-label": "my-label", "dns-label-salt": "pepper"},
        "dns-label-salt",
        None,
        id="salt-with-label",
    ),
    # workflow-command injection and multi-line values where one line is expected
    pytest.param({"name": "app\nother"}, "name", None, id="newline-in-name"),
    pytest.param({"target": "::set-output name=x::y"}, "target", None, id="workflow-command"),
    pytest.param({"context": "./app\x1b[2J"}, "context", None, id="control-characters"),
    pytest.param({"tags": "::add-mask::x"}, "tags", None, id="workflow-command-in-list"),
]


@pytest.mark.parametrize(("inputs", "name", "shown"), INVALID)
def test_invalid_input_is_reported(inputs: dict[str, str], name: str, shown: str | None) -> None:
    found = [p for p in problems_of(make_env(inputs)) if p.input == name]
    assert found, f"no problem reported for {name}"
    problem = found[0]
    assert problem.shown == shown
    assert problem.example.strip()
    assert problem.message.strip()
    text = InputError([problem]).render()
    assert f"`{name}`" in text
    if shown:
        assert "got `" in text


@pytest.mark.dev_only  # PyYAML
def test_every_input_has_an_example_that_is_yaml_for_it() -> None:
    import yaml

    for spec in INPUTS:
        assert spec.name in yaml.safe_load(spec.example), spec.name


def test_all_problems_are_reported_at_once() -> None:
    env = make_env(
        {
            "resource-group": "",
            "cpu": "many",
            "memory": "99",
            "ports": "0",
            "mode": "ship",
            "environment-variables": "OOPS",
        }
    )
    with pytest.raises(InputError) as info:
        parse_inputs(env)
    names = [p.input for p in info.value.problems]
    assert set(names) == {
        "resource-group",
        "cpu",
        "memory",
        "ports",
        "mode",
        "environment-variables",
    }
    assert info.value.title.startswith(f"Invalid inputs: {len(names)} problems in ")
    assert info.value.exit_code == 1
    rendered = info.value.render()
    for name in names:
        assert f"- `{name}`" in rendered


def test_dangerous_values_are_described_not_echoed() -> None:
    found = problems_of(make_env({"name": "x\n::set-output name=fqdn::evil", "target": "a::b"}))
    text = InputError(found).render()
    assert "set-output" not in text
    assert "a::b" not in text
    assert "line break" in text
    assert "`::`" in text


# --------------------------------------------------------------------------- secrets

SECRET_CASES = [
    pytest.param({"creds": CREDS.replace(CLIENT_ID, "x")}, id="creds-invalid-id"),
    pytest.param({"creds": CREDS[:-1]}, id="creds-broken-json"),
    pytest.param({"creds": CREDS, "client-id": CLIENT_ID}, id="creds-conflict"),
    pytest.param({"registry-password": SECRET}, id="password-without-username"),
    pytest.param(
        {"registry-password": f"{SECRET}\nmore", "registry-username": "u"}, id="password-multiline"
    ),
    pytest.param(
        {"registry-password": SECRET, "registry-username": "u", "key-vault": "my-app-kv"},
        id="password-with-key-vault",
    ),
    pytest.param({"secure-environment-variables": SECRET}, id="secure-line-without-equals"),
    pytest.param({"secure-environment-variables": f"{SECRET}=x"}, id="secure-secret-as-name"),
    pytest.param(
        {"secure-environment-variables": f"A={SECRET}\nA={SECRET}"}, id="secure-duplicate"
    ),
    pytest.param(
        {"secure-environment-variables": f"A={SECRET}", "environment-variables": "A=1"},
        id="secure-clash",
    ),
    pytest.param({"dns-label-salt": f"{SECRET}\nx"}, id="salt-multiline"),
    pytest.param({"dns-label-salt": SECRET, "dns-name-label": "my-label"}, id="salt-with-label"),
]


@pytest.mark.parametrize("inputs", SECRET_CASES)
def test_secret_values_never_appear_in_errors(inputs: dict[str, str]) -> None:
    env = make_env(inputs)
    with pytest.raises(InputError) as info:
        parse_inputs(env)
    for text in (str(info.value), info.value.render(), repr(info.value.problems)):
        assert SECRET not in text
    assert SECRET in secret_values(env)


def test_secret_values_lists_every_secret_one_line_each() -> None:
    env = make_env(
        {
            "creds": CREDS,
            "registry-password": " pw-123 ",
            "secure-environment-variables": "A=one\nB= two words \nEMPTY=\n\nbroken-line",
            "dns-label-salt": "pepper",
        }
    )
    values = secret_values(env)
    for expected in (
        SECRET,
        " pw-123 ",
        "pw-123",
        "one",
        " two words ",
        "two words",
        "broken-line",
        "pepper",
    ):
        assert expected in values
    assert "" not in values
    assert all("\n" not in value for value in values)
    assert CLIENT_ID not in values


def test_secret_values_finds_the_secret_in_broken_creds() -> None:
    assert SECRET in secret_values(make_env({"creds": CREDS[:-1]}))
    assert secret_values(make_env({"creds": "{garbage"})) == ["{garbage"]


def test_secret_values_without_secrets() -> None:
    assert secret_values(make_env()) == []


# --------------------------------------------------------------------------- action.yml


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    import yaml  # a development tool: every test of action.yml is marked dev_only

    with (ROOT / "action.yml").open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


@pytest.mark.dev_only  # reads action.yml with PyYAML
def test_action_yml_declares_exactly_the_parsed_inputs_in_order(action: dict[str, Any]) -> None:
    assert list(action["inputs"]) == [spec.name for spec in INPUTS]


@pytest.mark.dev_only  # reads action.yml with PyYAML
def test_action_yml_static_defaults_match(action: dict[str, Any]) -> None:
    for name, spec in action["inputs"].items():
        default = spec.get("default")
        assert (None if default is None else str(default)) == SPECS[name].default, name
        assert isinstance(default, str | None), (
            f"{name}: quote the default so YAML keeps it a string"
        )
        assert spec["description"].strip(), name
        assert spec["required"] is (name == "resource-group"), name


@pytest.mark.dev_only  # reads action.yml with PyYAML
def test_action_yml_says_what_the_table_says(action: dict[str, Any]) -> None:
    """Each action.yml input is its table entry: description word for word, required, default."""
    for name, declared in action["inputs"].items():
        spec = SPECS[name]
        assert declared["description"] == spec.description, name
        assert declared["required"] is spec.required, name
        assert declared.get("default") == spec.default, name
        assert set(declared) <= {"description", "required", "default"}, name


@pytest.mark.dev_only  # reads action.yml with PyYAML
def test_action_yml_metadata(action: dict[str, Any]) -> None:
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}
    for key in ("name", "description", "author"):
        assert action[key].strip(), key
    assert set(action["branding"]) == {"icon", "color"}
    assert list(action["outputs"]) == [
        "fqdn",
        "url",
        "ip-address",
        "image",
        "digest",
        "image-ref",
        "container-group-id",
        "name",
        "state",
    ]
    assert all(spec["description"].strip() for spec in action["outputs"].values())


class RecordingEnv(dict[str, str]):
    """An environment that remembers which variables were looked at."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


@pytest.mark.dev_only  # reads action.yml with PyYAML
def test_parse_inputs_reads_every_declared_input(action: dict[str, Any]) -> None:
    env = RecordingEnv(make_env())
    parse_inputs(env)
    read = {key.removeprefix("INPUT_").lower() for key in env.read if key.startswith("INPUT_")}
    assert read == set(action["inputs"])


def test_input_table_is_consistent() -> None:
    assert env_key("resource-group") == "INPUT_RESOURCE-GROUP"
    assert len(SPECS) == len(INPUTS)
    for spec in INPUTS:
        assert re.fullmatch(r"[a-z]+(?:-[a-z]+)*", spec.name), spec.name
        assert spec.env_key == env_key(spec.name)
        assert spec.modes, spec.name
        assert set(spec.modes) <= set(MODES), spec.name
        assert list(spec.modes) == [mode for mode in MODES if mode in spec.modes], spec.name
        if spec.choices and spec.default is not None:
            assert spec.choices[0] == spec.default, f"{spec.name}: the default comes first"
        assert not (spec.secret and spec.default), f"{spec.name}: a secret has no default"


@pytest.mark.parametrize(
    "spec", [spec for spec in INPUTS if not spec.multiline], ids=lambda spec: spec.name
)
def test_every_single_line_input_refuses_a_line_break(spec: Any) -> None:
    """The table's `multiline` is the rule the parser applies, not a note beside it."""
    env = runner_env({"mode": spec.modes[0]})
    env[spec.env_key] = "first\nsecond"
    names = [problem.input for problem in problems_of(env)]
    assert spec.name in names


@pytest.mark.parametrize(
    "spec", [spec for spec in INPUTS if spec.rule is not None], ids=lambda spec: spec.name
)
def test_a_value_its_rule_refuses_is_named_in_the_rules_words(spec: Any) -> None:
    """The table's `rule` is what the parser checks, and its words are the error's."""
    assert not spec.multiline, spec.name
    bad = "!!no such value!!"
    env = runner_env({"mode": spec.modes[0], spec.name: bad})
    found = [problem for problem in problems_of(env) if problem.input == spec.name]
    assert [(problem.message, problem.shown) for problem in found] == [(spec.rule.says, bad)]


@pytest.mark.parametrize(
    ("spec", "mode"),
    [
        pytest.param(spec, mode, id=f"{spec.name}-in-{mode}")
        for spec in INPUTS
        for mode in MODES
        if mode not in spec.modes
    ],
)
def test_an_input_set_in_a_mode_its_spec_leaves_out_is_refused(spec: Any, mode: str) -> None:
    """The table's `modes` is the rule: an input set in another mode is named, not ignored."""
    value = {"image": "mcr.microsoft.com/app:1", "max-age": "7d", "max-previews": "3"}.get(
        spec.name, spec.choices[-1] if spec.choices else "true"
    )
    given = {"mode": mode, spec.name: value}
    if mode == "sweep":
        given["max-age"] = "7d"  # a sweep needs it or github-token; neither is refused there
    env = runner_env(given)
    messages = {problem.input: problem.message for problem in problems_of(env)}
    assert messages.get(spec.name) == spec.refusal(mode)  # type: ignore[arg-type]


def test_inputs_has_one_frozen_group_per_group_of_the_table() -> None:
    inputs = parse_inputs(make_env())
    groups = {field.name for field in dataclasses.fields(Inputs)} - {"github"}
    assert groups - {"mode", "resource_group", "location"} == set(GROUPS) - {"target"}
    assert {spec.group for spec in INPUTS} == set(GROUPS)
    for name in set(GROUPS) - {"target"}:
        group = getattr(inputs, name)
        assert dataclasses.is_dataclass(group), name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(group, dataclasses.fields(group)[0].name, None)


def test_each_input_lands_in_the_group_the_table_names() -> None:
    """`--help` sections and the Inputs groups both follow `group`: it must be the true one."""
    order = [group for group, _ in itertools.groupby(spec.group for spec in INPUTS)]
    assert order == list(GROUPS), "each group's inputs are listed together, in GROUPS order"
    inputs = parse_inputs(make_env())
    for spec in INPUTS:
        field = spec.name.replace("-", "_")
        if spec.group == "acr":  # `registry` is the registry's name; the others say where it is
            field = "name" if field == "registry" else field.removeprefix("registry_")
        holder = inputs if spec.group == "target" else getattr(inputs, spec.group)
        assert field in {f.name for f in dataclasses.fields(holder)}, spec.name


def test_inputs_is_frozen() -> None:
    inputs = parse_inputs(make_env())
    with pytest.raises(AttributeError):
        inputs.container.cpu = 2  # type: ignore[misc]
    assert isinstance(inputs, Inputs)


def test_subscription_alone_is_the_laptop_path() -> None:
    env = make_env({"subscription-id": "2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11"}, github={})

    inputs = parse_inputs({**env, "INPUT_IMAGE-NAME": "my-app", "INPUT_TAGS": "dev"})

    assert inputs.auth.auth_mode == "ambient"
    assert inputs.auth.subscription_id == "2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11"


def test_registry_elsewhere_is_read_from_its_own_inputs() -> None:
    inputs = parse_inputs(
        make_env(
            {
                "registry-resource-group": "shared-registry-rg",
                "registry-subscription-id": "6d1f3b2a-4c5e-4f7a-9b8c-0d1e2f3a4b5c",
            }
        )
    )
    assert inputs.acr.resource_group == "shared-registry-rg"
    assert inputs.acr.subscription_id == "6d1f3b2a-4c5e-4f7a-9b8c-0d1e2f3a4b5c"
    assert inputs.resource_group == "my-app-rg"  # the container group's stays where it was


def test_registry_location_defaults_to_the_deployment() -> None:
    inputs = parse_inputs(make_env())
    assert inputs.acr.resource_group is None
    assert inputs.acr.subscription_id is None


REGISTRY_ID = (
    "/subscriptions/6d1f3b2a-4c5e-4f7a-9b8c-0d1e2f3a4b5c/resourceGroups/shared-registry-rg"
    "/providers/Microsoft.ContainerRegistry/registries/mycompanyacr"
)


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(REGISTRY_ID, id="as-az-prints-it"),
        pytest.param(REGISTRY_ID.lower() + "/", id="lower-case-trailing-slash"),
    ],
)
def test_registry_resource_id_says_where_the_registry_is(given: str) -> None:
    inputs = parse_inputs(make_env({"registry": given}))
    assert inputs.acr.name == "mycompanyacr"
    assert inputs.acr.resource_group == "shared-registry-rg"
    assert inputs.acr.subscription_id == "6d1f3b2a-4c5e-4f7a-9b8c-0d1e2f3a4b5c"
    # The vault's default secret names use the registry's name, not its ID.
    assert inputs.secrets.registry_username_secret == "mycompanyacr-pull-usr"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param({"subscription-id": SUBSCRIPTION_ID}, SUBSCRIPTION_ID, id="subscription-id"),
        pytest.param({"creds": CREDS}, SUBSCRIPTION_ID, id="creds"),
        pytest.param({}, None, id="neither"),
    ],
)
def test_the_run_uses_the_one_subscription_rule(
    given: dict[str, str], expected: str | None
) -> None:
    """orchestrate.subscription_of and AuthInputs.effective_subscription_id were two rules."""
    from acr_action.orchestrate import subscription_of

    inputs = parse_inputs(make_env(given))
    assert inputs.auth.effective_subscription_id == expected
    if expected is None:
        with pytest.raises(InputError) as info:
            subscription_of(inputs)
        assert [problem.input for problem in info.value.problems] == ["subscription-id"]
    else:
        assert subscription_of(inputs) == expected
