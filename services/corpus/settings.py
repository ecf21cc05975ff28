"""Settings of the corpus service (``LATHE_*`` environment variables).

Import roots. ``ImportFiles`` reads only folders inside the configured import roots
(``LATHE_CORPUS_IMPORT_ROOTS``, also read as ``LATHE_IMPORT_ROOTS``): a JSON list (``["/data/a", "/data/b"]``)
or paths separated by ``:``. The default is the ``imports/`` folder of the Lathe home
(``$LATHE_HOME/imports``, created on start-up). The current directory is *not* an import root unless it is
listed: a service must never read whatever folder it happened to be started from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode

from lathe.kit.settings import ServiceSettings

DEFAULT_EMBEDDING_MODEL = "all-minilm-l6-v2"


class CorpusSettings(ServiceSettings):
    """The shared service settings plus the corpus's limits, import roots and embedding configuration."""

    import_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("import_roots", "LATHE_CORPUS_IMPORT_ROOTS", "LATHE_IMPORT_ROOTS"),
        description="Folders ImportFiles may read (JSON list or ':'-separated); empty means <home>/imports.",
    )
    corpus_max_text_bytes: int = Field(16 * 1024 * 1024, ge=1, description="Largest text content, in UTF-8 bytes.")
    corpus_max_scan_files: int = Field(100_000, ge=1, description="Most files one ImportFiles scan may match.")
    corpus_max_import_file_bytes: int = Field(
        256 * 1024 * 1024, ge=1, description="Largest file an import batch reads; larger files fail the batch."
    )
    corpus_embedding_models: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [DEFAULT_EMBEDDING_MODEL],
        description="Embedding models served (JSON list or ','-separated); the first is the default.",
    )
    corpus_embedding_device: str = Field(
        "auto", description="Device the embedding models run on: auto (cuda when available, else cpu), cpu, cuda:N."
    )
    corpus_embedding_batch_size: int = Field(64, ge=1, le=4096, description="Sentences per encode call.")
    corpus_embedding_chunk_size: int = Field(
        1024, ge=1, description="Sentences encoded and stored together; progress is saved after each chunk."
    )
    corpus_embed_on_import: bool = Field(
        True, description="Embed imported items with the default model; false leaves embedding to snapshots/API."
    )
    corpus_import_workers: int = Field(1, ge=1, le=64, description="Import batches processed concurrently.")
    corpus_import_max_attempts: int = Field(
        5, ge=1, description="Runs a batch gets before an interrupted batch fails with ATTEMPTS_EXHAUSTED."
    )
    corpus_import_poll_seconds: float = Field(2.0, gt=0, description="How often idle workers look for work.")

    @field_validator("import_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            if text.startswith("["):
                return json.loads(text)
            return [part for part in text.split(os.pathsep) if part]
        return value

    @field_validator("corpus_embedding_models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    def resolved_import_roots(self) -> list[Path]:
        """The import roots in force, absolute and with links resolved: the configured ones, else home/imports."""
        roots = self.import_roots or [self.home / "imports"]
        return [Path(root).expanduser().resolve() for root in roots]
