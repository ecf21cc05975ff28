"""The ``projection-heads`` recipe: one routing head per Q-A cluster over the snapshot's frozen embeddings.

Training is one closed-form pass (heads are centroids; the optional ridge projection is a linear solve), so
it takes seconds and the shared loop runs it as a single step. The baseline is the same frozen embeddings
ranked by plain cosine similarity: what the un-tuned embedding model retrieves on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lathe.ml.projection_heads import ARCHITECTURE, HeadsConfig, ProjectionHeads
from lathe.trainer.v1 import training_config_pb2 as cfg
from services.trainer.recipes.base import EvalResult, Recipe, StepResult
from services.trainer.recipes.qa_data import QaData
from services.trainer.recipes.qa_eval import BASE_MODEL, evaluate_vectors

PROJECTION_NAMES = {cfg.ProjectionHeadsConfig.PROJECTION_NONE: "none",
                    cfg.ProjectionHeadsConfig.PROJECTION_RIDGE: "ridge"}


def heads_config(c: cfg.ProjectionHeadsConfig, dimension: int) -> HeadsConfig:
    """The model hyperparameters of a resolved ``ProjectionHeadsConfig``."""
    return HeadsConfig(dimension=dimension, temperature=c.temperature, answer_weight=c.answer_weight,
                       projection=PROJECTION_NAMES[c.projection], ridge_lambda=c.ridge_lambda,
                       embedding_model=c.embedding_model or BASE_MODEL)


def evaluate_heads(model: ProjectionHeads, data: QaData, answers: Any, questions: Any,
                   splits: tuple[str, ...]) -> tuple[dict[str, float], int]:
    """Metrics of ``model`` on ``data``'s questions of ``splits``, ranking every answer of ``data``.

    Answers are matched to heads by cluster name; answers of clusters the model has no head for score
    ``-inf``.
    """
    from lathe.ml.retrieval import retrieval_metrics

    indices = data.question_indices(splits)
    if not len(indices):
        raise ValueError(f"the snapshot has no questions in the {'/'.join(splits)} split")
    head_of = {name: i for i, name in enumerate(model.heads)}
    answer_heads = [head_of.get(a["qa_cluster"], -1) for a in data.answers]
    scores = model.log_scores(questions[indices], answers, answer_heads)
    return retrieval_metrics(scores, data.question_clusters(indices), data.answer_clusters()), len(indices)


class ProjectionHeadsRecipe(Recipe):
    """Fits the heads in one pass; evaluates them beside plain cosine retrieval on the same vectors."""

    name = "projection-heads"
    iterative = False

    def prepare(self) -> None:
        c = self.ctx.job.projection_heads
        self.data = QaData.load(self.ctx.data_dir)
        if len(self.data.clusters) < 2:
            raise ValueError("the snapshot needs at least two Q-A clusters")
        self.answer_vectors, self.question_vectors = self.data.embeddings(c.embedding_model or BASE_MODEL)
        self.train_questions = self.data.question_indices(("train",))

    def build(self) -> None:
        self.config = heads_config(self.ctx.job.projection_heads, int(self.answer_vectors.shape[1]))
        self.model: ProjectionHeads | None = None

    def train_tokens(self) -> int:
        return len(self.train_questions)

    def train_step(self, step: int) -> StepResult:
        idx = self.train_questions
        self.model = ProjectionHeads.fit(
            self.config, question_embeddings=self.question_vectors[idx],
            question_heads=self.data.question_clusters(idx), answer_embeddings=self.answer_vectors,
            answer_heads=self.data.answer_clusters(), heads=self.data.clusters,
            answer_info=[{"entity": a["entity"], "qa_cluster": a["qa_cluster"], "content": a["content"]}
                         for a in self.data.answers])
        # The "loss" of a closed-form fit: 1 - MRR on the training questions (how well the heads route them).
        train, _ = evaluate_heads(self.model, self.data, self.answer_vectors, self.question_vectors, ("train",)) \
            if len(idx) else ({"mrr": 0.0}, 0)
        return StepResult(loss=1.0 - train["mrr"], learning_rate=0.0, tokens=len(idx), examples=len(idx))

    def evaluate(self, *, final: bool) -> EvalResult:
        assert self.model is not None
        metrics, count = evaluate_heads(self.model, self.data, self.answer_vectors, self.question_vectors,
                                        ("validation",))
        return EvalResult(metrics, count)

    def baseline(self) -> dict[str, float]:
        metrics, _ = evaluate_vectors(self.answer_vectors, self.question_vectors, self.data, ("validation",))
        return metrics

    def export(self, folder: Path) -> dict[str, Any]:
        assert self.model is not None
        self.model.save(folder)
        return {"family": ARCHITECTURE, "config": dict(self.model.config.__dict__),
                "parameter_count": self.model.parameter_count()}
