"""The recipe plugin interface every recipe implements, and the token files recipes train on.

A recipe prepares data from a snapshot's split files, builds its model (fresh or from a parent version),
runs one optimizer step at a time, evaluates on a split, and exports its model folder. The shared loop
(:mod:`services.trainer.worker`) owns everything else: events, checkpoints, early stopping, cancellation
and resume. New recipes (issue 7's Q-A recipes) register in :data:`RECIPES` without touching the loop.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lathe.ml.tokenizers import ByteTokenizer, CharTokenizer, Tokenizer
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2

_CHUNK = 1 << 20


@dataclass
class StepResult:
    """What one optimizer step reports."""

    loss: float
    learning_rate: float
    tokens: int
    examples: int
    grad_norm: float | None = None


@dataclass
class EvalResult:
    """Metrics of one evaluation, keyed without a split prefix (``loss``, ``perplexity``)."""

    metrics: dict[str, float]
    example_count: int
    baseline: dict[str, float] = field(default_factory=dict)


class TokenFile:
    """A split's tokens in a flat binary file (uint8 or uint16), read with ``pread`` so RSS stays bounded.

    Reading windows with ``os.pread`` instead of touching an mmap keeps the bytes in the page cache, not in
    the process's resident set: a 1 GB corpus trains with the same RSS as a 10 MB one.
    """

    def __init__(self, path: Path, dtype: np.dtype) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self._fd = os.open(path, os.O_RDONLY)
        self.length = os.fstat(self._fd).st_size // self.dtype.itemsize

    def read(self, start: int, count: int) -> np.ndarray:
        """``count`` tokens from position ``start``."""
        data = os.pread(self._fd, count * self.dtype.itemsize, start * self.dtype.itemsize)
        return np.frombuffer(data, dtype=self.dtype)

    def windows(self, starts: np.ndarray, length: int) -> np.ndarray:
        """A ``(len(starts), length)`` int64 array of the windows starting at ``starts``."""
        out = np.empty((len(starts), length), dtype=np.int64)
        for row, start in enumerate(starts):
            out[row] = self.read(int(start), length)
        return out

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def build_tokenizer(kind: int, train_text: Path) -> Tokenizer:
    """The job's tokenizer; a char tokenizer is fitted on the training split, streamed in chunks."""
    if kind == cfg.TOKENIZER_CHAR:
        chars: set[str] = set()
        with open(train_text, encoding="utf-8", errors="replace") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), ""):
                chars.update(chunk)
        return CharTokenizer(tuple(sorted(chars)))
    return ByteTokenizer()


def token_file(tokenizer: Tokenizer, text: Path, cache: Path) -> TokenFile:
    """The split's token file, tokenized once per snapshot and tokenizer (cached beside the text).

    Byte tokens are the UTF-8 bytes themselves, so the text file is the token file. Character tokens are
    encoded in chunks into a uint16 file written atomically, so concurrent jobs never see half a file.
    """
    if isinstance(tokenizer, ByteTokenizer):
        return TokenFile(text, np.uint8)
    digest = hashlib.sha256(tokenizer.to_json().encode()).hexdigest()[:12]
    target = cache / f"{text.stem}.char-{digest}.u16"
    if not target.exists():
        index = {c: i for i, c in enumerate(tokenizer.chars)}
        tmp = target.with_suffix(f".tmp-{os.getpid()}")
        with open(text, encoding="utf-8", errors="replace") as source, open(tmp, "wb") as sink:
            for chunk in iter(lambda: source.read(_CHUNK), ""):
                sink.write(np.fromiter((index.get(c, 0) for c in chunk), dtype=np.uint16).tobytes())
        os.replace(tmp, target)
    return TokenFile(target, np.uint16)


@dataclass
class RecipeContext:
    """What a recipe is given: the resolved job, where its data are, its device and seed."""

    job: training_job_pb2.TrainingJob
    data_dir: Path
    device: str
    seed: int
    total_steps: int
    parent_folder: Path | None = None
    #: This process's rank and the number of ranks (``scheduling.world_size``); 0 and 1 for one process.
    rank: int = 0
    world_size: int = 1


class Recipe(ABC):
    """One training recipe. The shared loop calls, in order: prepare, build, then train_step/evaluate."""

    name: ClassVar[str]
    #: Whether the recipe trains by steps (and so checkpoints and resumes) or fits in one pass.
    iterative: ClassVar[bool] = True

    def __init__(self, context: RecipeContext) -> None:
        self.ctx = context

    @abstractmethod
    def prepare(self) -> None:
        """Tokenize (or otherwise prepare) the snapshot's splits; cached once per snapshot."""

    @abstractmethod
    def build(self) -> None:
        """Build the model (from the parent version when the job continues one) and its optimizer."""

    @abstractmethod
    def train_step(self, step: int) -> StepResult:
        """Run optimizer step ``step`` (from 1)."""

    @abstractmethod
    def evaluate(self, *, final: bool) -> EvalResult:
        """Evaluate on the validation split (all of it when ``final``)."""

    @abstractmethod
    def export(self, folder: Path) -> dict[str, Any]:
        """Write the model folder; returns its architecture description (family, config, parameters)."""

    def baseline(self) -> dict[str, float]:
        """The recipe baseline's validation metrics; empty when the recipe has none."""
        return {}

    def train_tokens(self) -> int:
        """The size of the training split in tokens (for epochs and progress)."""
        return 0

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly at the current step."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional for one-pass recipes
        """Restore :meth:`state_dict`."""

    def sample(self, prompt: str, max_new_tokens: int) -> str:
        """A short generated text for a qualitative look; empty when the recipe does not generate."""
        return ""
