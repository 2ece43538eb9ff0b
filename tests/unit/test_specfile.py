"""`spec-file`: reading the format of `az container create --file`, line-numbered problems,
and the merge with the inputs and the existing group (specfile.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.mgmt.containerinstance.models import (
    Container,
    ContainerGroup,
    ResourceRequests,
    ResourceRequirements,
)

from acr_action import spec, specfile
from acr_action import volumes as vol
from acr_action.spec import GroupSpec

# The multi-container tutorial's spellings (container-instances-multi-container-yaml):
# unquoted apiVersion (a date to PyYAML), memoryInGb, port: '80', protocol: tcp, tags: null.
TUTORIAL = """\
apiVersion: 2018-06-01
location: westeurope
name: myapp
properties:
  containers:
  - name: web
    properties:
      resources:
        requests: {cpu: 1, memoryInGb: 1.5}
      ports:
      - port: '8080'
      environmentVariables:
      - {name: FROM_FILE, value: 3}
  - name: sidecar
    properties:
      image: busybox:1.36
      command: [sh, -c, sleep 1000]
      resources:
        requests: {cpu: 0.5, memoryInGB: 0.5}
  initContainers:
  - name: init
    properties:
      image: busybox:1.36
      command: [sh, -c, echo ready]
  osType: linux
  restartPolicy: onfailure
  ipAddress:
    type: Public
    ports:
    - {protocol: tcp, port: '8080'}
