"""The local content-addressed store: same bytes stored once, every read verified."""

from __future__ import annotations

import hashlib

import pytest

from lathe.kit.artifacts import ChecksumMismatch, open_store, sha256_file


def test_put_and_read_back_verified(tmp_path):
    store = open_store(str(tmp_path / "store"))
    ref = store.put_bytes(b"weights")
    assert ref.sha256 == hashlib.sha256(b"weights").hexdigest() and ref.size == 7
    assert store.put_bytes(b"weights") == ref
    assert store.read_bytes(ref.uri, expected_sha256=ref.sha256) == b"weights"
    source = tmp_path / "model.bin"
    source.write_bytes(b"x" * 3_000_000)
    file_ref = store.put_file(source)
    assert file_ref.sha256 == sha256_file(source)
    assert store.fetch(file_ref.uri, tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_tampered_blob_is_detected_and_nothing_is_fetched(tmp_path):
    store = open_store(str(tmp_path / "store"))
    ref = store.put_bytes(b"genuine")
    path = tmp_path / "store" / "sha256" / ref.sha256[:2] / ref.sha256
    path.write_bytes(b"tampered")
    with pytest.raises(ChecksumMismatch) as caught:
        store.read_bytes(ref.uri)
    assert caught.value.reason == "ARTIFACT_CHECKSUM_MISMATCH"
    with pytest.raises(ChecksumMismatch):
        store.fetch(ref.uri, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()


def test_uris_outside_the_store_are_refused(tmp_path):
    store = open_store(str(tmp_path / "store"))
    outside = tmp_path / ("a" * 64)
    outside.write_bytes(b"x")
    with pytest.raises(Exception) as caught:
        store.read_bytes(outside.as_uri())
    assert getattr(caught.value, "reason", "") == "INVALID_ARTIFACT_URI"
