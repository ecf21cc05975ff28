"""Where the shared example datasets (Tiny Shakespeare, StackFAQ) are found on this machine."""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[3]


def datasets_dir() -> Path:
    """``$LATHE_DATASETS``, else ``../shared/datasets`` beside the checkout, else ``/work/shared/datasets``."""
    explicit = os.environ.get("LATHE_DATASETS")
    if explicit:
        return Path(explicit)
    beside = _REPO_ROOT.parent / "shared" / "datasets"
    return beside if beside.is_dir() else Path("/work/shared/datasets")
