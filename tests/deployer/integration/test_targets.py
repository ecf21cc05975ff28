"""Export and cluster targets (ONNX, Hugging Face, Ollama, Kubernetes), and requests refused up front."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpc
import numpy as np
import torch

from lathe.deployer.v1 import deployer_service_pb2 as ds
from lathe.deployer.v1 import deployment_pb2, target_options_pb2
from lathe.ml.causal_lm import load_causal_lm
from tests.deployer.integration.conftest import expect

D = deployment_pb2.Deployment
K8s = target_options_pb2.KubernetesOptions


async def test_onnx_and_hugging_face_exports_match_pytorch_and_sentence_transformers(suite, minilm_path, minilm):
    gpt = await suite.gpt_version()
    embed = await suite.minilm_version(minilm_path)
    await suite.create("gpt-onnx", gpt.name, D.TARGET_ONNX)
    await suite.create("embed-hf", embed.name, D.TARGET_HUGGINGFACE)
    await suite.create("gpt-hf", gpt.name, D.TARGET_HUGGINGFACE)
    onnx_d = await suite.settle("deployments/gpt-onnx")
    hf = await suite.settle("deployments/embed-hf")
    gpt_hf = await suite.settle("deployments/gpt-hf")
    assert onnx_d.state == hf.state == gpt_hf.state == D.STATE_SERVING, (onnx_d.error, hf.error, gpt_hf.error)

    import onnxruntime as ort

    folder = Path(onnx_d.endpoint.export_uri.removeprefix("file://"))
    model, tokenizer = load_causal_lm(Path(gpt.artifact_uri.removeprefix("file://")))
    ids = torch.tensor([tokenizer.encode("an unseen prompt, longer than the probe"), tokenizer.encode("y" * 39)])
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids.numpy()})[0]
    with torch.no_grad():
        want = model(ids)[0].numpy()
    assert np.abs(got - want).max() <= 1e-4

    from sentence_transformers import SentenceTransformer

    exported = SentenceTransformer(hf.endpoint.export_uri.removeprefix("file://"), device="cpu")
    texts = ["where is my invoice", "the quick brown fox"]
    assert np.abs(exported.encode(texts) - minilm.encode(texts)).max() < 1e-5
    gpt_folder = Path(gpt_hf.endpoint.export_uri.removeprefix("file://"))
    names = {p.name for p in await asyncio.to_thread(lambda: list(gpt_folder.iterdir()))}
    assert names >= {"model.safetensors", "config.json", "tokenizer.json"}
    revision = await suite.deployer.GetDeploymentRevision(ds.GetDeploymentRevisionRequest(
        name="deployments/gpt-onnx/revisions/1"))
    assert revision.health_check.outcome == revision.health_check.OUTCOME_PASSED and revision.sha256_verified


async def test_kubernetes_manifests_are_rendered_for_a_gpu_kserve_predictor(suite):
    gpt = await suite.gpt_version()
    options = target_options_pb2.TargetOptions(kubernetes=K8s(
        namespace="models", workload=K8s.WORKLOAD_KSERVE_INFERENCE_SERVICE, gpu_count=1, replicas=2,
        image="ghcr.io/acme/lathe:1.2.3", node_selector={"nvidia.com/gpu.present": "true"},
        tolerations=[K8s.Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")]))
    await suite.create("gpt-k8s", gpt.name, D.TARGET_KUBERNETES, options=options)
    d = await suite.settle("deployments/gpt-k8s")
    assert d.state == D.STATE_SERVING, d.error
    manifests = json.loads((Path(d.endpoint.export_uri.removeprefix("file://")) / "manifests.json").read_text())
    [isvc] = manifests["items"]
    assert (isvc["apiVersion"], isvc["kind"], isvc["metadata"]["namespace"]) == (
        "serving.kserve.io/v1beta1", "InferenceService", "models")
    predictor = isvc["spec"]["predictor"]
    container = predictor["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1" and predictor["minReplicas"] == 2
    assert predictor["tolerations"][0]["key"] == "nvidia.com/gpu"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["LATHE_MODEL_VERSION"] == gpt.name and env["LATHE_ARTIFACT_DIGEST"] == gpt.manifest.digest
    revision = await suite.deployer.GetDeploymentRevision(ds.GetDeploymentRevisionRequest(
        name="deployments/gpt-k8s/revisions/1"))
    assert "dry-run" in revision.health_check.message or revision.health_check.outcome == 1

    await suite.create("plain-k8s", gpt.name, D.TARGET_KUBERNETES)
    plain = await suite.settle("deployments/plain-k8s")
    kinds = [o["kind"] for o in json.loads((Path(plain.endpoint.export_uri.removeprefix("file://"))
                                            / "manifests.json").read_text())["items"]]
    assert kinds == ["Deployment", "Service"]


async def test_bad_requests_are_refused_naming_the_field_and_nothing_is_created(suite, minilm_path):
    gpt = await suite.gpt_version()
    error = await expect(suite.create("x", gpt.name, D.TARGET_OLLAMA), grpc.StatusCode.FAILED_PRECONDITION)
    assert error.reason == "OLLAMA_ARCHITECTURE_UNSUPPORTED" and "GGUF" in error.message
    tabular = await suite.register("tabular", Path(gpt.artifact_uri.removeprefix("file://")), "gradient-boosting")
    error = await expect(suite.create("y", tabular.name), grpc.StatusCode.FAILED_PRECONDITION)
    assert error.reason == "UNSUPPORTED_RECIPE" and "projection-heads" in error.message
    error = await expect(suite.create("Bad_Id", gpt.name), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.field_violations[0].field == "deployment_id"
    error = await expect(suite.create("z", gpt.name, D.TARGET_UNSPECIFIED), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.field_violations[0].field == "deployment.target"
    error = await expect(suite.create("z", gpt.name, D.TARGET_LOCAL, options=target_options_pb2.TargetOptions(
        onnx=target_options_pb2.OnnxOptions())), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.field_violations[0].field == "deployment.options"
    error = await expect(suite.create("z", "models/tiny-gpt/versions/99"), grpc.StatusCode.NOT_FOUND)
    error = await expect(suite.create("z", "tiny-gpt"), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.field_violations[0].field == "deployment.model_version"
    await expect(suite.deployer.ListDeployments(ds.ListDeploymentsRequest(filter="colour = 'red'")),
                 grpc.StatusCode.INVALID_ARGUMENT)
    assert not (await suite.deployer.ListDeployments(ds.ListDeploymentsRequest())).deployments

    # An embedding model exports for Ollama (BERT), with a Modelfile.
    embed = await suite.minilm_version(minilm_path)
    await suite.create("embed-ollama", embed.name, D.TARGET_OLLAMA, options=target_options_pb2.TargetOptions(
        ollama=target_options_pb2.OllamaOptions(model_tag="lathe/qa:1")))
    d = await suite.settle("deployments/embed-ollama")
    assert d.state == D.STATE_SERVING, d.error
    modelfile = (Path(d.endpoint.export_uri.removeprefix("file://")) / "Modelfile").read_text()
    assert "FROM ." in modelfile and "lathe/qa:1" in modelfile

    request = ds.CreateDeploymentRequest(deployment_id="idem", request_id="r-1",
                                         deployment=D(model_version=gpt.name, target=D.TARGET_LOCAL))
    first = await suite.deployer.CreateDeployment(request)
    assert await suite.deployer.CreateDeployment(request) == first
    await expect(suite.create("idem", gpt.name), grpc.StatusCode.ALREADY_EXISTS)
    listed = await suite.deployer.ListDeployments(ds.ListDeploymentsRequest(filter='target = OLLAMA'))
    assert [x.name for x in listed.deployments] == ["deployments/embed-ollama"]
    await suite.settle("deployments/idem")
