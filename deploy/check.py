"""Renders every kustomize target, validates each object offline (kubernetes-validate --strict) and checks invariants.

``python deploy/check.py`` (``make deploy-check``) exits non-zero on the first target with a problem and prints
every problem; tests/deploy/test_manifests.py runs the same functions one check at a time. Rendering uses
``kubectl kustomize`` (kustomize v5 is built into kubectl), or a standalone ``kustomize build``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import kubernetes_validate
import yaml

DEPLOY = Path(__file__).resolve().parent
K8S = DEPLOY / "k8s"
README = DEPLOY / "README.md"
# The oldest Kubernetes the manifests support (native gRPC probes GA in 1.27, preStop sleep on by default in
# 1.30) and the newest schema kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
SERVICES = ("corpus", "trainer", "registry", "history", "deployer")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
GPU = "nvidia.com/gpu"
# Services whose start-up recovery assumes no other live instance (corpus: import batches; deployer: rollouts
# and served models): one replica, replaced with Recreate so old and new pods never overlap.
SOLE_INSTANCE = ("corpus", "deployer")
GPU_COMPONENTS = ("components/gpu", "components/gpu-deployer")
DEPRECATED_KUSTOMIZE_FIELDS = {"bases", "commonLabels", "patchesStrategicMerge", "patchesJson6902", "vars",
                               "imageTags", "secretGenerator.env", "configMapGenerator.env"}


@dataclass(frozen=True)
class Target:
    """A kustomization to render, and what its output must satisfy."""

    name: str
    path: Path
    # Self-contained: every Secret it references is in its own output. Otherwise the operator creates the
    # missing ones with the `kubectl create secret` commands of deploy/README.md.
    self_contained: bool
    production: bool = False
    gpu: tuple[str, ...] = ()  # the services that must run on GPU nodes


TARGETS = (
    Target("base", K8S / "base", self_contained=False),
    Target("dev", K8S / "overlays" / "dev", self_contained=True),
    Target("prod", K8S / "overlays" / "prod", self_contained=False, production=True, gpu=("trainer",)),
    Target("prod-kubeflow", K8S / "overlays" / "prod-kubeflow", self_contained=False, production=True,
           gpu=("trainer",)),
)


@dataclass
class Rendered:
    """One target's objects, with lookups the checks share."""

    target: Target
    objects: list[dict]
    by_kind: dict[str, dict[str, dict]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for obj in self.objects:
            self.by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj

    def workloads(self) -> Iterator[tuple[dict, dict]]:
        """(workload, pod spec) of every Deployment, StatefulSet, DaemonSet, Job and CronJob."""
        for obj in self.objects:
            if obj["kind"] in WORKLOADS:
                template = obj["spec"]["template"] if obj["kind"] != "CronJob" else \
                    obj["spec"]["jobTemplate"]["spec"]["template"]
                yield obj, template["spec"]

    def lathe_deployments(self) -> dict[str, dict]:
        """The Deployments of the five services, by service name."""
        return {name: obj for name, obj in self.by_kind.get("Deployment", {}).items() if name in SERVICES}

    def config(self) -> dict[str, str]:
        """The data of the lathe-config ConfigMap (its generated name carries a hash suffix)."""
        found = [cm for name, cm in self.by_kind.get("ConfigMap", {}).items() if name.startswith("lathe-config")]
        return dict(found[0].get("data", {})) if len(found) == 1 else {}


def kustomize_command() -> list[str]:
    """``kubectl kustomize`` where kubectl is installed, else ``kustomize build``."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    raise RuntimeError("neither kubectl nor kustomize is on PATH: install kubectl (it includes kustomize v5)")


def render(target: Target) -> Rendered:
    """Render the target with kustomize."""
    result = subprocess.run([*kustomize_command(), str(target.path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"kustomize failed on {target.path}: {result.stderr.strip()}")
    return Rendered(target, [obj for obj in yaml.safe_load_all(result.stdout) if obj])


def validate(rendered: Rendered, versions: tuple[str, ...] = KUBERNETES_VERSIONS) -> list[str]:
    """Strict schema validation (unknown fields are errors) of every object against each Kubernetes version."""
    problems = []
    for version in versions:
        for obj in rendered.objects:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = "/".join(str(part) for part in exc.path)
                problems.append(f"{_name(obj)}: invalid for Kubernetes {version} at {where or '.'}: {exc.message}")
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
                problems.append(f"{_name(obj)}: no schema for Kubernetes {version}: {exc}")
    return problems


def _name(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _containers(pod: dict) -> list[dict]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


# Invariants. Each takes a rendered target and returns its problems (empty: the invariant holds).


def check_probes(r: Rendered) -> list[str]:
    """Every container of every workload has readiness and liveness probes; the services' are native gRPC probes
    on their own grpc port (the standard grpc.health.v1 service)."""
    problems = []
    for obj, pod in r.workloads():
        for c in pod["containers"]:
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in c:
                    problems.append(f"{_name(obj)} container {c['name']} has no {probe}")
                elif obj["metadata"]["name"] in SERVICES:
                    grpc_port = _port(c, "grpc")
                    if c[probe].get("grpc", {}).get("port") != grpc_port:
                        problems.append(f"{_name(obj)} {probe} is not a gRPC probe on the grpc port {grpc_port}")
    return problems


def _port(container: dict, name: str) -> int | None:
    return next((p["containerPort"] for p in container.get("ports", []) if p.get("name") == name), None)


def check_services(r: Rendered) -> list[str]:
    """All five services are deployed, each with a Service whose port is named grpc and selects its pods, and
    its own ServiceAccount."""
    problems = []
    deployments = r.lathe_deployments()
    for name in SERVICES:
        deployment = deployments.get(name)
        if deployment is None:
            problems.append(f"Deployment/{name} is missing")
            continue
        pod_labels = deployment["spec"]["template"]["metadata"].get("labels", {})
        service = r.by_kind.get("Service", {}).get(name)
        if service is None:
            problems.append(f"Service/{name} is missing")
        else:
            if not any(p.get("name") == "grpc" for p in service["spec"].get("ports", [])):
                problems.append(f"Service/{name} has no port named grpc")
            selector = service["spec"].get("selector", {})
            if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
                problems.append(f"Service/{name} selector {selector} does not select the {name} pods")
        account = deployment["spec"]["template"]["spec"].get("serviceAccountName")
        if account != name or name not in r.by_kind.get("ServiceAccount", {}):
            problems.append(f"Deployment/{name} does not run as its own ServiceAccount {name}")
    return problems


CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition", "PriorityClass"}


def check_namespace(r: Rendered) -> list[str]:
    """One Namespace object, and every namespaced object in it (a generated Secret outside it would leave the
    pods' references dangling)."""
    namespaces = list(r.by_kind.get("Namespace", {}))
    if len(namespaces) != 1:
        return [f"expected one Namespace, found {namespaces}"]
    return [f"{_name(obj)} is in namespace {obj['metadata'].get('namespace')!r}, not {namespaces[0]!r}"
            for obj in r.objects
            if obj["kind"] not in CLUSTER_SCOPED and obj["metadata"].get("namespace") != namespaces[0]]


def check_security(r: Rendered) -> list[str]:
    """Non-root, read-only root filesystem, no privilege escalation, ALL capabilities dropped, everywhere."""
    problems = []
    for obj, pod in r.workloads():
        pod_ctx = pod.get("securityContext", {})
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key):
                problems.append(f"{_name(obj)} uses {key}")
        if any("hostPath" in v for v in pod.get("volumes", [])):
            problems.append(f"{_name(obj)} mounts a hostPath volume")
        for c in _containers(pod):
            ctx = c.get("securityContext", {})
            where = f"{_name(obj)} container {c['name']}"
            if not ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")):
                problems.append(f"{where} may run as root (runAsNonRoot is not true)")
            if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
                problems.append(f"{where} runs as uid 0")
            if ctx.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where} has a writable root filesystem")
            if ctx.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where} allows privilege escalation")
            if ctx.get("privileged"):
                problems.append(f"{where} is privileged")
            caps = ctx.get("capabilities", {})
            if "ALL" not in caps.get("drop", []) or caps.get("add"):
                problems.append(f"{where} does not drop ALL capabilities (or adds some)")
    return problems


