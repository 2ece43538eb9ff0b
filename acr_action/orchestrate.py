"""One run of the action: the phases in order, independent work in parallel, outputs at the end.

sign in → (registry login server, Key Vault reads, the existing group: in the background)
→ build → push → deploy by digest → wait until Running → HTTP readiness → outputs and summary.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import cloud, deploy, keyvault, preview, registry
from .auth import GitHubOidc, explain_refusal, make_credential, unverified_claims
from .clock import Deadline, Phases
from .errors import ActionError, CloudLacksService, ImagePullRefused, InputError, InputProblem
from .failures import ARM_REGISTRY, ARM_RESOURCE_GROUP, ENTRA, KEY_VAULT, translate
from .inputs_table import SPECS
from .naming import oci_labels
from .retry import Retrier, azure_options
from .source import commit_time
from .spec import GroupSpec, RegistryCredential

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient

    from .cloud import Endpoints
    from .inputs import Inputs
    from .runner import Runner


T = TypeVar("T")


@dataclass
class Outcome:
    """What the run produced: step outputs plus facts for the summary."""

    outputs: dict[str, str] = field(default_factory=dict)
    phases: Phases = field(default_factory=Phases)
    notes: list[str] = field(default_factory=list)


def endpoints_for(inputs: Inputs, retrier: Retrier | None = None) -> Endpoints:
    """The cloud the inputs name."""
    if inputs.auth.resource_manager_endpoint:
        return cloud.from_metadata(inputs.auth.resource_manager_endpoint, retrier=retrier)
    return cloud.for_environment(inputs.auth.environment)


def subscription_of(inputs: Inputs) -> str:
    """The subscription from `subscription-id` or `creds` (the one rule, in `AuthInputs`)."""
    subscription = inputs.auth.effective_subscription_id
    if not subscription:
        raise InputError(
            [
                InputProblem(
                    "subscription-id",
                    "is required to reach Azure",
                    "subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}",
                    None,
                )
            ]
        )
    return subscription


def client_id_of(inputs: Inputs) -> str | None:
    """The app the run signs in as: `client-id`, or the one in `creds` (None: `az login`)."""
    auth = inputs.auth
    return auth.client_id or (auth.creds.client_id if auth.creds else None)


def sign_in(
    credential: TokenCredential,
    endpoints: Endpoints,
    oidc: GitHubOidc,
    client_id: str | None = None,
) -> AccessToken:
    """An ARM token, or the error that explains the refusal (`client_id` goes into its fix)."""
    from azure.core.exceptions import AzureError

    try:
        return credential.get_token(endpoints.arm_scope)
    except AzureError as exc:
        # azure-identity retried 408/429/5xx and dropped connections already; what is left is
        # Entra being unavailable, or its refusal (ClientAuthenticationError).
        raise translate(
            ENTRA, exc, explain=lambda refusal: explain_refusal(refusal, oidc, client_id)
        ) from exc


def object_id_of(token: str) -> str | None:
    """The signed-in principal's object id (`oid`) from its ARM token, to name it in a fix."""
    oid = unverified_claims(token).get("oid")
    return oid if isinstance(oid, str) and oid else None


def resource_group_location(
    token: str,
    endpoints: Endpoints,
    subscription: str,
    resource_group: str,
    retrier: Retrier | None = None,
) -> str:
    """The resource group's region (the default `location`)."""
    import requests

    from .arm import from_envelope

    url = (
        f"{endpoints.resource_manager}/subscriptions/{subscription}/resourcegroups/"
        f"{resource_group}?api-version={endpoints.api_versions.resource_groups}"
    )
    try:
        answer = (retrier or Retrier()).http(
            ARM_RESOURCE_GROUP.name, "GET", url, headers={"Authorization": f"Bearer {token}"}
        )
    except requests.RequestException as exc:
        raise translate(ARM_RESOURCE_GROUP, exc) from exc
    if answer.status_code == 200:
        return str(answer.json()["location"])

    def envelope(answer: Any) -> ActionError:
        try:
            error = answer.json().get("error", {})
        except ValueError:
            error = {}
        return from_envelope(
            answer.status_code,
            error.get("code"),
            error.get("message", answer.text),
            "Azure Resource Manager",
            name=resource_group,
        )

    raise translate(ARM_RESOURCE_GROUP, answer, explain=envelope)


