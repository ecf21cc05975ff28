"""The S3 artifact backend against a real S3 API server (moto in server mode) on loopback."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest

from lathe.kit.artifacts import ChecksumMismatch, digest_of, open_store
from lathe.kit.errors import FailedPrecondition, InvalidArgument, NotFound
from lathe.kit.s3 import S3ArtifactStore

BUCKET = "lathe-artifacts"


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment a pod gets from the manifests: AWS credentials plus LATHE_S3_ENDPOINT_URL."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "LATHE_S3_CREATE_BUCKET",
                 "LATHE_S3_ADDRESSING_STYLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "lathe-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "lathe-test-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("LATHE_S3_ENDPOINT_URL", s3_endpoint)
    return s3_endpoint


@pytest.fixture
def raw(s3_env: str):
    """A plain boto3 client on the same server: what an operator (or an attacker) could do behind the store."""
    client = boto3.client("s3", endpoint_url=s3_env)
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return client


@pytest.fixture
def store(raw, request: pytest.FixtureRequest) -> S3ArtifactStore:
    """A store under a prefix of its own, chosen the way a service does: by URI scheme."""
    chosen = open_store(f"s3://{BUCKET}/runs/{request.node.name}")
    assert isinstance(chosen, S3ArtifactStore)
    return chosen


def test_put_bytes_round_trips_under_a_content_addressed_key(store, raw):
    data = b"weights " * 1000
    ref = store.put_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    assert ref.sha256 == sha and ref.size == len(data)
    assert ref.uri == f"{store.root}/sha256/{sha[:2]}/{sha}"
    assert digest_of(ref.uri) == sha
    assert store.exists(ref.uri)
    assert store.read_bytes(ref.uri) == data
    assert store.read_bytes(ref.uri, expected_sha256=sha) == data
    # The object really is in the bucket under that key, with its digest alongside.
    key = ref.uri.removeprefix(f"s3://{BUCKET}/")
    head = raw.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentLength"] == len(data) and head["Metadata"]["sha256"] == sha
    # Storing the same bytes again writes nothing new.
    assert store.put_bytes(data) == ref
    assert raw.list_objects_v2(Bucket=BUCKET, Prefix=store.prefix)["KeyCount"] == 1


def test_put_file_and_fetch_round_trip(store, tmp_path: Path):
    source = tmp_path / "model.safetensors"
    source.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: several read chunks
    ref = store.put_file(source)
    assert ref.size == source.stat().st_size
    dest = store.fetch(ref.uri, tmp_path / "out" / "model.safetensors", expected_sha256=ref.sha256)
    assert dest.read_bytes() == source.read_bytes()
    with store.open(ref.uri) as reader:
        assert reader.read(4) == bytes(range(4))


def test_a_store_in_another_process_reads_what_this_one_wrote(store):
    """Two pods share artifacts by URI alone: a second store built from the same root reads the blob."""
    ref = store.put_bytes(b"checkpoint-7")
    other = open_store(store.root)
    assert other.read_bytes(ref.uri) == b"checkpoint-7"


def test_a_corrupted_object_is_detected_by_checksum(store, raw, tmp_path: Path):
    ref = store.put_bytes(b"the real model")
    key = ref.uri.removeprefix(f"s3://{BUCKET}/")
    raw.put_object(Bucket=BUCKET, Key=key, Body=b"the evil model")  # same size, other bytes

    with pytest.raises(ChecksumMismatch) as caught:
        store.read_bytes(ref.uri)
    assert caught.value.reason == "ARTIFACT_CHECKSUM_MISMATCH"
    assert caught.value.metadata["expected_sha256"] == ref.sha256

    dest = tmp_path / "model.bin"
    with pytest.raises(ChecksumMismatch):
        store.fetch(ref.uri, dest)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind either

    # Storing the real bytes again repairs the object instead of trusting whatever sits under the name.
    store.put_bytes(b"the real model")
    assert store.read_bytes(ref.uri) == b"the real model"


def test_an_expected_digest_that_differs_is_a_mismatch(store):
    ref = store.put_bytes(b"v1")
    with pytest.raises(ChecksumMismatch):
        store.read_bytes(ref.uri, expected_sha256=hashlib.sha256(b"v2").hexdigest())


def test_a_missing_object_is_not_found(store, tmp_path: Path):
    uri = store.uri_for(hashlib.sha256(b"never stored").hexdigest())
    assert not store.exists(uri)
    with pytest.raises(NotFound) as caught:
        store.read_bytes(uri)
    assert caught.value.reason == "ARTIFACT_NOT_FOUND"
    with pytest.raises(NotFound):
        store.fetch(uri, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_uris_outside_the_store_are_invalid(store):
    sha = hashlib.sha256(b"x").hexdigest()
    for uri in (
        f"s3://other-bucket/{store.prefix}/sha256/{sha[:2]}/{sha}",
        f"s3://{BUCKET}/elsewhere/sha256/{sha[:2]}/{sha}",
        f"s3://{BUCKET}/{store.prefix}/sha256/00/{sha}",
        f"s3://{BUCKET}/{store.prefix}/../x/sha256/{sha[:2]}/{sha}",
        f"file:///tmp/sha256/{sha[:2]}/{sha}",
    ):
        with pytest.raises(InvalidArgument):
            store.read_bytes(uri)


def test_a_missing_bucket_is_a_clear_error_unless_creation_is_asked_for(s3_env, monkeypatch):
    missing = open_store("s3://lathe-not-created/p")
    with pytest.raises(FailedPrecondition) as caught:
        missing.put_bytes(b"x")
    assert caught.value.reason == "ARTIFACT_BUCKET_MISSING"

    monkeypatch.setenv("LATHE_S3_CREATE_BUCKET", "true")
    created = open_store("s3://lathe-dev-bucket/p")
    ref = created.put_bytes(b"x")
    assert created.read_bytes(ref.uri) == b"x"


def test_a_bucketless_uri_is_rejected():
    with pytest.raises(InvalidArgument):
        open_store("s3:///prefix-only")
