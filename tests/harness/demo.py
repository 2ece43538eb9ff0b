"""The demo: the local Azure, the iris API example, and the action run as a container action."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import tempfile
from pathlib import Path

from localazure.server import Emulator
from localazure.state import Seed

from .container_action import RunnerFolders, build_action_image, run_container_action
from .workflow import Event, read_outputs, step_env

REPO_ROOT = Path(__file__).resolve().parents[2]


def predict(ip: str, fqdn: str, features: list[float]) -> dict[str, object]:
    """POST /predict to the deployed API (by its IP, with its FQDN as Host)."""
    connection = http.client.HTTPConnection(ip, 80, timeout=15)
    try:
        body = json.dumps({"features": features})
        connection.request(
            "POST",
            "/predict",
            body=body,
            headers={"Host": fqdn, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return {"status": response.status, **json.loads(response.read() or b"{}")}
    finally:
        connection.close()


def _from_empty(azure: Emulator, workdir: Path) -> dict[str, str]:
    """`setup` on the empty subscription, as a laptop runs it; the step's inputs it yields."""
    from . import from_empty

    os.environ.update({k: v for k, v in from_empty.laptop_env(azure).items() if k != "PATH"})
    print("== python -m acr_action setup (from an empty subscription)", flush=True)
    variables = from_empty.set_up(azure, workdir / "repo" / ".github" / "workflows")
    return from_empty.inputs_from(variables)


def run_demo(keep: bool = False, from_empty: bool = False) -> int:
    """Deploy examples/iris-api through the action; print FQDN, URL and a prediction.

    `from_empty`: start from an empty subscription, run `setup` first and `doctor` last.
    """
    from . import from_empty as laptop

    workdir = Path(tempfile.mkdtemp(prefix="acr-action-demo-"))
    print("== building the action image (the runner builds it from the Dockerfile)", flush=True)
    image = build_action_image(REPO_ROOT)
    print("== starting the local Azure", flush=True)
    seed = laptop.empty_seed() if from_empty else Seed.default()
    with Emulator(seed, workdir=workdir / "azure") as azure:
        workspace = workdir / "workspace"
        shutil.copytree(REPO_ROOT / "examples" / "iris-api", workspace)
        folders = RunnerFolders(workdir / "runner" / "_temp", workspace)
        inputs = {
            **(_from_empty(azure, workdir) if from_empty else {}),
            "name": "iris-api",
            # No NAT for containers on this machine: pip inside the build uses the host network.
            "network": "host",
            "build-args": "BASE_IMAGE=acr-action-local/python:3.11-slim-bookworm",
            "timeout": "15m",
        }
        # The written deploy-on-merge job names `environment: production`: its token's subject.
        event = Event(environment="production") if from_empty else None
        env = step_env(azure, folders.temp, event=event, inputs=inputs, workspace=workspace)
        env["RUNNER_TEMP"] = str(folders.temp)
        print("== running the action as a container action (push to main)", flush=True)
        result = run_container_action(image, env, folders, azure.ca_path, stream=True)
        if result.exit_code != 0:
            print(f"== the action failed with exit code {result.exit_code}")
            return result.exit_code
        outputs = read_outputs(folders.file_commands / "output")
        answer = predict(outputs["ip-address"], outputs["fqdn"], [5.1, 3.5, 1.4, 0.2])
        print("\n== outputs")
        for key in ("fqdn", "url", "ip-address", "image-ref", "state"):
            print(f"{key:>12}: {outputs.get(key, '')}")
        print(f'\n== POST {outputs["url"]}/predict {{"features": [5.1, 3.5, 1.4, 0.2]}}')
        print(f"   -> {json.dumps(answer)}")
        if from_empty:
            print("\n== python -m acr_action doctor", flush=True)
            print(
                laptop.laptop(
                    azure, "doctor", "--workflows", str(workdir / "repo" / ".github" / "workflows")
                )
            )
        if keep:
            input(
                "\nThe local Azure keeps running; press Enter to stop it and remove what it started. "
            )
        return 0 if answer.get("status") == 200 else 1
