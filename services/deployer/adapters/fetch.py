"""Fetch a version's artifact into the deployer's own folder, verifying every file against the manifest.

The files are copied (not used in place) so that what is loaded is exactly what was verified: a later
change at the source cannot reach a revision that is already serving. A file is read from its URI in the
registry's download, ``file://`` or ``s3://`` (through lathe.kit's client, configured by the same
environment as every Lathe artifact store), streamed and hashed while it is written.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from lathe.kit.artifacts import open_uri
from lathe.kit.errors import LatheError, NotFound

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Mismatch:
    """One file that is not what the registry recorded."""

    path: str
    problem: str


class ArtifactUnavailable(Exception):
    """A file could not be read (unreachable store, refused credentials, unsupported URI scheme)."""


def local_path(uri: str) -> Path:
    """The local path of a ``file://`` URI (or a bare path); ArtifactUnavailable for any other scheme."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(uri)
    raise ArtifactUnavailable(f"cannot read {uri!r} as a local folder")


def fetch_and_verify(files: list[tuple[str, str, int, str]], destination: Path) -> list[Mismatch]:
    """Copy ``(path, uri, size, sha256)`` files into ``destination`` while hashing them.

    Returns every mismatch (missing file, wrong size, wrong sha256); an empty list means the folder is
    exactly the registered artifact. Paths that would escape ``destination`` count as mismatches. A store
    that cannot be read at all raises ArtifactUnavailable.
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
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            copied, digest = _copy(uri, target)
        except NotFound:
            mismatches.append(Mismatch(rel, "missing"))
            continue
        except LatheError as exc:
            raise ArtifactUnavailable(f"cannot read {uri!r}: {exc.message}") from None
        if copied != size:
            mismatches.append(Mismatch(rel, f"size {copied} bytes, the registry recorded {size}"))
        elif digest != sha256:
            mismatches.append(Mismatch(rel, f"sha256 {digest}, the registry recorded {sha256}"))
    return mismatches


def _copy(uri: str, target: Path) -> tuple[int, str]:
    """Stream the file at ``uri`` into ``target``; returns (bytes copied, sha256 hex)."""
    digest, copied = hashlib.sha256(), 0
    with open_uri(uri) as src, open(target, "wb") as dst:
        for chunk in iter(lambda: src.read(_CHUNK), b""):
            digest.update(chunk)
            dst.write(chunk)
            copied += len(chunk)
    return copied, digest.hexdigest()


MANIFEST_FILE = "verified-manifest.json"


def write_manifest(files: list[tuple[str, int, str]], path: Path) -> None:
    """Record the ``(path, size, sha256)`` entries a revision's copy was verified against."""
    import json

    path.write_text(json.dumps([{"path": p, "size_bytes": s, "sha256": h} for p, s, h in files]))


def read_manifest(path: Path, digest: str) -> list[tuple[str, int, str]] | None:
    """The entries recorded by :func:`write_manifest`, or None when missing, unreadable or not ``digest``.

    ``digest`` (``sha256:<hex>`` or bare hex) is the registry's manifest digest stored in the database
    at rollout; a recorded manifest that does not hash to it is not trusted.
    """
    import json

    from lathe.kit.manifest import FileEntry, manifest_digest

    try:
        entries = [(str(e["path"]), int(e["size_bytes"]), str(e["sha256"])) for e in json.loads(path.read_text())]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    found = manifest_digest(FileEntry(p, s, h) for p, s, h in entries).removeprefix("sha256:")
    return entries if found == digest.removeprefix("sha256:") else None


def verify_in_place(files: list[tuple[str, int, str]], folder: Path) -> list[Mismatch]:
    """Hash every file of ``folder`` against the ``(path, size, sha256)`` entries.

    Missing files, wrong sizes or hashes, and files the manifest does not list are all mismatches:
    what is loaded must be exactly what was verified.
    """
    root = folder.resolve()
    expected = {p: (s, h) for p, s, h in files}
    mismatches: list[Mismatch] = []
    for rel, (size, sha256) in expected.items():
        path = (folder / rel).resolve()
        if root not in path.parents or not path.is_file():
            mismatches.append(Mismatch(rel, "missing"))
            continue
        digest, read = hashlib.sha256(), 0
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
                read += len(chunk)
        if read != size:
            mismatches.append(Mismatch(rel, f"size {read} bytes, the manifest recorded {size}"))
        elif digest.hexdigest() != sha256:
            mismatches.append(Mismatch(rel, f"sha256 {digest.hexdigest()}, the manifest recorded {sha256}"))
    for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(folder).as_posix()
        if rel not in expected:
            mismatches.append(Mismatch(rel, "not in the manifest"))
    return mismatches
