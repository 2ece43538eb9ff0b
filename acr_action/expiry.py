"""Preview expiry counted from the last deploy (`max-idle`), as the sweep decides it.

`max-age` counts from the created tag, so a preview that is pushed to every day is deleted as
surely as one nobody touched. `max-idle` counts from `preview.TAG_DEPLOYED`, the time of the
last deploy that changed the group (it moves with the run tags, so an unchanged rerun, which
writes nothing, does not reset it); a group from before that tag counts from its creation.
Pure: unit-tested with made-up times.
"""

from __future__ import annotations

import datetime as dt


def idle_for(
    last_deploy: dt.datetime | None, max_idle: float | None, now: dt.datetime
) -> float | None:
    """Seconds since the last deploy when that is longer than `max_idle`, else None."""
    if max_idle is None or last_deploy is None:
        return None
    idle = (now - last_deploy).total_seconds()
    return idle if idle > max_idle else None
