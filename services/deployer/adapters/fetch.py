"""Fetch a version's artifact into the deployer's own folder, verifying every file against the manifest.

The files are copied (not used in place) so that what is loaded is exactly what was verified: a later
change at the source cannot reach a revision that is already serving.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Mismatch:
    """One file that is not what the registry recorded."""

    path: str
    problem: str


class ArtifactUnavailable(Exception):
    """A file could not be read (missing store, unsupported URI scheme)."""


def _local_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(uri)
    raise ArtifactUnavailable(f"cannot read {uri!r}: only file:// artifact stores are configured here")


def fetch_and_verify(files: list[tuple[str, str, int, str]], destination: Path) -> list[Mismatch]:
    """Copy ``(path, uri, size, sha256)`` files into ``destination`` while hashing them.

    Returns every mismatch (missing file, wrong size, wrong sha256); an empty list means the folder is
    exactly the registered artifact. Paths that would escape ``destination`` count as mismatches.
    """
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    root = destination.resolve()
    mismatches: list[Mismatch] = []
    for rel, uri, size, sha256 in files:
        target = (destination / rel).resolve()
        if root not in target.parents:
            mismatches.append(Mismatch(rel, "the path leaves the artifact folder"))
            continue
        source = _local_path(uri)
        if not source.is_file():
            mismatches.append(Mismatch(rel, "missing"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, copied = hashlib.sha256(), 0
        with open(source, "rb") as src, open(target, "wb") as dst:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                digest.update(chunk)
                dst.write(chunk)
                copied += len(chunk)
        if copied != size:
            mismatches.append(Mismatch(rel, f"size {copied} bytes, the registry recorded {size}"))
        elif digest.hexdigest() != sha256:
            mismatches.append(Mismatch(rel, f"sha256 {digest.hexdigest()}, the registry recorded {sha256}"))
    return mismatches
