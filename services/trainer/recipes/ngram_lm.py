"""The ``ngram-lm`` recipe: a smoothed n-gram model on the same text and split, the language-model baseline."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lathe.ml.ngram import ARCHITECTURE, NgramConfig, NgramModel, save_ngram
from lathe.trainer.v1 import training_config_pb2 as cfg
from services.trainer.recipes.base import EvalResult, Recipe, StepResult, build_tokenizer, token_file

# Fitting reads the training split into memory; beyond this many tokens the fit uses the first ones only.
MAX_FIT_TOKENS = 50_000_000


class NgramLmRecipe(Recipe):
    """Counts n-grams in one pass (the whole "training" is one step) and scores the validation split."""

    name = "ngram-lm"
    iterative = False

    def prepare(self) -> None:
        self.tokenizer = build_tokenizer(self.ctx.job.ngram_lm.tokenizer, self.ctx.data_dir / "train.txt")
        self.train = token_file(self.tokenizer, self.ctx.data_dir / "train.txt", self.ctx.data_dir)
        self.val = token_file(self.tokenizer, self.ctx.data_dir / "validation.txt", self.ctx.data_dir)

    def build(self) -> None:
        c = self.ctx.job.ngram_lm
        smoothing = "add-k" if c.smoothing == cfg.NgramLmConfig.SMOOTHING_ADD_K else "kneser-ney"
        self.config = NgramConfig(self.tokenizer.vocab_size, c.order, smoothing, c.add_k, c.discount)
        self.model: NgramModel | None = None

    def train_tokens(self) -> int:
        return self.train.length

    def train_step(self, step: int) -> StepResult:
        tokens = self.train.read(0, min(self.train.length, MAX_FIT_TOKENS))
        self.model = NgramModel.fit(self.config, tokens)
        loss = self.model.cross_entropy(tokens[: 1_000_000])
        return StepResult(loss=loss, learning_rate=0.0, tokens=len(tokens), examples=1)

    def evaluate(self, *, final: bool) -> EvalResult:
        assert self.model is not None
        tokens = self.val.read(0, min(self.val.length, MAX_FIT_TOKENS))
        loss = self.model.cross_entropy(tokens)
        return EvalResult({"loss": loss, "perplexity": math.exp(min(loss, 50))}, len(tokens))

    def export(self, folder: Path) -> dict[str, Any]:
        assert self.model is not None
        save_ngram(folder, self.model, self.tokenizer)
        return {"family": ARCHITECTURE, "config": self.config.__dict__,
                "parameter_count": int(sum(len(v) for k, v in self.model.tables.items() if k.startswith("c")))}
