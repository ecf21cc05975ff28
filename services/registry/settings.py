"""Settings of the registry service (``LATHE_*`` environment variables)."""

from pydantic import Field

from lathe.kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """The shared service settings plus the registry's own."""

    database_server_settings: dict[str, str] = Field(
        # Registry queries are short index seeks: starting parallel workers (or JIT-compiling) costs more
        # than the query itself, so its connections run them serially. Statements are prepared (asyncpg), and
        # after five runs PostgreSQL may switch one to a generic plan that ignores the parameters; for a
        # search filter that is the wrong plan (a 2% metric range at 10^5 versions: 17 ms instead of 3 ms).
        default_factory=lambda: {"max_parallel_workers_per_gather": "0", "jit": "off",
                                 "plan_cache_mode": "force_custom_plan"},
        description="PostgreSQL run-time settings for the registry's connections.",
    )

    sync_verify_max_bytes: int = Field(
        8 << 20, ge=0,
        description="Artifacts up to this size are checked during CreateModelVersion (the version comes back "
                    "READY); larger ones are checked in the background (PENDING_REGISTRATION until done).",
    )
