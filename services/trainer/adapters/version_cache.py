"""The trainer's cache of registered versions read from an S3 store (``<home>/trainer/versions/<digest>``).

Each entry is one version's verified folder, named by its manifest digest. Every use touches the entry's
folder (its mtime is the last use); once the cache holds more than its budget, the least recently used
entries are removed, except those used within ``min_idle_seconds`` (a sampling request or an evaluation may
still be reading them) and the one just asked for. An entry removed this way is fetched again, verified, the
next time it is needed.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    """One cached version folder."""

    path: Path
    size_bytes: int
    last_use: float


def touch(entry: Path) -> None:
    """Record a use of ``entry`` (its folder's mtime)."""
    os.utime(entry)


def entries(root: Path) -> list[Entry]:
    """The complete entries under ``root``, least recently used first (staging folders, named ``.*``, are not
    entries)."""
    found = []
    if not root.is_dir():
        return found
    for child in root.iterdir():
        if child.name.startswith(".") or not child.is_dir():
            continue
        try:
            size = sum(f.stat().st_size for f in child.rglob("*") if f.is_file())
            found.append(Entry(child, size, child.stat().st_mtime))
        except FileNotFoundError:  # removed meanwhile by another request's pruning
            continue
    return sorted(found, key=lambda e: e.last_use)


def prune(root: Path, max_bytes: int, *, keep: Path | None = None, min_idle_seconds: float = 3600.0,
          now: float | None = None) -> list[Entry]:
    """Remove least recently used entries until the cache holds at most ``max_bytes``; returns what was removed.

    ``keep`` and entries used within ``min_idle_seconds`` stay even when the cache is then still over budget.
    """
    now = time.time() if now is None else now
    cached = entries(root)
    total = sum(e.size_bytes for e in cached)
    removed = []
    for entry in cached:
        if total <= max_bytes:
            break
        if keep is not None and entry.path == keep:
            continue
        try:  # the mtime read again now: a request may have used it since it was listed
            if now - entry.path.stat().st_mtime < min_idle_seconds:
                continue
        except FileNotFoundError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        total -= entry.size_bytes
        removed.append(entry)
    return removed