def run(inputs: Inputs, env: Mapping[str, str], runner: Runner) -> Outcome:
    """Carry out `inputs.mode`; raises an `ActionError` subclass on failure."""
    outcome = Outcome()
    phases = outcome.phases
    deadline = Deadline(inputs.waiting.timeout)
    if preview.skip_fork(inputs, runner):  # before any network call
        outcome.outputs.update(name=inputs.container.name, state="Skipped")
        outcome.notes.append("pull request from a fork: no preview (on-fork: notice)")
        return outcome
    check_build_paths(inputs)  # before any network call, too
    # One retry rule for the whole run, bounded by its deadline; each retry is one log line.
    retrier = Retrier(deadline, runner.info)
    with phases.timed("sign in"):
        endpoints = endpoints_for(inputs, retrier)
        if inputs.mode != "build" and not endpoints.container_instances:
            raise CloudLacksService(
                endpoints.name,
                "Azure Container Instances",
                f"`mode: {inputs.mode}` manages container groups, and this cloud (Azure Stack "
                "Hub: its metadata has the older shape, without `resourceManager`) has no "
                "Azure Container Instances. The action can still build the image and push it "
                "to the cloud's container registry:",
                "with:\n  mode: build\n  registry: myregistry",
            )
        subscription = subscription_of(inputs)
        oidc = GitHubOidc(
            env, inputs.auth.audience, runner.mask, github=inputs.github, retrier=retrier
        )
        credential = make_credential(
            inputs,
            endpoints,
            oidc,
            on_actions=env.get("GITHUB_ACTIONS") == "true",
            options=azure_options("Microsoft Entra ID", deadline, runner.info, identity=True),
        )
        arm_token = sign_in(credential, endpoints, oidc, client_id_of(inputs))
    aci = deploy.client(
        credential,
        endpoints,
        subscription,
        options=azure_options(deploy.DEPENDENCY, deadline, runner.info),
    )

    def remove(name: str) -> bool:
        return deploy.delete(aci, inputs.resource_group, name, deadline=deadline, retrier=retrier)

    registry_session = _once(
        lambda: _registry_session(inputs, credential, endpoints, subscription, runner, retrier)
    )
    if inputs.mode == "sweep":
        with phases.timed("sweep"):
            swept = preview.sweep(aci, inputs, runner, remove, registry_session)
        preview.report_sweep(swept, inputs, runner)
        return outcome
    if inputs.mode == "delete":
        number = inputs.github.pr_number if inputs.github.is_pull_request else None
        if number is None and (inputs.preview.comment_on_pr or inputs.preview.delete_image_tag):
            number = preview.pr_of(
                deploy.get_group(aci, inputs.resource_group, inputs.container.name)
            )
        with phases.timed("delete"):
            existed = deploy.delete(
                aci,
                inputs.resource_group,
                inputs.container.name,
                deadline=deadline,
                retrier=retrier,
            )
        outcome.outputs.update(
            name=inputs.container.name, state="Deleted" if existed else "NotFound"
        )
        outcome.notes.append(
            f"container group {inputs.container.name} {'deleted' if existed else 'was already gone'}"
        )
        preview.after_delete(inputs, runner, existed, registry_session, number)
        return outcome

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="acr-action") as pool:
        background = _start_background(
            pool,
            aci,
            inputs,
            endpoints,
            credential,
            arm_token.token,
            subscription,
            runner,
            retrier=retrier,
        )
        image_ref, digest, first_tag = _image(
            inputs,
            env,
            runner,
            phases,
            deadline,
            background,
            credential,
            endpoints,
            retrier=retrier,
        )
        outcome.outputs.update(image=first_tag, digest=digest, **{"image-ref": image_ref})
        if inputs.mode == "build":
            return outcome
        with phases.timed("deploy"):
            secrets = background["secrets"].result() if "secrets" in background else {}
            location = inputs.location or background["location"].result()
            existing = background["existing"].result()
        spec = _group_spec(inputs, location, image_ref, secrets)
        preview.check_owner(inputs, existing)
        spec = preview.settle_tags(spec, existing)
        preview.enforce_limit(aci, inputs, runner, existing, remove)
        with phases.timed("deploy"), _pull_hint_for_mode(background):
            plan = deploy.apply(
                aci,
                inputs.resource_group,
                spec,
                existing,
                on_immutable_change=inputs.container.on_immutable_change,
                warn=runner.warning,
                deadline=deadline,
                retrier=retrier,
            )
    outcome.notes.append(
        f"plan: {plan.action}" + (f" ({', '.join(plan.changed)})" if plan.changed else "")
    )
    group = existing if plan.action == "noop" and existing is not None else None
    if inputs.waiting.wait or group is None:
        with phases.timed("wait"), _pull_hint_for_mode(background):
            group = (
                deploy.wait_running(aci, inputs.resource_group, inputs.container.name, deadline)
                if inputs.waiting.wait
                else deploy.get_group(aci, inputs.resource_group, inputs.container.name)
            )
    assert group is not None
    deployed = deploy.describe(group, plan)
    url = (
        f"http://{deployed.fqdn}"
        + (f":{inputs.container.ports[0]}" if inputs.container.ports[0] != 80 else "")
        if deployed.fqdn
        else ""
    )
    if inputs.waiting.wait and inputs.waiting.health_check_path is not None and deployed.ip:
        with phases.timed("readiness"):
            deploy.probe(
                deployed.ip,
                inputs.container.ports[0],
                inputs.waiting.health_check_path,
                deployed.fqdn,
                deadline,
                log=runner.info,
            )
    outcome.outputs.update(
        fqdn=deployed.fqdn or "",
        url=url,
        **{"ip-address": deployed.ip or "", "container-group-id": deployed.group_id},
        name=deployed.name,
        state=deployed.state,
    )
    github = inputs.github
    preview.comment(
        inputs,
        runner,
        github.pr_number if github.is_pull_request else None,
        preview.CommentFacts(
            deployed.name,
            deployed.state,
            url=url,
            sha=github.pr_head_sha or github.sha,
            digest=digest,
            run_url=preview.run_url(github),
        ),
    )
    return outcome


