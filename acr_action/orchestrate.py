"""One run of the action: sign in once, then the mode's phases in order, outputs at the end.

inputs → `open_session` (cloud, subscription, credential, ARM token, retry rule, deadline: one
frozen `Session`) → the mode of `MODES`, a function of (session, inputs). `mode: deploy` runs
(registry login server, Key Vault reads, the existing group: in the background)
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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import (
    buildcache,
    cloud,
    deploy,
    github_deployment,
    keyvault,
    loganalytics,
    network,
    preview,
    registry,
    specfile,
    sshforward,
    tag_limit,
    tls,
)
from . import volumes as vol
from .auth import (
    GitHubOidc,
    MaskingCredential,
    explain_refusal,
    make_credential,
    unverified_claims,
)
from .clock import Deadline, Phases
from .errors import (
    EXISTING_GROUP_READ,
    ActionError,
    CloudLacksService,
    ImagePullRefused,
    InputError,
    InputProblem,
)
from .failures import ARM_REGISTRY, ARM_RESOURCE_GROUP, ENTRA, KEY_VAULT, translate
from .identity import RegistryIdentity
from .inputs_table import SPECS
from .naming import oci_labels, sanitize_tag
from .retry import Retrier, azure_options
from .source import commit_time
from .spec import GroupSpec, RegistryCredential, resolve

if TYPE_CHECKING:
    import docker
    from azure.core.credentials import AccessToken, TokenCredential
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient
    from azure.mgmt.containerinstance.models import ContainerGroup

    from .cloud import Endpoints
    from .inputs import Inputs, SecretInputs
    from .registry import RegistryFacts
    from .runner import Runner
    from .spec import Plan


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
    from .arm import bearer_call

    url = (
        f"{endpoints.resource_manager}/subscriptions/{subscription}/resourcegroups/"
        f"{resource_group}?api-version={endpoints.api_versions.resource_groups}"
    )
    answer = bearer_call(ARM_RESOURCE_GROUP, "GET", url, token, retrier, name=resource_group)
    return str(answer.json()["location"])


@dataclass(frozen=True)
class Step:
    """The runner's side of the run: the step's environment, the runner interface, the timings."""

    env: Mapping[str, str]
    runner: Runner
    phases: Phases


class Tokens:
    """The run's tokens: sign-in's ARM token, and one ACR refresh token per registry (masked)."""

    def __init__(self, arm: AccessToken, mask: Callable[[str], None]) -> None:
        """Hold `arm`; `mask` hides each registry token the moment it arrives."""
        self.arm = arm
        self._mask = mask
        self._lock = threading.Lock()
        self._registries: dict[str, tuple[str, str]] = {}

    def registry(self, name: str, login: Callable[[], tuple[str, str]]) -> tuple[str, str]:
        """(login server, refresh token) of registry `name`: `login` runs once a run, any thread."""
        with self._lock:
            if name not in self._registries:
                server, refresh = login()
                self._mask(refresh)
                self._registries[name] = (server, refresh)
            return self._registries[name]


@dataclass(frozen=True)
class Session:
    """What signing in gives every mode: the identity, the cloud and subscription, the tokens,
    the one retry rule and the deadline of the run, and the step it runs in."""

    credential: TokenCredential
    tenant: str | None
    endpoints: Endpoints
    subscription: str
    tokens: Tokens
    retrier: Retrier
    deadline: Deadline
    step: Step

    def options(self, dependency: str) -> dict[str, Any]:
        """An Azure SDK client's retry and timeout settings for `dependency` (the run's rule)."""
        return azure_options(dependency, self.deadline, self.step.runner.info)


def run(inputs: Inputs, env: Mapping[str, str], runner: Runner) -> Outcome:
    """Carry out `inputs.mode`; raises an `ActionError` subclass on failure."""
    step = Step(env, runner, Phases())
    deadline = Deadline(inputs.waiting.timeout)
    # Before any network call: a fork's pull request, or one without `require-label`'s label.
    skipped = None
    if preview.skip_fork(inputs.preview, inputs.github, runner):
        skipped = "pull request from a fork: no preview (on-fork: notice)"
    elif inputs.mode == "deploy" and preview.skip_unlabelled(inputs.preview, inputs.github, runner):
        skipped = f"pull request without the label {inputs.preview.require_label}: no preview"
    if skipped is not None:
        return Outcome({"name": inputs.container.name, "state": "Skipped"}, step.phases, [skipped])
    check_build_paths(inputs)  # before any network call, too
    if inputs.build.ssh and inputs.build.image_name:
        workspace = Path(inputs.github.workspace or ".")
        sshforward.check_local(
            inputs.build.ssh, workspace=workspace, context=workspace / inputs.build.context, env=env
        )
    if inputs.mode == "deploy":  # ARM's 50 tags: the inputs' and ours, before any call
        _check_tags(inputs, None)
    session = open_session(inputs, step, deadline)
    return MODES[inputs.mode].carry_out(session, inputs)


def open_session(inputs: Inputs, step: Step, deadline: Deadline) -> Session:
    """Sign in: the cloud, the subscription, the run's credential and its ARM token."""
    # One retry rule for the whole run, bounded by its deadline; each retry is one log line.
    retrier = Retrier(deadline, step.runner.info)
    with step.phases.timed("sign in"):
        endpoints = endpoints_for(inputs, retrier)
        if MODES[inputs.mode].container_groups and not endpoints.container_instances:
            raise _no_container_instances(endpoints, inputs.mode)
        subscription = subscription_of(inputs)
        oidc = GitHubOidc(
            step.env, inputs.auth.audience, step.runner.mask, github=inputs.github, retrier=retrier
        )
        credential = MaskingCredential(
            make_credential(
                inputs,
                endpoints,
                oidc,
                on_actions=step.env.get("GITHUB_ACTIONS") == "true",
                options=azure_options(
                    "Microsoft Entra ID", deadline, step.runner.info, identity=True
                ),
            ),
            step.runner.mask,
        )
        arm_token = sign_in(credential, endpoints, oidc, client_id_of(inputs))
    return Session(
        credential=credential,
        tenant=inputs.auth.tenant_id
        or (inputs.auth.creds.tenant_id if inputs.auth.creds else None),
        endpoints=endpoints,
        subscription=subscription,
        tokens=Tokens(arm_token, step.runner.mask),
        retrier=retrier,
        deadline=deadline,
        step=step,
    )


