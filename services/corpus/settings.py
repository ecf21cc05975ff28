"""Settings of the corpus service (``LATHE_*`` environment variables)."""

from lathe.kit.settings import ServiceSettings


class CorpusSettings(ServiceSettings):
    """The shared service settings; corpus-specific ones join here as its issue lands."""
