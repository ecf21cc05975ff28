"""Deployments to the local target, served over the Open Inference Protocol: rollouts, checksum refusal,
automatic and requested rollbacks, canaries, and no failed request during a switch."""

from __future__ import annotations

import asyncio
import struct
import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np
from google.protobuf import field_mask_pb2

from inference import grpc_predict_v2_pb2 as pb
from lathe.deployer.v1 import deployer_service_pb2 as ds
from lathe.deployer.v1 import deployment_pb2, deployment_revision_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1 import version_deployment_pb2
from tests.deployer.integration.conftest import expect

D = deployment_pb2.Deployment
R = deployment_revision_pb2.DeploymentRevision
VD = version_deployment_pb2.VersionDeployment


def bytes_tensor(texts: list[str]) -> bytes:
    return b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in texts)


def embed_request(model: str, texts: list[str]) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model)
    request.inputs.add(name="texts", datatype="BYTES", shape=[len(texts)])
    request.raw_input_contents.append(bytes_tensor(texts))
    return request


def generate_request(model: str, prompt: str, *, seed: int = 7, max_tokens: int = 8) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model)
    request.inputs.add(name="prompt", datatype="BYTES", shape=[1]).contents.bytes_contents.append(prompt.encode())
    request.parameters["max_tokens"].int64_param = max_tokens
    request.parameters["temperature"].double_param = 0.8
    request.parameters["seed"].int64_param = seed
    return request


def vectors_of(response: pb.ModelInferResponse) -> np.ndarray:
    out = response.outputs[0]
    return np.frombuffer(response.raw_output_contents[0], dtype="<f4").reshape(list(out.shape))


def text_of(response: pb.ModelInferResponse) -> str:
    raw = response.raw_output_contents[0]
    (length,) = struct.unpack_from("<I", raw)
    return raw[4:4 + length].decode()


TRITON_CLIENT = """
import sys, numpy as np, tritonclient.grpc as tc
client = tc.InferenceServerClient(sys.argv[1])
headers = {"authorization": "Bearer " + sys.argv[2]}
assert client.is_server_live(headers=headers) and client.is_model_ready(sys.argv[3], headers=headers)
texts = tc.InferInput("texts", [2], "BYTES")
texts.set_data_from_numpy(np.array([b"how do I reset my password", b"hello"], dtype=np.object_))
result = client.infer(sys.argv[3], [texts], headers=headers)
np.save(sys.argv[4], result.as_numpy("embeddings"))
"""


async def test_a_causal_lm_and_an_embedding_model_serve_over_the_inference_protocol(suite, minilm_path, minilm,
                                                                                   tmp_path, tokens):
    gpt = await suite.gpt_version()
    embed = await suite.minilm_version(minilm_path)
    await suite.create("chat", gpt.name)
    await suite.create("embed", "models/qa-embed@latest")
    chat, emb = await suite.settle("deployments/chat"), await suite.settle("deployments/embed")
    assert chat.state == emb.state == D.STATE_SERVING, (chat.error, emb.error)
    assert emb.resolved_model_version == embed.name and emb.endpoint.model_name == "embed"
    assert emb.endpoint.address == suite.deployer_server.address

    texts = ["how do I reset my password", "hello"]
    vectors = vectors_of(await suite.infer.ModelInfer(embed_request("embed", texts)))
    assert vectors.shape == (2, 384)
    assert np.abs(vectors - minilm.encode(texts, convert_to_numpy=True)).max() < 1e-5

    first = text_of(await suite.infer.ModelInfer(generate_request("chat", "Hello")))
    again = text_of(await suite.infer.ModelInfer(generate_request("chat", "Hello")))
    assert first == again and len(first.encode()) >= 1  # the seed makes sampling reproducible

    meta = await suite.infer.ModelMetadata(pb.ModelMetadataRequest(name="embed"))
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.outputs] == [("embeddings", "FP32", [-1, 384])]
    assert (await suite.infer.ModelReady(pb.ModelReadyRequest(name="chat"))).ready
    assert not (await suite.infer.ModelReady(pb.ModelReadyRequest(name="nope"))).ready
    assert (await suite.infer.ServerLive(pb.ServerLiveRequest())).live

    await expect(suite.infer.ModelInfer(embed_request("nope", ["x"])), grpc.StatusCode.NOT_FOUND)
    bad = embed_request("embed", ["x"])
    bad.inputs[0].datatype = "FP32"
    error = await expect(suite.infer.ModelInfer(bad), grpc.StatusCode.INVALID_ARGUMENT)
    assert "texts" in error.message and error.field_violations[0].field == "inputs.texts"
    bad = embed_request("embed", ["x"])
    bad.inputs[0].shape[:] = [3]
    await expect(suite.infer.ModelInfer(bad), grpc.StatusCode.INVALID_ARGUMENT)
    wrong = generate_request("chat", "x")
    wrong.inputs[0].name = "question"
    error = await expect(suite.infer.ModelInfer(wrong), grpc.StatusCode.INVALID_ARGUMENT)
    assert "question" in error.message

    # An unmodified tritonclient (its own protos, so in its own process) reads the same vectors.
    out = tmp_path / "triton.npy"
    await asyncio.to_thread(subprocess.run, [sys.executable, "-c", TRITON_CLIENT, suite.deployer_server.address,
                                             tokens.alice, "embed", str(out)], check=True, timeout=60)
    assert np.abs(np.load(out) - vectors).max() < 1e-6

    # The registry learns where the version runs (through the deployer's outbox).
    for _ in range(100):
        records = await suite.registry.ListVersionDeployments(rs.ListVersionDeploymentsRequest(parent=embed.name))
        if records.version_deployments:
            break
        await asyncio.sleep(0.1)
    [record] = records.version_deployments
    assert (record.deployment, record.state, record.traffic_percent) == ("deployments/embed", VD.STATE_SERVING, 100)