def _no_container_instances(endpoints: Endpoints, mode: str) -> CloudLacksService:
    """The refusal of a mode that manages container groups in a cloud without ACI."""
    return CloudLacksService(
        endpoints.name,
        "Azure Container Instances",
        f"`mode: {mode}` manages container groups, and this cloud (Azure Stack "
        "Hub: its metadata has the older shape, without `resourceManager`) has no "
        "Azure Container Instances. The action can still build the image and push it "
        "to the cloud's container registry:",
        "with:\n  mode: build\n  registry: myregistry",
    )


# -- the modes ---------------------------------------------------------------------------------


def _deploy(session: Session, inputs: Inputs) -> Outcome:
    """`mode: deploy`, recorded as a GitHub deployment and in the preview comment, failed or not."""
    github = inputs.github
    number = github.pr_number if github.is_pull_request else None
    runner = session.step.runner
    tracker = github_deployment.start(inputs.preview, github, runner, number)
    try:
        outcome, facts = _deploy_steps(session, inputs)
    except Exception as exc:  # ours or not, the pull request shows that the deploy failed
        reason = exc.title if isinstance(exc, ActionError) else "unexpected error (see the run)"
        if tracker is not None:
            tracker.failed(reason)
        failed = preview.CommentFacts(
            inputs.container.name, preview.FAILED, reason=reason, github=github
        )
        preview.comment(inputs.preview, github, runner, number, failed)
        raise
    if tracker is not None:
        tracker.succeeded(facts.url)
    preview.comment(inputs.preview, github, runner, number, facts)
    return outcome


def _deploy_steps(session: Session, inputs: Inputs) -> tuple[Outcome, preview.CommentFacts]:
    """The image, then the group by digest, running and ready; the outcome and what it shows."""
    aci = _aci(session)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="acr-action") as pool:
        background = _start_registry_lookup(pool, session, inputs)
        background.update(_start_deploy_reads(pool, session, aci, inputs))
        image = _image(session, inputs, background)
        plan, existing = _roll_out(session, aci, inputs, image.ref, background)
    note = f"plan: {plan.action}" + (f" ({', '.join(plan.changed)})" if plan.changed else "")
    outcome = Outcome(image.outputs(), session.step.phases, [note])
    group = _group_after(session, aci, inputs, plan, existing, background)
    deployed = deploy.describe(group, plan)
    # The group's own first port when `ports` was not given (and 80 for a group without one).
    port = (deployed.ports or inputs.container.ports or (80,))[0]
    url = (f"http://{deployed.fqdn}" + (f":{port}" if port != 80 else "")) if deployed.fqdn else ""
    behind_proxy = tls.has_proxy(group) and bool(deployed.fqdn)
    if behind_proxy:
        # The app's port is not public: probe through the proxy, over HTTPS, on 443.
        url, port = tls.https_url(deployed.fqdn or ""), tls.HTTPS_PORT
    _check_ready(session, inputs, port, deployed, network.is_private(group), https=behind_proxy)
    lost = tls.lost_certificate_notice(group) if plan.action in ("update", "recreate") else None
    if lost is not None:
        session.step.runner.notice(lost)
    if inputs.container.priority == "Spot" and inputs.waiting.health_check_path is not None:
        session.step.runner.notice(
            "No HTTP readiness check: a Spot container group has no IP address, so nothing"
            " outside the group can reach it (container-instances-spot-containers-overview)."
        )
    outcome.outputs.update(
        fqdn=deployed.fqdn or "",
        url=url,
        **{"ip-address": deployed.ip or "", "container-group-id": deployed.group_id},
        name=deployed.name,
        state=deployed.state,
    )
    facts = preview.CommentFacts(
        deployed.name, deployed.state, url=url, digest=image.digest, github=inputs.github
    )
    return outcome, facts


