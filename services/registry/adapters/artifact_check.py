"""Re-reads a version's artifact files and compares them with its manifest (size and sha256).

An artifact is a folder: ``file:///…`` on a disk the registry shares with the trainer and the deployer, or
``s3://bucket/prefix`` in an S3-compatible store, read with the client the environment configures
(``LATHE_S3_ENDPOINT_URL`` and the standard ``AWS_*`` variables, as every Lathe store; see lathe.kit.s3).
Every file is streamed and hashed; nothing is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from lathe.kit.artifacts import folder_file_uri, open_uri
from lathe.kit.errors import InvalidArgument, NotFound
from services.registry.domain.versions import ManifestFile

_CHUNK = 1 << 20
SUPPORTED_SCHEMES = ("file", "s3")


@dataclass(frozen=True)
class Mismatch:
    """One file that does not match its manifest entry."""

    path: str
    kind: str  # missing, size, sha256
    expected_size: int
    actual_size: int
    expected_sha256: str
    actual_sha256: str


@dataclass(frozen=True)
class CheckResult:
    """What a check of every file found."""

    checked_files: int
    checked_bytes: int
    mismatches: list[Mismatch]


def artifact_root(uri: str, field: str = "model_version.artifact_uri") -> Path | str:
    """The artifact folder a URI names: a local ``Path`` for ``file://``, the ``s3://bucket/prefix`` URI itself
    for S3; INVALID_ARGUMENT naming ``field`` for a scheme this registry cannot read."""
    parsed = urlparse(uri)
    readable = (parsed.scheme == "file" and parsed.path) or (
        parsed.scheme == "s3" and parsed.netloc and not parsed.query and not parsed.fragment)
    if parsed.scheme not in SUPPORTED_SCHEMES or not readable:
        raise InvalidArgument.for_field(
            field, f"must be a file:///folder or s3://bucket/prefix URI of the artifact folder (got {uri!r})",
            reason="UNSUPPORTED_ARTIFACT_URI")
    if parsed.scheme == "s3":
        return uri.rstrip("/")
    return Path(unquote(parsed.path))


def file_uri(uri: str, path: str) -> str:
    """The URI of one manifest file under the artifact (``file:///…/path`` or ``s3://bucket/prefix/path``)."""
    root = artifact_root(uri)
    return folder_file_uri(root if isinstance(root, str) else root.as_uri(), path)


def check_files(uri: str, files: Sequence[ManifestFile]) -> CheckResult:
    """Hash every file (blocking I/O: run it in a thread); a file outside the folder counts as missing.

    An S3 store that cannot be reached (or refuses the registry's credentials) raises UNAVAILABLE
    (PERMISSION_DENIED): that is not a verdict on the files.
    """
    root = artifact_root(uri)
    local = root.resolve() if isinstance(root, Path) else None
    mismatches: list[Mismatch] = []
    checked_bytes = 0
    for entry in files:
        if local is not None:
            path = (local / entry.path).resolve()
            found = _hash(lambda p=path: open(p, "rb")) if local in path.parents and path.is_file() else None
        else:
            s3_uri = folder_file_uri(str(root), entry.path)
            found = _hash(lambda u=s3_uri: open_uri(u)) if _inside(entry.path) else None
        if found is None:
            mismatches.append(Mismatch(entry.path, "missing", entry.size_bytes, 0, entry.sha256, ""))
            continue
        size, actual = found
        checked_bytes += size
        if size != entry.size_bytes:
            mismatches.append(Mismatch(entry.path, "size", entry.size_bytes, size, entry.sha256, actual))
        elif actual != entry.sha256:
            mismatches.append(Mismatch(entry.path, "sha256", entry.size_bytes, size, entry.sha256, actual))
    return CheckResult(len(files), checked_bytes, mismatches)


def _inside(path: str) -> bool:
    """Whether a manifest path stays inside its folder (the registry validates manifests; this guards reads)."""
    return bool(path) and not path.startswith("/") and ".." not in path.split("/")


def _hash(opener: Callable[[], BinaryIO]) -> tuple[int, str] | None:
    """(size, sha256 hex) of the file ``opener`` opens, streamed; None when it does not exist."""
    digest, size = hashlib.sha256(), 0
    try:
        with opener() as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
    except (NotFound, FileNotFoundError):  # FileNotFoundError: removed since it was listed
        return None
    return size, digest.hexdigest()