async def roll_forward(suite, name: str, version: str, **canary) -> D:
    deployment = D(name=name, model_version=version)
    paths = ["model_version"]
    if canary:
        deployment.canary.traffic_percent = canary["percent"]
        paths.append("canary.traffic_percent")
    return await suite.deployer.UpdateDeployment(ds.UpdateDeploymentRequest(
        deployment=deployment, update_mask=field_mask_pb2.FieldMask(paths=paths)))


async def test_refusals_automatic_rollback_and_rollback_keep_serving_without_a_failed_request(suite):
    v1, v2 = await suite.gpt_version(seed=1), await suite.gpt_version(seed=2)
    tampered, poisoned = await suite.gpt_version(seed=3), await suite.gpt_version(seed=4, poison=True)
    weights = Path(tampered.artifact_uri.removeprefix("file://")) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))

    await suite.create("svc", v1.name)
    assert (await suite.settle("deployments/svc")).state == D.STATE_SERVING

    served: list[str] = []
    failures: list[BaseException] = []
    stop = asyncio.Event()

    async def client() -> None:
        while not stop.is_set():
            try:
                response = await suite.infer.ModelInfer(generate_request("svc", "ab", max_tokens=2))
                served.append(response.model_version)
            except grpc.aio.AioRpcError as exc:
                failures.append(exc)

    clients = [asyncio.create_task(client()) for _ in range(3)]
    try:
        await roll_forward(suite, "deployments/svc", v2.name)
        d = await suite.settle("deployments/svc")
        assert d.state == D.STATE_SERVING and d.current_revision == "deployments/svc/revisions/2"

        # A tampered artifact is refused before loading; revision 2 keeps serving.
        await roll_forward(suite, "deployments/svc", tampered.name)
        d = await suite.settle("deployments/svc")
        assert d.state == D.STATE_ROLLED_BACK and d.current_revision == "deployments/svc/revisions/2"
        assert d.error.code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
        assert "ARTIFACT_CHECKSUM_MISMATCH" in str(d.error) and "model.safetensors" in d.error.message
        r3 = await suite.deployer.GetDeploymentRevision(ds.GetDeploymentRevisionRequest(
            name="deployments/svc/revisions/3"))
        assert r3.state == R.STATE_FAILED and not r3.sha256_verified

        # A version whose health check fails is rolled back automatically, with the reason recorded.
        await roll_forward(suite, "deployments/svc", poisoned.name)
        d = await suite.settle("deployments/svc")
        assert d.state == D.STATE_ROLLED_BACK and d.current_revision == "deployments/svc/revisions/2"
        r4 = await suite.deployer.GetDeploymentRevision(ds.GetDeploymentRevisionRequest(
            name="deployments/svc/revisions/4"))
        assert r4.state == R.STATE_FAILED and r4.sha256_verified
        assert r4.health_check.outcome == r4.health_check.OUTCOME_FAILED and "non-finite" in r4.health_check.message

        # RollbackDeployment restores the previous healthy revision (1) as a new revision 5.
        await suite.deployer.RollbackDeployment(ds.RollbackDeploymentRequest(name="deployments/svc",
                                                                             reason="v2 answers worse"))
        d = await suite.settle("deployments/svc")
        assert d.state == D.STATE_SERVING and d.current_revision == "deployments/svc/revisions/5"
        assert d.resolved_model_version == v1.name
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.gather(*clients)
    assert failures == []
    assert {"1", "2", "5"} <= set(served)

    page = await suite.deployer.ListDeploymentRevisions(ds.ListDeploymentRevisionsRequest(parent="deployments/svc"))
    assert [(r.revision_number, R.State.Name(r.state)) for r in page.deployment_revisions] == [
        (5, "STATE_SERVING"), (4, "STATE_FAILED"), (3, "STATE_FAILED"), (2, "STATE_SUPERSEDED"),
        (1, "STATE_SUPERSEDED")]
    r5 = page.deployment_revisions[0]
    assert (r5.trigger, r5.source_revision, r5.reason, r5.creator) == (
        R.TRIGGER_ROLLBACK, "deployments/svc/revisions/1", "v2 answers worse", "alice")
    failed = await suite.deployer.ListDeploymentRevisions(ds.ListDeploymentRevisionsRequest(
        parent="deployments/svc", filter="state = FAILED AND health_check.outcome = FAILED"))
    assert [r.revision_number for r in failed.deployment_revisions] == [4]


