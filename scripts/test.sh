#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this), from a fresh machine or clone:
#   scripts/setup.sh, scripts/base-images.sh, then ruff (lint and format), mypy and pytest over
#   tests/. Arguments go to pytest, e.g. `scripts/test.sh -k deploy -x`.
# Exits non-zero when any step fails, and when pytest collects no test at all (exit code 5).
# CI is passed through unchanged: with CI=true the Docker-backed tests fail instead of skipping.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FAILED=()

# run_check NAME COMMAND...: run one check, record its failure and carry on, so one run reports
# every failing check.
run_check() {
    local name="$1"
    shift
    log "$name"
    if ! "$@"; then
        FAILED+=("$name")
    fi
}

run_pytest() {
    local rc=0
    # No cache provider: CI runs in a fresh clone, and nothing should be written into the tree.
    "$VENV_DIR/bin/python" -m pytest -p no:cacheprovider "$@" || rc=$?
    if ((rc == 5)); then
        printf 'ERROR: pytest collected no tests; that is a failure, not a pass\n' >&2
    fi
    return "$rc"
}

main() {
    cd "$REPO_ROOT"
    # Only when it was set: tests read CI=true, and an empty CI would still read as "set".
    if [[ -v CI ]]; then
        export CI
    fi
    "$REPO_ROOT/scripts/setup.sh"
    "$REPO_ROOT/scripts/base-images.sh"
    # The venv's tools first on PATH, for tests that run them as subprocesses.
    export PATH="$VENV_DIR/bin:$PATH"

    run_check "ruff check" ruff check .
    run_check "ruff format --check" ruff format --check .
    run_check "mypy" mypy
    # pytest last, so that on success its summary line is the last line printed.
    run_check "pytest" run_pytest "$@"

    if ((${#FAILED[@]})); then
        printf 'FAILED: %s\n' "${FAILED[@]}" >&2
        return 1
    fi
}

main "$@"
