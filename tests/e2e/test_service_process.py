"""A service process as an operator runs it: `migrate`, and a clear refusal when its database is down."""

from __future__ import annotations

import importlib
import os
import sqlite3
import subprocess
import sys

import pytest

from lathe.kit.db import head_revision
from lathe.kit.settings import SERVICES


def run_service(service: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"services.{service}", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATHE_")}
    env.update(extra)
    return env


@pytest.mark.parametrize("service", SERVICES)
def test_migrate_creates_the_schema_and_exits(tmp_path, service):
    result = run_service(service, "migrate", env=clean_env(LATHE_HOME=str(tmp_path), LATHE_LOG_FORMAT="json"))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / f"{service}.db") as db:
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    migrations = importlib.import_module(f"services.{service}.app").MIGRATIONS
    assert revision == head_revision(migrations)
    assert "request_log" in tables
    # Running it again is a no-op, not an error.
    assert run_service(service, "migrate", env=clean_env(LATHE_HOME=str(tmp_path))).returncode == 0


def test_an_unreachable_database_stops_start_up_with_a_clear_message(tmp_path):
    result = run_service("history", env=clean_env(
        LATHE_HOME=str(tmp_path), LATHE_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none", LATHE_LOG_FORMAT="json",
    ))
    assert result.returncode == 2
    assert "database unreachable" in result.stderr
    assert "Traceback" not in result.stderr