tags: null
type: Microsoft.ContainerInstance/containerGroups
"""


def _load(tmp_path: Path, text: str, container: str | None = None) -> specfile.SpecFile:
    (tmp_path / "aci.yaml").write_text(text)
    found = specfile.load(
        "aci.yaml", workspace=str(tmp_path), group_name="myapp", container_name=container
    )
    assert isinstance(found, specfile.SpecFile), found
    return found


def _problems(tmp_path: Path, text: str, container: str | None = None) -> list[str]:
    (tmp_path / "aci.yaml").write_text(text)
    found = specfile.read_input("aci.yaml", str(tmp_path), "myapp", container)
    assert isinstance(found, list)
    return [message for message, _, _ in found]


def _spec(**fields: object) -> GroupSpec:
    base: dict[str, object] = {
        "name": "myapp",
        "location": "westeurope",
        "image_ref": "reg.azurecr.io/app@sha256:" + "a" * 64,
        "cpu": 1.0,
        "memory": 1.5,
        "ports": (80,),
        "unset": spec.KEEPABLE,
    }
    return GroupSpec(**{**base, **fields})  # type: ignore[arg-type]  # test data


def test_the_tutorial_spellings_read_as_arm_does(tmp_path: Path) -> None:
    file = _load(tmp_path, TUTORIAL)
    body = file.document()
    assert file.app == "web"
    assert file.api_version == "2018-06-01"
    assert file.defines == ("web", "sidecar", "init")
    props = body["properties"]
    assert props["osType"] == "Linux"
    assert props["restartPolicy"] == "OnFailure"
    assert props["containers"][0]["properties"]["resources"]["requests"]["memoryInGB"] == 1.5
    assert props["ipAddress"]["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert props["containers"][0]["properties"]["environmentVariables"][0]["value"] == "3"


def test_arm_json_properties_alone(tmp_path: Path) -> None:
    text = '{"containers": [{"name": "web", "properties": {}}],\n\t"osType": "Linux"}'
    (tmp_path / "aci.json").write_text(text)
    found = specfile.load("aci.json", workspace=str(tmp_path), group_name="g", container_name=None)
    assert isinstance(found, specfile.SpecFile)
    assert found.app == "web"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "properties:\n  containers:\n  - name: web\n    properties:\n      imagee: x\n",
            "aci.yaml line 5 column 7: unknown key `imagee`",
            id="unknown-key",
        ),
        pytest.param(
            "properties:\n  containers:\n  - name: web\n    properties: {}\n"
            "  - name: side\n    properties:\n      image: string\n"
            "      resources: {requests: {cpu: 1, memoryInGB: 1}}\n",
            "aci.yaml line 7 column 14: the image of container `side` is a placeholder",
            id="image-placeholder",
        ),
        pytest.param(
            "properties:\n  containers:\n  - name: web\n    properties:\n"
            "      resources: {requests: {cpu: lots}}\n",
            "aci.yaml line 5 column 35: `properties.containers[0].properties.resources.requests"
            ".cpu` must be a number",
            id="wrong-type",
        ),
        pytest.param(
            "properties:\n  containers:\n  - name: web\n    properties:\n"
            "      environmentVariables:\n      - {name: A, secureValue: hunter2}\n",
            "aci.yaml line 6 column 19: `secureValue` holds a secret",
            id="secret-in-the-file",
        ),
        pytest.param(
            "properties:\n  containers:\n  - name: web\n    properties: {}\n  osType: Solaris\n",
            "aci.yaml line 5 column 11: `properties.osType` must be one of Windows, Linux",
            id="enum",
        ),
        pytest.param(
            "name: other\nproperties: {}\n",
            "aci.yaml line 1 column 7: names the group `other`",
            id="another-group",
        ),
        pytest.param(
            "properties:\n  containers:\n  - name: web\n  containers: []\n",
            "aci.yaml line 4 column 3: the key `containers` is given twice",
            id="duplicate-key",
        ),
        pytest.param(
            "properties:\n  containers: [\n",
            "aci.yaml line 3 column 1: is not valid YAML",
            id="yaml-syntax",
        ),
    ],
)
def test_problems_point_at_the_line(tmp_path: Path, text: str, expected: str) -> None:
    problems = _problems(tmp_path, text)
    assert any(p.startswith(expected) for p in problems), problems


def test_the_named_container_must_be_in_the_file(tmp_path: Path) -> None:
    problems = _problems(tmp_path, TUTORIAL, container="api")
    assert any("line 6 column 3: has no container `api`" in p for p in problems), problems


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    found = specfile.read_input("nope.yaml", str(tmp_path), "g", None)
    assert isinstance(found, list)
    assert found[0][0].startswith("nope.yaml: is not a file here")


def test_inputs_win_then_the_file(tmp_path: Path) -> None:
    file = _load(tmp_path, TUTORIAL)
    given = _spec(
        cpu=2.0, unset=spec.KEEPABLE - {"cpu"}, environment_variables=(("FROM_FILE", "input"),)
    )
    settled = specfile.settle(given, file, command_given=False, os_type_given=False)
    assert settled.container_name == "web"
    assert settled.cpu == 2.0  # given
    assert settled.memory == 1.5  # the file's
    assert settled.ports == (8080,)
    assert settled.protocol == "TCP"
    assert settled.restart_policy == "OnFailure"
    assert settled.environment_variables == (("FROM_FILE", "input"),)


def test_a_new_group_from_the_file(tmp_path: Path) -> None:
    file = _load(tmp_path, TUTORIAL)
    settled = specfile.settle(_spec(), file, command_given=False, os_type_given=False)
    group = spec.to_model(settled, None)
    names = [c.name for c in group.containers]
    assert names == ["web", "sidecar"]
    assert [c.name for c in group.init_containers or []] == ["init"]
    web = group.containers[0]
    assert web.image == settled.image_ref
    assert [p.port for p in web.ports or []] == [8080]
    assert group.ip_address is not None
    assert group.ip_address.ports[0].port == 8080


def _existing(*extra: Container) -> ContainerGroup:
    body = {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "restartPolicy": "OnFailure",
            "containers": [
                {
                    "name": c.name,
                    "properties": {
                        "image": c.image,
                        "resources": {"requests": {"cpu": 0.1, "memoryInGB": 0.1}},
                    },
                }
                for c in extra
            ],
        },
    }
    return ContainerGroup.deserialize(body)


def test_sidecars_made_elsewhere_are_kept_and_an_unchanged_file_is_a_noop(tmp_path: Path) -> None:
    file = _load(tmp_path, TUTORIAL)
    settled = specfile.settle(_spec(), file, command_given=False, os_type_given=False)
    outside = Container(
        name="logger",
        image="busybox:1.36",
        resources=ResourceRequirements(requests=ResourceRequests(cpu=0.1, memory_in_gb=0.1)),
    )
    first = spec.to_model(settled, _existing(outside))
    assert [c.name for c in first.containers] == ["web", "sidecar", "logger"]
    # What a GET of that group gives back, then the same deploy again.
    again = ContainerGroup.deserialize(first.serialize())
    again.tags = dict(first.tags or {})
    assert spec.diff(again, settled).action == "noop"


# A sidecar writing into an emptyDir the file declares; the app mounts it through volume-mounts.
SHARED = TUTORIAL.replace(
    "  initContainers:\n",
    "  volumes:\n  - name: shared\n    emptyDir: {}\n  initContainers:\n",
)


MOUNTS = (vol.Mount("shared", "/www/shared", read_only=True),)


def test_volume_mounts_may_name_a_volume_of_the_file(tmp_path: Path) -> None:
    settled = specfile.settle(
        _spec(volume_mounts=MOUNTS),
        _load(tmp_path, SHARED),
        command_given=False,
        os_type_given=False,
    )
    assert specfile.volume_names(settled) == ("shared",)
    assert vol.undeclared(MOUNTS, (), None, specfile.volume_names(settled)) == []
    assert vol.undeclared(MOUNTS, (), None) == ["shared"]
    assert specfile.volume_names(_spec()) == ()


def test_volume_mounts_of_the_app_with_a_file_are_a_noop_the_second_time(tmp_path: Path) -> None:
    settled = specfile.settle(
        _spec(volume_mounts=MOUNTS),
        _load(tmp_path, SHARED),
        command_given=False,
        os_type_given=False,
    )
    first = spec.to_model(settled, None)
    web = first.containers[0]
    assert [(m.name, m.mount_path, m.read_only) for m in web.volume_mounts or []] == [
        ("shared", "/www/shared", True)
    ]
    # The file's `web` states no mounts: the input's are the app's, in the PUT and in the diff.
    again = ContainerGroup.deserialize(first.serialize())
    again.tags = dict(first.tags or {})
    assert spec.diff(again, settled).action == "noop"


def test_the_app_keeps_its_mounts_when_neither_the_input_nor_the_file_states_them(
    tmp_path: Path,
) -> None:
    settled = specfile.settle(
        _spec(volume_mounts=MOUNTS),
        _load(tmp_path, SHARED),
        command_given=False,
        os_type_given=False,
    )
    first = spec.to_model(settled, None)
    deployed = ContainerGroup.deserialize(first.serialize())
    deployed.tags = dict(first.tags or {})
    without = specfile.settle(
        _spec(), _load(tmp_path, SHARED), command_given=False, os_type_given=False
    )
    again = spec.to_model(without, deployed)
    mounts = again.containers[0].volume_mounts or []
    assert [(m.name, m.mount_path) for m in mounts] == [("shared", "/www/shared")]
    assert "spec file" not in spec.diff(deployed, without).changed
    kept = ContainerGroup.deserialize(again.serialize())
    kept.tags = dict(again.tags or {})
    assert spec.diff(kept, without).action == "noop"
    # What the file states for the app's mounts replaces the group's.
    stated = SHARED.replace(
        "      environmentVariables:\n",
        "      volumeMounts:\n      - {name: shared, mountPath: /data}\n      environmentVariables:\n",
    )
    from_file = specfile.settle(
        _spec(), _load(tmp_path, stated), command_given=False, os_type_given=False
    )
    mounts = spec.to_model(from_file, deployed).containers[0].volume_mounts or []
    assert [(m.name, m.mount_path) for m in mounts] == [("shared", "/data")]


def test_a_changed_sidecar_updates_in_place(tmp_path: Path) -> None:
    file = _load(tmp_path, TUTORIAL)
    settled = specfile.settle(_spec(), file, command_given=False, os_type_given=False)
    deployed = ContainerGroup.deserialize(spec.to_model(settled, None).serialize())
    deployed.tags = dict(spec.to_model(settled, None).tags or {})
    changed = _load(tmp_path, TUTORIAL.replace("sleep 1000", "sleep 2000"))
    plan = spec.diff(
        deployed, specfile.settle(_spec(), changed, command_given=False, os_type_given=False)
    )
    assert plan.action == "update"
    assert "spec file" in plan.changed
    bigger = _load(tmp_path, TUTORIAL.replace("{cpu: 0.5,", "{cpu: 0.7,"))
    plan = spec.diff(
        deployed, specfile.settle(_spec(), bigger, command_given=False, os_type_given=False)
    )
    assert plan.action == "recreate"


def test_the_input_parser_names_the_input_the_file_and_the_line(tmp_path: Path) -> None:
    from acr_action.errors import InputError
    from acr_action.inputs import parse_inputs
    from tests.unit.support import runner_env

    (tmp_path / "aci.yaml").write_text("properties:\n  containers:\n  - nmae: web\n")
    env = {**runner_env({"spec-file": "aci.yaml"}), "GITHUB_WORKSPACE": str(tmp_path)}
    with pytest.raises(InputError) as info:
        parse_inputs(env)
    problem = next(p for p in info.value.problems if p.input == "spec-file")
    assert problem.message.startswith("aci.yaml line 3 column 5: unknown key `nmae`")
    assert problem.shown == "nmae"
    assert "az container create --file" in problem.example
    assert "Nothing was sent to Azure" in info.value.details


def test_a_good_file_reaches_the_container_inputs(tmp_path: Path) -> None:
    from acr_action.inputs import parse_inputs
    from tests.unit.support import runner_env

    (tmp_path / "aci.yaml").write_text(TUTORIAL.replace("name: myapp\n", ""))
    env = {**runner_env({"spec-file": "aci.yaml"}), "GITHUB_WORKSPACE": str(tmp_path)}
    container = parse_inputs(env).container
    assert container.spec_file is not None
    assert container.spec_file.app == "web"
