"""What actions/checkout leaves in GITHUB_WORKSPACE, made with the same git commands it runs.

actions/checkout (src/git-source-provider.ts, src/git-command-manager.ts, src/ref-helper.ts):
`git init`, `git remote add origin URL`, then
`git -c protocol.version=2 fetch --no-tags --prune --no-recurse-submodules --depth=1 origin
+SHA:refs/remotes/origin/BRANCH` (fetch-depth defaults to 1) and
`git checkout --progress --force -B BRANCH refs/remotes/origin/BRANCH`; a pull request fetches
`+SHA:refs/remotes/pull/N/merge` and checks that ref out, detached. A depth-1 fetch writes
`.git/shallow`; git keeps the fetched objects loose when there are fewer than
`fetch.unpackLimit` (100), else as one pack: `packed=True` forces the pack, as a bigger
repository gets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

GIT = shutil.which("git") or "git"


def git(cwd: Path, *args: str, when: str = "2026-11-20T08:15:00+00:00") -> str:
    """One git command with no user or system configuration; the output, stripped."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(cwd),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Octo Dev",
        "GIT_AUTHOR_EMAIL": "octo@example.com",
        "GIT_COMMITTER_NAME": "Octo Dev",
        "GIT_COMMITTER_EMAIL": "octo@example.com",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
    }
    done = subprocess.run(
        [GIT, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def origin_repository(files: Path, origin: Path, *, committed: str, commits: int = 1) -> str:
    """A repository holding a copy of `files`, `commits` commits deep; the head commit's SHA.

    The last commit is made at `committed` (ISO 8601); earlier ones a day apart before it are
    there so that a depth-1 fetch is really shallow.
    """
    shutil.copytree(files, origin)
    git(origin, "init", "--quiet", "--initial-branch", "main")
    for number in range(commits - 1, -1, -1):
        (origin / ".history").write_text(f"{number}\n", encoding="utf-8")
        git(origin, "add", "--all")
        day = f"2026-11-{19 - number:02d}T08:15:00+00:00" if number else committed
        git(origin, "commit", "--quiet", "--message", f"change {number}", when=day)
    return git(origin, "rev-parse", "HEAD")


def check_out(
    origin: Path,
    workspace: Path,
    sha: str,
    *,
    pull_request: int | None = None,
    packed: bool = False,
) -> None:
    """Fetch `sha` from `origin` into `workspace` and check it out, as actions/checkout does."""
    workspace.mkdir(parents=True, exist_ok=True)
    git(workspace, "init", "--quiet")
    git(workspace, "remote", "add", "origin", origin.as_uri())
    target = (
        f"refs/remotes/pull/{pull_request}/merge" if pull_request else "refs/remotes/origin/main"
    )
    unpack = ["-c", "fetch.unpackLimit=1"] if packed else []
    git(
        workspace,
        *unpack,
        "-c",
        "protocol.version=2",
        "fetch",
        "--no-tags",
        "--prune",
        "--no-recurse-submodules",
        "--depth=1",
        "origin",
        f"+{sha}:{target}",
    )
    if pull_request:
        git(workspace, "checkout", "--quiet", "--force", target)
    else:
        git(workspace, "checkout", "--quiet", "--force", "-B", "main", target)
