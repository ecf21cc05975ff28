"""The layout of a local suite's home folder (``./.lathe`` by default) and its credentials."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from lathe.kit.auth import ROLE_ADMIN, ROLE_SERVICE, new_token, write_tokens_file


@dataclass(frozen=True)
class Home:
    """Paths inside a suite's home folder."""

    root: Path

    @property
    def tokens_file(self) -> Path:
        """Token digests → principals, read by every service."""
        return self.root / "tokens.json"

    @property
    def admin_token_file(self) -> Path:
        """The local admin's bearer token, used by the CLI by default (mode 0600)."""
        return self.root / "admin.token"

    @property
    def service_token_file(self) -> Path:
        """The token the services present to each other (mode 0600)."""
        return self.root / "service.token"

    @property
    def suite_file(self) -> Path:
        """Addresses and process ids of a running suite, written by ``lathe up``."""
        return self.root / "run" / "suite.json"

    @property
    def logs(self) -> Path:
        """One log file per service."""
        return self.root / "logs"

    @property
    def artifacts(self) -> Path:
        """The local artifact store."""
        return self.root / "artifacts"

    def ensure(self) -> None:
        """Create the folders and, on first use, the admin and service tokens."""
        for folder in (self.root, self.logs, self.artifacts, self.suite_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        if not (self.tokens_file.exists() and self.admin_token_file.exists() and self.service_token_file.exists()):
            admin, service = new_token(), new_token()
            _write_secret(self.admin_token_file, admin)
            _write_secret(self.service_token_file, service)
            write_tokens_file(
                self.tokens_file, [(admin, "admin", [ROLE_ADMIN]), (service, "lathe-services", [ROLE_SERVICE])]
            )

    def admin_token(self) -> str | None:
        """The local admin token, if this home has one."""
        return self.admin_token_file.read_text().strip() if self.admin_token_file.exists() else None

    def service_token(self) -> str | None:
        """The services' token, if this home has one."""
        return self.service_token_file.read_text().strip() if self.service_token_file.exists() else None

    def read_suite(self) -> dict | None:
        """What ``lathe up`` recorded of the running suite, or None."""
        try:
            return json.loads(self.suite_file.read_text())
        except (FileNotFoundError, ValueError):
            return None


def _write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
