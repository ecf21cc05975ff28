"""The deployer's copies of artifacts in an S3-compatible store (moto's S3 server on loopback): each object is
streamed and hashed into the deployer's own folder, and what differs from the manifest is named."""

from __future__ import annotations

import hashlib

import pytest

from lathe.kit.manifest import FileEntry, manifest_digest
from services.deployer.adapters.fetch import ArtifactUnavailable, fetch_and_verify
from services.deployer.serve_model import Refused, copy_and_verify
from tests.kit.integration.s3_server import use_s3

BUCKET = "lathe-deployer"
FILES = {"model.safetensors": b"\x05" * 90_000, "config.json": b'{"n_layer": 1}'}


@pytest.fixture
def raw(s3_endpoint, monkeypatch):
    return use_s3(monkeypatch, s3_endpoint, BUCKET)


def upload(raw, prefix: str) -> str:
    for path, data in FILES.items():
        raw.put_object(Bucket=BUCKET, Key=f"{prefix}/{path}", Body=data)
    return f"s3://{BUCKET}/{prefix}"


def download_files(uri: str) -> list[tuple[str, str, int, str]]:
    """What the registry's GetVersionDownload lists: (path, object URI, size, sha256)."""
    return [(p, f"{uri}/{p}", len(d), hashlib.sha256(d).hexdigest()) for p, d in FILES.items()]


def test_fetch_and_verify_streams_objects_and_names_what_differs(raw, tmp_path):
    uri = upload(raw, "models/a")
    assert fetch_and_verify(download_files(uri), tmp_path / "copy") == []
    assert {p: (tmp_path / "copy" / p).read_bytes() for p in FILES} == FILES

    other = b"\x06" * 90_000  # the same size, other bytes
    raw.put_object(Bucket=BUCKET, Key="models/a/model.safetensors", Body=other)
    raw.delete_object(Bucket=BUCKET, Key="models/a/config.json")
    mismatches = {m.path: m.problem for m in fetch_and_verify(download_files(uri), tmp_path / "copy")}
    assert set(mismatches) == {"model.safetensors", "config.json"}
    assert mismatches["config.json"] == "missing"
    assert mismatches["model.safetensors"].startswith(f"sha256 {hashlib.sha256(other).hexdigest()}")


def test_an_unreachable_store_or_an_unknown_scheme_is_unavailable_not_a_mismatch(raw, tmp_path, monkeypatch):
    with pytest.raises(ArtifactUnavailable):
        fetch_and_verify([("w.bin", "gs://bucket/w.bin", 1, "0" * 64)], tmp_path / "copy")
    monkeypatch.setenv("LATHE_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ArtifactUnavailable):
        fetch_and_verify(download_files(f"s3://{BUCKET}/models/a"), tmp_path / "copy")


def test_serve_model_copies_an_s3_folder_and_checks_its_digest(raw, tmp_path):
    uri = upload(raw, "models/b")
    digest = manifest_digest(FileEntry(p, len(d), hashlib.sha256(d).hexdigest()) for p, d in FILES.items())
    copy_and_verify(uri, digest, tmp_path / "served")
    assert {p.name for p in (tmp_path / "served").iterdir()} == set(FILES)

    raw.put_object(Bucket=BUCKET, Key="models/b/extra.py", Body=b"import os")  # an object added to the folder
    with pytest.raises(Refused, match="ARTIFACT_CHECKSUM_MISMATCH"):
        copy_and_verify(uri, digest, tmp_path / "served")
    with pytest.raises(Refused, match="does not exist"):
        copy_and_verify(f"s3://{BUCKET}/models/none", digest, tmp_path / "served")
