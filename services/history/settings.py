"""Settings of the history service (``LATHE_*`` environment variables)."""

from lathe.kit.settings import ServiceSettings


class HistorySettings(ServiceSettings):
    """The shared service settings; history-specific ones join here as its issue lands."""
