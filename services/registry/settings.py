"""Settings of the registry service (``LATHE_*`` environment variables)."""

from lathe.kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """The shared service settings; registry-specific ones join here as its issue lands."""
