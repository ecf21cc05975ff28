"""Where a client finds the suite and which token it presents: arguments, then LATHE_* variables, then the home."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lathe.kit.home import Home
from lathe.kit.settings import DEFAULT_PORTS, SERVICES

SERVER_ENV = "LATHE_SERVER"
TOKEN_ENV = "LATHE_TOKEN"


def default_home() -> Home:
    """``$LATHE_HOME``, else ``./.lathe``."""
    return Home(Path(os.environ.get("LATHE_HOME") or Path.cwd() / ".lathe").expanduser().resolve())


def server_addresses(server: str) -> dict[str, str]:
    """The five addresses of a suite named by one ``HOST`` or ``HOST:PORT``.

    ``HOST`` means the default ports (50051-50055); ``HOST:PORT`` means the first service listens on PORT and
    the others follow in order, exactly as ``lathe up --port-base PORT`` lays them out.
    """
    host, _, port = server.strip().rpartition(":") if ":" in server else (server.strip(), "", "")
    if not host:
        raise ValueError(f"server {server!r} is not HOST or HOST:PORT")
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536 - len(SERVICES):
            raise ValueError(f"server {server!r}: the port must be a number from 1 to {65535 - len(SERVICES)}")
        base = int(port)
        return {s: f"{host}:{base + i}" for i, s in enumerate(SERVICES)}
    return {s: f"{host}:{DEFAULT_PORTS[s]}" for s in SERVICES}


@dataclass(frozen=True)
class ClientConfig:
    """The resolved addresses of the five services and the bearer token."""

    addresses: dict[str, str] = field(default_factory=dict)
    token: str | None = None

    @classmethod
    def resolve(cls, *, server: str | None = None, addresses: dict[str, str] | None = None,
                token: str | None = None, home: str | Path | Home | None = None) -> ClientConfig:
        """Resolve each address and the token, first match wins.

        Address of a service: ``addresses[service]``, ``server``, ``$LATHE_<SERVICE>_ADDRESS``, ``$LATHE_SERVER``,
        the running suite recorded in the home, the default local port.
        Token: ``token``, ``$LATHE_TOKEN``, the home's ``admin.token``.
        """
        suite_home = home if isinstance(home, Home) else (
            Home(Path(home).expanduser().resolve()) if home is not None else default_home())
        record = (suite_home.read_suite() or {}).get("services", {})
        explicit = server_addresses(server) if server else {}
        env_server = os.environ.get(SERVER_ENV)
        remote = server_addresses(env_server) if env_server else {}
        resolved = {}
        for service in SERVICES:
            resolved[service] = (
                (addresses or {}).get(service)
                or explicit.get(service)
                or os.environ.get(f"LATHE_{service.upper()}_ADDRESS")
                or remote.get(service)
                or record.get(service, {}).get("address")
                or f"127.0.0.1:{DEFAULT_PORTS[service]}"
            )
        return cls(resolved, token or os.environ.get(TOKEN_ENV) or suite_home.admin_token())