def check_resources(r: Rendered) -> list[str]:
    """Every container has cpu and memory requests and limits."""
    problems = []
    for obj, pod in r.workloads():
        for c in _containers(pod):
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(res.get(kind, {}))
                if missing:
                    problems.append(f"{_name(obj)} container {c['name']} has no {kind} for {sorted(missing)}")
    return problems


def operator_secrets(readme: Path = README) -> dict[str, set[str]]:
    """The Secrets (name → keys) the `kubectl create secret generic` commands of the README create."""
    text = readme.read_text().replace("\\\n", " ")
    secrets: dict[str, set[str]] = {}
    for line in text.splitlines():
        if "kubectl" not in line or "create secret generic" not in line:
            continue
        words = shlex.split(line.strip().removeprefix("$ "), comments=True)
        name = words[words.index("generic") + 1]
        keys = secrets.setdefault(name, set())
        for word in words:
            for flag in ("--from-literal=", "--from-file="):
                if word.startswith(flag):
                    spec = word.removeprefix(flag)
                    keys.add(spec.split("=", 1)[0] if "=" in spec else Path(spec).name)
    return secrets


def check_references(r: Rendered, external: dict[str, set[str]] | None = None) -> list[str]:
    """Every ConfigMap and Secret a pod references (env, envFrom, volumes) exists with the keys it uses: in the
    rendered output, or, for a target that is not self-contained, among the README's `kubectl create secret`s."""
    external = {} if r.target.self_contained else (operator_secrets() if external is None else external)
    have = {
        kind: {name: set(obj.get("data", {})) | set(obj.get("stringData", {})) | set(obj.get("binaryData", {}))
               for name, obj in r.by_kind.get(kind, {}).items()}
        for kind in ("ConfigMap", "Secret")
    }
    for name, keys in external.items():
        have["Secret"].setdefault(name, set()).update(keys)
    problems = []

    def need(kind: str, name: str, key: str | None, optional: bool, where: str) -> None:
        if optional:
            return
        if name not in have[kind]:
            problems.append(f"{where} references {kind}/{name}, which nothing creates")
        elif key is not None and key not in have[kind][name]:
            problems.append(f"{where} references key {key!r} of {kind}/{name}, which it does not have")

    for obj, pod in r.workloads():
        for c in _containers(pod):
            where = f"{_name(obj)} container {c['name']}"
            for source in c.get("envFrom", []):
                for kind, ref in (("ConfigMap", source.get("configMapRef")), ("Secret", source.get("secretRef"))):
                    if ref:
                        need(kind, ref["name"], None, ref.get("optional", False), where)
            for var in c.get("env", []):
                value_from = var.get("valueFrom", {})
                for kind, ref in (("ConfigMap", value_from.get("configMapKeyRef")),
                                  ("Secret", value_from.get("secretKeyRef"))):
                    if ref:
                        need(kind, ref["name"], ref["key"], ref.get("optional", False), f"{where} env {var['name']}")
        for volume in pod.get("volumes", []):
            sources = [volume, *volume.get("projected", {}).get("sources", [])]
            for source in sources:
                for kind, ref, name_key in (("ConfigMap", source.get("configMap"), "name"),
                                            ("Secret", source.get("secret"), "secretName" if source is volume
                                             else "name")):
                    if ref:
                        items = [item["key"] for item in ref.get("items", [])] or [None]
                        for key in items:
                            need(kind, ref[name_key], key, ref.get("optional", False),
                                 f"{_name(obj)} volume {volume['name']}")
    return problems


