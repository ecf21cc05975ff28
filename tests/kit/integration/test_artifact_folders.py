"""Model folders in both artifact stores (a local folder and S3 through moto's server): stored once with their
manifest, read back by URI, and every changed byte caught, naming the file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest

from lathe.kit.artifacts import (
    ChecksumMismatch,
    fetch_folder,
    folder_file_uri,
    open_store,
    open_uri,
    read_folder,
    read_folder_file,
)
from lathe.kit.errors import FailedPrecondition, InvalidArgument, NotFound
from lathe.kit.manifest import folder_manifest, manifest_digest
from tests.kit.integration.s3_server import use_s3

BUCKET = "lathe-folders"


@pytest.fixture(params=["local", "s3"])
def store_and_overwrite(request, tmp_path, monkeypatch) -> tuple[object, Callable[[str, bytes], None]]:
    """A store of each backend, and how to replace the bytes of one of its objects behind its back."""
    if request.param == "local":
        def overwrite_file(uri: str, data: bytes) -> None:
            Path(urlparse(uri).path).write_bytes(data)

        return open_store(str(tmp_path / "artifacts")), overwrite_file
    raw = use_s3(monkeypatch, request.getfixturevalue("s3_endpoint"), BUCKET)

    def overwrite_object(uri: str, data: bytes) -> None:
        raw.put_object(Bucket=BUCKET, Key=uri.removeprefix(f"s3://{BUCKET}/"), Body=data)

    return open_store(f"s3://{BUCKET}/runs/{request.node.name}"), overwrite_object


def model_folder(root: Path, weights: bytes = b"\x01\x02" * 40_000) -> Path:
    root.mkdir(parents=True)
    (root / "model.safetensors").write_bytes(weights)
    (root / "tokenizer.json").write_text('{"kind": "byte"}')
    (root / "sub dir").mkdir()
    (root / "sub dir" / "notes.txt").write_text("trained on tinyshakespeare")
    return root


def test_a_folder_is_stored_with_its_manifest_and_read_back_by_uri(store_and_overwrite, tmp_path):
    store, _ = store_and_overwrite
    source = model_folder(tmp_path / "export")
    folder = store.put_folder(source, "models/job-1-attempt-1")
    assert folder.uri == f"{store.root if isinstance(store.root, str) else store.root.as_uri()}/models/job-1-attempt-1"
    assert folder.digest == manifest_digest(folder_manifest(source))
    assert {e.path for e in folder.files} == {"model.safetensors", "tokenizer.json", "sub dir/notes.txt"}

    # Anyone holding the URI and the digest (the registry, the deployer, another trainer) reads it back.
    again = read_folder(folder.uri, folder.digest)
    assert again == folder
    assert read_folder_file(again, "tokenizer.json") == b'{"kind": "byte"}'
    with open_uri(folder_file_uri(folder.uri, "sub dir/notes.txt")) as handle:
        assert handle.read() == b"trained on tinyshakespeare"
    copy = fetch_folder(again, tmp_path / "copy")
    assert folder_manifest(copy) == folder_manifest(source)

    # Storing the same files again under the name is a no-op; other files under it are refused.
    assert store.put_folder(source, "models/job-1-attempt-1") == folder
    (source / "tokenizer.json").write_text('{"kind": "bpe"}')
    with pytest.raises(FailedPrecondition) as caught:
        store.put_folder(source, "models/job-1-attempt-1")
    assert caught.value.reason == "ARTIFACT_FOLDER_EXISTS"
    assert read_folder_file(read_folder(folder.uri, folder.digest), "tokenizer.json") == b'{"kind": "byte"}'


def test_a_changed_file_is_caught_by_checksum_naming_it(store_and_overwrite, tmp_path):
    store, overwrite = store_and_overwrite
    folder = store.put_folder(model_folder(tmp_path / "export"), "models/job-2-attempt-1")
    weights = folder_file_uri(folder.uri, "model.safetensors")
    overwrite(weights, b"\x02\x01" * 40_000)  # the same size, other bytes

    dest = tmp_path / "cache" / "fetched"
    with pytest.raises(ChecksumMismatch) as caught:
        fetch_folder(folder, dest)
    assert caught.value.reason == "ARTIFACT_CHECKSUM_MISMATCH"
    assert caught.value.metadata["path"] == "model.safetensors" and "model.safetensors" in caught.value.message
    assert caught.value.metadata["actual_sha256"] == hashlib.sha256(b"\x02\x01" * 40_000).hexdigest()
    assert list(dest.parent.iterdir()) == []  # neither the folder nor its staging copy is left behind

    # A replaced manifest, or a digest that is not the folder's, is caught too.
    with pytest.raises(ChecksumMismatch):
        read_folder(folder.uri, "sha256:" + "0" * 64)
    overwrite(folder.uri + ".manifest", b"")
    with pytest.raises(ChecksumMismatch):
        read_folder(folder.uri, folder.digest)


def test_missing_files_names_and_schemes(store_and_overwrite, tmp_path):
    store, _ = store_and_overwrite
    source = model_folder(tmp_path / "export")
    for name in ("", "/abs", "../up", "models/../../up", "a//b", "a\\b"):
        with pytest.raises(InvalidArgument):
            store.put_folder(source, name)
    with pytest.raises(NotFound):
        read_folder(folder_file_uri(store.put_folder(source, "models/x").uri, "nothing"), "0" * 64)
    with pytest.raises(InvalidArgument) as caught:
        open_uri("gs://bucket/model.bin")
    assert caught.value.reason == "UNSUPPORTED_ARTIFACT_URI"
