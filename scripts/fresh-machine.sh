#!/usr/bin/env bash
# Run the README's two commands (section "Development") on a new Debian bookworm machine made
# from nothing, so that a missing install step cannot hide behind what an earlier run left on a
# developer's or CI's machine. Needs root and a Docker engine on the host; takes about ten
# minutes on a 2-core machine, most of it the demo and the test suite.
#
# The "machine" is a privileged container with its own network namespace, so the dockerd that
# scripts/setup.sh starts in it has its own docker0, /var/lib/docker (a volume), socket and pid
# file, and the tests' loopback is its own. Its root file system is:
#   - debootstrap --variant=minbase bookworm (the tarball is cached under .cache/fresh-machine/),
#     or the image given with --base-image (debian:bookworm where Docker Hub is reachable);
#   - plus what the machine images that run these scripts ship: Debian's python3 (3.11, without
#     python3-venv), git (the README starts from a clone), ca-certificates with the host's local
#     CAs (/usr/local/share/ca-certificates, for a TLS-intercepting egress proxy), and a newer
#     Docker CLI without buildx at /usr/local/bin/docker, before /usr/bin on PATH;
#   - plus a clone of the repository at /root/acr-action, checked out at REF (default HEAD:
#     commit first; uncommitted changes are not part of the check).
# None of the packages that setup.sh installs is there (checked before the commands run).
#
# Then, as root in /root/acr-action, with CI=true (Docker-backed tests fail instead of skipping):
#   scripts/demo.sh, scripts/test.sh [ARGS], and setup.sh + base-images.sh once more (the README
#   says reruns check and skip in seconds), each timed.
#
# Network: the machine's bridge is a Docker network of its own with NAT to the host's uplink
# (an iptables MASQUERADE rule), because the package indexes (Debian, PyPI) must be reachable;
# two more rules drop its traffic to the host itself and to any other local network (other
# containers). The tests inside talk only to their own loopback and to containers of the inner
# dockerd. Everything made for the run (container, its volume, network, iptables rules, image) is
# removed on exit, failure and Ctrl-C included; leftovers of a run that was killed (SIGKILL) are
# removed by the next run.
#
# Usage: scripts/fresh-machine.sh [--ref REF] [--base-image IMAGE] [--no-demo] [-- TEST-ARGS...]
#   --ref REF           what to check out (default HEAD)
#   --base-image IMAGE  start from IMAGE instead of a debootstrap root
#   --no-demo           skip scripts/demo.sh (test.sh alone still starts from nothing)
#   TEST-ARGS           go to scripts/test.sh, hence to pytest (e.g. -- -x tests/unit)
# Environment: DEBIAN_MIRROR (as base-images.sh), FRESH_TIMEOUT (seconds for each command,
#   default 5400), FRESH_PATH_DOCKER (the buildx-less CLI to put at /usr/local/bin/docker;
#   default: the host's /usr/local/bin/docker, else the host's Docker CLI binary alone).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
FRESH_CACHE="$CACHE_DIR/fresh-machine"
ROOTFS_TAR="$FRESH_CACHE/debian-$SUITE-minbase.tar"
TIMEOUT="${FRESH_TIMEOUT:-5400}"
# What setup.sh installs: none of it may be on the machine before the README's commands run.
PROJECT_PACKAGES=(docker.io docker-registry debootstrap busybox-static curl python3-venv containerd runc)
# Where the repository goes inside the machine (a root's clone).
CHECKOUT=/root/acr-action

# Every resource of a run is named after the script's pid, so that a later run can tell a
# leftover of a killed run (its pid gone) from one that is still going.
NAME_PREFIX=acr-fresh-
RUN="$NAME_PREFIX$$"
IMAGE="acr-action-fresh:$$"
CONTAINER="$RUN"
NETWORK="$RUN"
BRIDGE="acrfresh$$"
BRIDGE="${BRIDGE:0:15}" # Linux interface names have at most 15 characters
SUBNET=""
UPLINK=""
MADE_IMAGE=0
RULES=() # iptables rules added, each "TABLE CHAIN RULE..." as one string

