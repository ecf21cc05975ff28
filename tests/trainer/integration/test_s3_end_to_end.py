"""A job whose artifacts live in an S3-compatible store (moto's S3 server on loopback) trains, registers,
deploys and serves; a fine-tune and sampling read the version back from the bucket; an object replaced
behind Lathe's back is caught by checksum, by the registry's verification and by a new deployment."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from lathe.deployer.v1 import deployer_service_pb2 as ds
from lathe.deployer.v1 import deployment_pb2
from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceStub
from lathe.registry.v1 import model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rpb
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from tests.deployer.integration.test_serving import generate_request, text_of
from tests.kit.integration.s3_server import use_s3
from tests.trainer.integration.conftest import State, tiny_job, wait_state

BUCKET = "lathe-shared"
ROOT = f"s3://{BUCKET}/lathe"
D = deployment_pb2.Deployment
MV = model_version_pb2.ModelVersion


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Training runs on PostgreSQL only, as in the other training tests."""
    return postgres_url


def objects(raw, prefix: str) -> dict[str, int]:
    """Key → size of every object under ``prefix`` in the bucket."""
    pages = raw.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}


async def registered_version(suite, name: str) -> MV:
    """The job's version once the outbox has registered it and the registry has checked it READY."""
    stub = suite.trainer()
    for _ in range(150):
        job = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=name))
        if job.model_version:
            version = await suite.registry().GetModelVersion(rpb.GetModelVersionRequest(name=job.model_version))
            if version.state != MV.STATE_PENDING_REGISTRATION:
                return version
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} was not registered")


async def settle(deployer: DeployerServiceStub, name: str, limit: float = 90) -> D:
    """The deployment once no rollout is in progress."""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        d = await deployer.GetDeployment(ds.GetDeploymentRequest(name=name))
        if not d.pending_revision and d.state not in (D.STATE_PENDING, D.STATE_VERIFYING, D.STATE_LOADING,
                                                      D.STATE_HEALTH_CHECKING):
            return d
        assert asyncio.get_running_loop().time() < deadline, f"{name} still rolling out: {d}"
        await asyncio.sleep(0.1)