def _build(session: Session, inputs: Inputs) -> Outcome:
    """`mode: build`: build and push the image (or resolve the given one); no container group."""
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="acr-action") as pool:
        image = _image(session, inputs, _start_registry_lookup(pool, session, inputs))
    return Outcome(image.outputs(), session.step.phases)


def _delete(session: Session, inputs: Inputs) -> Outcome:
    """`mode: delete`: remove the container group, then the preview's comment and image tag."""
    aci = _aci(session)
    name = inputs.container.name
    number = inputs.github.pr_number if inputs.github.is_pull_request else None
    if number is None and (inputs.preview.comment_on_pr or inputs.preview.delete_image_tag):
        number = preview.pr_of(deploy.get_group(aci, inputs.resource_group, name))
    with session.step.phases.timed("delete"):
        existed = _remover(session, aci, inputs.resource_group)(name)
    outcome = Outcome(
        {"name": name, "state": "Deleted" if existed else "NotFound"},
        session.step.phases,
        [f"container group {name} {'deleted' if existed else 'was already gone'}"],
    )
    preview.after_delete(
        inputs.preview,
        inputs.github,
        session.step.runner,
        name,
        existed,
        _registry_access(session, inputs),
        number,
    )
    return outcome


def _sweep(session: Session, inputs: Inputs) -> Outcome:
    """`mode: sweep`: delete the previews whose pull request is closed (or that are too old)."""
    aci = _aci(session)
    runner = session.step.runner
    remove = _remover(session, aci, inputs.resource_group)
    with session.step.phases.timed("sweep"):
        swept = preview.sweep(
            aci,
            inputs.resource_group,
            remove,
            _registry_access(session, inputs),
            settings=inputs.preview,
            github=inputs.github,
            runner=runner,
        )
    preview.report_sweep(
        swept, inputs.resource_group, dry_run=inputs.preview.dry_run, runner=runner
    )
    return Outcome(phases=session.step.phases)


@dataclass(frozen=True)
class Mode:
    """One value of the `mode` input: what carries it out and how the job summary names it."""

    carry_out: Callable[[Session, Inputs], Outcome]
    title: str
    subject: Callable[[Inputs], str]
    # Manages container groups, so the cloud must have Azure Container Instances.
    container_groups: bool = True


# Every mode of `inputs_table.MODES` (a unit test keeps the two in step).
MODES: Mapping[str, Mode] = {
    "deploy": Mode(_deploy, "Deployed", lambda inputs: inputs.container.name),
    "build": Mode(
        _build,
        "Built and pushed",
        lambda inputs: inputs.build.image_name or inputs.container.name,
        container_groups=False,
    ),
    "delete": Mode(_delete, "Deleted", lambda inputs: inputs.container.name),
    "sweep": Mode(_sweep, "Swept previews in", lambda inputs: inputs.resource_group),
}


# -- the steps of the modes --------------------------------------------------------------------


def _aci(session: Session) -> ContainerInstanceManagementClient:
    """The run's Azure Container Instances client."""
    return deploy.client(
        session.credential,
        session.endpoints,
        session.subscription,
        options=session.options(deploy.DEPENDENCY),
    )


def _remover(
    session: Session, aci: ContainerInstanceManagementClient, resource_group: str
) -> Callable[[str], bool]:
    """What deletes a container group of `resource_group` by name (True: it existed)."""

    def remove(name: str) -> bool:
        return deploy.delete(
            aci, resource_group, name, deadline=session.deadline, retrier=session.retrier
        )

    return remove


def registry_location(inputs: Inputs, subscription: str) -> tuple[str, str]:
    """(subscription, resource group) of the registry: its own inputs, else the deployment's."""
    return (
        inputs.acr.subscription_id or subscription,
        inputs.acr.resource_group or inputs.resource_group,
    )


