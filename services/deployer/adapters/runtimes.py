"""Loaded models and what the inference endpoint runs on them: causal-lm generation and embeddings.

A runtime is loaded from a verified artifact folder, probed by the health check, and serves requests
through its :class:`DynamicBatcher`. Loading and inference are blocking torch calls; they run on the
runtime's own worker thread, never on the event loop.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from services.deployer.adapters.batching import DynamicBatcher

DEFAULT_PROBE = "Lathe health check: is this model able to answer?"
MAX_NEW_TOKENS = 1024


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a served model, as ModelMetadata reports it (-1 = any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class GenerateItem:
    """One generation request."""

    prompts: tuple[str, ...]
    max_tokens: int = 32
    temperature: float = 1.0
    seed: int | None = None


class ProbeFailed(Exception):
    """The health check inference ran but its result is not usable (non-finite values, wrong shape…)."""


def detect_kind(folder: Path) -> str:
    """``causal-lm`` or ``embedding`` from the folder's own files; ValueError when it is neither."""
    if (folder / "modules.json").is_file():
        return "embedding"
    config = folder / "config.json"
    if config.is_file() and json.loads(config.read_text()).get("architecture") == "lathe-gpt":
        return "causal-lm"
    raise ValueError(f"{folder.name} is neither a sentence-transformers folder (modules.json) nor a lathe-gpt "
                     "folder (config.json with architecture lathe-gpt)")


@dataclass
class Runtime:
    """A loaded model with its batcher."""

    kind: str
    device: str
    batcher: DynamicBatcher = field(repr=False)
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    model: Any = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        """Release the worker thread and drop the model."""
        await self.batcher.close()
        self.model = None


def _embed_batch(model: Any, items: list[tuple[str, ...]]) -> list[np.ndarray]:
    texts = [t for item in items for t in item]
    vectors = model.encode(texts, batch_size=max(1, len(texts)), convert_to_numpy=True, show_progress_bar=False)
    vectors = np.asarray(vectors, dtype=np.float32)
    out, start = [], 0
    for item in items:
        out.append(vectors[start:start + len(item)])
        start += len(item)
    return out


def _generate_batch(model: Any, tokenizer: Any, items: list[GenerateItem]) -> list[list[str]]:
    import torch

    results = []
    for item in items:
        texts = []
        for prompt in item.prompts:
            ids = tokenizer.encode(prompt) or [0]
            device = next(model.parameters()).device
            idx = torch.tensor([ids[-model.config.block_size:]], dtype=torch.long, device=device)
            generator = None
            if item.seed is not None:
                generator = torch.Generator(device=idx.device).manual_seed(item.seed)
            out = model.generate(idx, item.max_tokens, temperature=item.temperature, generator=generator)
            texts.append(tokenizer.decode(out[0, idx.size(1):].tolist()))
        results.append(texts)
    return results


def load_runtime(folder: Path, kind: str, *, device: str, max_batch_size: int, max_queue_delay: float,
                 name: str) -> Runtime:
    """Load the model folder as a runtime of ``kind`` on ``device`` (blocking)."""
    found = detect_kind(folder)
    if found != kind:
        raise ValueError(f"the registry says {kind} but the artifact folder holds a {found} model")
    if kind == "embedding":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        dim = (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
        batcher: DynamicBatcher = DynamicBatcher(lambda items: _embed_batch(model, items), name=name,
                                                 max_batch_size=max_batch_size, max_queue_delay=max_queue_delay)
        return Runtime("embedding", device, batcher, model=model, extra={"dim": dim},
                       inputs=(TensorSpec("texts", "BYTES", (-1,)),),
                       outputs=(TensorSpec("embeddings", "FP32", (-1, dim)),))
    from lathe.ml.causal_lm import load_causal_lm

    gpt, tokenizer = load_causal_lm(folder, device=device)
    batcher = DynamicBatcher(lambda items: _generate_batch(gpt, tokenizer, items), name=name,
                             max_batch_size=max_batch_size, max_queue_delay=max_queue_delay)
    return Runtime("causal-lm", device, batcher, model=gpt, extra={"tokenizer": tokenizer},
                   inputs=(TensorSpec("prompt", "BYTES", (-1,)),),
                   outputs=(TensorSpec("text_output", "BYTES", (-1,)),))


def probe_blocking(runtime: Runtime, probe_text: str) -> str:
    """Run a real inference on ``probe_text`` and check the result is usable; returns a summary.

    Raises :class:`ProbeFailed` when the model answers with something no client could use (non-finite
    logits or vectors, a zero vector, the wrong dimension).
    """
    import torch

    text = probe_text or DEFAULT_PROBE
    if runtime.kind == "embedding":
        vectors = _embed_batch(runtime.model, [(text,)])[0]
        if vectors.shape != (1, runtime.extra["dim"]):
            raise ProbeFailed(f"the probe embedding has shape {vectors.shape}, expected (1, {runtime.extra['dim']})")
        if not np.isfinite(vectors).all():
            raise ProbeFailed("the probe embedding has non-finite values (NaN or infinity)")
        norm = float(np.linalg.norm(vectors))
        if norm == 0.0:
            raise ProbeFailed("the probe embedding is the zero vector")
        return f"embedded the probe: dim {runtime.extra['dim']}, norm {norm:.3f}"
    model, tokenizer = runtime.model, runtime.extra["tokenizer"]
    ids = tokenizer.encode(text) or [0]
    idx = torch.tensor([ids[-model.config.block_size:]], dtype=torch.long, device=next(model.parameters()).device)
    with torch.no_grad():
        logits, _ = model(idx)
    if not torch.isfinite(logits).all():
        bad = int((~torch.isfinite(logits)).sum())
        raise ProbeFailed(f"the model's logits on the probe have {bad} non-finite values (NaN or infinity)")
    generated = _generate_batch(model, tokenizer, [GenerateItem((text,), max_tokens=4, temperature=0.0)])[0][0]
    return f"generated {len(generated)} characters from the probe"
