"""``python -m services.deployer serve-model``: the model server the Kubernetes manifests start, run as its own
process with exactly the environment the rendered manifest gives it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from inference import grpc_predict_v2_pb2 as pb
from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from lathe.deployer.v1 import deployment_pb2
from lathe.kit.clients import create_channel
from tests.deployer.integration.test_restart import ROOT, free_port
from tests.deployer.integration.test_serving import generate_request, text_of

D = deployment_pb2.Deployment


def start(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen:
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, "-m", "services.deployer", "serve-model", *args], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **env},
                                stdout=out, stderr=subprocess.STDOUT)


async def ready(process: subprocess.Popen, infer: GRPCInferenceServiceStub, name: str, log: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if (await infer.ModelReady(pb.ModelReadyRequest(name=name), timeout=1)).ready:
                return
        except grpc.aio.AioRpcError:
            pass
        assert loop.time() < deadline, log.read_text()[-3000:]
        await asyncio.sleep(0.1)


async def test_serve_model_serves_the_manifest_s_version_and_refuses_a_changed_artifact(suite, tokens, tmp_path):
    version = await suite.gpt_version()
    await suite.create("chat", version.name)
    await suite.create("chat-k8s", version.name, D.TARGET_KUBERNETES)
    local, k8s = await suite.settle("deployments/chat"), await suite.settle("deployments/chat-k8s")
    assert local.state == k8s.state == D.STATE_SERVING, (local.error, k8s.error)
    expected = text_of(await suite.infer.ModelInfer(generate_request("chat", "good morning", seed=3)))
    manifests = json.loads((Path(k8s.endpoint.export_uri.removeprefix("file://")) / "manifests.json").read_text())
    container = manifests["items"][0]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-1] == "serve-model"
    env = {e["name"]: e["value"] for e in container["env"]}
    port, registry_port = free_port(), free_port()
    # The pod's environment, except where this machine differs from a pod: port, scratch folder, tokens.
    env.update(LATHE_PORT=str(port), LATHE_HOST="127.0.0.1", LATHE_WORK_DIR=str(tmp_path / "pod-work"),
               LATHE_TOKENS_FILE=str(tokens.file))
    logs = [tmp_path / "serve-model.log", tmp_path / "registry-mode.log"]
    processes = [start(env, log=logs[0]),
                 # Through the registry (--version): every file is fetched and checked against its manifest.
                 start({"LATHE_REGISTRY_ADDRESS": suite.registry_server.address,
                        "LATHE_SERVICE_TOKEN": tokens.service, "LATHE_TOKENS_FILE": str(tokens.file)},
                       "--version", version.name, "--model-name", "chat-k8s", "--port", str(registry_port),
                       "--host", "127.0.0.1", log=logs[1])]
    channels = [create_channel(f"127.0.0.1:{p}", token=tokens.alice, default_timeout=20)
                for p in (port, registry_port)]
    try:
        for process, channel, log in zip(processes, channels, logs, strict=True):
            infer = GRPCInferenceServiceStub(channel)
            await ready(process, infer, "chat-k8s", log)
            answer = await infer.ModelInfer(generate_request("chat-k8s", "good morning", seed=3))
            assert text_of(answer) == expected and answer.model_version == "1"
            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await infer.ModelInfer(generate_request("chat", "good morning"))
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
            assert (await infer.ServerReady(pb.ServerReadyRequest())).ready
    finally:
        for process in processes:
            process.terminate()
            process.wait(15)
        for channel in channels:
            await channel.close()
    assert [p.returncode for p in processes] == [0, 0], logs[0].read_text()[-3000:]

    # The registered folder changes after registration: the model server refuses it and never listens.
    source = Path(version.artifact_uri.removeprefix("file://"))
    (source / "config.json").write_text((source / "config.json").read_text() + " ")
    refused = start({**env, "LATHE_WORK_DIR": str(tmp_path / "pod-work-2")}, log=tmp_path / "refused.log")
    assert refused.wait(60) == 3
    assert "ARTIFACT_CHECKSUM_MISMATCH" in (tmp_path / "refused.log").read_text()
