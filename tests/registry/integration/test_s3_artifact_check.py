"""The registry's check of artifacts in an S3-compatible store (moto's S3 server on loopback): every object is
streamed and hashed against the manifest, and a missing or changed object is reported by its path."""

from __future__ import annotations

import hashlib

import grpc
import pytest

from lathe.kit.errors import InvalidArgument, from_rpc_error
from lathe.kit.manifest import FileEntry
from lathe.registry.v1 import model_pb2, model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub
from services.registry.adapters.artifact_check import artifact_root, check_files, file_uri
from tests.kit.integration.s3_server import use_s3

BUCKET = "lathe-registry"
FILES = {"model.safetensors": b"\x07" * 70_000, "config.json": b'{"n_layer": 2}', "tokenizer/vocab.txt": b"a b c"}
MV = model_version_pb2.ModelVersion
Kind = model_version_pb2.FileMismatch


@pytest.fixture
def raw(s3_endpoint, monkeypatch):
    return use_s3(monkeypatch, s3_endpoint, BUCKET)


def upload(raw, prefix: str) -> tuple[str, list[FileEntry]]:
    """FILES under ``s3://BUCKET/prefix/``, and their manifest entries."""
    for path, data in FILES.items():
        raw.put_object(Bucket=BUCKET, Key=f"{prefix}/{path}", Body=data)
    entries = [FileEntry(p, len(d), hashlib.sha256(d).hexdigest()) for p, d in FILES.items()]
    return f"s3://{BUCKET}/{prefix}", entries


def test_check_files_streams_every_object_and_names_each_mismatch(raw):
    uri, entries = upload(raw, "models/check")
    intact = check_files(uri, entries)
    assert (intact.checked_files, intact.checked_bytes, intact.mismatches) == (
        3, sum(len(d) for d in FILES.values()), [])

    raw.put_object(Bucket=BUCKET, Key="models/check/model.safetensors", Body=b"\x08" * 70_000)  # same size
    raw.put_object(Bucket=BUCKET, Key="models/check/config.json", Body=b"{}")
    raw.delete_object(Bucket=BUCKET, Key="models/check/tokenizer/vocab.txt")
    found = {m.path: m for m in check_files(uri, entries).mismatches}
    assert {p: m.kind for p, m in found.items()} == {
        "model.safetensors": "sha256", "config.json": "size", "tokenizer/vocab.txt": "missing"}
    assert found["model.safetensors"].actual_sha256 == hashlib.sha256(b"\x08" * 70_000).hexdigest()
    assert (found["config.json"].expected_size, found["config.json"].actual_size) == (14, 2)

    # A whole folder that is not there: every file missing, not an error.
    assert {m.kind for m in check_files(f"s3://{BUCKET}/models/never", entries).mismatches} == {"missing"}


def test_s3_uris_name_objects_and_other_schemes_are_refused_naming_the_field(raw):
    assert artifact_root(f"s3://{BUCKET}/models/x/") == f"s3://{BUCKET}/models/x"
    assert file_uri(f"s3://{BUCKET}/models/x", "tokenizer/vocab.txt") == f"s3://{BUCKET}/models/x/tokenizer/vocab.txt"
    for uri in ("gs://bucket/x", "s3:///no-bucket", "http://example/x", "s3://bucket/x?versionId=1"):
        with pytest.raises(InvalidArgument) as caught:
            artifact_root(uri)
        assert [v.field for v in caught.value.field_violations] == ["model_version.artifact_uri"], uri


async def test_a_version_in_s3_registers_ready_verifies_and_downloads_by_object_uri(
        raw, start_service, channel_to, tokens):
    server = await start_service("registry")
    registry = RegistryServiceStub(channel_to(server, token=tokens.alice))
    uri, entries = upload(raw, "models/served")
    await registry.CreateModel(rs.CreateModelRequest(model_id="s3-model", model=model_pb2.Model()))
    manifest = model_version_pb2.Manifest(files=[
        model_version_pb2.ManifestFile(path=e.path, size_bytes=e.size_bytes, sha256=e.sha256) for e in entries])
    version = await registry.CreateModelVersion(rs.CreateModelVersionRequest(
        parent="models/s3-model", model_version=MV(artifact_uri=uri, manifest=manifest, recipe="causal-lm")))
    assert version.state == MV.STATE_READY, version.error

    download = await registry.GetVersionDownload(rs.GetVersionDownloadRequest(name=version.name))
    assert {f.path: f.uri for f in download.files} == {p: f"{uri}/{p}" for p in FILES}

    raw.put_object(Bucket=BUCKET, Key="models/served/model.safetensors", Body=b"\x09" * 70_000)
    bad = await registry.VerifyVersion(rs.VerifyVersionRequest(name=version.name))
    assert bad.verification.outcome == model_version_pb2.Verification.OUTCOME_FAILED
    assert [(m.path, m.kind) for m in bad.verification.mismatches] == [
        ("model.safetensors", Kind.KIND_SHA256_MISMATCH)]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await registry.GetVersionDownload(rs.GetVersionDownloadRequest(name=version.name))
    assert from_rpc_error(caught.value).reason == "VERSION_INTEGRITY_FAILED"

    # A version whose objects were never uploaded fails registration, naming the first missing file.
    missing = await registry.CreateModelVersion(rs.CreateModelVersionRequest(
        parent="models/s3-model", model_version=MV(artifact_uri=f"s3://{BUCKET}/models/absent", manifest=manifest,
                                                    recipe="causal-lm")))
    assert missing.state == MV.STATE_FAILED_REGISTRATION
    assert "missing" in missing.error.message
