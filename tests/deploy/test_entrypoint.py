"""The image's entry point starts a service from nothing but the environment the prod manifests give it."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lathe.registry.v1 import registry_service_pb2, registry_service_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "deploy" / "docker" / "lathe-service"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_tokens(out: Path) -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("lathe_make_tokens", REPO / "deploy" / "make_tokens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_tokens(out)


def _pod_environment(rendered, service: str, secrets: dict[str, dict[str, str]], root: Path) -> dict[str, str]:
    """What the kubelet would give the container: ConfigMap, literal env and Secret values, with each volume
    mount stood in for by a folder under ``root`` (Secret volumes filled with their items)."""
    pod = rendered.by_kind["Deployment"][service]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    mounts: dict[str, Path] = {}
    for mount in container["volumeMounts"]:
        folder = root / mount["name"]
        folder.mkdir(parents=True, exist_ok=True)
        mounts[mount["mountPath"]] = folder
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        if "secret" in volume:
            for item in volume["secret"]["items"]:
                (folder / item["path"]).write_text(secrets[volume["secret"]["secretName"]][item["key"]])
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(rendered.by_kind["ConfigMap"][source["configMapRef"]["name"]]["data"])
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[ref["name"]][ref["key"]]
    for key, value in env.items():
        for path, folder in mounts.items():
            if value == path or value.startswith(path + "/"):
                env[key] = str(folder) + value[len(path):]
    return env


def test_an_unknown_service_name_is_refused_with_usage():
    result = subprocess.run([str(ENTRYPOINT), "scheduler"], capture_output=True, text=True, timeout=10,
                            env={"PATH": os.environ["PATH"]})
    assert result.returncode == 64
    assert "usage: lathe-service {corpus|trainer|registry|history|deployer}" in result.stderr


async def test_the_entrypoint_serves_registry_with_the_prod_environment(rendered, postgres_url, tmp_path):
    tokens = _make_tokens(tmp_path / "secrets")
    # The values the README's `kubectl create secret` commands put in the two Secrets.
    secrets = {
        "lathe-secrets": {"database-url": postgres_url, "service-token": tokens["lathe-services"],
                          "s3-access-key-id": "unused-here", "s3-secret-access-key": "unused-here"},
        "lathe-tokens": {"tokens.json": (tmp_path / "secrets" / "tokens.json").read_text()},
    }
    env = _pod_environment(rendered["prod"], "registry", secrets, tmp_path / "pod")
    assert env["LATHE_HOME"].startswith(str(tmp_path)) and env["LATHE_TOKENS_FILE"].startswith(str(tmp_path))
    # The only departures from the pod: loopback instead of every interface, and a free port instead of 50053.
    assert env["LATHE_HOST"] == "0.0.0.0" and env["LATHE_PORT"] == "50053"
    port = _free_port()
    env.update(LATHE_HOST="127.0.0.1", LATHE_PORT=str(port))
    bin_dir = str(Path(sys.executable).parent)
    process = subprocess.Popen([str(ENTRYPOINT), "registry"], cwd=env["LATHE_HOME"],
                               env={**env, "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": env["LATHE_HOME"]},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            # What the kubelet's native gRPC probe does: Health/Check with an empty service name, no token.
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, process.stdout.read().decode()[-3000:]
                try:
                    reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=2)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.aio.AioRpcError:
                    pass
                assert time.monotonic() < deadline, "registry never became SERVING"
                await asyncio.sleep(0.3)
            registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
            admin = (("authorization", f"Bearer {tokens['admin']}"),)
            await registry.ListModels(registry_service_pb2.ListModelsRequest(), metadata=admin, timeout=10)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await registry.ListModels(registry_service_pb2.ListModelsRequest(), timeout=10)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # SIGTERM (what the kubelet sends after preStop) stops it cleanly within its grace period.
        process.send_signal(signal.SIGTERM)
        grace = float(env["LATHE_SHUTDOWN_GRACE_SECONDS"])
        assert await asyncio.to_thread(process.wait, grace + 5) == 0
        log = process.stdout.read().decode()
        assert '"event": "server_stopped"' in log or "server_stopped" in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