async def test_a_canary_takes_its_share_then_is_promoted_or_withdrawn(suite):
    v1, v2 = await suite.gpt_version(seed=1), await suite.gpt_version(seed=2)
    await suite.create("can", v1.name)
    await suite.settle("deployments/can")
    await roll_forward(suite, "deployments/can", v2.name, percent=50)
    d = await suite.settle("deployments/can")
    assert d.canary.revision == "deployments/can/revisions/2" and d.canary.traffic_percent == 50
    assert d.current_revision == "deployments/can/revisions/1"
    versions = [(await suite.infer.ModelInfer(generate_request("can", "a", max_tokens=1))).model_version
                for _ in range(40)]
    assert {"1", "2"} == set(versions)
    pinned = generate_request("can", "a", max_tokens=1)
    pinned.model_version = "2"
    assert (await suite.infer.ModelInfer(pinned)).model_version == "2"

    withdrawn = await suite.deployer.RollbackDeployment(ds.RollbackDeploymentRequest(name="deployments/can"))
    assert not withdrawn.HasField("canary")
    assert {(await suite.infer.ModelInfer(generate_request("can", "a", max_tokens=1))).model_version
            for _ in range(10)} == {"1"}
    await expect(suite.deployer.PromoteCanary(ds.PromoteCanaryRequest(name="deployments/can")),
                 grpc.StatusCode.FAILED_PRECONDITION)

    await roll_forward(suite, "deployments/can", v2.name, percent=10)
    await suite.settle("deployments/can")
    promoted = await suite.deployer.PromoteCanary(ds.PromoteCanaryRequest(name="deployments/can"))
    assert promoted.current_revision == "deployments/can/revisions/3" and not promoted.HasField("canary")
    assert (await suite.infer.ModelInfer(generate_request("can", "a", max_tokens=1))).model_version == "3"

    gone = await suite.deployer.DeleteDeployment(ds.DeleteDeploymentRequest(name="deployments/can"))
    assert gone.state == D.STATE_DELETING
    await expect(suite.deployer.GetDeployment(ds.GetDeploymentRequest(name="deployments/can")),
                 grpc.StatusCode.NOT_FOUND)
    await expect(suite.infer.ModelInfer(generate_request("can", "a")), grpc.StatusCode.NOT_FOUND)
