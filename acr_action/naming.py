"""Names the action derives: container group names, DNS labels, image names, tags, OCI labels.

Pure, deterministic functions: the same repository, event and salt always give the same names, so a
redeploy finds the group it created before.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

from acr_action.github_context import GitHubContext

__all__ = [
    "default_dns_label",
    "default_group_name",
    "default_image_name",
    "default_tags",
    "oci_labels",
    "sanitize_group_name",
    "sanitize_tag",
    "short_hash",
]

GROUP_NAME_MAX = 63
DNS_LABEL_MAX = 63
TAG_MAX = 128
_FALLBACK_NAME = "app"


def short_hash(*parts: str, length: int = 6) -> str:
    """A stable lower-case hex digest of the parts (unambiguous however the parts split)."""
    digest = hashlib.sha256(json.dumps(list(parts)).encode("utf-8")).hexdigest()
    return digest[:length]


def _repo_name(repository: str) -> str:
    """The name part of ``owner/name``."""
    return repository.rsplit("/", 1)[-1]


def sanitize_group_name(text: str, max_length: int = GROUP_NAME_MAX) -> str:
    """Turn any text into a valid container group name: ``[a-z][a-z0-9-]*``, single hyphens.

    Names longer than ``max_length`` are cut and end in a 6-character hash of the original text,
    so two long names that share a prefix still get different groups.
    """
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not name:
        name = _FALLBACK_NAME
    elif not name[0].isalpha():
        name = f"{_FALLBACK_NAME}-{name}"
    if len(name) > max_length:
        suffix = short_hash(text)
        name = name[: max_length - len(suffix) - 1].rstrip("-") + "-" + suffix
    return name


def default_group_name(repository: str, pr_number: int | None) -> str:
    """The default container group name: the repository's name, or ``<repo>-pr-<N>`` for a PR.

    A preview's repository part is the name as written when it survives sanitizing unchanged
    (``my-app-pr-7``). When sanitizing loses information (``web.site``, ``my_app``, ``App--2``) or
    the name is too long, it carries a 6-character hash of the whole ``owner/name``
    (``web-site-1bc443-pr-7``), so ``web.site`` and ``web-site``, or ``my_app`` of two owners,
    never share a preview group. Two owners' identical, lossless names (``a/app``, ``b/app``) in
    one resource group still meet: the deploy refuses a group another repository's tags claim.
    Non-preview names keep the plain rule: changing them would move existing deployments.
    """
    repo = _repo_name(repository)
    if pr_number is None:
        return sanitize_group_name(repo)
    # Shorten the repository part, never the PR suffix: the suffix is what tells previews apart.
    suffix = f"-pr-{pr_number}"
    room = GROUP_NAME_MAX - len(suffix)
    clean = sanitize_group_name(repo, max_length=len(repo) + len(_FALLBACK_NAME) + 1)
    if clean == repo.lower() and len(clean) <= room:
        return clean + suffix
    # Lossy or too long: a hash of the whole owner/name keeps different repositories apart.
    tag = short_hash(repository.lower())
    return clean[: room - len(tag) - 1].rstrip("-") + "-" + tag + suffix


def default_dns_label(group_name: str, repository: str, salt: str | None = None) -> str:
    """The default DNS name label: the group name plus a hash of repository, name and salt.

    Labels are shared by every Azure customer in a region, so the hash keeps ours unique; with a
    salt nobody else can compute it, so a preview's URL cannot be guessed from the repository.
    Without a salt every input of the hash is public (repository and PR number), so anyone can
    compute a preview's URL: the label is unique, not secret. Treat unsalted previews as public.
    """
    digest = short_hash(repository.lower(), group_name, salt or "", length=8)
    base = re.sub(r"[^a-z0-9-]+", "-", group_name.lower())
    base = re.sub(r"-{2,}", "-", base).strip("-")
    if not base or not base[0].isalpha():
        base = f"{_FALLBACK_NAME}-{base}".rstrip("-")
    base = base[: DNS_LABEL_MAX - len(digest) - 1].rstrip("-")
    return f"{base}-{digest}"


def default_image_name(repository: str) -> str:
    """The default image name: the repository's name, lower-cased, as a valid OCI path component."""
    name = _repo_name(repository).lower()
    # OCI path components are alphanumeric runs joined by '.', '_', '__' or '-'s; GitHub names may
    # also hold other separators, or start or end with one, which OCI forbids.
    name = re.sub(r"[^a-z0-9]+", _image_separator, name).strip("._-")
    return name or _FALLBACK_NAME


def _image_separator(match: re.Match[str]) -> str:
    sep = match.group(0)
    return sep if sep in {".", "_", "__"} or set(sep) == {"-"} else "-"


def sanitize_tag(text: str) -> str:
    """Turn a branch or git tag name into a valid image tag (``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``).

    Returns "" when nothing usable is left. Over-long results end in a 6-character hash.
    """
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)
    tag = tag.lstrip(".-")
    if len(tag) > TAG_MAX:
        suffix = short_hash(text)
        tag = tag[: TAG_MAX - len(suffix) - 1] + "-" + suffix
    return tag


def default_tags(ctx: GitHubContext) -> tuple[str, ...]:
    """The default tags: ``sha-<7>``, plus ``pr-<N>``, the branch name on a push, or the git tag.

    On a pull request the ``sha-`` tag names the PR's head commit, the one its author pushed:
    GITHUB_SHA is GitHub's temporary merge commit, which no branch holds (docker/metadata-action
    issue 206, "Use correct commit sha for PRs?"). The merge commit, which is what was built,
    stays in the ``org.opencontainers.image.revision`` label (:func:`oci_labels`).
    """
    tags: list[str] = []
    sha = ctx.pr_head_sha if ctx.is_pull_request and ctx.pr_head_sha else ctx.sha
    if sha:
        tags.append(f"sha-{sha[:7].lower()}")
    if ctx.is_pull_request:
        tags.append(f"pr-{ctx.pr_number}")
    elif ctx.ref.startswith("refs/tags/"):
        tags.append(sanitize_tag(ctx.ref.removeprefix("refs/tags/")))
    elif ctx.event_name == "push" and ctx.ref.startswith("refs/heads/"):
        tags.append(sanitize_tag(ctx.ref.removeprefix("refs/heads/")))
    return tuple(dict.fromkeys(tag for tag in tags if tag))


def oci_labels(ctx: GitHubContext, created: datetime) -> dict[str, str]:
    """The OCI annotations every image gets: source, revision and created (RFC 3339, UTC).

    A naive ``created`` is taken to be UTC.
    """
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    stamp = created.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    labels = {"org.opencontainers.image.created": stamp}
    if ctx.repository:
        labels["org.opencontainers.image.source"] = f"{ctx.server_url.rstrip('/')}/{ctx.repository}"
    if ctx.sha:
        labels["org.opencontainers.image.revision"] = ctx.sha
    return labels
