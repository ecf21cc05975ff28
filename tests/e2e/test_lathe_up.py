"""`lathe up` as a user runs it: five real processes, healthy, then stopped with nothing left behind."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lathe.cli.suite import port_is_free
from lathe.kit.settings import SERVICES


def free_port_base() -> int:
    for _ in range(200):
        base = random.randrange(20000, 60000)
        if all(port_is_free("127.0.0.1", base + i) for i in range(len(SERVICES))):
            return base
    raise RuntimeError("no free port range")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes once its parent reaped it.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def lathe(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lathe.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_lathe_up_starts_all_five_and_stops_them_cleanly(tmp_path, backend, stop_signal, request):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATHE_")}
    args = ["up", "--home", str(home), "--port-base", str(free_port_base())]
    if backend == "postgres":
        args += ["--database-url", request.getfixturevalue("postgres_url")]
    up = subprocess.Popen([sys.executable, "-m", "lathe.cli", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            status = lathe("status", "--home", str(home), env=env)
            if status.returncode == 0:
                break
            assert up.poll() is None, f"lathe up exited early: {up.stdout.read()}"
            assert time.monotonic() < deadline, f"not healthy in time:\n{status.stdout}"
            time.sleep(0.5)
        assert all(f"{s}" in status.stdout for s in SERVICES)
        assert status.stdout.count("SERVING") == len(SERVICES)
        record = json.loads((home / "run" / "suite.json").read_text())
        pids = [entry["pid"] for entry in record["services"].values()]
        assert len(pids) == len(SERVICES) and all(alive(pid) for pid in pids)
        # The embedded default keeps its state under the home; Postgres keeps it in the server.
        db_files = sorted(p.name for p in home.glob("*.db"))
        assert db_files == (sorted(f"{s}.db" for s in SERVICES) if backend == "sqlite" else [])
        assert (home / "admin.token").stat().st_mode & 0o777 == 0o600
        up.send_signal(stop_signal)
        output, _ = up.communicate(timeout=60)
        assert up.returncode == 0, output
        assert "stopped" in output
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in pids if alive(pid)], "stray service processes after lathe up stopped"
        assert not (home / "run" / "suite.json").exists()
        assert lathe("status", "--home", str(home), env=env).returncode == 1
        for service in SERVICES:
            log = (home / "logs" / f"{service}.log").read_text()
            lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
            assert any(entry["event"] == "server_stopped" for entry in lines), f"{service} did not stop gracefully"
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()


def test_lathe_up_refuses_a_taken_port(tmp_path):
    import socket

    base = free_port_base()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", base + 2))
        blocker.listen()
        result = lathe("up", "--home", str(tmp_path / "h"), "--port-base", str(base))
    assert result.returncode == 1
    assert f"127.0.0.1:{base + 2}" in result.stderr + result.stdout
