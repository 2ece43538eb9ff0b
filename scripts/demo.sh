#!/usr/bin/env bash
# The demo, from a fresh clone in one command: set the machine up, build the local base images,
# then start the local Azure emulator, build examples/iris-api, run the action as a container the
# way the GitHub runner does, and print the FQDN, the URL and an answer from the deployed API.
# Arguments go to the demo driver (`scripts/demo.sh --help`).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$REPO_ROOT"
"$REPO_ROOT/scripts/setup.sh"
"$REPO_ROOT/scripts/base-images.sh"
exec "$VENV_DIR/bin/python" -m tests.harness demo "$@"
