"""Checks of the repository's own files: README, action.yml, workflows (no network, no Docker).

They read YAML (PyYAML) and run the workflow linters (check-jsonschema, actionlint, zizmor), all
from requirements/dev.lock: development tools, not the action's dependencies, which is why they
live here and not in tests/unit (that suite runs with only requirements/action.lock installed).
"""

from __future__ import annotations
