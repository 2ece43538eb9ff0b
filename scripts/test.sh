#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this), from a fresh machine or clone:
#   scripts/setup.sh, scripts/base-images.sh, then ruff (lint and format), mypy, tests/unit in a
#   venv that holds only the action's dependencies and pytest, and pytest over tests/. Arguments
#   go to pytest, e.g. `scripts/test.sh -k deploy -x` (the unit-only venv run is then left out).
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

# A venv with only requirements/action.lock and pytest (its pins and hashes from dev.lock), cached
# under .cache and rebuilt when either lock or the interpreter changes.
UNIT_VENV="$CACHE_DIR/unit-venv"
PYTEST_DISTRIBUTIONS="pytest pluggy iniconfig packaging pygments"

# pytest_pins: the blocks of requirements/dev.lock that pin pytest and what it needs, hashes kept.
pytest_pins() {
    awk -v wanted=" $PYTEST_DISTRIBUTIONS " '
        /^[A-Za-z0-9]/ { name = tolower($1); sub(/==.*/, "", name); keep = index(wanted, " " name " ") > 0 }
        /^ +#/ { next }
        keep { print }
    ' "$REPO_ROOT/requirements/dev.lock"
}

unit_venv() {
    local pins="$UNIT_VENV.pytest.lock" want
    want="$(cat "$REPO_ROOT/requirements/action.lock" "$REPO_ROOT/requirements/dev.lock" \
        <("$VENV_DIR/bin/python" --version) | sha256sum)"
    if [[ -f "$UNIT_VENV/.stamp" && "$(<"$UNIT_VENV/.stamp")" == "$want" ]]; then
        return 0
    fi
    log "unit-only venv: installing requirements/action.lock and pytest"
    rm -rf -- "$UNIT_VENV"
    mkdir -p -- "$CACHE_DIR"
    "$VENV_DIR/bin/python" -m venv "$UNIT_VENV"
    pytest_pins >"$pins"
    pip_quiet "$UNIT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --require-hashes --no-deps -r "$REPO_ROOT/requirements/action.lock" -r "$pins"
    printf '%s\n' "$want" >"$UNIT_VENV/.stamp"
}

# The unit suite must collect and pass with only the action's own dependencies (issue 10); tests
# that need a development tool carry the dev_only marker (tests/unit/test_layers.py checks it).
run_unit_alone() {
    unit_venv || return 1
    "$UNIT_VENV/bin/python" -m pytest -p no:cacheprovider -q -m "not dev_only" tests/unit
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
    if (($# == 0)); then
        run_check "pytest tests/unit with only requirements/action.lock" run_unit_alone
    fi
    # pytest last, so that on success its summary line is the last line printed.
    run_check "pytest" run_pytest "$@"

    if ((${#FAILED[@]})); then
        printf 'FAILED: %s\n' "${FAILED[@]}" >&2
        return 1
    fi
}

main "$@"
