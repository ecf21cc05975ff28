"""A Kubernetes attempt's inputs through the artifact store: staged once by the trainer, fetched verified in the pod."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lathe.kit.artifacts import ChecksumMismatch, LocalArtifactStore
from services.trainer.adapters.staging import SCRATCH_ENV, localize, scratch_from, stage


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    """A trainer's data cache folder: the split files, plus a derived token cache that is not staged."""
    folder = tmp_path / "trainer" / "data" / "snap"
    folder.mkdir(parents=True)
    (folder / "train.txt").write_text("To be, or not to be: that is the question.\n" * 50)
    (folder / "validation.txt").write_text("Now is the winter of our discontent.\n" * 5)
    (folder / "train.char-0123456789ab.u16").write_bytes(b"\0" * 64)
    return folder


def test_staging_twice_stores_each_file_once_and_names_no_trainer_path(tmp_path: Path, snapshot: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    names = ("train.txt", "validation.txt", "qa.json")
    first = stage(store, snapshot, names)
    again = stage(store, snapshot, names, parent=("s3://bucket/models/x-attempt-1", "sha256:" + "0" * 64))
    assert [f["name"] for f in first["data"]] == ["train.txt", "validation.txt"]  # qa.json is not there
    assert again["data"] == first["data"] and first["parent"] is None
    assert again["parent"] == {"uri": "s3://bucket/models/x-attempt-1", "digest": "sha256:" + "0" * 64}
    assert len(list((tmp_path / "store" / "sha256").glob("*/*"))) == 2
    assert str(snapshot) not in repr(first)


def test_a_pod_fetches_the_staged_files_into_its_scratch_folder(tmp_path: Path, snapshot: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    spec = {"artifact_root": str(tmp_path / "store"), "staged": stage(store, snapshot, ("train.txt", "validation.txt"))}
    scratch = tmp_path / "pod" / "scratch"
    scratch.mkdir(parents=True)
    # Both ranks of a pod at once: one downloads, the other finds the verified files.
    results: list[dict] = []
    ranks = [threading.Thread(target=lambda: results.append(localize(spec, scratch))) for _ in range(2)]
    for rank in ranks:
        rank.start()
    for rank in ranks:
        rank.join()
    local = results[0]
    assert results[1] == local
    assert Path(local["data_dir"]) == scratch / "data" and Path(local["work_dir"]).is_dir()
    assert local["parent_folder"] is None
    assert (scratch / "data" / "train.txt").read_bytes() == (snapshot / "train.txt").read_bytes()
    assert sorted(p.name for p in (scratch / "data").iterdir()) == ["train.txt", "validation.txt"]
    assert scratch_from({SCRATCH_ENV: str(scratch)}) == scratch
    with pytest.raises(ValueError, match=SCRATCH_ENV):
        scratch_from({})


def test_a_staged_file_changed_in_the_store_is_refused_and_not_left_in_scratch(tmp_path: Path, snapshot: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    staged = stage(store, snapshot, ("train.txt",))
    (blob,) = (tmp_path / "store" / "sha256").glob("*/*")
    blob.write_bytes(blob.read_bytes().replace(b"question", b"QUESTION"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(ChecksumMismatch):
        localize({"artifact_root": str(tmp_path / "store"), "staged": staged}, scratch)
    assert not (scratch / "data" / "train.txt").exists()


def test_a_staged_parent_version_is_fetched_and_checked_against_its_manifest(tmp_path: Path, snapshot: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights" * 100)
    (model / "lathe-export.json").write_text("{}")
    folder = store.put_folder(model, "models/parent-attempt-1")
    staged = stage(store, snapshot, ("train.txt",), parent=(folder.uri, folder.digest))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    local = localize({"artifact_root": str(tmp_path / "store"), "staged": staged}, scratch)
    assert Path(local["parent_folder"]) == scratch / "parent"
    assert (scratch / "parent" / "model.safetensors").read_bytes() == b"weights" * 100
    # Another pod of a version whose weights were replaced in the store gets nothing.
    stored = tmp_path / "store" / "models" / "parent-attempt-1" / "model.safetensors"
    stored.write_bytes(b"WEIGHTS" * 100)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ChecksumMismatch, match=r"model\.safetensors"):
        localize({"artifact_root": str(tmp_path / "store"), "staged": staged}, other)
    assert not (other / "parent").exists()
