#!/usr/bin/env bash
# Build local stand-ins for the public base images that the Dockerfiles name by default, because
# Docker Hub cannot be reached from this kind of machine. Each image is built once: an image that
# already exists is kept, so a rerun takes a second. `--rebuild` builds them all again.
#
#   acr-action-local/debian:bookworm-slim       for debian:bookworm-slim (debootstrap
#                                               --variant=minbase, slimmed, `docker import`ed)
#   acr-action-local/python:3.11-slim-bookworm  for python:3.11-slim-bookworm (Debian's python3 +
#                                               venv + pip on the slim Debian, no .pyc files)
#   acr-action-local/busybox               for busybox:1.36 (FROM scratch + busybox-static)
#   acr-action-local/docker-cli:26-buildx  for docker:27-cli (Debian trixie's docker CLI 26.1 and
#                                          buildx plugin 0.13)
#   acr-action-local/caddy                 for caddy:2.6.2, the `tls: auto` proxy (Debian's caddy)
#   acr-action-local/pebble                Let's Encrypt's test ACME server (Debian's pebble), which
#                                          the TLS tests run (localazure/acme.py)
#
# The debootstrap root file system is cached as a tarball under .cache/base-images/, so even a
# rebuild after `docker image rm` does not download Debian again.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# debootstrap reads the same mirror as the host's apt (override with DEBIAN_MIRROR).
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SUITE=bookworm
# The CA bundle that the host trusts. HTTPS to package indexes may pass a TLS-intercepting proxy
# whose CA only this bundle holds, so the images carry it (see the python image below).
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

IMAGE_CACHE="$CACHE_DIR/base-images"
ROOTFS_TAR="$IMAGE_CACHE/debian-$DEBIAN_SUITE-slim.tar"

REBUILD=0
WORK_DIRS=()

cleanup() {
    local d
    for d in "${WORK_DIRS[@]+"${WORK_DIRS[@]}"}"; do
        rm -rf -- "$d"
    done
}
trap cleanup EXIT

# new_context -> a fresh temporary build-context directory, removed on exit.
new_context() {
    local d
    d="$(mktemp -d "${TMPDIR:-/tmp}/acr-action-base.XXXXXX")"
    WORK_DIRS+=("$d")
    printf '%s\n' "$d"
}

# Report an image that was already there, or time a build of it. Args: IMAGE BUILD-FUNCTION.
ensure_image() {
    local image="$1" build="$2"
    if ((REBUILD == 0)) && image_exists "$image"; then
        log "$image: present ($(image_size "$image"))"
        return 0
    fi
    log "$image: building"
    local start
    start="$(now)"
    "$build" "$image"
    log "$image: built in $(elapsed "$start") ($(image_size "$image"))"
}

# A minimal Debian root file system, written as a tarball (cached across runs).
make_rootfs_tar() {
    if [[ -s "$ROOTFS_TAR" ]]; then
        log "reusing cached root file system $ROOTFS_TAR"
        return 0
    fi
    require_root "debootstrap"
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found; run scripts/setup.sh first"
    mkdir -p "$IMAGE_CACHE"
    local rootfs="$IMAGE_CACHE/rootfs.tmp" logfile="$IMAGE_CACHE/debootstrap.log"
    rm -rf -- "$rootfs"
    WORK_DIRS+=("$rootfs")
    local start
    start="$(now)"
    log "debootstrap --variant=minbase $DEBIAN_SUITE (log: $logfile)"
    if ! debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$logfile" 2>&1; then
        tail -n 20 "$logfile" >&2 || true
        die "debootstrap failed; see $logfile"
    fi
    log "debootstrap done in $(elapsed "$start")"
    trim_rootfs "$rootfs"
    slimify_rootfs "$rootfs"
    # Numeric owners: the tarball must not depend on the host's user names.
    tar --numeric-owner -C "$rootfs" -cf "$ROOTFS_TAR.tmp" .
    mv -f -- "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf -- "$rootfs"
    log "cached $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
}

