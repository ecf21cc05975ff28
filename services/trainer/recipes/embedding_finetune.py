"""The ``embedding-finetune`` recipe: all-MiniLM-L6-v2 fine-tuned on Q-A clusters with in-batch negatives.

Each step takes the next ``batch_size`` training questions (a seeded permutation per epoch), pairs each
with one answer of its cluster (drawn with a generator seeded by the step), and minimizes the
multiple-negatives ranking loss: the cross-entropy of ``scale * cos(question, answer)`` over the batch's
answers, with the question's own answer as the target. Other answers of the question's own cluster are
masked out rather than counted as negatives. The batch order is a pure function of (seed, step), so a
resumed run sees exactly the batches an uninterrupted one would; dropout draws from torch's RNG, which the
checkpoint restores.

The result is a sentence-transformers folder (``SentenceTransformer(path)`` loads it); its metrics and the
un-tuned base model's are measured on the snapshot's held-out questions, ranking every answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from lathe.trainer.v1 import training_config_pb2 as cfg
from services.trainer.recipes.base import EvalResult, Recipe, StepResult
from services.trainer.recipes.causal_lm import learning_rate
from services.trainer.recipes.qa_data import QaData
from services.trainer.recipes.qa_eval import (
    BASE_MODEL,
    base_model_path,
    evaluate_encoder,
    load_sentence_model,
)

FAMILY = "sentence-transformers"


def mnr_loss(question_emb: torch.Tensor, answer_emb: torch.Tensor, clusters: torch.Tensor,
             scale: float) -> torch.Tensor:
    """Multiple-negatives ranking loss; answers of a question's own cluster other than its target are masked."""
    scores = F.normalize(question_emb, dim=-1) @ F.normalize(answer_emb, dim=-1).T * scale
    same = clusters[:, None] == clusters[None, :]
    eye = torch.eye(len(clusters), dtype=torch.bool, device=scores.device)
    scores = scores.masked_fill(same & ~eye, float("-inf"))
    return F.cross_entropy(scores, torch.arange(len(clusters), device=scores.device))