def _exchange(session: Session, found: RegistryFacts) -> str:
    """An ACR refresh token for the signed-in identity (masked by `Tokens`)."""
    return registry.refresh_token(
        found, session.credential, session.endpoints, session.tenant, retrier=session.retrier
    )


def _registry_access(session: Session, inputs: Inputs) -> Callable[[], registry.RegistryAccess]:
    """The registry's login server and a refresh token, for deleting image tags: on first use."""

    def login() -> tuple[str, str]:
        assert inputs.acr.name is not None  # parse_inputs requires it with delete-image-tag
        found = registry.find_registry(
            session.credential,
            session.endpoints,
            *registry_location(inputs, session.subscription),
            inputs.acr.name,
        )
        return found.login_server, _exchange(session, found)

    def access() -> registry.RegistryAccess:
        server, refresh = session.tokens.registry(inputs.acr.name or "", login)
        return registry.RegistryAccess(server, refresh, session.retrier)

    return access


def _start_registry_lookup(
    pool: ThreadPoolExecutor, session: Session, inputs: Inputs
) -> dict[str, Future[Any]]:
    """Start looking up the registry (when there is one), so that it overlaps other work; and
    reading the build secrets and SSH keys kept in Key Vault, which the build needs."""
    futures: dict[str, Future[Any]] = {}
    vault = inputs.secrets.key_vault
    wanted = {
        "build-secrets": dict(inputs.build.build_secrets_from_key_vault),
        "ssh-keys": sshforward.vault_names(inputs.build.ssh_keys_from_key_vault),
    }
    for read, names in wanted.items():
        if not (vault and names and not inputs.build.image):
            continue
        futures[read] = pool.submit(
            keyvault.read_secrets,
            session.credential,
            session.endpoints.vault_url(vault),
            names,
            session.step.runner.mask,
            client_id=client_id_of(inputs),
            object_id=object_id_of(session.tokens.arm.token),
            options={
                **session.options(KEY_VAULT.name),
                "api_version": session.endpoints.api_versions.key_vault,
            },
        )
    if not inputs.acr.name:
        return futures
    return futures | {
        "registry": pool.submit(
            registry.find_registry,
            session.credential,
            session.endpoints,
            *registry_location(inputs, session.subscription),
            inputs.acr.name,
            options=session.options(ARM_REGISTRY.name),
        )
    }


def _start_deploy_reads(
    pool: ThreadPoolExecutor,
    session: Session,
    aci: ContainerInstanceManagementClient,
    inputs: Inputs,
) -> dict[str, Future[Any]]:
    """Start the reads a deploy needs that don't depend on the build, so they overlap it."""
    futures: dict[str, Future[Any]] = {}
    vault = inputs.secrets.key_vault
    names = {**_vault_names(inputs.secrets), **vol.vault_names(inputs.container.volumes)}
    if vault:
        futures["secrets"] = pool.submit(
            keyvault.read_secrets,
            session.credential,
            session.endpoints.vault_url(vault),
            {**names, **tls.vault_names(inputs.tls)},
            session.step.runner.mask,
            client_id=client_id_of(inputs),
            object_id=object_id_of(session.tokens.arm.token),
            options={
                **session.options(KEY_VAULT.name),
                "api_version": session.endpoints.api_versions.key_vault,
            },
        )
    file = inputs.container.spec_file
    if not inputs.location and not (file and file.location):
        futures["location"] = pool.submit(
            resource_group_location,
            session.tokens.arm.token,
            session.endpoints,
            session.subscription,
            inputs.resource_group,
            session.retrier,
        )
    futures["existing"] = pool.submit(
        deploy.get_group, aci, inputs.resource_group, inputs.container.name
    )
    shares = inputs.container.volumes + tls.storage_inputs(inputs.tls)
    if any(v.kind == "azure-file" and not v.key_secret for v in shares):
        futures["storage-keys"] = pool.submit(
            vol.storage_keys,
            session.tokens.arm.token,
            session.endpoints,
            session.subscription,
            inputs.resource_group,
            shares,
            session.step.runner.mask,
            session.retrier,
        )
    if inputs.container.log_analytics_workspace:
        futures["workspace"] = pool.submit(
            loganalytics.read_workspace,
            session.tokens.arm.token,
            session.endpoints.resource_manager,
            inputs.container.log_analytics_workspace,
            session.step.runner.mask,
            session.retrier,
        )
    return futures


def _vault_names(secrets: SecretInputs) -> dict[str, str]:
    """What to read from Key Vault: {our name: secret name}, the registry login included."""
    names: dict[str, str] = dict(secrets.secrets_from_key_vault)
    if secrets.registry_username_secret and secrets.registry_password_secret:
        names["registry-username"] = secrets.registry_username_secret
        names["registry-password"] = secrets.registry_password_secret
    return names


