"""Settings of the trainer service (``LATHE_*`` environment variables)."""

from lathe.kit.settings import ServiceSettings


class TrainerSettings(ServiceSettings):
    """The shared service settings; trainer-specific ones join here as its issue lands."""
