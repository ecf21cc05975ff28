"""Settings of the registry service (``LATHE_*`` environment variables)."""

from pydantic import Field

from lathe.kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """The shared service settings plus the registry's own."""

    sync_verify_max_bytes: int = Field(
        8 << 20, ge=0,
        description="Artifacts up to this size are checked during CreateModelVersion (the version comes back "
                    "READY); larger ones are checked in the background (PENDING_REGISTRATION until done).",
    )
