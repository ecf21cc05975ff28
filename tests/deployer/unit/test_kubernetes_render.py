"""A model server rendered for Kubernetes can read the shared store its version lives in."""

from __future__ import annotations

from lathe.deployer.v1 import target_options_pb2
from services.deployer.adapters.kubernetes import render

K8s = target_options_pb2.KubernetesOptions


def container_of(artifact_uri: str) -> dict:
    [deployment, _service] = render(
        deployment_id="chat", revision=3, model_version="models/gpt/versions/2", artifact_uri=artifact_uri,
        manifest_digest="sha256:" + "a" * 64, kind="causal-lm", options=K8s(), namespace="models",
        image="ghcr.io/acme/lathe:1.2.3", max_batch_size=8, max_queue_delay_ms=2.0)
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_an_s3_version_gets_the_deployers_s3_settings_and_the_suites_keys(monkeypatch):
    monkeypatch.setenv("LATHE_S3_ENDPOINT_URL", "http://minio.lathe.svc.cluster.local:9000")
    monkeypatch.setenv("LATHE_S3_ADDRESSING_STYLE", "path")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "never-copied")
    container = container_of("s3://lathe-shared/lathe/models/job-1-attempt-1")
    env = {e["name"]: e for e in container["env"]}
    assert env["LATHE_ARTIFACT_URI"]["value"] == "s3://lathe-shared/lathe/models/job-1-attempt-1"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {
        "name": "lathe-secrets", "key": "s3-access-key-id", "optional": True}
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "s3-secret-access-key"
    # The endpoint and addressing style are the deployer's own, as values; keys only ever by Secret reference.
    assert env["LATHE_S3_ENDPOINT_URL"]["value"] == "http://minio.lathe.svc.cluster.local:9000"
    assert env["LATHE_S3_ADDRESSING_STYLE"]["value"] == "path"
    assert "value" not in env["AWS_SECRET_ACCESS_KEY"]


def test_a_local_version_gets_no_s3_keys():
    env = {e["name"] for e in container_of("file:///models/gpt-2")["env"]}
    assert "LATHE_ARTIFACT_URI" in env and not env & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