# Make the debootstrap tree look like Debian's official container image: the same apt sources
# (with updates and security), no downloaded packages or indexes, files that Docker provides at
# run time left empty, and apt told not to keep caches that would bloat every layer.
trim_rootfs() {
    local r="$1"
    rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/var/log/*.log
    rm -f "$r/etc/apt/sources.list"
    cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
// As in Debian's official image: no package caches inside image layers.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
    # The snapshot mirrors that some machines use serve Release files past their Valid-Until
    # date; the host's apt accepts them, so the image's apt must too.
    if apt-config dump 2>/dev/null | grep -q '^Acquire::Check-Valid-Until "false"'; then
        printf 'Acquire::Check-Valid-Until "false";\n' >"$r/etc/apt/apt.conf.d/99check-valid-until"
    fi
    : >"$r/etc/hostname"
    : >"$r/etc/resolv.conf"
    : >"$r/etc/machine-id"
}

# What debian:bookworm-slim leaves out, as debuerreotype's `debuerreotype-slimify` does it (the
# lists are its scripts/.slimify-excludes and .slimify-includes): documentation, manual pages and
# translations are deleted, and a dpkg configuration keeps later `apt-get install`s from adding
# them back. About 50 MB of a minbase tree (locales 33 MB, docs 9 MB, manual pages 5 MB).
SLIM_EXCLUDES=(/usr/share/doc /usr/share/groff /usr/share/info /usr/share/linda
    /usr/share/lintian/overrides /usr/share/locale /usr/share/man)
SLIM_INCLUDES=("/usr/share/doc/*/copyright" /usr/share/locale/all_languages
    "/usr/share/locale/currency/*" "/usr/share/locale/l10n/*" /usr/share/locale/languages
    /usr/share/locale/locale.alias)