def check_gpu(r: Rendered) -> list[str]:
    """GPUs are requested only through components/gpu*: only the target's GPU services ask for them (with the GPU
    node selector and toleration), one trainer per node; no file outside those components mentions them."""
    problems = []
    for obj, pod in r.workloads():
        name = obj["metadata"]["name"]
        asks = any(GPU in c.get("resources", {}).get(kind, {}) for c in _containers(pod)
                   for kind in ("requests", "limits"))
        if asks and name not in r.target.gpu:
            problems.append(f"{_name(obj)} requests {GPU} in {r.target.name}, where only {r.target.gpu} may")
        if name in r.target.gpu:
            if not asks:
                problems.append(f"{_name(obj)} must request {GPU} in {r.target.name}")
            if not any(k.startswith("nvidia.com/") for k in pod.get("nodeSelector", {})):
                problems.append(f"{_name(obj)} has no GPU nodeSelector")
            if not any(t.get("key") == GPU for t in pod.get("tolerations", [])):
                problems.append(f"{_name(obj)} does not tolerate the {GPU} taint")
        if name == "trainer" and asks:
            terms = pod.get("affinity", {}).get("podAntiAffinity", {}).get(
                "requiredDuringSchedulingIgnoredDuringExecution", [])
            if not any(t.get("topologyKey") == "kubernetes.io/hostname"
                       and t.get("labelSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "trainer"
                       for t in terms):
                problems.append("Deployment/trainer may put two GPU trainers on one node (no required anti-affinity)")
    return problems


def gpu_mentions_outside_components(root: Path = K8S) -> list[str]:
    """Files under deploy/k8s that mention nvidia.com/gpu but are not in a GPU component."""
    allowed = [root / part for part in GPU_COMPONENTS]
    return [f"{path.relative_to(root)} mentions {GPU} outside {', '.join(GPU_COMPONENTS)}"
            for path in sorted(root.rglob("*.yaml"))
            if GPU in path.read_text() and not any(folder in path.parents for folder in allowed)]


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def check_images(r: Rendered) -> list[str]:
    """Overlays pin every image to a tag; production never uses latest (an untagged image is latest)."""
    if r.target.name == "base":
        return []
    problems = []
    for obj, pod in r.workloads():
        for c in _containers(pod):
            image = c["image"]
            if _DIGEST.search(image):
                continue
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if not tag:
                problems.append(f"{_name(obj)} container {c['name']} image {image} has no tag (it means latest)")
            elif tag == "latest" and r.target.production:
                problems.append(f"{_name(obj)} container {c['name']} uses {image} in production")
            elif image.startswith("lathe-cuda"):
                problems.append(f"{_name(obj)} still uses the image placeholder {image}")
    return problems


def _env(r: Rendered, container: dict) -> dict[str, str]:
    """The literal environment a container gets: its ConfigMaps, then its own values (Secrets left out)."""
    env: dict[str, str] = {}
    configmaps = r.by_kind.get("ConfigMap", {})
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref and ref["name"] in configmaps:
            env.update(configmaps[ref["name"]].get("data", {}))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
    return env


def check_sole_instances(r: Rendered) -> list[str]:
    """The services that recover at start-up as the only instance run one replica, replaced with Recreate."""
    problems = []
    for name, obj in r.lathe_deployments().items():
        if name not in SOLE_INSTANCE:
            continue
        spec = obj["spec"]
        if spec.get("replicas", 1) != 1:
            problems.append(f"{_name(obj)}: {spec['replicas']} replicas, but at start-up each would settle the "
                            "others' work in progress as interrupted")
        strategy = spec.get("strategy", {}).get("type", "RollingUpdate")
        if strategy != "Recreate":
            problems.append(f"{_name(obj)}: strategy {strategy} lets the old and new pods overlap, and the new one "
                            "would settle the old one's work in progress as interrupted; use Recreate")
    return problems


def check_grace(r: Rendered) -> list[str]:
    """terminationGracePeriodSeconds outlasts preStop plus the service's own LATHE_SHUTDOWN_GRACE_SECONDS."""
    problems = []
    for obj, pod in r.workloads():
        period = pod.get("terminationGracePeriodSeconds", 30)
        for c in pod["containers"]:
            env = _env(r, c)
            if not any(k.startswith("LATHE_") for k in env):
                continue
            grace = float(env.get("LATHE_SHUTDOWN_GRACE_SECONDS", 10))
            pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
            if period <= grace + pre_stop:
                problems.append(f"{_name(obj)}: terminationGracePeriodSeconds {period} <= preStop {pre_stop} s + "
                                f"LATHE_SHUTDOWN_GRACE_SECONDS {grace:g} s: in-flight RPCs would be killed")
    return problems


def known_settings() -> set[str]:
    """Every LATHE_* variable a service reads: its settings fields (and their aliases) and the S3 backend's."""
    import importlib

    from lathe.kit.s3 import ENVIRONMENT

    names = set(ENVIRONMENT)
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.settings")
        for cls in vars(module).values():
            fields = getattr(cls, "model_fields", None)
            if not isinstance(cls, type) or fields is None or not hasattr(cls, "model_config"):
                continue
            prefix = cls.model_config.get("env_prefix", "")
            for name, info in fields.items():
                names.add(f"{prefix}{name}".upper())
                alias = info.validation_alias
                for choice in getattr(alias, "choices", [alias] if isinstance(alias, str) else []):
                    if isinstance(choice, str):
                        names.add(choice.upper())
    return names


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for key in [k for k in os.environ if k.startswith("LATHE_")]:
            del os.environ[key]
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def check_settings(r: Rendered) -> list[str]:
    """The services' settings: every LATHE_* name is one a service reads (no typo is silently ignored), each
    service's settings class accepts its environment, addresses are the Services' cluster DNS names and grpc
    ports, each listens on its grpc port on all interfaces, and credentials come from Secrets."""
    import importlib

    config = r.config()
    if not config:
        return ["no (or more than one) lathe-config ConfigMap"]
    problems = []
    known = known_settings()
    for key in sorted(k for k in config if k.startswith("LATHE_") and k not in known):
        problems.append(f"ConfigMap lathe-config sets {key}, which no service reads")
    if config.get("LATHE_HOST") != "0.0.0.0":
        problems.append("LATHE_HOST must be 0.0.0.0: a service bound to loopback is unreachable and unprobeable")
    services = r.by_kind.get("Service", {})
    for name in SERVICES:
        service = services.get(name)
        port = next((p["port"] for p in (service or {}).get("spec", {}).get("ports", []) if p["name"] == "grpc"), None)
        namespace = (service or {}).get("metadata", {}).get("namespace", "default")
        expected = f"{name}.{namespace}.svc.cluster.local:{port}"
        actual = config.get(f"LATHE_{name.upper()}_ADDRESS")
        if actual != expected:
            problems.append(f"LATHE_{name.upper()}_ADDRESS is {actual!r}, the {name} Service is at {expected!r}")
    for name, deployment in r.lathe_deployments().items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = _env(r, container)
        for key in (k for k in env if k.startswith("LATHE_") and k not in known):
            problems.append(f"Deployment/{name} sets {key}, which no service reads")
        if env.get("LATHE_PORT") != str(_port(container, "grpc")):
            problems.append(f"Deployment/{name} LATHE_PORT {env.get('LATHE_PORT')} is not its grpc port")
        from_secrets = {v["name"] for v in container.get("env", []) if "secretKeyRef" in v.get("valueFrom", {})}
        for key in ("LATHE_DATABASE_URL", "LATHE_SERVICE_TOKEN"):
            if key not in from_secrets:
                problems.append(f"Deployment/{name} does not take {key} from a Secret")
        tokens_file = env.get("LATHE_TOKENS_FILE", "")
        secret_mounts = {m["mountPath"] for m in container.get("volumeMounts", [])
                         for v in deployment["spec"]["template"]["spec"].get("volumes", [])
                         if v["name"] == m["name"] and "secret" in v}
        if not any(Path(tokens_file).parent == Path(mount) for mount in secret_mounts):
            problems.append(f"Deployment/{name} LATHE_TOKENS_FILE {tokens_file!r} is not in a mounted Secret")
        settings_cls = next(cls for cls in vars(importlib.import_module(f"services.{name}.settings")).values()
                            if isinstance(cls, type) and cls.__name__.lower() == f"{name}settings")
        with _environ(env):
            try:
                settings_cls()
            except Exception as exc:
                problems.append(f"Deployment/{name}: {settings_cls.__name__} rejects its environment: {exc}")
    return problems


def check_kustomizations(root: Path = K8S) -> list[str]:
    """No kustomization uses a deprecated field (labels/patches/resources instead)."""
    problems = []
    for path in sorted(root.rglob("kustomization.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        for key in data:
            if key in DEPRECATED_KUSTOMIZE_FIELDS:
                problems.append(f"{path.relative_to(root)} uses the deprecated field {key}")
        for generator in ("configMapGenerator", "secretGenerator"):
            for entry in data.get(generator, []):
                if "env" in entry:
                    problems.append(f"{path.relative_to(root)} {generator} uses the deprecated field env")
    return problems


CHECKS = (check_namespace, check_probes, check_services, check_security, check_resources, check_references, check_gpu,
          check_images, check_grace, check_sole_instances, check_settings)


def check_target(target: Target, versions: tuple[str, ...] = KUBERNETES_VERSIONS) -> tuple[Rendered, list[str]]:
    """Render, validate and check one target."""
    rendered = render(target)
    problems = validate(rendered, versions)
    for check in CHECKS:
        problems += [f"{check.__name__}: {p}" for p in check(rendered)]
    return rendered, problems


def main(argv: list[str] | None = None) -> int:
    """Check every target; print one line per target and every problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="also write each target's rendered YAML here")
    args = parser.parse_args(argv)
    failed = False
    problems = gpu_mentions_outside_components() + check_kustomizations()
    for problem in problems:
        print(f"deploy-check: {problem}")
    failed |= bool(problems)
    for target in TARGETS:
        rendered, problems = check_target(target)
        if args.output:
            args.output.mkdir(parents=True, exist_ok=True)
            (args.output / f"{target.name}.yaml").write_text(yaml.safe_dump_all(rendered.objects, sort_keys=False))
        kinds = sorted({o["kind"] for o in rendered.objects})
        state = "FAILED" if problems else "ok"
        print(f"deploy-check: {target.name}: {len(rendered.objects)} objects ({', '.join(kinds)}); strict schema "
              f"for Kubernetes {', '.join(KUBERNETES_VERSIONS)} and {len(CHECKS)} invariants: {state}")
        for problem in problems:
            print(f"  - {problem}")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