REF=HEAD
BASE_IMAGE=""
RUN_DEMO=1
TEST_ARGS=()

ipt() { iptables -w "$@"; }

# shellcheck disable=SC2329  # run by `trap cleanup EXIT` in main
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    local start
    start="$(now)"
    if [[ -n "$STEP_PID" ]]; then
        kill -TERM "$STEP_PID" 2>/dev/null
    fi
    if "$DOCKER" container inspect "$CONTAINER" >/dev/null 2>&1; then
        log "removing the machine (inner containers and dockerd first)"
        stop_inner_docker "$CONTAINER"
        "$DOCKER" rm -f -v "$CONTAINER" >/dev/null
    fi
    local rule
    for rule in "${RULES[@]+"${RULES[@]}"}"; do
        # shellcheck disable=SC2086  # a rule is a list of words, split on purpose
        set -- $rule
        ipt -t "$1" -D "${@:2}"
    done
    if "$DOCKER" network inspect "$NETWORK" >/dev/null 2>&1; then
        "$DOCKER" network rm "$NETWORK" >/dev/null
    fi
    if ((MADE_IMAGE)); then
        "$DOCKER" image rm "$IMAGE" >/dev/null
    fi
    rm -rf -- "$FRESH_CACHE/rootfs.tmp.$$" "${ORIGIN:-}"
    log "cleaned up in $(elapsed "$start")"
    exit "$rc"
}

# Stop the inner dockerd the way an operator would (its containers first), so that it removes
# their cgroups and mounts itself; killing the machine alone would leave their cgroup
# directories on the host (cgroup v1 shares the host's hierarchy).
stop_inner_docker() {
    local container="$1"
    # shellcheck disable=SC2016  # expanded by the machine's shell
    timeout 120 "$DOCKER" exec "$container" bash -c '
        [ -s /var/run/docker.pid ] && [ -x /usr/bin/docker ] || exit 0
        ids=$(/usr/bin/docker ps -aq 2>/dev/null)
        [ -z "$ids" ] || /usr/bin/docker rm -f -v $ids >/dev/null 2>&1
        pid=$(cat /var/run/docker.pid)
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 1; done
        echo "inner dockerd did not stop within 60 s" >&2' || true
}

# Remove what runs that were killed outright left behind: resources named acr-fresh-PID whose
# PID is no longer a running fresh-machine.sh.
sweep_leftovers() {
    local name pid
    while read -r name; do
        pid="${name#"$NAME_PREFIX"}"
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q fresh-machine; then
            continue
        fi
        log "removing leftovers of an earlier run that was killed ($name)"
        stop_inner_docker "$name"
        "$DOCKER" rm -f -v "$name" >/dev/null 2>&1 || true
        "$DOCKER" network rm "$name" >/dev/null 2>&1 || true
        "$DOCKER" image rm "acr-action-fresh:$pid" >/dev/null 2>&1 || true
        local table rule
        for table in nat filter; do
            ipt -t "$table" -S | grep -F -- "--comment $name " | sed 's/^-A //' |
                while read -r rule; do
                    # shellcheck disable=SC2086  # iptables -S output, split into its words
                    ipt -t "$table" -D $rule
                done
        done
    done < <({
        "$DOCKER" ps -a --format '{{.Names}}'
        "$DOCKER" network ls --format '{{.Name}}'
        local t
        for t in nat filter; do
            ipt -t "$t" -S | grep -o -- "--comment ${NAME_PREFIX}[0-9]*" | cut -d' ' -f2
        done
    } | grep -E "^${NAME_PREFIX}[0-9]+$" | sort -u)
}

