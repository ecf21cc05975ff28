"""Runs the five services of a local suite as child processes and supervises them."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lathe.kit.home import Home
from lathe.kit.settings import SERVICES

SERVING = health_pb2.HealthCheckResponse.SERVING
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM if `lathe up` dies, even by SIGKILL, so no service is orphaned."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def check_health(address: str, timeout: float = 2.0) -> str:
    """The health status name of the server at ``address`` (``UNREACHABLE`` if it does not answer)."""
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.RpcError:
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


@dataclass
class Suite:
    """The five service processes of one home."""

    home: Home
    host: str
    port_base: int
    database_url: str | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def address(self, service: str) -> str:
        """Where ``service`` listens."""
        return f"{self.host}:{self.port_base + SERVICES.index(service)}"

    def environment(self, service: str) -> dict[str, str]:
        """The environment of one service process."""
        env = dict(os.environ)
        env.update(
            LATHE_HOME=str(self.home.root),
            LATHE_HOST=self.host,
            LATHE_PORT=str(self.port_base + SERVICES.index(service)),
            LATHE_LOG_FORMAT="json",
            LATHE_SERVICE_TOKEN=self.home.service_token() or "",
            LATHE_TOKENS_FILE=str(self.home.tokens_file),
            **{f"LATHE_{peer.upper()}_ADDRESS": self.address(peer) for peer in SERVICES},
        )
        if self.database_url:
            env["LATHE_DATABASE_URL"] = self.database_url
        return env

    def start(self) -> None:
        """Start every service; raises if a port is taken."""
        busy = [self.address(s) for s in SERVICES if not port_is_free(self.host, self.port_base + SERVICES.index(s))]
        if busy:
            raise RuntimeError(f"ports already in use: {', '.join(busy)} (choose another --port-base)")
        for service in SERVICES:
            log = open(self.home.logs / f"{service}.log", "ab")
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"],
                env=self.environment(service),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            log.close()
        self.write_record()

    def write_record(self) -> None:
        """Record addresses and pids so `lathe status` and later commands find the suite."""
        record = {
            "pid": os.getpid(),
            "services": {
                s: {"address": self.address(s), "pid": p.pid} for s, p in self.processes.items()
            },
        }
        self.home.suite_file.write_text(json.dumps(record, indent=2))

    def exited(self) -> dict[str, int]:
        """Services whose process has ended, with their exit codes."""
        return {s: p.returncode for s, p in self.processes.items() if p.poll() is not None}

    def wait_healthy(self, timeout: float, on_ready: Callable[[str], None] = lambda s: None) -> None:
        """Block until every service reports SERVING; raises if one exits or the timeout passes."""
        pending = set(SERVICES)
        deadline = time.monotonic() + timeout
        while pending:
            dead = self.exited()
            if dead:
                raise RuntimeError(
                    "; ".join(f"{s} exited with code {c}: {self.log_tail(s)}" for s, c in dead.items())
                )
            for service in sorted(pending):
                if check_health(self.address(service), timeout=1.0) == "SERVING":
                    pending.discard(service)
                    on_ready(service)
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout:.0f}s: {', '.join(sorted(pending))}")
            if pending:
                time.sleep(0.2)

    def log_tail(self, service: str, lines: int = 5) -> str:
        """The last lines a service logged (to explain why it failed)."""
        path: Path = self.home.logs / f"{service}.log"
        try:
            return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self, grace: float = 15.0) -> dict[str, int]:
        """SIGTERM every service, wait ``grace`` seconds, SIGKILL what is left; returns exit codes."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.home.suite_file.unlink(missing_ok=True)
        return {s: p.returncode for s, p in self.processes.items()}