@contextmanager
def _pull_hint_for_mode(background: Mapping[str, Future[Any]]) -> Iterator[None]:
    """Let a refused image pull name the pull role of the registry's mode (ARM told it)."""
    try:
        yield
    except ImagePullRefused as exc:
        found = background.get("registry")
        ready = found is not None and found.done() and found.exception() is None
        facts = found.result() if found is not None and ready else None
        if facts is None or not facts.abac or exc.abac:
            raise
        raise ImagePullRefused(exc.image, exc.detail, abac=True) from exc


def registry_location(inputs: Inputs, subscription: str) -> tuple[str, str]:
    """(subscription, resource group) of the registry: its own inputs, else the deployment's."""
    return (
        inputs.acr.subscription_id or subscription,
        inputs.acr.resource_group or inputs.resource_group,
    )


def _registry_session(
    inputs: Inputs,
    credential: TokenCredential,
    endpoints: Endpoints,
    subscription: str,
    runner: Runner,
    retrier: Retrier,
) -> registry.RegistryAccess:
    """The registry's login server and an ACR refresh token (masked), for deleting image tags."""
    assert inputs.acr.name is not None  # parse_inputs requires it with delete-image-tag
    found = registry.find_registry(
        credential, endpoints, *registry_location(inputs, subscription), inputs.acr.name
    )
    tenant = inputs.auth.tenant_id or (inputs.auth.creds.tenant_id if inputs.auth.creds else None)
    refresh = registry.refresh_token(found, credential, endpoints, tenant, retrier=retrier)
    runner.mask(refresh)
    return registry.RegistryAccess(found.login_server, refresh, retrier)


def _once(make: Callable[[], T]) -> Callable[[], T]:
    """`make` called at most once, also from several threads; later calls return its result."""
    lock = threading.Lock()
    made: list[T] = []

    def get() -> T:
        with lock:
            if not made:
                made.append(make())
            return made[0]

    return get


