"""The checked-out commit, read from `.git` without the git binary.

The action image has no `git`, and a `git` there would refuse the workspace anyway: the
container runs as root while the runner's user owns the checkout, which git calls "dubious
ownership" (actions/checkout sets `safe.directory` only for its own commands). dulwich reads
what actions/checkout leaves, whatever its shape: a depth-1 fetch (`.git/shallow`) whose objects
are loose or in a pack, packed refs, a detached HEAD (pull requests check out
`refs/remotes/pull/N/merge`), or a `.git` file pointing elsewhere.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def commit_time(start: str | Path) -> dt.datetime | None:
    """The committer time of HEAD in the repository holding `start`; None if there is none.

    This is `git log -1 --format=%ct`: the time the commit was made, the same on every rerun.
    """
    from dulwich.errors import (
        ApplyDeltaError,
        ChecksumMismatch,
        FileFormatException,
        NotGitRepository,
    )
    from dulwich.objects import Commit
    from dulwich.repo import Repo

    try:
        with Repo.discover(str(start)) as repo:
            head = repo[repo.head()]
    # No checkout (actions/checkout without git on the runner downloads a tarball), an empty
    # repository, a missing or unreadable object: the caller falls back to the event's time.
    except (
        NotGitRepository,
        FileFormatException,
        ChecksumMismatch,
        ApplyDeltaError,
        KeyError,
        OSError,
        ValueError,
    ):
        return None
    if not isinstance(head, Commit):
        return None
    return dt.datetime.fromtimestamp(head.commit_time, dt.UTC)
