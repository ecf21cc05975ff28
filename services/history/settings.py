"""Settings of the history service (``LATHE_*`` environment variables)."""

from pydantic import Field

from lathe.kit.settings import ServiceSettings


class HistorySettings(ServiceSettings):
    """The shared service settings, plus the export chunk size."""

    export_chunk_bytes: int = Field(
        1024 * 1024, ge=1024, le=1024 * 1024,
        description="Largest data chunk of an ExportSessions stream (whole rows; the contract caps it at 1 MiB).",
    )