def _start_background(
    pool: ThreadPoolExecutor,
    aci: ContainerInstanceManagementClient,
    inputs: Inputs,
    endpoints: Endpoints,
    credential: TokenCredential,
    arm_token: str,
    subscription: str,
    runner: Runner,
    *,
    retrier: Retrier,
) -> dict[str, Future[Any]]:
    """Start the reads that don't depend on the build, so they overlap it."""
    futures: dict[str, Future[Any]] = {}
    deadline = retrier.deadline
    if inputs.acr.name:
        futures["registry"] = pool.submit(
            registry.find_registry,
            credential,
            endpoints,
            *registry_location(inputs, subscription),
            inputs.acr.name,
            options=azure_options(ARM_REGISTRY.name, deadline, runner.info),
        )
    if inputs.mode != "deploy":
        return futures
    if inputs.secrets.key_vault:
        names: dict[str, str] = dict(inputs.secrets.secrets_from_key_vault)
        if inputs.secrets.registry_username_secret and inputs.secrets.registry_password_secret:
            names["registry-username"] = inputs.secrets.registry_username_secret
            names["registry-password"] = inputs.secrets.registry_password_secret
        futures["secrets"] = pool.submit(
            keyvault.read_secrets,
            credential,
            endpoints.vault_url(inputs.secrets.key_vault),
            names,
            runner.mask,
            client_id=client_id_of(inputs),
            object_id=object_id_of(arm_token),
            options={
                **azure_options(KEY_VAULT.name, deadline, runner.info),
                "api_version": endpoints.api_versions.key_vault,
            },
        )
    if not inputs.location:
        futures["location"] = pool.submit(
            resource_group_location,
            arm_token,
            endpoints,
            subscription,
            inputs.resource_group,
            retrier,
        )
    futures["existing"] = pool.submit(
        deploy.get_group, aci, inputs.resource_group, inputs.container.name
    )
    return futures


def _image(
    inputs: Inputs,
    env: Mapping[str, str],
    runner: Runner,
    phases: Phases,
    deadline: Deadline,
    background: dict[str, Future[Any]],
    credential: TokenCredential,
    endpoints: Endpoints,
    *,
    retrier: Retrier | None = None,
) -> tuple[str, str, str]:
    """Build and push, or resolve the given image; returns (image ref by digest, digest, first tag ref)."""
    import docker

    engine = docker.from_env(timeout=300)
    tenant = inputs.auth.tenant_id or (inputs.auth.creds.tenant_id if inputs.auth.creds else None)
    if inputs.build.image:
        found = background["registry"].result() if "registry" in background else None
        password = None
        if found and inputs.build.image.startswith(found.login_server + "/"):
            password = registry.refresh_token(found, credential, endpoints, tenant, retrier=retrier)
            runner.mask(password)
        with phases.timed("resolve image"):
            digest = registry.resolve_digest(engine, inputs.build.image, password)
        repository = (
            inputs.build.image.split("@")[0].rsplit(":", 1)[0]
            if ":" in inputs.build.image.split("/")[-1]
            else inputs.build.image.split("@")[0]
        )
        return f"{repository}@{digest}", digest, inputs.build.image
    with phases.timed("registry"):
        found = background["registry"].result()
        login = found.login_server
        refresh = registry.refresh_token(found, credential, endpoints, tenant, retrier=retrier)
        runner.mask(refresh)
    repository = f"{login}/{inputs.build.image_name}"
    refs = [f"{repository}:{tag}" for tag in inputs.build.tags]
    created = source_date(
        env,
        inputs.build.context,
        cwd=inputs.github.workspace or None,
        pushed=inputs.github.head_commit_time,
    )
    labels = {**oci_labels(inputs.github, created), **dict(inputs.build.labels)}
    deadline.check("build")
    with (
        phases.timed("build"),
        registry.docker_config(
            login,
            refresh,
            root=docker_config_root(env, inputs.build.context, cwd=inputs.github.workspace or None),
        ) as config,
    ):
        iidfile = config / "iid"
        command = registry.build_command(
            context=inputs.build.context,
            dockerfile=inputs.build.dockerfile,
            tags=refs,
            build_args=inputs.build.build_args,
            labels=sorted(labels.items()),
            target=inputs.build.target,
            platform=inputs.build.platform,
            network=inputs.build.network,
            iidfile=iidfile,
            docker=shutil.which("docker", path=env.get("PATH")) or "docker",
        )
        build_env = docker_cli_env(env, config)
        with runner.group(f"Build {refs[0]}"):
            registry.run_build(
                command, build_env, runner.untrusted_block, cwd=inputs.github.workspace or None
            )
    deadline.check("push")
    with phases.timed("push"), runner.group(f"Push {repository}"):
        pushed = registry.push(
            engine,
            repository,
            inputs.build.tags,
            refresh,
            runner.info,
            retrier=retrier,
            target=found,
            client_id=client_id_of(inputs),
        )
    runner.info(
        f"{pushed.layers_pushed} layer(s) uploaded, {pushed.layers_existing} already in the registry"
    )
    return f"{repository}@{pushed.digest}", pushed.digest, refs[0]


