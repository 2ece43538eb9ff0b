#!/usr/bin/env bash
# Bootstrap a Debian bookworm machine (as root) for development, the tests and the demo.
# Idempotent: a second run checks and skips, in a few seconds.
#
#   1. Debian packages: the Docker engine, the Distribution registry (for the emulated ACR),
#      debootstrap and busybox-static (for the local base images), ca-certificates, curl and
#      iproute2 (the throw-away engines of the fresh-runner tests and bench get their own bridge).
#   2. dockerd, started in the background when no engine answers (never restarted).
#   3. .venv with python3 (3.11) and the hash-pinned requirements/dev.lock.
#
# Usage: scripts/setup.sh [--relock]
#   --relock  first regenerate requirements/*.lock from requirements/*.in (keeps existing pins;
#             PIP_COMPILE_ARGS=--upgrade takes the newest versions instead), then install.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON="${PYTHON:-python3}"
PYTHON_WANTED=3.11
DEV_LOCK="$REPO_ROOT/requirements/dev.lock"
# Holds the hash of the lock (and interpreter) that .venv was last installed from.
VENV_STAMP="$VENV_DIR/.dev-lock.sha256"

# What the tests, the demo and base-images.sh run. docker.io brings dockerd, containerd, runc and
# Debian's docker CLI 20.10 (BuildKit without buildx); docker-registry is the registry that the
# emulated ACR proxies to. iproute2 (`ip`), which docker.io does not depend on and a minimal
# Debian lacks: a second, throw-away dockerd gets a bridge of its own (localazure/dockerd.py
# fresh_dockerd, bench/engines.py), since one started with --bridge=none deletes docker0.
# caddy and pebble: the TLS tests run Caddy (the `tls: auto` proxy) and pebble, Let's
# Encrypt's test ACME server (base-images.sh builds their images from the same packages).
# openssh-client: the SSH forwarding tests run a real ssh-agent and ssh-add.
APT_PACKAGES=(docker.io docker-registry debootstrap busybox-static ca-certificates curl iproute2
    caddy pebble openssh-client)

POLICY_RC_D=/usr/sbin/policy-rc.d
REMOVE_POLICY_RC_D=0

cleanup() {
    if ((REMOVE_POLICY_RC_D)); then
        rm -f "$POLICY_RC_D"
    fi
}
trap cleanup EXIT

apt_missing() {
    local pkg
    for pkg in "$@"; do
        if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]]; then
            printf '%s\n' "$pkg"
        fi
    done
}

install_system_packages() {
    local wanted=("${APT_PACKAGES[@]}")
    # A bare Debian has python3 without venv/ensurepip (package python3-venv); a machine whose
    # python3 is not Debian's (pyenv, say) needs neither package.
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        wanted+=(python3 python3-venv)
    elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        wanted+=(python3-venv)
    fi
    local missing
    mapfile -t missing < <(apt_missing "${wanted[@]}")
    if ((${#missing[@]} == 0)); then
        log "Debian packages: present"
        return 0
    fi
    require_root "installing ${missing[*]}"
    # Package scripts must not start services: dockerd needs flags of ours (ensure_dockerd), and
    # an init script's failed start could leave a stale pid file behind.
    if [[ ! -e "$POLICY_RC_D" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC_D"
        chmod +x "$POLICY_RC_D"
        REMOVE_POLICY_RC_D=1
    fi
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

check_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
    local version
    version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    # The locks pin wheels for CPython 3.11: another version may find no matching wheel.
    [[ "$version" == "$PYTHON_WANTED" ]] ||
        die "$PYTHON is Python $version; the locks are for $PYTHON_WANTED (set PYTHON=python$PYTHON_WANTED)"
}

venv_python_version() {
    "$VENV_DIR/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null
}

stamp_value() {
    { sha256sum <"$DEV_LOCK"; venv_python_version; } | sha256sum | cut -d' ' -f1
}

ensure_venv() {
    check_python
    # A venv whose interpreter is gone (python upgraded, tree copied) is remade from scratch.
    if [[ -d "$VENV_DIR" ]] && ! venv_python_version >/dev/null; then
        log ".venv: broken interpreter, recreating"
        rm -rf -- "$VENV_DIR"
    fi
    if [[ ! -x "$VENV_DIR/bin/python" ]]; then
        log ".venv: creating with $("$PYTHON" --version)"
        "$PYTHON" -m venv "$VENV_DIR"
        rm -f -- "$VENV_STAMP"
    fi
    [[ -s "$DEV_LOCK" ]] || die "$DEV_LOCK is missing; run scripts/setup.sh --relock"
    local want
    want="$(stamp_value)"
    if [[ -f "$VENV_STAMP" && "$(<"$VENV_STAMP")" == "$want" ]]; then
        log ".venv: up to date with requirements/dev.lock"
        return 0
    fi
    log ".venv: installing requirements/dev.lock"
    local start
    start="$(now)"
    # --require-hashes: every file must match the lock, whichever index or mirror served it.
    pip_quiet "$VENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check \
        --require-hashes --no-deps -r "$DEV_LOCK"
    # pip install never removes anything: pip-sync drops packages that the lock no longer holds,
    # so that a test cannot pass here on a package that a fresh clone would not have.
    pip_quiet "$VENV_DIR/bin/pip-sync" --quiet --pip-args "--require-hashes --no-deps" "$DEV_LOCK"
    # The stamp is written last, after both steps succeeded; a new interpreter changes it too.
    stamp_value >"$VENV_STAMP"
    log ".venv: installed in $(elapsed "$start")"
}

# Regenerate the locks from the .in files with pip-tools (from .venv, bootstrapped if needed).
relock() {
    if [[ ! -x "$VENV_DIR/bin/pip-compile" ]]; then
        check_python
        [[ -x "$VENV_DIR/bin/python" ]] || "$PYTHON" -m venv "$VENV_DIR"
        pip_quiet "$VENV_DIR/bin/python" -m pip install --quiet pip-tools
    fi
    local common=(
        --quiet --generate-hashes --strip-extras
        # pip and setuptools are pinned too: --require-hashes refuses any unpinned package.
        --allow-unsafe
        # No index or find-links lines from this machine's pip configuration: the locks must
        # install anywhere.
        --no-emit-index-url --no-emit-find-links
    )
    # shellcheck disable=SC2206  # PIP_COMPILE_ARGS is a list of flags, split on purpose
    local extra=(${PIP_COMPILE_ARGS:-})
    local lock
    for lock in action dev azcli; do
        log "pip-compile requirements/$lock.in"
        # PIP_CONFIG_FILE=/dev/null ignores this machine's pip.conf (local wheel mirrors), so
        # the hashes are those of the files on the public index.
        (cd "$REPO_ROOT" && env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL \
            PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="scripts/setup.sh --relock" \
            "$VENV_DIR/bin/pip-compile" "${common[@]}" "${extra[@]+"${extra[@]}"}" \
            -o "requirements/$lock.lock" "requirements/$lock.in")
    done
}

main() {
    local do_relock=0
    case "${1:-}" in
        "") ;;
        --relock) do_relock=1 ;;
        -h | --help)
            script_help "$0"
            return 0
            ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
    local start
    start="$(now)"
    install_system_packages
    ensure_dockerd
    log "Docker engine: $("$DOCKER" version --format '{{.Server.Version}}') (CLI $DOCKER)"
    if ((do_relock)); then
        relock
    fi
    ensure_venv
    log "setup done in $(elapsed "$start")"
}

main "$@"
