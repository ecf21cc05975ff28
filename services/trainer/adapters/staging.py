"""A Kubernetes attempt's inputs, moved through the artifact store: pods share no folder with the trainer.

A job run as a Kubeflow ``PyTorchJob`` (:mod:`services.trainer.adapters.kubeflow`) runs on other nodes, which
cannot see the trainer's data cache (the snapshot's split files) or its work folder. So for such an attempt
the trainer stages the files (:func:`stage`): each goes into the artifact store with ``put_file``
(content-addressed, so another attempt or job on the same snapshot reuses the objects), and the spec carries
their URIs and sha256 under ``staged`` instead of local paths. In the pod, :func:`localize` fetches them into
the pod's scratch volume (an ``emptyDir``; the root filesystem is read-only), each verified against its
sha256 on the way, and points the spec's data, parent and work folders there. A job's parent version (a
fine-tune) travels the same way: by its folder URI and manifest digest, fetched with
:func:`lathe.kit.artifacts.fetch_folder`, every file checked against the manifest. Checkpoints and the
exported model already go through the store.

The ranks of one pod share its scratch volume; they stage under a file lock, so the first rank downloads and
the others find the verified files in place.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lathe.kit.artifacts import ArtifactStore, fetch_folder, open_store, read_folder

# The environment variable naming a pod's scratch folder (the kubeflow render sets it to its emptyDir mount).
SCRATCH_ENV = "LATHE_WORKER_SCRATCH"
_LOCK = ".staging.lock"


def stage(store: ArtifactStore, data_dir: Path, names: Iterable[str], *,
          parent: tuple[str, str] | None = None) -> dict[str, Any]:
    """The ``staged`` entry of a remote attempt's spec: the files ``names`` of ``data_dir`` that exist, stored
    in ``store``, and the parent version's folder (``(URI, manifest digest)``) when the job fine-tunes one.

    Blocking (hashing, uploads): async callers run it in a thread.
    """
    files = []
    for name in names:
        path = data_dir / name
        if path.is_file():
            ref = store.put_file(path)
            files.append({"name": name, "uri": ref.uri, "sha256": ref.sha256, "size_bytes": ref.size})
    staged: dict[str, Any] = {"data": files, "parent": None}
    if parent is not None:
        staged["parent"] = {"uri": parent[0], "digest": parent[1]}
    return staged


def is_staged(spec: Mapping[str, Any]) -> bool:
    """Whether a worker spec names its inputs in the artifact store (a Kubernetes attempt) rather than on disk."""
    return bool(spec.get("staged"))


def scratch_from(environ: Mapping[str, str]) -> Path:
    """The pod's scratch folder, from :data:`SCRATCH_ENV`; ValueError when the pod was rendered without it."""
    folder = environ.get(SCRATCH_ENV, "")
    if not folder:
        raise ValueError(f"the spec's inputs are staged but {SCRATCH_ENV} names no scratch folder to fetch them to")
    return Path(folder)


def localize(spec: Mapping[str, Any], scratch: Path) -> dict[str, Any]:
    """A copy of a staged spec whose folders are in ``scratch``: ``data/`` (the staged files, fetched and
    verified), ``parent/`` (the parent version's folder, if any) and ``work/`` (checkpoint staging, the export,
    the rank markers). ChecksumMismatch when a fetched file is not the one staged; nothing is left at its name.

    Blocking; safe for several ranks at once (a file lock in ``scratch``, and every file lands by rename).
    """
    staged = spec["staged"]
    data_dir, work_dir, parent_dir = scratch / "data", scratch / "work", scratch / "parent"
    for folder in (data_dir, work_dir):
        folder.mkdir(parents=True, exist_ok=True)
    store = open_store(spec["artifact_root"])
    with open(scratch / _LOCK, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for entry in staged["data"]:
                _fetch_file(store, entry, data_dir)
            parent = staged.get("parent")
            if parent and not parent_dir.is_dir():
                fetch_folder(read_folder(parent["uri"], parent["digest"]), parent_dir)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return {**spec, "data_dir": str(data_dir), "work_dir": str(work_dir),
            "parent_folder": str(parent_dir) if staged.get("parent") else None}


def _fetch_file(store: ArtifactStore, entry: Mapping[str, Any], data_dir: Path) -> None:
    """Fetch one staged file, verified, unless a rank of this pod did already (only verified bytes are ever
    renamed into place, so a file of the staged size at the name is that file)."""
    name = str(entry["name"])
    if not name or Path(name).name != name or name.startswith("."):
        raise ValueError(f"a staged file's name must be a plain file name, not {name!r}")
    target = data_dir / name
    if target.is_file() and target.stat().st_size == int(entry["size_bytes"]):
        return
    store.fetch(entry["uri"], target, expected_sha256=entry["sha256"])
