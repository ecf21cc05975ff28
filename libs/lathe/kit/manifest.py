"""The manifest of a model folder: every file with its size and sha256, as the registry records it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileEntry:
    """One file of a model folder, by its path relative to the folder."""

    path: str
    size_bytes: int
    sha256: str


def folder_manifest(folder: Path) -> list[FileEntry]:
    """Every regular file under ``folder`` (sorted by path), hashed."""
    entries = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        entries.append(FileEntry(path.relative_to(folder).as_posix(), path.stat().st_size, digest.hexdigest()))
    return entries


def manifest_text(entries: Iterable[FileEntry]) -> bytes:
    """The sorted ``<sha256> <size> <path>\\n`` lines: what :func:`manifest_digest` hashes, and what an
    artifact store keeps beside an uploaded folder (so the manifest read back is checked by that digest)."""
    return "".join(sorted(f"{e.sha256} {e.size_bytes} {e.path}\n" for e in entries)).encode()


def parse_manifest_text(data: bytes) -> list[FileEntry]:
    """The entries of :func:`manifest_text`, sorted by path as :func:`folder_manifest` lists them (the path is
    last on its line, so it may contain spaces)."""
    entries = []
    for line in filter(None, data.decode().split("\n")):
        sha256, size, path = line.split(" ", 2)
        entries.append(FileEntry(path, int(size), sha256))
    return sorted(entries, key=lambda e: e.path)


def manifest_digest(entries: Iterable[FileEntry]) -> str:
    """``sha256:<hex>`` over sorted ``<sha256> <size> <path>\\n`` lines (the registry's digest)."""
    return "sha256:" + hashlib.sha256(manifest_text(entries)).hexdigest()