# Why a path can be missing in the container: only some host folders are mounted, and the
# runner rewrites a path to the container's only under those (actions/runner
# ContainerActionHandler.cs, ContainerInfo.TranslateToContainerPath).
_MOUNTED = (
    "a container action sees only the workspace (`${{ github.workspace }}`, at /github/workspace) "
    "and the runner's temp folder (`${{ runner.temp }}`, at /github/runner_temp, on runners "
    "since v2.331.0) of the runner's disk; give a path in the repository, relative to it"
)


def check_build_paths(inputs: Inputs) -> None:
    """Refuse a build `context` or `dockerfile` that does not exist here, before signing in."""
    if inputs.mode not in ("deploy", "build") or inputs.build.image:
        return
    base = Path(inputs.github.workspace or ".")
    problems = []
    if not (base / inputs.build.context).is_dir():
        problems.append(
            InputProblem(
                "context",
                f"is not a folder here; {_MOUNTED}",
                SPECS["context"].example,
                inputs.build.context,
            )
        )
    if inputs.build.dockerfile and not (base / inputs.build.dockerfile).is_file():
        problems.append(
            InputProblem(
                "dockerfile",
                f"is not a file here; {_MOUNTED}",
                SPECS["dockerfile"].example,
                inputs.build.dockerfile,
            )
        )
    if problems:
        raise InputError(problems)


def docker_config_root(env: Mapping[str, str], context: str, *, cwd: str | None = None) -> str:
    """Where the temporary Docker config (a registry token) goes: RUNNER_TEMP, else a temp folder.

    A container action sees RUNNER_TEMP as /github/runner_temp on runners since v2.331.0, which
    mount the runner's temp folder there and empty it after the job. Older runners leave it the
    host's path, which does not exist in the container (actions/runner ContainerActionHandler.cs,
    ContainerInfo.TranslateToContainerPath); the container's own temp folder is then the place:
    no later step can read it, and `docker run --rm` removes it with the container even if the
    runner kills the client. Never inside the build context, wherever TMPDIR points: the token
    would be sent to the builder and could be copied into the image.
    """
    base = Path(cwd or ".")
    build_context = (base / context).resolve()
    fallbacks = (env.get("TMPDIR"), tempfile.gettempdir(), "/tmp")  # noqa: S108 - checked like the rest
    for candidate in (env.get("RUNNER_TEMP"), *fallbacks):
        if not candidate:
            continue
        folder = (base / candidate).resolve()
        usable = folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
        if usable and not folder.is_relative_to(build_context):
            return str(folder)
    raise InputError(
        [
            InputProblem(
                "context",
                "contains every temporary folder (RUNNER_TEMP, TMPDIR, /tmp), and the build's "
                "registry token must stay outside what is sent to the builder",
                SPECS["context"].example,
                shown=context,
            )
        ]
    )


