#!/usr/bin/env bash
# The performance benchmark of issue 7 from a fresh clone: scripts/setup.sh (Debian packages,
# dockerd, .venv), scripts/base-images.sh (local base images), then `python -m bench`, which prints
# the table. Arguments go to `python -m bench` (e.g. fresh-runner, --skip-cli, --skip-image).
set -euo pipefail
# shellcheck source=../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

cd "$REPO_ROOT"
"$REPO_ROOT/scripts/setup.sh"
"$REPO_ROOT/scripts/base-images.sh"
exec "$VENV_DIR/bin/python" -m bench "$@"
