"""The trainer's cache of versions read from an S3 store stays within its budget, least recently used out
first, and never removes a version that was just used."""

from __future__ import annotations

import os
import time
from pathlib import Path

from services.trainer.adapters import version_cache

NOW = time.time()
HOUR = 3600.0


def cached(root: Path, name: str, size: int, last_use: float) -> Path:
    folder = root / name
    (folder / "sub").mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"w" * (size - 10))
    (folder / "sub" / "config.json").write_bytes(b"c" * 10)
    os.utime(folder, (last_use, last_use))
    return folder


def test_least_recently_used_versions_go_first_until_the_cache_fits(tmp_path):
    oldest = cached(tmp_path, "a" * 64, 400, NOW - 5 * HOUR)
    older = cached(tmp_path, "b" * 64, 300, NOW - 4 * HOUR)
    recent = cached(tmp_path, "c" * 64, 200, NOW - 3 * HOUR)
    fetched = cached(tmp_path, "d" * 64, 500, NOW)
    (tmp_path / ".e-staging").mkdir()  # a fetch in progress is not an entry

    removed = version_cache.prune(tmp_path, 800, keep=fetched, min_idle_seconds=HOUR, now=NOW)

    assert [e.path for e in removed] == [oldest, older]
    assert sum(e.size_bytes for e in removed) == 700
    assert recent.is_dir() and fetched.is_dir() and (tmp_path / ".e-staging").is_dir()
    assert sum(e.size_bytes for e in version_cache.entries(tmp_path)) == 700


def test_a_version_used_recently_or_just_fetched_stays_even_over_budget(tmp_path):
    in_use = cached(tmp_path, "a" * 64, 400, NOW - 60)
    fetched = cached(tmp_path, "b" * 64, 400, NOW - 2 * HOUR)

    assert version_cache.prune(tmp_path, 100, keep=fetched, min_idle_seconds=HOUR, now=NOW) == []
    assert in_use.is_dir() and fetched.is_dir()


def test_touching_a_version_makes_it_the_most_recently_used(tmp_path):
    first = cached(tmp_path, "a" * 64, 100, NOW - 3 * HOUR)
    second = cached(tmp_path, "b" * 64, 100, NOW - 2 * HOUR)
    version_cache.touch(first)  # used now

    assert [e.path for e in version_cache.entries(tmp_path)] == [second, first]
    removed = version_cache.prune(tmp_path, 150, min_idle_seconds=HOUR)
    assert [e.path for e in removed] == [second] and first.is_dir()


def test_a_cache_within_budget_or_missing_is_left_alone(tmp_path):
    kept = cached(tmp_path, "a" * 64, 100, NOW - 9 * HOUR)
    assert version_cache.prune(tmp_path, 100, min_idle_seconds=0, now=NOW) == []
    assert kept.is_dir()
    assert version_cache.prune(tmp_path / "absent", 0) == []