@dataclass(frozen=True)
class Image:
    """The image the run deploys: by digest, its digest, and the first tag it was given."""

    ref: str
    digest: str
    tag: str

    def outputs(self) -> dict[str, str]:
        """The step outputs about the image."""
        return {"image": self.tag, "digest": self.digest, "image-ref": self.ref}


def docker_engine(env: Mapping[str, str]) -> docker.DockerClient:
    """The step's Docker engine: `DOCKER_HOST` and friends from the step's environment, as the
    Docker CLI of the build reads them (docker-py's `from_env(environment=...)`)."""
    import docker

    return docker.from_env(timeout=300, environment=dict(env))


def _image(session: Session, inputs: Inputs, background: Mapping[str, Future[Any]]) -> Image:
    """Build and push, or resolve the given image."""
    engine = docker_engine(session.step.env)
    if inputs.build.image:
        return _given_image(session, inputs, background, engine)
    phases, runner = session.step.phases, session.step.runner
    with phases.timed("registry"):
        found: RegistryFacts = background["registry"].result()
        assert inputs.acr.name is not None  # parse_inputs requires `registry` to build
        login, refresh = session.tokens.registry(
            inputs.acr.name, lambda: (found.login_server, _exchange(session, found))
        )
    repository = f"{login}/{inputs.build.image_name}"
    refs = [f"{repository}:{tag}" for tag in inputs.build.tags]
    labels = _labels(session.step.env, inputs)
    session.deadline.check("build")
    with phases.timed("secrets"):
        from_vault = background["build-secrets"].result() if "build-secrets" in background else {}
        ssh_keys = sshforward.keys_by_id(
            inputs.build.ssh_keys_from_key_vault,
            background["ssh-keys"].result() if "ssh-keys" in background else {},
        )
    _build_image(session.step, inputs, refs, labels, (login, refresh), from_vault, ssh_keys)
    session.deadline.check("push")
    with phases.timed("push"), runner.group(f"Push {repository}"):
        pushed = registry.push(
            engine,
            repository,
            inputs.build.tags,
            refresh,
            runner.info,
            retrier=session.retrier,
            target=found,
            client_id=client_id_of(inputs),
        )
    runner.info(
        f"{pushed.layers_pushed} layer(s) uploaded, {pushed.layers_existing} already in the registry"
    )
    return Image(f"{repository}@{pushed.digest}", pushed.digest, refs[0])


def _given_image(
    session: Session,
    inputs: Inputs,
    background: Mapping[str, Future[Any]],
    engine: docker.DockerClient,
) -> Image:
    """The `image` input resolved to its digest (with a registry token when it is ours)."""
    image = inputs.build.image
    assert image is not None
    found = background["registry"].result() if "registry" in background else None
    password = None
    if found and inputs.acr.name and image.startswith(found.login_server + "/"):
        _, password = session.tokens.registry(
            inputs.acr.name, lambda: (found.login_server, _exchange(session, found))
        )
    with session.step.phases.timed("resolve image"):
        digest = registry.resolve_digest(engine, image, password)
    name = image.split("@")[0]
    repository = name.rsplit(":", 1)[0] if ":" in image.split("/")[-1] else name
    return Image(f"{repository}@{digest}", digest, image)


def _labels(env: Mapping[str, str], inputs: Inputs) -> dict[str, str]:
    """The image's labels: OCI provenance at the commit's time, then the `labels` input."""
    created = source_date(
        env,
        inputs.build.context,
        cwd=inputs.github.workspace or None,
        pushed=inputs.github.head_commit_time,
    )
    return {**oci_labels(inputs.github, created), **dict(inputs.build.labels)}


def _cache_plan(inputs: Inputs, repository: str) -> buildcache.CachePlan:
    """The build cache: the inputs, or the image's tags an earlier run pushed (issue 14)."""
    base = sanitize_tag(inputs.github.base_ref) if inputs.github.is_pull_request else ""
    tags = buildcache.default_cache_tags(inputs.build.tags, base)
    defaults = [f"{repository}:{tag}" for tag in tags]
    return buildcache.plan_cache(inputs.build.cache_from, inputs.build.cache_to, defaults)