slimify_rootfs() {
    local r="$1" dir pattern keep=()
    for pattern in "${SLIM_INCLUDES[@]}"; do
        ((${#keep[@]} == 0)) || keep+=(-o)
        keep+=(-path "$r$pattern")
    done
    {
        printf '# The "slim" variant: files that containers do not need stay out (debuerreotype).\n'
        for dir in "${SLIM_EXCLUDES[@]}"; do
            printf 'path-exclude %s/*\n' "$dir"
        done
        for pattern in "${SLIM_INCLUDES[@]}"; do
            printf 'path-include %s\n' "$pattern"
        done
    } >"$r/etc/dpkg/dpkg.cfg.d/docker"
    for dir in "${SLIM_EXCLUDES[@]}"; do
        [[ -d "$r$dir" ]] || continue
        # Files first (what SLIM_INCLUDES names stays), then the directories left empty.
        find "$r$dir" -depth -mindepth 1 -not \( "${keep[@]}" \) -not -type d -delete
        find "$r$dir" -depth -mindepth 1 -type d -empty -delete
    done
}

build_debian() {
    local image="$1"
    make_rootfs_tar
    "$DOCKER" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --message "debootstrap --variant=minbase $DEBIAN_SUITE" \
        "$ROOTFS_TAR" "$image" >/dev/null
}

# Stands in for python:3.11-slim-bookworm: Debian's python3 (3.11) with venv and pip, `python` on
# PATH, and the host CA bundle so that pip in a build reaches the index from this machine. Like the
# official image, it holds no .pyc files: docker-library/python's Dockerfile deletes every `*.pyc`
# under /usr/local after `make install`; Debian's packages compile theirs (27 MB) at install time.
build_python() {
    local image="$1" ctx
    ctx="$(new_context)"
    cp "$HOST_CA_BUNDLE" "$ctx/ca-certificates.crt"
    cat >"$ctx/Dockerfile" <<'EOF'
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# EXTERNALLY-MANAGED is removed because the official python image has no such marker: Dockerfiles
# written for it run `pip install` outside a venv, and must work against this stand-in too.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /usr/lib/python3.*/EXTERNALLY-MANAGED \
 && find /usr/lib/python3 /usr/lib/python3.* -depth -name __pycache__ -type d -exec rm -rf {} + \
 && ln -s /usr/bin/python3 /usr/local/bin/python
# After the apt step: installing ca-certificates regenerates this file.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
EOF
    # --network host: containers on the default bridge have no route out on this machine.
    "$DOCKER" build --quiet --network host --build-arg "DEBIAN_IMAGE=$LOCAL_DEBIAN_IMAGE" \
        -t "$image" "$ctx" >/dev/null
}

# Stands in for busybox:1.36: the static busybox binary with its applet links.
build_busybox() {
    local image="$1" ctx busybox
    busybox="$(command -v busybox || true)"
    [[ -n "$busybox" ]] || die "busybox not found; run scripts/setup.sh first (package busybox-static)"
    file_is_static "$busybox" || die "$busybox is not statically linked; install busybox-static"
    ctx="$(new_context)"
    cp "$busybox" "$ctx/busybox"
    cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "mkdir", "-p", "/sbin", "/usr/bin", "/usr/sbin", "/tmp", "/etc", "/root"]
RUN ["/bin/busybox", "--install", "-s"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["sh"]
EOF
    "$DOCKER" build --quiet -t "$image" "$ctx" >/dev/null
}

# True when FILE is a static executable: busybox-static is, the `busybox` package is not, and
# only a static binary runs in a FROM scratch image.
file_is_static() {
    # glibc's ldd says "not a dynamic executable" (or "statically linked" for static-pie).
    local out
    out="$(ldd "$1" 2>&1 || true)"
    [[ "$out" == *"not a dynamic executable"* || "$out" == *"statically linked"* ]]
}

# Stands in for docker:27-cli as the source of the action image's Docker CLI and buildx plugin,
# at the paths docker:27-cli keeps them: Debian's docker-cli (26.1) and docker-buildx (0.13)
# packages. Bookworm has neither a CLI from 23.0 on (where `docker build` is `docker buildx
# build`) nor buildx, so both come from trixie, Debian 13: `apt-get download` fetches the two
# packages in a throw-away stage without installing anything (both depend on libc6 (>= 2.34)
# alone, which bookworm's 2.36 satisfies) and only their two binaries are copied.
build_docker_cli() {
    local image="$1" ctx
    ctx="$(new_context)"
    cat >"$ctx/Dockerfile" <<'EOF'
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE} AS fetch
ARG DEBIAN_MIRROR
RUN printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' \
        "$DEBIAN_MIRROR" >/etc/apt/sources.list.d/trixie.list \
 && apt-get update \
 && cd /tmp && apt-get download docker-cli docker-buildx \
 && for deb in /tmp/*.deb; do dpkg-deb -x "$deb" /out; done
FROM ${DEBIAN_IMAGE}
COPY --from=fetch /out/usr/bin/docker /usr/local/bin/docker
COPY --from=fetch /out/usr/libexec/docker/cli-plugins/docker-buildx /usr/local/libexec/docker/cli-plugins/docker-buildx
RUN docker --version && docker buildx version
CMD ["docker", "--help"]
EOF
    "$DOCKER" build --quiet --network host --build-arg "DEBIAN_IMAGE=$LOCAL_DEBIAN_IMAGE" \
        --build-arg "DEBIAN_MIRROR=$DEBIAN_MIRROR" -t "$image" "$ctx" >/dev/null
}

# Stands in for caddy:2.6.2, the proxy of `tls: auto`: Debian's caddy (2.6.2 in bookworm) on the
# slim Debian, with the official image's storage directory /data and the shell the proxy's start
# script needs. The package's systemd unit is not used: the container runs `caddy run`.
build_caddy() {
    local image="$1" ctx
    ctx="$(new_context)"
    cat >"$ctx/Dockerfile" <<'EOF'
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends caddy ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data /config \
 && caddy version
ENV XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
EOF
    "$DOCKER" build --quiet --network host --build-arg "DEBIAN_IMAGE=$LOCAL_DEBIAN_IMAGE" \
        -t "$image" "$ctx" >/dev/null
}

# Let's Encrypt's test CA for the local Azure's ACME model (localazure/acme.py): Debian's pebble.
build_pebble() {
    local image="$1" ctx
    ctx="$(new_context)"
    cat >"$ctx/Dockerfile" <<'EOF'
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pebble \
 && rm -rf /var/lib/apt/lists/* \
 && command -v pebble
CMD ["pebble", "-h"]
EOF
    "$DOCKER" build --quiet --network host --build-arg "DEBIAN_IMAGE=$LOCAL_DEBIAN_IMAGE" \
        -t "$image" "$ctx" >/dev/null
}

usage() {
    script_help "$0"
    printf '\nUsage: %s [--rebuild]\n' "$0"
}

main() {
    case "${1:-}" in
        "") ;;
        --rebuild) REBUILD=1 ;;
        -h | --help)
            usage
            return 0
            ;;
        *)
            usage >&2
            return 2
            ;;
    esac
    ensure_dockerd
    local start
    start="$(now)"
    ensure_image "$LOCAL_DEBIAN_IMAGE" build_debian
    ensure_image "$LOCAL_PYTHON_IMAGE" build_python
    ensure_image "$LOCAL_BUSYBOX_IMAGE" build_busybox
    ensure_image "$LOCAL_DOCKER_CLI_IMAGE" build_docker_cli
    ensure_image "$LOCAL_CADDY_IMAGE" build_caddy
    ensure_image "$LOCAL_PEBBLE_IMAGE" build_pebble
    log "base images ready in $(elapsed "$start")"
}

main "$@"
