"""The build cache: `cache-from` / `cache-to` in docker/build-push-action's syntax, and defaults.

A GitHub-hosted runner starts empty, so a local layer cache never survives to the next run. The
cache has to live somewhere else: next to the image in the registry.

The syntax is build-push-action's (its `context.ts` reads both inputs with
``Util.getInputList(name, {ignoreComma: true})``): one cache per line, each line either a bare
image reference (buildx reads it as ``type=registry,ref=<it>``) or comma-separated ``key=value``
attributes starting with ``type=`` (docker/buildx ``util/buildflags/cache.go``).

The action builds with ``DOCKER_BUILDKIT=1 docker build``. That builder (the Docker engine's own
BuildKit, buildx's "docker" driver) imports a cache from image references only and exports none
unless the engine uses the containerd image store (docs.docker.com/build/cache/backends), which
GitHub's Ubuntu runners do not turn on (actions/runner-images ``install-docker.sh``, docker-ce
28.0.4 in ``toolset-2404.json``). buildx 0.13 refuses ``--cache-to type=registry`` there with "Cache
export is not supported for the docker driver. Switch to a different driver, or turn on the
containerd image store, and try again." What it can do is embed the cache in the image itself
(``BUILDKIT_INLINE_CACHE=1``), which the push then carries to the registry. So on this builder
every export becomes the inline cache, and imports are the registry references given, or by
default the tags an earlier run pushed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CACHE_FROM_TYPES",
    "CACHE_TO_TYPES",
    "NO_CACHE",
    "CacheEntry",
    "CachePlan",
    "default_cache_tags",
    "parse_cache_line",
    "plan_cache",
]

# The types buildx documents for --cache-from / --cache-to (docs/reference/buildx_build.md).
CACHE_FROM_TYPES = ("registry", "local", "gha", "s3", "azblob")
CACHE_TO_TYPES = ("registry", "inline", "local", "gha", "s3", "azblob")
# The attribute each type cannot do without: where the cache is.
_REQUIRED = {
    ("from", "registry"): "ref",
    ("from", "local"): "src",
    ("to", "registry"): "ref",
    ("to", "local"): "dest",
}
_KEY = re.compile(r"[a-z][a-z0-9_-]*")
INLINE_CACHE_ARG = ("BUILDKIT_INLINE_CACHE", "1")


@dataclass(frozen=True)
class CacheEntry:
    """One cache source or destination: its type and attributes, in the order written."""

    type: str
    attrs: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str | None:
        """The attribute's value, or None."""
        return next((value for k, value in self.attrs if k == key), None)


def parse_cache_line(line: str, direction: str) -> CacheEntry | str:
    """One line of `cache-from` (direction "from") or `cache-to` ("to"): the entry or a problem."""
    line = line.strip()
    if "=" not in line:
        # A bare reference, as buildx reads it: a registry cache.
        if not line or "," in line or any(c.isspace() for c in line):
            return "is neither an image reference nor `type=...,key=value` attributes"
        return CacheEntry("registry", (("ref", line),))
    attrs: list[tuple[str, str]] = []
    for field in line.split(","):
        key, sep, value = field.strip().partition("=")
        if not sep or not _KEY.fullmatch(key) or not value:
            return f"`{field.strip()}` is not key=value"
        attrs.append((key, value))
    types = CACHE_FROM_TYPES if direction == "from" else CACHE_TO_TYPES
    kind = dict(attrs).get("type")
    if kind is None:
        return "has no `type=`"
    if kind not in types:
        return f"`type={kind}` is not one of {', '.join(types)}"
    needed = _REQUIRED.get((direction, kind))
    if needed and needed not in dict(attrs):
        return f"`type={kind}` needs `{needed}=`"
    return CacheEntry(kind, tuple((k, v) for k, v in attrs if k != "type"))


@dataclass(frozen=True)
class CachePlan:
    """What the build gets: `--cache-from` references, whether to inline, and a note for the log."""

    cache_from: tuple[str, ...]
    inline: bool
    note: str | None = None


NO_CACHE = CachePlan((), inline=False)


def default_cache_tags(tags: Sequence[str], base_branch_tag: str) -> tuple[str, ...]:
    """The tags an earlier run pushed: this run's moving tags, then a PR's base branch's tag.

    ``sha-`` tags are left out: each names one commit, so an earlier run never pushed it.
    """
    moving = [tag for tag in tags if not tag.startswith("sha-")]
    if base_branch_tag:
        moving.append(base_branch_tag)
    return tuple(dict.fromkeys(moving))


def plan_cache(
    cache_from: Sequence[CacheEntry],
    cache_to: Sequence[CacheEntry],
    defaults: Sequence[str],
) -> CachePlan:
    """The cache options the engine's own BuildKit (`docker build`) can honour.

    Without either input: import from `defaults` (image references) and inline the cache.
    """
    if not cache_from and not cache_to:
        shown = ", ".join(defaults) or "no earlier tag"
        return CachePlan(
            tuple(defaults),
            inline=True,
            note=(
                "Build cache: inlined in the image (BUILDKIT_INLINE_CACHE=1) and read back from "
                f"{shown}; the Docker engine's builder (docker build) cannot export a registry "
                "cache."
            ),
        )
    refs = tuple(
        ref for entry in cache_from if entry.type == "registry" if (ref := entry.get("ref"))
    )
    skipped = sorted({entry.type for entry in cache_from if entry.type != "registry"})
    exports = sorted({entry.type for entry in cache_to if entry.type != "inline"})
    notes = []
    if skipped:
        notes.append(f"cannot import a {'/'.join(skipped)} cache: left out")
    if exports:
        notes.append(f"cannot export a {'/'.join(exports)} cache: inlined in the image instead")
    note: str | None = None
    if notes:
        note = (
            "The Docker engine's builder (docker build) "
            + "; ".join(notes)
            + ". Exporting needs a buildx builder with the docker-container driver."
        )
    return CachePlan(refs, inline=bool(cache_to), note=note)