def _build_image(
    step: Step,
    inputs: Inputs,
    refs: list[str],
    labels: Mapping[str, str],
    login: tuple[str, str],
    from_vault: Mapping[str, str],
    ssh_keys: Mapping[str, list[str]] | None = None,
) -> None:
    """Run the BuildKit build of `refs`, logged in to the registry through a temporary config;
    `from_vault`: the values of `build-secrets-from-key-vault`, by id; `ssh_keys`: the keys of
    `ssh-keys-from-key-vault`, by id, written into that config folder and removed with it."""
    build, cwd = inputs.build, inputs.github.workspace or None
    cache = _cache_plan(inputs, refs[0].rsplit(":", 1)[0])
    # Each build secret's value travels in a variable of the CLI's environment only.
    secrets = [
        (sid, f"ACR_ACTION_BUILD_SECRET_{n}", value)
        for n, (sid, value) in enumerate([*build.build_secrets, *from_vault.items()])
    ]
    with (
        step.phases.timed("build"),
        registry.docker_config(
            *login, root=docker_config_root(step.env, build.context, cwd=cwd)
        ) as config,
    ):
        ssh = sshforward.ssh_specs(
            build.ssh, sshforward.write_keys(config, ssh_keys or {}), Path(cwd or "."), step.env
        )
        command = registry.build_command(
            context=build.context,
            dockerfile=build.dockerfile,
            tags=refs,
            build_args=build.build_args,
            labels=sorted(labels.items()),
            target=build.target,
            platform=build.platform,
            network=build.network,
            iidfile=config / "iid",
            docker=shutil.which("docker", path=step.env.get("PATH")) or "docker",
            cache=cache,
            secrets=[(sid, var) for sid, var, _ in secrets],
            ssh=ssh,
        )
        with step.runner.group(f"Build {refs[0]}"):
            if cache.note:
                step.runner.info(cache.note)
            env = {**docker_cli_env(step.env, config), **{var: v for _, var, v in secrets}}
            registry.run_build(command, env, step.runner.untrusted_block, cwd=cwd)


def _roll_out(
    session: Session,
    aci: ContainerInstanceManagementClient,
    inputs: Inputs,
    image_ref: str,
    background: Mapping[str, Future[Any]],
) -> tuple[Plan, ContainerGroup | None]:
    """Deploy the group for `image_ref` over what exists; returns the plan and the existing group."""
    phases = session.step.phases
    with phases.timed("deploy"):
        secrets = background["secrets"].result() if "secrets" in background else {}
        file = inputs.container.spec_file
        # The `location` input, then the file's, then the resource group's.
        location = inputs.location or (file.location if file else None)
        location = location or background["location"].result()
        existing = background["existing"].result()
        spec = _desired(session, inputs, background, existing, location, image_ref, secrets)
    settled = resolve(spec, existing)
    network.check_private(settled.ip_type, settled.subnet_ids, existing)
    preview.check_owner(inputs.github, inputs.container.name, existing)
    _check_tags(inputs, existing)  # and those kept from the existing group, before the PUT
    spec = preview.settle_tags(spec, existing)
    remove = _remover(session, aci, inputs.resource_group)
    preview.enforce_limit(
        aci,
        inputs.resource_group,
        inputs.container.name,
        existing,
        remove,
        settings=inputs.preview,
        github=inputs.github,
        runner=session.step.runner,
    )
    with phases.timed("deploy"), _pull_hint_for_mode(background, inputs.secrets.registry_identity):
        plan = deploy.apply(
            aci,
            inputs.resource_group,
            spec,
            existing,
            on_immutable_change=inputs.container.on_immutable_change,
            warn=session.step.runner.warning,
            deadline=session.deadline,
            retrier=session.retrier,
            on_created=lambda: preview.recount(
                aci,
                inputs.resource_group,
                inputs.container.name,
                remove,
                settings=inputs.preview,
                github=inputs.github,
                runner=session.step.runner,
            ),
        )
    return plan, existing


def _desired(
    session: Session,
    inputs: Inputs,
    background: Mapping[str, Future[Any]],
    existing: ContainerGroup | None,
    location: str,
    image_ref: str,
    secrets: dict[str, str],
) -> GroupSpec:
    """The group the inputs ask for, with what the background reads brought: the storage keys
    of the inputs' shares and of the shares kept, the Log Analytics workspace and its key."""
    keys = background["storage-keys"].result() if "storage-keys" in background else {}
    workspace = background["workspace"].result() if "workspace" in background else None
    workspace = workspace or _kept_workspace(session, existing)
    spec = _group_spec(inputs, location, image_ref, secrets, keys)
    spec = _behind_proxy(spec, inputs, existing, secrets, keys)
    _check_mounts(spec, existing)
    spec = replace(spec, volumes=spec.volumes + _kept_shares(session, inputs, spec, existing))
    mounted: GroupSpec = tls.without_dropped_storage(spec)  # `tls: off` takes its share away
    spec = mounted
    if workspace is not None:
        spec = replace(
            spec,
            log_analytics=workspace,
            tags=(*spec.tags, (loganalytics.WORKSPACE_TAG, workspace.resource_id)),
        )
    return spec


