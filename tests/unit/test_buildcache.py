"""The build cache inputs: build-push-action's syntax, defaults, and what `docker build` gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from acr_action.buildcache import CacheEntry, default_cache_tags, parse_cache_line, plan_cache
from acr_action.errors import InputError
from acr_action.inputs import parse_inputs
from acr_action.registry import build_command
from tests.unit.support import make_env


@pytest.mark.parametrize(
    ("line", "direction", "expected"),
    [
        pytest.param(
            "myacr.azurecr.io/app:main",
            "from",
            CacheEntry("registry", (("ref", "myacr.azurecr.io/app:main"),)),
            id="bare-reference-is-a-registry-cache",
        ),
        pytest.param(
            "type=registry,ref=myacr.azurecr.io/app:buildcache,mode=max",
            "to",
            CacheEntry("registry", (("ref", "myacr.azurecr.io/app:buildcache"), ("mode", "max"))),
            id="registry-export",
        ),
        pytest.param("type=inline", "to", CacheEntry("inline"), id="inline"),
        pytest.param(
            "type=gha,scope=web", "from", CacheEntry("gha", (("scope", "web"),)), id="gha"
        ),
        pytest.param(
            " type=local, src=path/to/dir ",
            "from",
            CacheEntry("local", (("src", "path/to/dir"),)),
            id="local-with-spaces",
        ),
    ],
)
def test_cache_lines_in_build_push_action_syntax(
    line: str, direction: str, expected: CacheEntry
) -> None:
    assert parse_cache_line(line, direction) == expected


@pytest.mark.parametrize(
    ("line", "direction", "problem"),
    [
        pytest.param("type=registry", "from", "needs `ref=`", id="registry-without-ref"),
        pytest.param("type=local,src=x", "to", "needs `dest=`", id="local-export-without-dest"),
        pytest.param("type=inline", "from", "is not one of", id="inline-is-export-only"),
        pytest.param("type=floppy", "to", "is not one of", id="unknown-type"),
        pytest.param("ref=a/b:c", "from", "has no `type=`", id="no-type"),
        pytest.param("type=registry,ref", "from", "is not key=value", id="attribute-without-="),
        pytest.param("a/b:c, d/e:f", "from", "neither an image reference", id="comma-list"),
    ],
)
def test_malformed_cache_lines(line: str, direction: str, problem: str) -> None:
    result = parse_cache_line(line, direction)
    assert isinstance(result, str)
    assert problem in result


def test_a_malformed_cache_input_is_reported_with_its_name_value_and_an_example() -> None:
    env = make_env({"cache-to": "type=inline\ntype=registry,mode=max"})
    with pytest.raises(InputError) as info:
        parse_inputs(env)
    (problem,) = info.value.problems
    assert problem.input == "cache-to"
    assert "line 2" in problem.message
    assert "needs `ref=`" in problem.message
    assert problem.shown == "type=registry,mode=max"
    assert problem.example.startswith("cache-to:")


def test_cache_inputs_are_parsed_into_the_build_group() -> None:
    env = make_env(
        {"cache-from": "# earlier runs\nmyacr.azurecr.io/app:main\n\n", "cache-to": "type=inline"}
    )
    build = parse_inputs(env).build
    assert build.cache_from == (CacheEntry("registry", (("ref", "myacr.azurecr.io/app:main"),)),)
    assert build.cache_to == (CacheEntry("inline"),)


def test_default_cache_reads_the_moving_tags_and_a_prs_base_branch() -> None:
    assert default_cache_tags(("sha-0123456", "main"), "") == ("main",)
    assert default_cache_tags(("sha-0123456", "pr-7"), "main") == ("pr-7", "main")


def test_default_plan_inlines_the_cache_and_says_so_once() -> None:
    plan = plan_cache((), (), ["r.azurecr.io/app:pr-7", "r.azurecr.io/app:main"])
    assert plan.cache_from == ("r.azurecr.io/app:pr-7", "r.azurecr.io/app:main")
    assert plan.inline
    assert plan.note is not None
    assert "BUILDKIT_INLINE_CACHE=1" in plan.note


def test_exports_the_engine_builder_cannot_do_fall_back_to_inline() -> None:
    registry = CacheEntry("registry", (("ref", "r.azurecr.io/app:buildcache"),))
    plan = plan_cache((registry, CacheEntry("gha")), (registry,), ["r.azurecr.io/app:main"])
    assert plan.cache_from == ("r.azurecr.io/app:buildcache",)
    assert plan.inline
    assert plan.note is not None
    assert "cannot import a gha cache" in plan.note
    assert "cannot export a registry cache: inlined" in plan.note


def test_an_explicit_inline_export_needs_no_note() -> None:
    plan = plan_cache((), (CacheEntry("inline"),), ["r.azurecr.io/app:main"])
    assert plan == plan_cache((), (CacheEntry("inline"),), [])
    assert plan.inline
    assert plan.cache_from == ()
    assert plan.note is None


def test_build_command_carries_the_cache_plan(tmp_path: Path) -> None:
    plan = plan_cache((), (), ["r.azurecr.io/app:main"])
    command = build_command(
        context=".",
        dockerfile=None,
        tags=["r.azurecr.io/app:sha-0123456"],
        build_args=[],
        labels=[],
        target=None,
        platform=None,
        network=None,
        iidfile=tmp_path / "iid",
        cache=plan,
    )
    assert command[command.index("--cache-from") + 1] == "r.azurecr.io/app:main"
    assert "BUILDKIT_INLINE_CACHE=1" in command