class EmbeddingFinetuneRecipe(Recipe):
    """Fine-tunes a sentence-transformer (the base model, or a parent version) on question → answer pairs."""

    name = "embedding-finetune"

    def prepare(self) -> None:
        self.data = QaData.load(self.ctx.data_dir)
        self.train_questions = self.data.question_indices(("train",))
        # The batch order is a function of the data and the seed alone, ready before any model exists.
        self._perm_epoch, self._perm = -1, np.empty(0, dtype=np.int64)
        if len(self.data.clusters) < 2:
            raise ValueError("the snapshot needs at least two Q-A clusters")
        if not len(self.train_questions):
            raise ValueError("the snapshot has no training questions")
        if not len(self.data.question_indices(("validation",))):
            raise ValueError("the snapshot has no validation questions")
        self.cluster_answers: dict[int, list[int]] = {}
        for j, answer in enumerate(self.data.answers):
            self.cluster_answers.setdefault(answer["cluster"], []).append(j)
        missing = {self.data.questions[i]["cluster"] for i in self.train_questions} - set(self.cluster_answers)
        if missing:
            raise ValueError(f"{len(missing)} clusters have training questions but no answer")

    def build(self) -> None:
        c, o = self.ctx.job.embedding_finetune, self.ctx.job.options
        torch.manual_seed(self.ctx.seed)
        self.base_path = base_model_path(c.base_model or BASE_MODEL)
        source = self.ctx.parent_folder or self.base_path
        self.device = torch.device(self.ctx.device)
        self.model = load_sentence_model(source, str(self.device), c.max_seq_length)
        self.model.train()
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            (no_decay if p.dim() < 2 or "LayerNorm" in name else decay).append(p)
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=o.learning_rate)
        warmup = o.warmup_steps if o.HasField("warmup_steps") else max(1, self.ctx.total_steps // 10)
        self.warmup = warmup

        class _Schedule:
            # The options with the resolved warm-up: the schedule is a pure function of the step.
            def __getattr__(_, key: str) -> Any:
                return warmup if key == "warmup_steps" else getattr(o, key)

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: learning_rate(_Schedule(), s + 1, self.ctx.total_steps) / o.learning_rate)

    # ------------------------------------------------------------------ data

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:
            rng = np.random.default_rng([self.ctx.seed, epoch])
            self._perm, self._perm_epoch = self.train_questions[rng.permutation(len(self.train_questions))], epoch
        return self._perm

    def batch(self, step: int) -> tuple[list[str], list[str], list[int]]:
        """The (questions, answers, clusters) of step ``step``: a pure function of the seed and the step."""
        size = self.ctx.job.options.batch_size
        n = len(self.train_questions)
        rng = np.random.default_rng([self.ctx.seed, 1_000_003, step])
        questions, answers, clusters = [], [], []
        for position in range((step - 1) * size, step * size):
            epoch, offset = divmod(position, n)
            q = self.data.questions[int(self._permutation(epoch)[offset])]
            choices = self.cluster_answers[q["cluster"]]
            answers.append(self.data.answers[choices[int(rng.integers(len(choices)))]]["content"])
            questions.append(q["content"])
            clusters.append(q["cluster"])
        return questions, answers, clusters

    def _features(self, texts: list[str]) -> dict[str, torch.Tensor]:
        features = self.model.preprocess(texts)
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}

    def train_tokens(self) -> int:
        # Progress counts questions: one epoch is one pass over the training questions.
        return len(self.train_questions)

    # ------------------------------------------------------------------ training

    def train_step(self, step: int) -> StepResult:
        c, o = self.ctx.job.embedding_finetune, self.ctx.job.options
        scale = c.similarity_scale if c.HasField("similarity_scale") else 20.0
        self.model.train()
        questions, answers, clusters = self.batch(step)
        micro = o.batch_size // o.gradient_accumulation_steps
        total = 0.0
        for start in range(0, o.batch_size, micro):
            fq = self._features(questions[start:start + micro])
            fa = self._features(answers[start:start + micro])
            eq = self.model(fq)["sentence_embedding"]
            ea = self.model(fa)["sentence_embedding"]
            group = torch.tensor(clusters[start:start + micro], device=self.device)
            loss = mnr_loss(eq, ea, group, scale)
            (loss / o.gradient_accumulation_steps).backward()
            total += loss.item()
        grad_norm = None
        if o.max_grad_norm > 0:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), o.max_grad_norm))
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return StepResult(loss=total / o.gradient_accumulation_steps, learning_rate=lr, tokens=o.batch_size,
                          examples=o.batch_size, grad_norm=grad_norm)

    def evaluate(self, *, final: bool) -> EvalResult:
        metrics, count = evaluate_encoder(self.model, self.data, ("validation",))
        self.model.train()
        return EvalResult(metrics, count)

    def baseline(self) -> dict[str, float]:
        """The un-tuned base model on the same held-out questions, with the same sequence length."""
        base = load_sentence_model(self.base_path, str(self.device), self.ctx.job.embedding_finetune.max_seq_length)
        metrics, _ = evaluate_encoder(base, self.data, ("validation",))
        del base
        return metrics

    def export(self, folder: Path) -> dict[str, Any]:
        self.model.save(str(folder))
        c = self.ctx.job.embedding_finetune
        return {"family": FAMILY,
                "config": {"base_model": c.base_model or BASE_MODEL, "max_seq_length": self.model.max_seq_length,
                           "dimension": int(self.model.get_sentence_embedding_dimension() or 0),
                           "similarity": "cosine", "loss": cfg.EmbeddingFinetuneConfig.Loss.Name(c.loss)},
                "parameter_count": int(sum(p.numel() for p in self.model.parameters()))}

    def state_dict(self) -> dict[str, Any]:
        return {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
