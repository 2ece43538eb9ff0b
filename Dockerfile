# The action image. GitHub builds it from this file on the runner (action.yml: `image: Dockerfile`)
# with the public defaults below. Where Docker Hub cannot be reached, the tests and the demo pass
# local stand-ins (scripts/base-images.sh) and the host network for the pip step:
#
#   DOCKER_BUILDKIT=1 docker build --network host \
#     --build-arg BASE_IMAGE=acr-action-local/python:3.11-slim-bookworm \
#     --build-arg DOCKER_CLI_IMAGE=acr-action-local/docker-cli \
#     -t acr-action .
#
# (No `# syntax=` line: it would pull a frontend image from Docker Hub. Nothing here needs more
# than the daemon's built-in Dockerfile frontend.)

# Pinned by digest (the multi-platform index of python:3.11-slim-bookworm, Python 3.11.16, as
# recorded by docker-library/repo-info repos/python/remote/3.11-slim-bookworm.md); the tag stays
# for readers. Override with --build-arg BASE_IMAGE=... (the tests pass a local stand-in).
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b
# Source of the Docker CLI and its buildx plugin. docker-py's build API is the legacy builder,
# which rejects `RUN --mount` and other current syntax; the action runs `docker build` with BuildKit
# through this CLI against the runner's daemon (the mounted /var/run/docker.sock). Only those two
# files are copied, not the rest of the image (Alpine, git, openssh, the compose plugin). Pinned by
# digest: the multi-platform index of docker:27-cli (Docker 27.5.0, buildx 0.19.3), as recorded by
# docker-library/repo-info repos/docker/remote/; the tag stays for readers.
ARG DOCKER_CLI_IMAGE=docker:27-cli@sha256:60407342059ffa73d3ca74c7fd8a5273efc94a6035d7cff6f4c8123e30ce34a4

FROM ${DOCKER_CLI_IMAGE} AS docker-cli

# ---- builder: a virtual environment with exactly the locked packages ----
FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
COPY requirements/action.lock /tmp/action.lock
# --require-hashes --no-deps: only the files the lock names, each checked against its hash.
# --no-compile: bytecode is written below, once, for what is left after pruning.
# The venv's own pip and setuptools go afterwards: the final image installs nothing.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-compile --require-hashes --no-deps -r /tmp/action.lock \
 && /opt/venv/bin/pip uninstall --yes pip setuptools \
 && rm -rf /opt/venv/bin/activate* /opt/venv/bin/Activate.ps1
# What the wheels ship and the action never imports (tests/e2e/test_image_contents.py imports
# every module that is left, inside the image):
# - the asyncio clients (`aio/`): the action uses only the synchronous Azure clients;
# - dulwich's command line (cli, __main__) and porcelain (clone, push, commit): the action only
#   reads a commit (source.py), and no other dulwich module but maintenance's `fetch` imports them;
# - dulwich's Rust speed-ups (`_objects`, `_pack`, `_diff_tree`, 2 MB): objects.py, pack.py and
#   diff_tree.py keep their pure-Python code for when that import fails; fast enough for a commit;
# - the test suites that dulwich and certifi carry inside their packages;
# - PyYAML's libyaml binding (`yaml/_yaml.*.so`, `yaml/cyaml.py`, `_yaml/`, 2.7 MB): spec-file
#   is read by the pure-Python SafeLoader, whose marks give the line numbers, and
#   `yaml/__init__.py` carries on without the binding when its import fails.
# Then the dependencies are byte-compiled in place (`-b`: foo.pyc beside foo.py) and their sources
# deleted: Python imports a lone .pyc (the sourceless loader), a traceback through a dependency
# keeps its file and line numbers (not the line's text), and the image is 10 MB smaller than with
# both. The action's own code in /app keeps its sources.
# (No api-version subpackages to drop: azure-mgmt-containerregistry 15.0.0 and
# azure-mgmt-containerinstance 10.1.0 are single-version packages, 2025-11-01 and 2023-05-01 as in
# cloud.py's ApiVersions; the registry fallback, 2019-05-01, is the same code with `api_version=`.)
RUN cd /opt/venv/lib/python3.*/site-packages \
 && rm -rf azure/identity/aio azure/keyvault/secrets/aio azure/keyvault/secrets/_generated/aio \
        azure/keyvault/secrets/_shared/async_client_base.py \
        azure/mgmt/containerinstance/aio azure/mgmt/containerregistry/aio \
        dulwich/cli.py dulwich/__main__.py dulwich/porcelain dulwich/_objects.*.so dulwich/_pack.*.so \
        dulwich/_diff_tree.*.so dulwich/tests certifi/tests \
        yaml/_yaml.*.so yaml/cyaml.py _yaml \
 && /opt/venv/bin/python -m compileall -q -b -j 0 . \
 && find . -name '*.py' -type f -delete

# ---- the action ----
# Runs as root, on purpose (no USER instruction): GitHub mounts the workspace, the outputs and
# step-summary files and the runner's Docker socket into the container, and only the default
# user, root, can use them. Nor a WORKDIR: GitHub mounts GITHUB_WORKSPACE and makes it the working
# directory, so the entry point is an absolute path.
# https://docs.github.com/en/actions/sharing-automations/creating-actions/dockerfile-support-for-github-actions#user
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DOCKER_BUILDKIT=1
# A CLI from 23.0 on runs `docker build` as `docker buildx build` and refuses a BuildKit build
# without the plugin, so both files are required: a CLI image without buildx fails here.
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins/docker-buildx /usr/local/libexec/docker/cli-plugins/docker-buildx
COPY --from=builder /opt/venv /opt/venv
COPY entrypoint.py /app/entrypoint.py
COPY acr_action/ /app/acr_action/
# Bytecode compiled once here, since PYTHONDONTWRITEBYTECODE keeps each run from writing it.
RUN /opt/venv/bin/python -m compileall -q /app
ENTRYPOINT ["/opt/venv/bin/python", "/app/entrypoint.py"]