def _behind_proxy(
    spec: GroupSpec,
    inputs: Inputs,
    existing: ContainerGroup | None,
    secrets: dict[str, str],
    keys: Mapping[str, str] | None = None,
) -> GroupSpec:
    """The spec with the TLS proxy that `tls` asks for, or the group's kept (tls.py)."""
    settled: GroupSpec = tls.settle(
        spec, inputs.tls, existing, secrets, "cpu" not in spec.unset, keys
    )
    return settled


def _kept_workspace(
    session: Session, existing: ContainerGroup | None
) -> loganalytics.Workspace | None:
    """The workspace an earlier deploy set (its tag), read again: a GET never returns the key."""
    resource_id = ((existing.tags or {}) if existing is not None else {}).get(
        loganalytics.WORKSPACE_TAG
    )
    if not resource_id or not loganalytics.WORKSPACE_ID.fullmatch(resource_id):
        return None
    return loganalytics.read_workspace(
        session.tokens.arm.token,
        session.endpoints.resource_manager,
        resource_id,
        session.step.runner.mask,
        session.retrier,
    )


def _group_after(
    session: Session,
    aci: ContainerInstanceManagementClient,
    inputs: Inputs,
    plan: Plan,
    existing: ContainerGroup | None,
    background: Mapping[str, Future[Any]],
) -> ContainerGroup:
    """The group as deployed: waited for until Running (`wait`), else read once (unless a no-op)."""
    group = existing if plan.action == "noop" and existing is not None else None
    if inputs.waiting.wait or group is None:
        name = inputs.container.name
        with (
            session.step.phases.timed("wait"),
            _pull_hint_for_mode(background, inputs.secrets.registry_identity),
        ):
            group = (
                deploy.wait_running(aci, inputs.resource_group, name, session.deadline)
                if inputs.waiting.wait
                else deploy.get_group(aci, inputs.resource_group, name)
            )
    assert group is not None
    return group


def _check_ready(
    session: Session,
    inputs: Inputs,
    port: int,
    deployed: deploy.Deployed,
    private: bool,
    *,
    https: bool = False,
) -> None:
    """Probe `health-check-url` or `health-check-path` over HTTP until it answers (with `wait`).

    A private address is never probed: the runner cannot reach it (network.py).
    """
    waiting = inputs.waiting
    if not waiting.wait or waiting.health_check_path is None:
        return
    url = network.probe_url(inputs.network.health_check_url or "")
    if url is not None:
        with session.step.phases.timed("readiness"):
            deploy.probe(
                url.host,
                url.port,
                url.path,
                url.host_header,
                session.deadline,
                log=session.step.runner.info,
            )
        return
    if private:
        session.step.runner.notice(network.skipped_probe_notice(deployed.ip))
        return
    if deployed.ip:
        with session.step.phases.timed("readiness"):
            deploy.probe(
                deployed.ip,
                port,
                waiting.health_check_path,
                deployed.fqdn,
                session.deadline,
                log=session.step.runner.info,
                https=https,
            )


@contextmanager
def _pull_hint_for_mode(
    background: Mapping[str, Future[Any]], identity: str | None = None
) -> Iterator[None]:
    """Let a refused image pull name the pull role of the registry's mode (ARM told it), and
    the managed identity it pulled with (`registry-identity`)."""
    try:
        yield
    except ImagePullRefused as exc:
        found = background.get("registry")
        ready = found is not None and found.done() and found.exception() is None
        facts = found.result() if found is not None and ready else None
        abac = exc.abac or bool(facts is not None and facts.abac)
        who = exc.identity or identity
        if abac == exc.abac and who == exc.identity:
            raise
        raise ImagePullRefused(exc.image, exc.detail, abac=abac, identity=who) from exc


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
        ],
        shown_by="signing in to the registry",
    )


# Variables the Docker CLI does not get: the inputs (secrets among them) and the runner's job
# tokens. ACTIONS_RUNTIME_TOKEN is the very token of ACTIONS_ID_TOKEN_REQUEST_TOKEN (actions/runner
# ContainerActionHandler.cs sets both from the system connection's access token), so it too can
# request OIDC tokens for the job; nothing in a build needs either.
_KEPT_FROM_DOCKER = ("INPUT_", "ACTIONS_ID_TOKEN_", "ACTIONS_RUNTIME_TOKEN")


# buildx adds a provenance attestation to every build whose builder can store one: the docker
# driver on an engine with the containerd image store, Docker Engine 29's default on fresh
# installations (docs.docker.com/engine/storage/containerd). It holds the build's timestamps
# (docs.docker.com/build/metadata/attestations/slsa-provenance), so an unchanged rebuild pushes a
# new image index: a new digest, hence an ACI update that restarts the containers on every rerun
# (measured on trixie's dockerd 26.1 with that store: `python -m bench image-stores`). Off unless
# the step's environment says otherwise ("Turn off default provenance attestations",
# docs.docker.com/build/building/variables); the classic store, and the 20.10 CLI, ignore it.
_BUILD_DEFAULTS = {"BUILDX_NO_DEFAULT_ATTESTATIONS": "1"}


