"""Re-reads a version's artifact files and compares them with its manifest (size and sha256)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from lathe.kit.errors import InvalidArgument
from services.registry.domain.versions import ManifestFile

_CHUNK = 1 << 20
SUPPORTED_SCHEMES = ("file",)


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


def artifact_root(uri: str, field: str = "model_version.artifact_uri") -> Path:
    """The local folder an artifact URI names; INVALID_ARGUMENT for a scheme this registry cannot read."""
    parsed = urlparse(uri)
    if parsed.scheme not in SUPPORTED_SCHEMES or not parsed.path:
        raise InvalidArgument.for_field(
            field, f"must be a file:// URI of the artifact folder (got {uri!r}); s3:// arrives with shared storage",
            reason="UNSUPPORTED_ARTIFACT_URI")
    return Path(unquote(parsed.path))


def file_uri(uri: str, path: str) -> str:
    """The URI of one manifest file under the artifact."""
    return (artifact_root(uri) / path).as_uri()


def check_files(uri: str, files: Sequence[ManifestFile]) -> CheckResult:
    """Hash every file (blocking I/O: run it in a thread); a file outside the folder counts as missing."""
    root = artifact_root(uri).resolve()
    mismatches: list[Mismatch] = []
    checked_bytes = 0
    for entry in files:
        path = (root / entry.path).resolve()
        if root not in path.parents or not path.is_file():
            mismatches.append(Mismatch(entry.path, "missing", entry.size_bytes, 0, entry.sha256, ""))
            continue
        size = os.path.getsize(path)
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        checked_bytes += size
        actual = digest.hexdigest()
        if size != entry.size_bytes:
            mismatches.append(Mismatch(entry.path, "size", entry.size_bytes, size, entry.sha256, actual))
        elif actual != entry.sha256:
            mismatches.append(Mismatch(entry.path, "sha256", entry.size_bytes, size, entry.sha256, actual))
    return CheckResult(len(files), checked_bytes, mismatches)
