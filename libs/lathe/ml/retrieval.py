"""Retrieval metrics as pure functions: recall@k and MRR of a question → answer score matrix.

Every question ranks every candidate answer; a hit is any answer of the question's own cluster (the FAQ
protocol: a cluster may have several correct answers). Ties are broken in the question's favour only for
answers of its own cluster: the rank of a question is 1 + the number of wrong answers scoring strictly
higher than its best correct answer, so the result does not depend on the order of the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_KS = (1, 5, 10)


def first_relevant_ranks(scores: np.ndarray, question_clusters: Sequence[int] | np.ndarray,
                         answer_clusters: Sequence[int] | np.ndarray) -> np.ndarray:
    """The 1-based rank of each question's best correct answer (``len(answers) + 1`` when it has none).

    ``scores`` is ``(questions, answers)``; ``question_clusters[i]`` and ``answer_clusters[j]`` are cluster
    indices, and answer ``j`` is correct for question ``i`` when they are equal.
    """
    scores = np.asarray(scores, dtype=np.float64)
    q = np.asarray(question_clusters)
    a = np.asarray(answer_clusters)
    if scores.shape != (len(q), len(a)):
        raise ValueError(f"scores has shape {scores.shape}, expected ({len(q)}, {len(a)})")
    relevant = q[:, None] == a[None, :]
    best = np.where(relevant, scores, -np.inf).max(axis=1, initial=-np.inf)
    wrong_above = ((scores > best[:, None]) & ~relevant).sum(axis=1)
    ranks = wrong_above + 1
    ranks[~relevant.any(axis=1)] = len(a) + 1
    return ranks


def metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """``recall@k`` for each k and ``mrr`` from the ranks of the questions' best correct answers."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("no questions to evaluate")
    out = {f"recall@{k}": float(np.mean(ranks <= k)) for k in ks}
    out["mrr"] = float(np.mean(1.0 / ranks))
    return out


def retrieval_metrics(scores: np.ndarray, question_clusters: Sequence[int] | np.ndarray,
                      answer_clusters: Sequence[int] | np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """recall@k (a correct answer in the top k) and MRR over the questions of a score matrix."""
    return metrics_from_ranks(first_relevant_ranks(scores, question_clusters, answer_clusters), ks)


def cosine_scores(questions: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """Cosine similarities ``(questions, answers)`` in float64 (rows are normalized here)."""
    q = np.asarray(questions, dtype=np.float64)
    a = np.asarray(answers, dtype=np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    return q @ a.T
