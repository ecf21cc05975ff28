"""The Kubernetes manifests: every target renders, validates strictly, and keeps the deployment invariants."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from lathe.kit.auth import ROLE_ADMIN, ROLE_SERVICE, ROLE_USER, TokenAuthenticator
from lathe.kit.errors import Unauthenticated

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("base", "dev", "prod", "prod-kubeflow")


@pytest.mark.parametrize("target", TARGETS)
def test_every_object_passes_strict_schema_validation(target, rendered, check):
    assert rendered[target].objects
    assert check.validate(rendered[target]) == []


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("invariant", [c.__name__ for c in __import__("lathe_deploy_check").CHECKS])
def test_invariant_holds(target, invariant, rendered, check):
    assert getattr(check, invariant)(rendered[target]) == []


def test_gpu_resources_appear_only_in_the_gpu_components(check):
    assert check.gpu_mentions_outside_components() == []


def test_kustomizations_use_no_deprecated_fields(check):
    assert check.check_kustomizations() == []


def test_prod_runs_the_trainer_on_gpu_nodes_and_pins_every_image(rendered):
    prod = rendered["prod"]
    trainer = prod.by_kind["Deployment"]["trainer"]["spec"]["template"]["spec"]
    assert trainer["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert trainer["containers"][0]["image"].endswith(":0.1.0-cuda")
    images = {c["image"] for _, pod in prod.workloads() for c in pod["containers"]}
    assert all(re.search(r":[\w.-]+$", image) and not image.endswith(":latest") for image in images), images
    # Dev runs everything in-cluster: the database and the object store too.
    assert {"postgres", "minio"} <= set(rendered["dev"].by_kind["StatefulSet"])


def test_the_secret_pods_created_at_run_time_read_keeps_its_name(rendered):
    # Model servers and PyTorchJob pods are rendered by the services and name "lathe-secrets" directly.
    assert "lathe-secrets" in rendered["dev"].by_kind["Secret"]


def test_prod_kubeflow_lets_only_the_trainer_submit_pytorchjobs_in_its_own_namespace(rendered):
    r = rendered["prod-kubeflow"]
    role = r.by_kind["Role"]["trainer-training-jobs"]
    assert role["metadata"]["namespace"] == "lathe"
    assert {(g, res): set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"]
            for res in rule["resources"]} == {("kubeflow.org", "pytorchjobs"): {"create", "get", "delete"},
                                              ("", "configmaps"): {"create", "delete"}}
    binding = r.by_kind["RoleBinding"]["trainer-training-jobs"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "trainer", "namespace": "lathe"}]
    trainer = r.by_kind["Deployment"]["trainer"]["spec"]["template"]["spec"]
    env = {e["name"]: e for e in trainer["containers"][0]["env"]}
    assert env["LATHE_TRAINER_KUBERNETES_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    # Pods report to the replica that runs their job (the pod's own IP and gRPC port), not through the Service.
    names = [e["name"] for e in trainer["containers"][0]["env"]]
    assert names.index("POD_IP") < names.index("LATHE_TRAINER_KUBERNETES_TRAINER_ADDRESS")
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["LATHE_TRAINER_KUBERNETES_TRAINER_ADDRESS"]["value"] == f"$(POD_IP):{env['LATHE_PORT']['value']}"
    assert trainer["automountServiceAccountToken"] is True
    # The other services still get no API token.
    registry = r.by_kind["Deployment"]["registry"]["spec"]["template"]["spec"]
    assert registry.get("automountServiceAccountToken") is not True
    # The pods of its PyTorchJobs run a pinned release of the trainer's image, never latest.
    config = r.by_kind["ConfigMap"]
    [settings] = [c for name, c in config.items() if name.startswith("lathe-config")]
    image = settings["data"]["LATHE_TRAINER_KUBERNETES_IMAGE"]
    assert re.search(r":[\w.-]+$", image) and not image.endswith(":latest")


def test_the_readme_creates_exactly_the_secrets_prod_references(check):
    assert check.operator_secrets() == {
        "lathe-secrets": {"database-url", "service-token", "s3-access-key-id", "s3-secret-access-key"},
        "lathe-tokens": {"tokens.json"},
        "lathe-postgres": {"password"},
    }


def _prod_container(r, name):
    return r.by_kind["Deployment"][name]["spec"]["template"]["spec"]["containers"][0]


def _drop_probe(r):
    del _prod_container(r, "registry")["readinessProbe"]


def _latest(r):
    _prod_container(r, "history")["image"] = "ghcr.io/lathe-dev/lathe:latest"


def _untagged(r):
    _prod_container(r, "history")["image"] = "ghcr.io/lathe-dev/lathe"


def _gpu_on_registry(r):
    _prod_container(r, "registry")["resources"]["limits"]["nvidia.com/gpu"] = "1"


def _writable_root(r):
    _prod_container(r, "corpus")["securityContext"]["readOnlyRootFilesystem"] = False


def _root_user(r):
    r.by_kind["Deployment"]["corpus"]["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = 0


def _short_grace(r):
    r.by_kind["Deployment"]["deployer"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 20


def _unknown_key(r):
    _prod_container(r, "history")["env"][1]["valueFrom"]["secretKeyRef"]["key"] = "db-url"


def _typo_setting(r):
    _prod_container(r, "history")["env"].append({"name": "LATHE_SHUTDOWN_GRACE_SECOND", "value": "5"})


def _bad_address(r):
    config = next(cm for name, cm in r.by_kind["ConfigMap"].items() if name.startswith("lathe-config"))
    config["data"]["LATHE_REGISTRY_ADDRESS"] = "registry:50053"


def _bad_setting_value(r):
    _prod_container(r, "history")["env"].append({"name": "LATHE_LOG_LEVEL", "value": "loud"})


def _trainer_without_anti_affinity(r):
    del r.by_kind["Deployment"]["trainer"]["spec"]["template"]["spec"]["affinity"]


def _rolling_deployer(r):
    del r.by_kind["Deployment"]["deployer"]["spec"]["strategy"]


def _two_corpus_replicas(r):
    r.by_kind["Deployment"]["corpus"]["spec"]["replicas"] = 2


def _no_grpc_port_name(r):
    r.by_kind["Service"]["history"]["spec"]["ports"][0]["name"] = "http"


@pytest.mark.parametrize(("break_it", "invariant", "complaint"), [
    (_drop_probe, "check_probes", "has no readinessProbe"),
    (_latest, "check_images", "in production"),
    (_untagged, "check_images", "has no tag"),
    (_gpu_on_registry, "check_gpu", "requests nvidia.com/gpu"),
    (_writable_root, "check_security", "writable root filesystem"),
    (_root_user, "check_security", "runs as uid 0"),
    (_short_grace, "check_grace", "terminationGracePeriodSeconds 20"),
    (_unknown_key, "check_references", "key 'db-url'"),
    (_typo_setting, "check_settings", "LATHE_SHUTDOWN_GRACE_SECOND, which no service reads"),
    (_bad_address, "check_settings", "LATHE_REGISTRY_ADDRESS"),
    (_bad_setting_value, "check_settings", "rejects its environment"),
    (_trainer_without_anti_affinity, "check_gpu", "two GPU trainers on one node"),
    (_no_grpc_port_name, "check_services", "no port named grpc"),
    (_rolling_deployer, "check_sole_instances", "strategy RollingUpdate lets the old and new pods overlap"),
    (_two_corpus_replicas, "check_sole_instances", "2 replicas"),
])
def test_each_invariant_catches_its_violation(break_it, invariant, complaint, rendered, check):
    broken = check.Rendered(rendered["prod"].target, copy.deepcopy(rendered["prod"].objects))
    break_it(broken)
    problems = getattr(check, invariant)(broken)
    assert any(complaint in p for p in problems), problems


def test_the_image_pins_the_same_torch_as_the_project():
    pins = {
        "pyproject.toml": re.search(r'"torch==([\d.]+)"', (REPO / "pyproject.toml").read_text()),
        "Makefile": re.search(r'"torch==([\d.]+)"', (REPO / "Makefile").read_text()),
        "Dockerfile": re.search(r"ARG TORCH_VERSION=([\d.]+)", (REPO / "Dockerfile").read_text()),
    }
    assert all(pins.values()), pins
    assert len({m.group(1) for m in pins.values()}) == 1, {k: m.group(1) for k, m in pins.items()}


def test_the_runtime_stage_is_slim_non_root_and_starts_a_service_by_name():
    text = (REPO / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    # The builder and the kubectl download stage hold the build tools; the last stage is what runs.
    assert [re.search(r" AS (\w+)", s.splitlines()[0]).group(1) for s in stages] == ["builder", "kubectl", "runtime"]
    runtime = stages[-1]
    assert "-slim-" in runtime.splitlines()[0]
    assert not re.search(r"apt-get install|build-essential|gcc", runtime)
    assert re.search(r"^USER 10001:10001$", runtime, flags=re.M)
    assert 'ENTRYPOINT ["lathe-service"]' in runtime
    assert "COPY --from=builder /opt/lathe/venv /opt/lathe/venv" in runtime
    assert re.search(r"LATHE_HOME=/var/lib/lathe", runtime) and 'VOLUME ["/var/lib/lathe", "/tmp"]' in runtime
    # Everything the Dockerfile copies from the build context is let through .dockerignore.
    allowed = [line[1:].rstrip("/*") for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.startswith("!")]
    sources = [s for line in re.findall(r"^COPY (?!--from)(.+)$", text, flags=re.M)
               for s in line.split()[:-1] if not s.startswith("--")]
    assert sources and all(any(s.rstrip("/").startswith(a) for a in allowed) for s in sources), (sources, allowed)


def test_the_manifests_and_the_image_agree_on_the_user_and_paths(rendered):
    dockerfile = (REPO / "Dockerfile").read_text()
    for name, deployment in rendered["prod"].lathe_deployments().items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == 10001, name
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert {"/var/lib/lathe", "/tmp"} <= mounts, name
        assert pod["containers"][0]["args"] == [name]
    assert "/var/lib/lathe" in dockerfile


def test_make_tokens_writes_a_tokens_file_that_authenticates_only_its_tokens(tmp_path, check):
    import importlib.util

    spec = importlib.util.spec_from_file_location("lathe_make_tokens", REPO / "deploy" / "make_tokens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tokens = module.make_tokens(tmp_path, [("alice", ROLE_USER)])
    assert {p.name for p in tmp_path.iterdir()} == {"tokens.json", "admin.token", "service.token", "alice.token"}
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in tmp_path.iterdir())
    assert (tmp_path / "admin.token").read_text().strip() == tokens["admin"]
    assert tokens["admin"] not in (tmp_path / "tokens.json").read_text()  # digests only
    auth = TokenAuthenticator.from_file(tmp_path / "tokens.json")
    assert ROLE_ADMIN in auth.authenticate([("authorization", f"Bearer {tokens['admin']}")]).roles
    assert ROLE_SERVICE in auth.authenticate([("authorization", f"Bearer {tokens['lathe-services']}")]).roles
    assert auth.authenticate([("authorization", f"Bearer {tokens['alice']}")]).user_id == "alice"
    with pytest.raises(Unauthenticated):
        auth.authenticate([("authorization", "Bearer lathe-dev-admin-token")])