# Variables the Docker CLI does not get: the inputs (secrets among them) and the runner's job
# tokens. ACTIONS_RUNTIME_TOKEN is the very token of ACTIONS_ID_TOKEN_REQUEST_TOKEN (actions/runner
# ContainerActionHandler.cs sets both from the system connection's access token), so it too can
# request OIDC tokens for the job; nothing in a build needs either.
_KEPT_FROM_DOCKER = ("INPUT_", "ACTIONS_ID_TOKEN_", "ACTIONS_RUNTIME_TOKEN")


def docker_cli_env(env: Mapping[str, str], config: Path) -> dict[str, str]:
    """The build's environment: the step's, without inputs and job tokens, with our Docker config."""
    kept = {k: v for k, v in env.items() if not k.startswith(_KEPT_FROM_DOCKER)}
    return {**kept, "DOCKER_BUILDKIT": "1", "DOCKER_CONFIG": str(config)}


def source_date(
    env: Mapping[str, str],
    context: str,
    *,
    cwd: str | None = None,
    pushed: dt.datetime | None = None,
) -> dt.datetime:
    """The `created` time of the image: the commit's time, so an unchanged rebuild is identical.

    A wall-clock label would give every rebuild a new config blob, hence a new digest, hence an
    ACI update on every run. Order: `SOURCE_DATE_EPOCH` (the reproducible-builds convention),
    the checked-out commit's time (read from `.git`: the image has no git), `pushed`: the pushed
    head commit's time (`GitHubContext.head_commit_time`), and only then now.
    """
    epoch = env.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    committed = commit_time(Path(cwd or ".") / context)
    if committed is not None:
        return committed
    return pushed or dt.datetime.now(dt.UTC)


def _group_spec(
    inputs: Inputs,
    location: str,
    image_ref: str,
    secrets: dict[str, str],
) -> GroupSpec:
    """The desired group from the inputs and what was read."""
    server = image_ref.split("/", 1)[0]
    credentials: tuple[RegistryCredential, ...] = ()
    username = secrets.get("registry-username") or inputs.secrets.registry_username
    password = secrets.get("registry-password") or inputs.secrets.registry_password
    if username and password:
        credentials = (RegistryCredential(server, username, password),)
    secure = list(inputs.container.secure_environment_variables)
    secure += [
        (env_name, secrets[env_name]) for env_name, _ in inputs.secrets.secrets_from_key_vault
    ]
    return GroupSpec(
        name=inputs.container.name,
        location=location,
        image_ref=image_ref,
        cpu=inputs.container.cpu,
        memory=inputs.container.memory,
        ports=inputs.container.ports,
        protocol=inputs.container.protocol,
        environment_variables=inputs.container.environment_variables,
        secure_environment_variables=tuple(secure),
        command_line=inputs.container.command_line,
        restart_policy=inputs.container.restart_policy,
        os_type=inputs.container.os_type,
        dns_name_label=inputs.container.dns_name_label,
        registry_credentials=credentials,
        tags=tuple(inputs.container.resource_tags) + _provenance_tags(inputs),
    )


def _provenance_tags(inputs: Inputs) -> tuple[tuple[str, str], ...]:
    """Tags recording where the group came from, so it can be found, audited and swept."""
    return preview.provenance_tags(inputs.github, dt.datetime.now(dt.UTC))


# The outputs declared in action.yml, in its order (a unit test keeps the two in step).
OUTPUTS = (
    "fqdn",
    "url",
    "ip-address",
    "image",
    "digest",
    "image-ref",
    "container-group-id",
    "name",
    "state",
)


def write_outputs(outcome: Outcome, runner: Runner) -> None:
    """Set every output, empty where the mode has none, so `steps.x.outputs.y` is always defined."""
    for name in OUTPUTS:
        runner.set_output(name, outcome.outputs.get(name, ""))


def summary_rows(outcome: Outcome) -> Iterator[tuple[str, str]]:
    """Rows of the job summary table."""
    for key in ("image", "digest", "url", "state", "name"):
        if outcome.outputs.get(key):
            yield key, outcome.outputs[key]
    for phase, seconds in outcome.phases.seconds.items():
        yield f"time: {phase}", f"{seconds:.1f} s"