async def test_a_job_in_s3_trains_registers_deploys_and_serves_and_corruption_is_caught(
        suite, s3_endpoint, monkeypatch, start_service, channel_to, tokens, tmp_path):
    raw = use_s3(monkeypatch, s3_endpoint, BUCKET)
    suite.trainer_overrides["artifact_root"] = ROOT
    # A cache of one version at a time: each version fetched from the bucket pushes out the one before.
    suite.trainer_overrides["trainer_version_cache_bytes"] = 1
    suite.trainer_overrides["trainer_version_cache_idle_seconds"] = 0
    await suite.restart_trainer()
    stub = suite.trainer()

    # Train: checkpoints and the exported model go to the bucket, nothing stays on the trainer's disk.
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=tiny_job(suite.snapshot, steps=40, checkpoint_every=20, width=32, batch=8),
        training_job_id="s3-gpt"))
    done = await wait_state(stub, job.name, {State.STATE_SUCCEEDED, State.STATE_FAILED})
    assert done.state == State.STATE_SUCCEEDED, done.error
    folder = f"{ROOT}/models/s3-gpt-attempt-1"
    assert done.artifact_uri == folder
    assert done.checkpoints and all(c.uri.startswith(f"{ROOT}/sha256/") for c in done.checkpoints)
    stored = objects(raw, "lathe/models/s3-gpt-attempt-1")
    assert {"lathe/models/s3-gpt-attempt-1/model.safetensors", "lathe/models/s3-gpt-attempt-1/lathe-export.json",
            "lathe/models/s3-gpt-attempt-1.manifest"} <= set(stored)
    home = tmp_path / "home"
    assert not (home / "artifacts" / "models").exists()
    assert not list((home / "trainer" / "work" / "s3-gpt").glob(".export-*"))

    # Registered READY by the registry's own read of every object, with the s3:// folder as its artifact.
    version = await registered_version(suite, job.name)
    assert version.state == MV.STATE_READY, version.error
    assert version.artifact_uri == folder and version.manifest.digest == f"sha256:{done.artifact_sha256}"
    assert {f.path: f.size_bytes for f in version.manifest.files} == {
        key.removeprefix("lathe/models/s3-gpt-attempt-1/"): size for key, size in stored.items()
        if not key.endswith(".manifest")}

    # Deployed by the deployer (each object streamed, hashed, copied into its own folder) and served.
    deployer_server = await start_service("deployer", registry_address=suite.registry_server.address,
                                          service_token=tokens.service, drain_seconds=0.3)
    deployer = DeployerServiceStub(channel_to(deployer_server, token=tokens.alice))
    infer = GRPCInferenceServiceStub(channel_to(deployer_server, token=tokens.alice))
    await deployer.CreateDeployment(ds.CreateDeploymentRequest(
        deployment_id="s3-chat", deployment=D(model_version=version.name, target=D.TARGET_LOCAL)))
    serving = await settle(deployer, "deployments/s3-chat")
    assert serving.state == D.STATE_SERVING, serving.error
    text = text_of(await infer.ModelInfer(generate_request("s3-chat", "ROMEO:", max_tokens=12)))
    assert len(text.encode()) >= 1

    # The trainer reads the version back from the bucket into its cache, verified: sampling, and a fine-tune.
    samples = await stub.GenerateSamples(tpb.GenerateSamplesRequest(model_version=version.name, prompt="KING",
                                                                    max_new_tokens=8, seed=5))
    assert samples.model_version == version.name and samples.step == 40 and samples.samples[0]
    cached = home / "trainer" / "versions" / done.artifact_sha256
    assert (cached / "model.safetensors").is_file()
    child = tiny_job(suite.snapshot, steps=10, checkpoint_every=10, width=32, batch=8)
    child.parent_model_version = version.name
    child_job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=child,
                                                                          training_job_id="s3-gpt-tuned"))
    child_done = await wait_state(stub, child_job.name, {State.STATE_SUCCEEDED, State.STATE_FAILED})
    assert child_done.state == State.STATE_SUCCEEDED, child_done.error
    assert child_done.artifact_uri == f"{ROOT}/models/s3-gpt-tuned-attempt-1"
    child_version = await registered_version(suite, child_job.name)
    assert child_version.state == MV.STATE_READY and child_version.lineage.parent_version == version.name
    # Sampling the fine-tune fetches it into the cache, over budget: the parent's copy is removed.
    child_samples = await stub.GenerateSamples(tpb.GenerateSamplesRequest(
        model_version=child_version.name, prompt="KING", max_new_tokens=8, seed=5))
    assert child_samples.step == 10 and child_samples.samples[0]
    assert (home / "trainer" / "versions" / child_done.artifact_sha256 / "model.safetensors").is_file()
    assert not cached.exists()

    # Someone replaces the weights in the bucket with other bytes of the same size.
    key = "lathe/models/s3-gpt-attempt-1/model.safetensors"
    weights = raw.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    raw.put_object(Bucket=BUCKET, Key=key, Body=bytes(b ^ 0xFF for b in weights[:64]) + weights[64:])

    # The trainer fetches the version again, verified, and refuses it naming the file.
    with pytest.raises(grpc.aio.AioRpcError) as refused_sampling:
        await stub.GenerateSamples(tpb.GenerateSamplesRequest(model_version=version.name, prompt="KING",
                                                              max_new_tokens=8, seed=5))
    assert refused_sampling.value.code() == grpc.StatusCode.DATA_LOSS
    assert "model.safetensors" in refused_sampling.value.details()
    assert not cached.exists()

    # A new deployment of the version refuses it before loading, naming the file.
    await deployer.CreateDeployment(ds.CreateDeploymentRequest(
        deployment_id="s3-chat-2", deployment=D(model_version=version.name, target=D.TARGET_LOCAL)))
    refused = await settle(deployer, "deployments/s3-chat-2")
    assert refused.state == D.STATE_FAILED
    assert "ARTIFACT_CHECKSUM_MISMATCH" in str(refused.error) and "model.safetensors" in refused.error.message

    # The registry's verification reports the mismatch, and the version is no longer handed out.
    verified = await suite.registry().VerifyVersion(rpb.VerifyVersionRequest(name=version.name))
    assert verified.verification.outcome == model_version_pb2.Verification.OUTCOME_FAILED
    assert [(m.path, m.kind) for m in verified.verification.mismatches] == [
        ("model.safetensors", model_version_pb2.FileMismatch.KIND_SHA256_MISMATCH)]
    await deployer.CreateDeployment(ds.CreateDeploymentRequest(
        deployment_id="s3-chat-3", deployment=D(model_version=version.name, target=D.TARGET_LOCAL)))
    again = await settle(deployer, "deployments/s3-chat-3")
    assert again.state == D.STATE_FAILED and "ARTIFACT_CHECKSUM_MISMATCH" in str(again.error)

    # The deployment made before the change keeps serving its verified copy.
    assert text_of(await infer.ModelInfer(generate_request("s3-chat", "ROMEO:", max_tokens=12))) == text
