"""Typed settings read from ``LATHE_*`` environment variables, once, in each service's ``__main__``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = ("corpus", "trainer", "registry", "history", "deployer")

# Default ports of a local suite, in the order `lathe up` starts them.
DEFAULT_PORTS: dict[str, int] = {
    "corpus": 50051,
    "trainer": 50052,
    "registry": 50053,
    "history": 50054,
    "deployer": 50055,
}


class LogFormat(StrEnum):
    """How log lines are rendered."""

    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


def default_home() -> Path:
    """The folder a local suite keeps its databases, artifacts and tokens in (``./.lathe``)."""
    return Path.cwd() / ".lathe"


class ServiceSettings(BaseSettings):
    """Settings every Lathe service shares; each service's ``settings.py`` may extend it."""

    model_config = SettingsConfigDict(env_prefix="LATHE_", extra="ignore", frozen=True)

    home: Path = Field(default_factory=default_home, description="Local state folder of the suite.")
    host: str = Field("127.0.0.1", description="Interface the gRPC server binds to.")
    port: int = Field(0, ge=0, le=65535, description="Port to bind; 0 picks a free one.")
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the database. postgresql://… selects PostgreSQL through asyncpg, with each "
            "service in its own schema; unset selects a SQLite file per service under the home folder."
        ),
    )
    database_schema: str | None = Field(
        None, description="PostgreSQL schema of this service; defaults to the service's name."
    )
    database_pool_size: int = Field(10, ge=1, le=200)
    database_server_settings: dict[str, str] = Field(
        default_factory=dict,
        description="PostgreSQL run-time settings for this service's connections (e.g. statement_timeout).",
    )
    migrate_on_start: bool = Field(True, description="Apply pending migrations when the service starts.")
    artifact_root: str | None = Field(
        None, description="Artifact store location; defaults to the artifacts/ folder under the home."
    )
    log_level: str = Field("info")
    log_format: LogFormat = Field(LogFormat.AUTO)
    tokens_file: Path | None = Field(
        None, description="JSON file mapping bearer tokens (by sha256) to principals; defaults to home/tokens.json."
    )
    service_token: SecretStr | None = Field(
        None, description="The token this service presents when it calls the other services."
    )
    max_message_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="Largest message sent or received.")
    shutdown_grace_seconds: float = Field(10.0, ge=0, description="Time in-flight RPCs get on SIGTERM.")
    client_timeout_seconds: float = Field(30.0, gt=0, description="Default deadline of outbound calls.")

    corpus_address: str = Field(f"127.0.0.1:{DEFAULT_PORTS['corpus']}")
    trainer_address: str = Field(f"127.0.0.1:{DEFAULT_PORTS['trainer']}")
    registry_address: str = Field(f"127.0.0.1:{DEFAULT_PORTS['registry']}")
    history_address: str = Field(f"127.0.0.1:{DEFAULT_PORTS['history']}")
    deployer_address: str = Field(f"127.0.0.1:{DEFAULT_PORTS['deployer']}")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error", "critical"}:
            raise ValueError(f"unknown log level {value!r}")
        return value

    def resolved_tokens_file(self) -> Path:
        """The tokens file in force: the configured one, else ``tokens.json`` in the home folder."""
        return self.tokens_file or self.home / "tokens.json"

    def resolved_artifact_root(self) -> str:
        """The artifact store location in force."""
        return self.artifact_root or str(self.home / "artifacts")

    def address_of(self, service: str) -> str:
        """The address this service uses to reach ``service``."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        return getattr(self, f"{service}_address")
