"""A snapshot's Q-A clusters as the Q-A recipes read them: fetched once from the corpus, cached beside the text.

``qa.json`` holds the clusters, answers and questions with their split (in the corpus's stream order);
``qa-embeddings-<model>.npz`` holds, for every embedding model of the snapshot, the answers' and the
questions' vectors in the same order. Fetching is async (the trainer service); loading is plain numpy (the
worker and the evaluation process). Nothing here imports torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lathe.corpus.v1 import common_pb2, corpus_service_pb2, snapshot_pb2
from lathe.trainer.v1 import training_config_pb2 as cfg

QA_FILE = "qa.json"
QA_RECIPES = (cfg.RECIPE_EMBEDDING_FINETUNE, cfg.RECIPE_PROJECTION_HEADS)
SPLITS = {snapshot_pb2.SPLIT_TRAIN: "train", snapshot_pb2.SPLIT_VALIDATION: "validation",
          snapshot_pb2.SPLIT_TEST: "test", snapshot_pb2.SPLIT_UNSPECIFIED: "train"}
DATASET_SPLITS = {cfg.DATASET_SPLIT_UNSPECIFIED: ("validation",), cfg.DATASET_SPLIT_VALIDATION: ("validation",),
                  cfg.DATASET_SPLIT_TRAIN: ("train",), cfg.DATASET_SPLIT_TEST: ("test",),
                  cfg.DATASET_SPLIT_ALL: ("train", "validation", "test")}


def model_id(embedding_model: str) -> str:
    """``embeddingModels/all-minilm-l6-v2`` → ``all-minilm-l6-v2``."""
    return embedding_model.rsplit("/", 1)[-1]


def embeddings_file(folder: Path, embedding_model: str) -> Path:
    """Where the snapshot's vectors by ``embedding_model`` are cached."""
    return folder / f"qa-embeddings-{model_id(embedding_model)}.npz"


async def fetch(corpus: Any, snapshot: str, folder: Path, embedding_models: list[str]) -> None:
    """Write ``qa.json`` (and one ``.npz`` per embedding model) of ``snapshot`` into ``folder``."""
    types = [common_pb2.ENTITY_TYPE_ANSWER, common_pb2.ENTITY_TYPE_QUESTION]
    clusters: dict[str, int] = {}
    rows: dict[str, list[dict[str, Any]]] = {"answers": [], "questions": []}
    vectors: dict[str, dict[str, list[list[float]]]] = {m: {"answers": [], "questions": []} for m in embedding_models}
    async for response in corpus.ReadSnapshot(corpus_service_pb2.ReadSnapshotRequest(
            name=snapshot, entity_types=types, embedding_models=embedding_models)):
        for member in response.members:
            kind = member.WhichOneof("payload")
            if kind not in ("answer", "question"):
                continue
            payload = getattr(member, kind)
            clusters.setdefault(payload.qa_cluster, len(clusters))
            group = "answers" if kind == "answer" else "questions"
            rows[group].append({"entity": member.entity, "qa_cluster": payload.qa_cluster,
                                "content": payload.content, "split": SPLITS.get(member.split, "train")})
            by_model = {e.model: e.values for e in member.embeddings}
            for name in embedding_models:
                vectors[name][group].append(list(by_model.get(name, ())))
    (folder / QA_FILE).write_text(json.dumps({"clusters": list(clusters), **rows}))
    for name, groups in vectors.items():
        arrays = {g: np.asarray(v, dtype=np.float32) for g, v in groups.items()}
        np.savez(embeddings_file(folder, name), **arrays)


@dataclass
class QaData:
    """A snapshot's Q-A data: clusters, answers and questions (each with its cluster index and split)."""

    clusters: list[str]
    answers: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    folder: Path

    @classmethod
    def load(cls, folder: Path) -> QaData:
        """Read ``qa.json`` from ``folder``."""
        raw = json.loads((folder / QA_FILE).read_text())
        index = {name: i for i, name in enumerate(raw["clusters"])}
        for row in raw["answers"] + raw["questions"]:
            row["cluster"] = index[row["qa_cluster"]]
        return cls(raw["clusters"], raw["answers"], raw["questions"], folder)

    def question_indices(self, splits: tuple[str, ...]) -> np.ndarray:
        """Indices of the questions in ``splits``."""
        return np.asarray([i for i, q in enumerate(self.questions) if q["split"] in splits], dtype=np.int64)

    def answer_clusters(self) -> np.ndarray:
        """The cluster index of every answer."""
        return np.asarray([a["cluster"] for a in self.answers], dtype=np.int64)

    def question_clusters(self, indices: np.ndarray) -> np.ndarray:
        """The cluster index of the questions at ``indices``."""
        return np.asarray([self.questions[i]["cluster"] for i in indices], dtype=np.int64)

    def embeddings(self, embedding_model: str) -> tuple[np.ndarray, np.ndarray]:
        """The (answers, questions) vectors by ``embedding_model``; ValueError if the snapshot has none."""
        path = embeddings_file(self.folder, embedding_model)
        if not path.exists():
            raise ValueError(f"the snapshot has no embeddings by {embedding_model}")
        with np.load(path) as data:
            answers, questions = data["answers"], data["questions"]
        if answers.ndim != 2 or len(answers) != len(self.answers) or len(questions) != len(self.questions) or \
                (len(questions) and questions.ndim != 2):
            raise ValueError(f"the snapshot's embeddings by {embedding_model} are incomplete")
        return answers, questions


def training_questions(folder: Path) -> int:
    """The number of training questions of a prepared snapshot (the Q-A recipes' epoch size)."""
    path = folder / QA_FILE
    if not path.exists():
        return 0
    return sum(1 for q in json.loads(path.read_text())["questions"] if q["split"] == "train")
