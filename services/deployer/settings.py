"""Settings of the deployer service (``LATHE_*`` environment variables)."""

from lathe.kit.settings import ServiceSettings


class DeployerSettings(ServiceSettings):
    """The shared service settings; deployer-specific ones join here as its issue lands."""