def docker_cli_env(env: Mapping[str, str], config: Path) -> dict[str, str]:
    """The build's environment: the step's, without inputs and job tokens, with our Docker config."""
    kept = {k: v for k, v in env.items() if not k.startswith(_KEPT_FROM_DOCKER)}
    return {**_BUILD_DEFAULTS, **kept, "DOCKER_BUILDKIT": "1", "DOCKER_CONFIG": str(config)}


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


def _kept_shares(
    session: Session, inputs: Inputs, spec: GroupSpec, existing: ContainerGroup | None
) -> tuple[vol.Volume, ...]:
    """The Azure Files volumes the inputs do not name, with their key read again (listKeys).

    A GET never returns `storageAccountKey`; read anew, the volume is sent whole and survives
    the deploy. A key that cannot be read leaves it to `keep.lost_secrets`, which stops the
    deploy and names it.
    """
    kept: list[vol.Volume] = []
    for volume in vol.hidden_keys(existing, spec.volumes):
        try:
            keys = vol.storage_keys(
                session.tokens.arm.token,
                session.endpoints,
                session.subscription,
                inputs.resource_group,
                (volume,),
                session.step.runner.mask,
                session.retrier,
            )
        except ActionError as exc:
            session.step.runner.info(
                f"could not read the key of Azure Files volume {volume.name} again: {exc.title}"
            )
            continue
        if keys.get(volume.name):
            kept += vol.resolve((volume,), {}, keys)
    return tuple(kept)


def _check_mounts(spec: GroupSpec, existing: ContainerGroup | None) -> None:
    """Refuse a mount of a volume neither `volumes`, the spec file nor the group declares (ACI
    would)."""
    missing = vol.undeclared(
        spec.volume_mounts, spec.volumes, existing, specfile.volume_names(spec)
    )
    if missing:
        raise InputError(
            [
                InputProblem(
                    "volume-mounts",
                    f"mounts `{name}`, a volume that neither `volumes`, `spec-file` nor the "
                    "existing group declares",
                    vol.EXAMPLE + "\n" + vol.MOUNT_EXAMPLE,
                    name,
                )
                for name in missing
            ],
            shown_by=EXISTING_GROUP_READ,
        )


def _group_spec(
    inputs: Inputs,
    location: str,
    image_ref: str,
    secrets: dict[str, str],
    keys: Mapping[str, str] | None = None,
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
    spec = GroupSpec(
        name=inputs.container.name,
        location=location,
        image_ref=image_ref,
        cpu=inputs.container.cpu,
        memory=inputs.container.memory,
        ports=inputs.container.ports,
        protocol=inputs.container.protocol,
        port_protocols=inputs.container.port_protocols,
        environment_variables=inputs.container.environment_variables,
        secure_environment_variables=tuple(secure),
        command_line=inputs.container.command_line,
        restart_policy=inputs.container.restart_policy,
        os_type=inputs.container.os_type,
        dns_name_label=inputs.container.dns_name_label,
        registry_credentials=credentials,
        tags=tuple(inputs.container.resource_tags) + _provenance_tags(inputs),
        unset=inputs.container.unset,
        volumes=vol.resolve(inputs.container.volumes, secrets, keys or {}),
        volume_mounts=inputs.container.volume_mounts,
        liveness_probe=inputs.container.liveness_probe,
        readiness_probe=inputs.container.readiness_probe,
        priority=inputs.container.priority,
        registry_identity=(
            RegistryIdentity(server, inputs.secrets.registry_identity)
            if inputs.secrets.registry_identity
            else None
        ),
        identity=inputs.container.identity,
        ip_type=inputs.network.ip_address,
        subnet_ids=inputs.network.subnet_ids,
        dns_config=inputs.network.dns_config,
        container_name=inputs.container.container_name or "",
    )
    return specfile.settle(
        spec,
        inputs.container.spec_file,
        command_given=inputs.container.command_given,
        os_type_given=inputs.container.os_type_given,
    )


def _check_tags(inputs: Inputs, existing: ContainerGroup | None) -> None:
    """Refuse a group over ARM's tag limit (`tag_limit.py`) before anything is written."""
    user = tuple(inputs.container.resource_tags)
    tag_limit.check(
        inputs.container.name,
        user + _provenance_tags(inputs),
        user_keys=[key for key, _ in user],
        existing=dict(existing.tags or {}) if existing is not None else None,
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
