"""Multi-head projection over frozen sentence embeddings: one routing head per Q-A cluster.

Each head is a cluster: the centroid of its training questions' embeddings and its answer embedding (the
normalized mean of its answers'). A question ``q`` is scored against head ``h`` by

    s_h(q) = (1 - w) * cos(q, centroid_h) + w * cos(P q, answer_h)

and routed with ``softmax(s / temperature)``, where ``P`` is an optional linear map from question space to
answer space fitted in closed form by ridge regression (identity when there is none). An answer's score is
its head's routing probability times its share within the head (a softmax of ``cos(P q, answer) /
temperature`` over the head's answers), so the scores of all answers sum to 1.

The model folder (what the registry records and the deployer serves) is ``model.safetensors`` (float32
``centroids``, ``head_answers``, ``answers``, int64 ``answer_heads`` and, with a projection,
``projection``), ``config.json`` (:class:`HeadsConfig` plus ``"architecture"``) and ``answers.json`` (the
heads' cluster names and each answer's entity, cluster and text, in row order). It needs numpy only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

ARCHITECTURE = "lathe-projection-heads"
PROJECTIONS = ("none", "ridge")


@dataclass(frozen=True)
class HeadsConfig:
    """The hyperparameters and shape of a projection-heads model."""

    dimension: int
    temperature: float = 0.05
    answer_weight: float = 0.5
    projection: str = "none"
    ridge_lambda: float = 1.0
    embedding_model: str = ""
    head_count: int = 0
    answer_count: int = 0

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if not 0 <= self.answer_weight <= 1:
            raise ValueError(f"answer_weight must be in [0, 1], got {self.answer_weight}")
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {self.projection!r}")


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _stored(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def _log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=axis, keepdims=True))


class ProjectionHeads:
    """A fitted projection-heads model: fit, score, search, save and load."""

    def __init__(self, config: HeadsConfig, centroids: np.ndarray, head_answers: np.ndarray, answers: np.ndarray,
                 answer_heads: np.ndarray, projection: np.ndarray | None, heads: list[str],
                 answer_info: list[dict[str, str]]) -> None:
        # Held as the float32 values that are stored, so a loaded model scores exactly like the fitted one.
        self.config = config
        self.centroids = _stored(centroids)
        self.head_answers = _stored(head_answers)
        self.answers = _stored(answers)
        self.answer_heads = np.asarray(answer_heads, dtype=np.int64)
        self.projection = None if projection is None else _stored(projection)
        self.heads = list(heads)
        self.answer_info = list(answer_info)

    # ------------------------------------------------------------------ fitting

    @classmethod
    def fit(cls, config: HeadsConfig, *, question_embeddings: np.ndarray, question_heads: np.ndarray,
            answer_embeddings: np.ndarray, answer_heads: np.ndarray, heads: list[str],
            answer_info: list[dict[str, str]]) -> ProjectionHeads:
        """Fit the heads (and the ridge projection) on training questions and every answer.

        ``question_heads[i]`` / ``answer_heads[j]`` index ``heads``. A head without training questions (a
        cluster held out whole) takes its answer embedding as its centroid.
        """
        q = _normalize(question_embeddings)
        a = _normalize(answer_embeddings)
        qh = np.asarray(question_heads, dtype=np.int64)
        ah = np.asarray(answer_heads, dtype=np.int64)
        count = len(heads)
        dim = a.shape[1]
        head_answers = np.zeros((count, dim))
        np.add.at(head_answers, ah, a)
        centroids = np.zeros((count, dim))
        if len(qh):
            np.add.at(centroids, qh, q)
        empty = np.linalg.norm(centroids, axis=1) == 0
        centroids[empty] = head_answers[empty]
        head_answers = _normalize(head_answers)
        projection = None
        if config.projection == "ridge":
            if not len(qh):
                raise ValueError("a ridge projection needs training questions")
            targets = head_answers[qh]
            gram = q.T @ q + config.ridge_lambda * np.eye(dim)
            projection = np.linalg.solve(gram, q.T @ targets)
        full = HeadsConfig(**{**asdict(config), "dimension": dim, "head_count": count, "answer_count": len(ah)})
        return cls(full, _normalize(centroids), head_answers, a, ah, projection, heads, answer_info)

    # ------------------------------------------------------------------ scoring

    def project(self, queries: np.ndarray) -> np.ndarray:
        """Normalized queries mapped to answer space (themselves without a projection)."""
        q = _normalize(queries)
        return q if self.projection is None else _normalize(q @ self.projection)

    def route(self, queries: np.ndarray) -> np.ndarray:
        """Log routing probabilities ``(queries, heads)``."""
        q = _normalize(queries)
        pq = self.project(q)
        w = self.config.answer_weight
        similarity = (1 - w) * (q @ self.centroids.T) + w * (pq @ self.head_answers.T)
        return _log_softmax(similarity / self.config.temperature)

    def log_scores(self, queries: np.ndarray, answers: np.ndarray | None = None,
                   answer_heads: np.ndarray | None = None) -> np.ndarray:
        """Log scores ``(queries, answers)``: log routing probability + log share within the head.

        By default the candidates are the model's own answers; other candidates (for example a newer
        snapshot's answers) pass their embeddings and head indices, ``-1`` for a cluster the model has no
        head for (such answers score ``-inf``: the model cannot route to them).
        """
        cand = self.answers if answers is None else _normalize(answers)
        heads = self.answer_heads if answer_heads is None else np.asarray(answer_heads, dtype=np.int64)
        routing = self.route(queries)
        sims = (self.project(queries) @ cand.T) / self.config.temperature
        out = np.full(sims.shape, -np.inf)
        for head in np.unique(heads[heads >= 0]):
            cols = np.flatnonzero(heads == head)
            out[:, cols] = routing[:, [head]] + _log_softmax(sims[:, cols])
        return out

    def search(self, query_embeddings: np.ndarray, k: int = 10) -> list[list[dict[str, Any]]]:
        """The top ``k`` answers of each query: ``{"index", "entity", "qa_cluster", "content", "score"}``.

        ``score`` is the answer's probability (routing probability times share within its head).
        """
        queries = np.atleast_2d(np.asarray(query_embeddings))
        if queries.shape[1] != self.config.dimension:
            raise ValueError(f"queries have dimension {queries.shape[1]}, the model {self.config.dimension}")
        scores = self.log_scores(queries)
        k = max(0, min(k, scores.shape[1]))
        results = []
        for row in scores:
            top = np.argsort(-row, kind="stable")[:k]
            results.append([{**self.answer_info[j], "index": int(j), "score": float(np.exp(row[j]))} for j in top])
        return results

    # ------------------------------------------------------------------ storage

    def parameter_count(self) -> int:
        """The number of stored float parameters."""
        n = self.centroids.size + self.head_answers.size + self.answers.size
        return int(n + (self.projection.size if self.projection is not None else 0))

    def save(self, folder: Path) -> list[Path]:
        """Write ``model.safetensors``, ``config.json`` and ``answers.json`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {"centroids": self.centroids.astype(np.float32), "head_answers": self.head_answers.astype(np.float32),
                   "answers": self.answers.astype(np.float32), "answer_heads": self.answer_heads}
        if self.projection is not None:
            tensors["projection"] = self.projection.astype(np.float32)
        save_file(tensors, str(folder / "model.safetensors"), metadata={"architecture": ARCHITECTURE})
        (folder / "config.json").write_text(json.dumps({"architecture": ARCHITECTURE, **asdict(self.config)},
                                                       indent=2, sort_keys=True))
        (folder / "answers.json").write_text(json.dumps({"heads": self.heads, "answers": self.answer_info}))
        return [folder / "model.safetensors", folder / "config.json", folder / "answers.json"]

    @classmethod
    def load(cls, folder: Path) -> ProjectionHeads:
        """Load a model folder written by :meth:`save`; ValueError if it is not one."""
        raw = json.loads((folder / "config.json").read_text())
        if raw.pop("architecture", None) != ARCHITECTURE:
            raise ValueError(f"{folder} is not a {ARCHITECTURE} model")
        config = HeadsConfig(**raw)
        tensors = load_file(str(folder / "model.safetensors"))
        names = json.loads((folder / "answers.json").read_text())
        return cls(config, tensors["centroids"], tensors["head_answers"], tensors["answers"], tensors["answer_heads"],
                   tensors.get("projection"), names["heads"], names["answers"])


def load_projection_heads(folder: Path) -> ProjectionHeads:
    """Load a projection-heads model folder."""
    return ProjectionHeads.load(folder)