# add_rule TABLE CHAIN RULE...: insert an iptables rule, tagged with this run's name.
add_rule() {
    local table="$1" chain="$2"
    shift 2
    local rule=("$chain" -m comment --comment "$RUN" "$@")
    ipt -t "$table" -I "${rule[@]}"
    RULES+=("$table ${rule[*]}")
}

make_rootfs_tar() {
    if [[ -s "$ROOTFS_TAR" ]]; then
        log "root file system: cached $ROOTFS_TAR"
        return 0
    fi
    command -v debootstrap >/dev/null 2>&1 ||
        die "debootstrap not found on the host; apt-get install debootstrap (or use --base-image)"
    mkdir -p "$FRESH_CACHE"
    local rootfs="$FRESH_CACHE/rootfs.tmp.$$" logfile="$FRESH_CACHE/debootstrap.log" start
    start="$(now)"
    log "debootstrap --variant=minbase $SUITE (log: $logfile)"
    local keyring=()
    # Ubuntu's debootstrap needs Debian's keyring named (package debian-archive-keyring).
    if [[ -s /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
        keyring=(--keyring /usr/share/keyrings/debian-archive-keyring.gpg)
    fi
    if ! debootstrap "${keyring[@]+"${keyring[@]}"}" --variant=minbase "$SUITE" "$rootfs" \
        "$DEBIAN_MIRROR" >"$logfile" 2>&1; then
        tail -n 20 "$logfile" >&2 || true
        die "debootstrap failed; see $logfile"
    fi
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar --numeric-owner -C "$rootfs" -cf "$ROOTFS_TAR.tmp" .
    mv -f -- "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf -- "$rootfs"
    log "root file system: debootstrap done in $(elapsed "$start"), cached $ROOTFS_TAR"
}

make_image() {
    if [[ -n "$BASE_IMAGE" ]]; then
        image_exists "$BASE_IMAGE" || "$DOCKER" pull "$BASE_IMAGE"
        "$DOCKER" tag "$BASE_IMAGE" "$IMAGE"
    else
        make_rootfs_tar
        "$DOCKER" import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            "$ROOTFS_TAR" "$IMAGE" >/dev/null
    fi
    MADE_IMAGE=1
}

# The machine's network: a bridge of its own, NAT to the uplink, and nothing else reachable.
make_network() {
    UPLINK="$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')"
    [[ -n "$UPLINK" ]] || die "the host has no IPv4 default route; the machine needs Debian's and PyPI's indexes"
    [[ "$(cat /proc/sys/net/ipv4/ip_forward)" == 1 ]] ||
        die "IPv4 forwarding is off on the host (net.ipv4.ip_forward=0); the machine could not reach the package indexes"
    # A /24 that no other network on the host uses: docker refuses an overlapping subnet.
    local try
    for try in 1 2 3 4 5 6 7 8; do
        SUBNET="10.213.$(((RANDOM + try) % 256)).0/24"
        if "$DOCKER" network create --driver bridge --subnet "$SUBNET" \
            --opt "com.docker.network.bridge.name=$BRIDGE" "$NETWORK" >/dev/null 2>&1; then
            break
        fi
        SUBNET=""
    done
    [[ -n "$SUBNET" ]] || die "could not create a Docker network for the machine (no free 10.213.x.0/24)"
    add_rule nat POSTROUTING -s "$SUBNET" -o "$UPLINK" -j MASQUERADE
    add_rule filter FORWARD -i "$BRIDGE" ! -o "$UPLINK" -j DROP
    add_rule filter INPUT -i "$BRIDGE" -j DROP
    log "network: $NETWORK ($SUBNET on $BRIDGE), NAT to $UPLINK only"
}

# The Docker CLI without buildx that comes first on PATH in the machine.
path_docker_cli() {
    if [[ -n "${FRESH_PATH_DOCKER:-}" ]]; then
        printf '%s\n' "$FRESH_PATH_DOCKER"
    elif [[ -x /usr/local/bin/docker ]]; then
        printf '%s\n' /usr/local/bin/docker
    else
        printf '%s\n' "$DOCKER"
    fi
}

in_machine() { "$DOCKER" exec -i "$CONTAINER" bash -euo pipefail -c "$1"; }

# Linux capability names by number (include/uapi/linux/capability.h), for --cap-drop.
CAPS=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
    NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO
    SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
    SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE)

# The options that let a dockerd run in the machine. --privileged when the host allows it; some
# hosts (VMs whose root lacks a capability in its bounding set, such as CAP_SYS_RESOURCE) refuse
# it ("unable to apply caps"), and there the same access is granted piece by piece: every
# capability the host has, no seccomp or AppArmor profile, /proc and /sys unmasked, all devices,
# and the host's cgroup hierarchy writable (what --privileged mounts on cgroup v1).
machine_privileges() {
    if "$DOCKER" run --rm --privileged --network none "$IMAGE" true >/dev/null 2>&1; then
        PRIVILEGES=(--privileged)
        return 0
    fi
    local bounding bit
    bounding=$((16#$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)))
    PRIVILEGES=(--cap-add ALL)
    for bit in "${!CAPS[@]}"; do
        if (((bounding >> bit & 1) == 0)); then
            PRIVILEGES+=(--cap-drop "${CAPS[bit]}")
        fi
    done
    # shellcheck disable=SC2054  # the commas are in one --mount value
    PRIVILEGES+=(--security-opt seccomp=unconfined --security-opt apparmor=unconfined
        --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm'
        --mount type=bind,src=/sys/fs/cgroup,dst=/sys/fs/cgroup)
    log "machine: --privileged is refused here; granting its parts instead (${PRIVILEGES[*]})"
}
PRIVILEGES=()

start_machine() {
    machine_privileges
    # pid 1 is the machine's init: a bash that waits, so that it reaps the daemons setup.sh
    # detaches (setsid nohup). It remounts /sys read-write, as --privileged would mount it, for
    # the inner dockerd. On cgroup v2 (GitHub's Ubuntu runners) it also does what a machine's
    # systemd does before any container engine starts: it moves the processes out of the root
    # cgroup into a child and hands every controller down, because a cgroup v2 group that has
    # processes of its own cannot enable controllers for its children (the kernel's "no
    # internal process" rule), and the inner runc needs them; moby/moby hack/dind does the same
    # ("cgroup v2: enable nesting"). A `docker exec` then lands in that child (runc joins the
    # init process's cgroup on EBUSY, opencontainers/runc#2416). It retries, in case an exec
    # arrives meanwhile, and says "machine ready" on its output once done.
    # shellcheck disable=SC2016  # expanded by the machine's shell
    "$DOCKER" run -d "${PRIVILEGES[@]}" --name "$CONTAINER" --hostname fresh-machine \
        --network "$NETWORK" --mount type=volume,dst=/var/lib/docker \
        "$IMAGE" bash -c 'mount -o remount,rw /sys
            if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
                mkdir -p /sys/fs/cgroup/init
                read -ra controllers </sys/fs/cgroup/cgroup.controllers
                for _ in $(seq 100); do
                    for pid in $(cat /sys/fs/cgroup/cgroup.procs); do
                        echo "$pid" >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null
                    done
                    printf "+%s " "${controllers[@]}" >/sys/fs/cgroup/cgroup.subtree_control &&
                        break
                    sleep 0.1
                done
            fi
            echo machine ready
            trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done' >/dev/null
    # Read from its log, not with `docker exec`, which could land in the root cgroup meanwhile.
    local deadline=$((SECONDS + 60))
    until "$DOCKER" logs "$CONTAINER" 2>/dev/null | grep -qx 'machine ready'; do
        if ((SECONDS >= deadline)) || [[ "$("$DOCKER" inspect -f '{{.State.Running}}' "$CONTAINER")" != true ]]; then
            "$DOCKER" logs "$CONTAINER" >&2 || true
            die "the machine did not start (its output is above)"
        fi
        sleep 0.5
    done
}

# What the machine image ships before anyone runs the project's scripts.
provision_machine() {
    local start cli
    start="$(now)"
    if [[ -z "$BASE_IMAGE" ]]; then
        # As in Debian's own images: the release, its updates and its security archive.
        in_machine "rm -f /etc/apt/sources.list; cat >/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    # Snapshot mirrors serve Release files past their Valid-Until date; the host's apt accepts
    # them (base-images.sh does the same for its images).
    if apt-config dump 2>/dev/null | grep -q '^Acquire::Check-Valid-Until "false"'; then
        in_machine 'printf "Acquire::Check-Valid-Until \"false\";\n" >/etc/apt/apt.conf.d/99check-valid-until'
    fi
    in_machine 'mkdir -p /usr/local/share/ca-certificates'
    local crt
    for crt in /usr/local/share/ca-certificates/*.crt; do
        [[ -f "$crt" ]] || continue
        "$DOCKER" cp "$crt" "$CONTAINER:/usr/local/share/ca-certificates/"
    done
    log "machine image: python3, ca-certificates and git from Debian"
    in_machine 'apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 ca-certificates git >/dev/null
        update-ca-certificates >/dev/null
        # A new machine has not run apt-get update: setup.sh must.
        rm -rf /var/lib/apt/lists/*'
    cli="$(path_docker_cli)"
    [[ -x "$cli" ]] || die "FRESH_PATH_DOCKER: $cli is not an executable"
    in_machine 'cat >/usr/local/bin/docker && chmod 755 /usr/local/bin/docker' <"$cli"
    in_machine '/usr/local/bin/docker --version >/dev/null' ||
        die "the Docker CLI $cli does not run in a Debian $SUITE root (set FRESH_PATH_DOCKER to a static one)"
    if in_machine '/usr/local/bin/docker buildx version' >/dev/null 2>&1; then
        die "the machine's /usr/local/bin/docker has buildx; the check needs a CLI without it"
    fi
    log "machine image: $(in_machine 'python3 --version'), $(in_machine '/usr/local/bin/docker --version') at /usr/local/bin (no buildx), ready in $(elapsed "$start")"
}

check_nothing_preinstalled() {
    local missing
    # shellcheck disable=SC2016  # $p is expanded in the machine
    missing="$(in_machine 'for p in '"${PROJECT_PACKAGES[*]}"'; do
        [ "$(dpkg-query -W -f="\${db:Status-Status}" "$p" 2>/dev/null)" = installed ] && echo "$p"
        done; [ -e /usr/bin/docker ] && echo /usr/bin/docker; true')"
    [[ -z "$missing" ]] || die "the new machine already has what setup.sh must install: $missing"
}

# The commit to check, or a clear error naming --ref, before anything is made.
resolve_ref() {
    COMMIT="$(repo_git rev-parse --verify --quiet "$REF^{commit}")" ||
        die "--ref: '$REF' is not a commit of this repository (e.g. --ref HEAD, --ref v1.2.3)"
    if [[ "$REF" == HEAD ]] && [[ -n "$(repo_git status --porcelain --untracked-files=no)" ]]; then
        warn "uncommitted changes are not part of the check: it runs HEAD (${COMMIT:0:12})"
    fi
}
COMMIT=""

# "From a clone", as the README says: REF's history is pushed into a new bare repository, which
# the machine clones, so the checkout is what `git clone` makes (.git included, the commit on
# branch main) and nothing untracked or uncommitted comes along.
copy_repository() {
    ORIGIN="$(mktemp -d "${TMPDIR:-/tmp}/acr-action-fresh.XXXXXX")"
    git init --quiet --bare --initial-branch=main "$ORIGIN/acr-action.git"
    repo_git push --quiet "$ORIGIN/acr-action.git" "$COMMIT:refs/heads/main"
    "$DOCKER" cp "$ORIGIN/acr-action.git" "$CONTAINER:/root/acr-action.git"
    rm -rf -- "$ORIGIN"
    in_machine "git clone --quiet /root/acr-action.git $CHECKOUT && rm -rf /root/acr-action.git"
    log "repository: $REF (${COMMIT:0:12}) cloned at $CHECKOUT"
}
ORIGIN=""

# git on this repository. safe.directory (honoured on the command line, one of git's "protected"
# configuration scopes) because the check runs as root over a clone that a user owns, as
# `sudo scripts/fresh-machine.sh` on a CI runner does; git would otherwise refuse the repository.
repo_git() { git -C "$REPO_ROOT" -c safe.directory="$REPO_ROOT" "$@"; }

TIMINGS=()
STEP_PID="" # the running step's `timeout` process

# step NAME COMMAND: run a README command in the machine, as root, from the checkout; time it.
step() {
    local name="$1" command="$2" start rc=0
    log "[fresh machine] $command"
    start="$(now)"
    # In the background, waited for: bash runs a trap only once the foreground command is done,
    # and `wait` is the one place where a signal cuts in at once, so Ctrl-C or a CI
    # cancellation cleans up now instead of after the test suite.
    timeout --kill-after=30 "$TIMEOUT" "$DOCKER" exec -w "$CHECKOUT" -e CI=true "$CONTAINER" \
        bash -c "$command" &
    STEP_PID=$!
    wait "$STEP_PID" || rc=$?
    STEP_PID=""
    TIMINGS+=("$(printf '%-8s %s  %s' "$(elapsed "$start")" "$([[ $rc == 0 ]] && echo ok || echo "FAILED ($rc)")" "$command")")
    return "$rc"
}

report() {
    printf '\nfresh-machine check, %s:\n' "$1" >&2
    printf '  %s\n' "${TIMINGS[@]}" >&2
}

usage() { script_help "$0"; }

main() {
    while (($#)); do
        case "$1" in
            --ref)
                [[ $# -ge 2 ]] || die "--ref needs a value (e.g. --ref HEAD)"
                REF="$2"
                shift 2
                ;;
            --base-image)
                [[ $# -ge 2 ]] || die "--base-image needs a value (e.g. --base-image debian:bookworm)"
                BASE_IMAGE="$2"
                shift 2
                ;;
            --no-demo)
                RUN_DEMO=0
                shift
                ;;
            -h | --help)
                usage
                return 0
                ;;
            --)
                shift
                TEST_ARGS=("$@")
                break
                ;;
            *) die "unknown argument: $1 (try --help)" ;;
        esac
    done
    local tool
    for tool in git ip iptables; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not found on the host"
    done
    resolve_ref
    require_root "$0"
    require_docker_cli
    docker_ready || die "no Docker engine answers at $DOCKER; start one (scripts/setup.sh does)"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    sweep_leftovers
    local start
    start="$(now)"
    make_image
    make_network
    start_machine
    provision_machine
    check_nothing_preinstalled
    copy_repository
    TIMINGS+=("$(printf '%-8s %s  %s' "$(elapsed "$start")" ok "new machine (root file system, network, machine image, repository)")")

    local quoted="" rc=0
    if ((${#TEST_ARGS[@]})); then
        quoted=" $(printf '%q ' "${TEST_ARGS[@]}")"
    fi
    if ((RUN_DEMO)); then
        step demo "scripts/demo.sh" || rc=$?
    fi
    if ((rc == 0)); then
        step test "scripts/test.sh${quoted% }" || rc=$?
    fi
    if ((rc == 0)); then
        step rerun "scripts/setup.sh && scripts/base-images.sh" || rc=$?
    fi
    TIMINGS+=("$(printf '%-8s total' "$(elapsed "$start")")")
    if ((rc)); then
        report FAILED
        return "$rc"
    fi
    report passed
}

# `exit` on the same line: bash reads a script while it runs it, and so never reads past this
# line; editing the file during a run (a long one) cannot change what the run does next.
main "$@"; exit
