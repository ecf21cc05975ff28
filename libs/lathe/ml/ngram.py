"""An n-gram (Markov) language model with interpolated Kneser-Ney or add-k smoothing, over token ids.

The baseline every language model is shown beside: fitted in seconds with numpy on the same tokens and
split, it gives the cross-entropy (nats per token) a neural model has to beat.

The artifact of an ngram-lm version is a folder: ``ngram.npz`` (the counts, as sorted key arrays),
``config.json`` (:class:`NgramConfig` plus ``"architecture": "lathe-ngram"``) and ``tokenizer.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lathe.ml.tokenizers import Tokenizer, tokenizer_from_json

ARCHITECTURE = "lathe-ngram"
SMOOTHINGS = ("kneser-ney", "add-k")


@dataclass(frozen=True)
class NgramConfig:
    """The shape of the model; stored with the counts."""

    vocab_size: int
    order: int = 3
    smoothing: str = "kneser-ney"
    add_k: float = 1.0
    discount: float = 0.75

    def __post_init__(self) -> None:
        if self.order < 1:
            raise ValueError("order must be at least 1")
        if self.smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {SMOOTHINGS}")
        if max_order(self.vocab_size) < self.order:
            raise ValueError(f"order {self.order} is too large for a vocabulary of {self.vocab_size} "
                             f"(at most {max_order(self.vocab_size)})")


def max_order(vocab_size: int) -> int:
    """The largest order whose n-gram keys fit a 62-bit integer for this vocabulary."""
    return max(1, int(62 // math.log2(max(vocab_size, 2))))


def _keys(tokens: np.ndarray, length: int, vocab: int) -> np.ndarray:
    """The integer key of every window of ``length`` tokens (most recent token least significant)."""
    count = len(tokens) - length + 1
    keys = np.zeros(max(count, 0), dtype=np.int64)
    for offset in range(length):
        keys = keys * vocab + tokens[offset:offset + count].astype(np.int64)
    return keys


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``values`` at ``queries`` in ``sorted_keys``; 0 where absent."""
    if len(sorted_keys) == 0:
        return np.zeros(len(queries), dtype=np.float64)
    index = np.clip(np.searchsorted(sorted_keys, queries), 0, len(sorted_keys) - 1)
    found = sorted_keys[index] == queries
    return np.where(found, values[index], 0).astype(np.float64)


class NgramModel:
    """Counts of every order up to ``config.order``, and the smoothed probabilities they give."""

    def __init__(self, config: NgramConfig, tables: dict[str, np.ndarray]) -> None:
        self.config = config
        self.tables = tables

    @classmethod
    def fit(cls, config: NgramConfig, tokens: np.ndarray) -> NgramModel:
        """Count the n-grams of ``tokens`` (a 1-D integer array)."""
        vocab, tables = config.vocab_size, {}
        tokens = np.asarray(tokens)
        for n in range(1, config.order + 1):
            keys, counts = np.unique(_keys(tokens, n, vocab), return_counts=True)
            tables[f"k{n}"], tables[f"c{n}"] = keys, counts.astype(np.int64)
            # Context statistics of order n (contexts of length n-1): total count and distinct followers.
            contexts = keys // vocab
            ctx_keys, first = np.unique(contexts, return_index=True)
            totals = np.add.reduceat(counts, first) if len(first) else np.zeros(0, dtype=np.int64)
            followers = np.diff(np.append(first, len(contexts)))
            tables[f"h{n}"], tables[f"ht{n}"], tables[f"hf{n}"] = ctx_keys, totals, followers
            if n >= 2:
                # Continuation counts for the lower order: distinct left extensions of each (n-1)-gram.
                suffix = keys % (vocab ** (n - 1))
                cont_keys, cont_counts = np.unique(suffix, return_counts=True)
                tables[f"ck{n - 1}"], tables[f"cc{n - 1}"] = cont_keys, cont_counts
                cont_ctx = cont_keys // vocab
                cctx, cfirst = np.unique(cont_ctx, return_index=True)
                ctotals = np.add.reduceat(cont_counts, cfirst) if len(cfirst) else np.zeros(0, dtype=np.int64)
                tables[f"ch{n - 1}"], tables[f"cht{n - 1}"] = cctx, ctotals
                tables[f"chf{n - 1}"] = np.diff(np.append(cfirst, len(cont_ctx)))
        return cls(config, tables)

    def log_probs(self, tokens: np.ndarray) -> np.ndarray:
        """Natural-log probability of each token from position ``order - 1`` on, given its context."""
        cfg, vocab = self.config, self.config.vocab_size
        tokens = np.asarray(tokens).astype(np.int64)
        start = cfg.order - 1
        targets = tokens[start:]
        if cfg.smoothing == "add-k":
            grams = _keys(tokens, cfg.order, vocab)
            count = _lookup(self.tables[f"k{cfg.order}"], self.tables[f"c{cfg.order}"], grams)
            ctx_total = _lookup(self.tables[f"h{cfg.order}"], self.tables[f"ht{cfg.order}"], grams // vocab)
            return np.log((count + cfg.add_k) / (ctx_total + cfg.add_k * vocab))
        d = cfg.discount
        prob = np.full(len(targets), 1.0 / vocab)
        for n in range(1, cfg.order + 1):
            # Windows of length n ending at each target.
            grams = _keys(tokens[start - (n - 1):], n, vocab)
            highest = n == cfg.order
            prefix = "" if highest else "c"
            keys_name = f"k{n}" if highest else f"ck{n}"
            counts_name = f"c{n}" if highest else f"cc{n}"
            if not highest and f"ck{n}" not in self.tables:
                continue
            count = _lookup(self.tables[keys_name], self.tables[counts_name], grams)
            contexts = grams // vocab
            total = _lookup(self.tables[f"{prefix}h{n}"], self.tables[f"{prefix}ht{n}"], contexts)
            followers = _lookup(self.tables[f"{prefix}h{n}"], self.tables[f"{prefix}hf{n}"], contexts)
            seen = total > 0
            safe = np.where(seen, total, 1.0)
            mixed = np.maximum(count - d, 0.0) / safe + d * followers / safe * prob
            prob = np.where(seen, mixed, prob)
        return np.log(np.maximum(prob, 1e-12))

    def next_log_probs(self, context: list[int] | np.ndarray) -> np.ndarray:
        """Natural-log probability of every token id after ``context`` (shape ``(vocab_size,)``).

        The same smoothing as :meth:`log_probs` over the last ``order - 1`` tokens of ``context``; a shorter
        context (the start of a prompt) uses the orders it has, as continuation counts below the top order.
        """
        cfg, vocab = self.config, self.config.vocab_size
        ctx = [int(t) for t in context][-(cfg.order - 1):] if cfg.order > 1 else []
        top = len(ctx) + 1

        def key(tokens: list[int]) -> np.ndarray:
            value = 0
            for token in tokens:
                value = value * vocab + token
            return np.array([value], dtype=np.int64)

        candidates = np.arange(vocab, dtype=np.int64)
        if cfg.smoothing == "add-k":
            context_key = key(ctx)
            count = _lookup(self.tables[f"k{top}"], self.tables[f"c{top}"], context_key * vocab + candidates)
            total = _lookup(self.tables[f"h{top}"], self.tables[f"ht{top}"], context_key)
            return np.log((count + cfg.add_k) / (total + cfg.add_k * vocab))
        d = cfg.discount
        prob = np.full(vocab, 1.0 / vocab)
        for n in range(1, top + 1):
            highest = n == cfg.order
            if not highest and f"ck{n}" not in self.tables:
                continue
            prefix = "" if highest else "c"
            context_key = key(ctx[len(ctx) - (n - 1):])
            count = _lookup(self.tables[f"k{n}" if highest else f"ck{n}"],
                            self.tables[f"c{n}" if highest else f"cc{n}"], context_key * vocab + candidates)
            total = _lookup(self.tables[f"{prefix}h{n}"], self.tables[f"{prefix}ht{n}"], context_key)[0]
            followers = _lookup(self.tables[f"{prefix}h{n}"], self.tables[f"{prefix}hf{n}"], context_key)[0]
            if total > 0:
                prob = np.maximum(count - d, 0.0) / total + d * followers / total * prob
        return np.log(np.maximum(prob, 1e-12))

    def generate(self, context: list[int], max_tokens: int, *, temperature: float = 1.0,
                 seed: int | None = None) -> list[int]:
        """Sample ``max_tokens`` token ids after ``context`` (greedy at temperature 0; reproducible for a seed)."""
        rng = np.random.default_rng(seed)
        history, out = [int(t) for t in context], []
        for _ in range(max_tokens):
            logits = self.next_log_probs(history)
            if temperature <= 0:
                token = int(np.argmax(logits))
            else:
                scaled = logits / temperature
                p = np.exp(scaled - scaled.max())
                token = int(rng.choice(len(p), p=p / p.sum()))
            out.append(token)
            history.append(token)
        return out

    def cross_entropy(self, tokens: np.ndarray) -> float:
        """Mean negative log-likelihood in nats per token (the loss a language model reports)."""
        return float(-self.log_probs(tokens).mean())


def save_ngram(folder: Path, model: NgramModel, tokenizer: Tokenizer) -> list[Path]:
    """Write the model folder (counts, config, tokenizer); returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "ngram.npz", "wb") as handle:
        np.savez(handle, **model.tables)
    (folder / "config.json").write_text(json.dumps({"architecture": ARCHITECTURE, **asdict(model.config)},
                                                   indent=2, sort_keys=True))
    (folder / "tokenizer.json").write_text(tokenizer.to_json())
    return [folder / "ngram.npz", folder / "config.json", folder / "tokenizer.json"]


def load_ngram(folder: Path) -> tuple[NgramModel, Tokenizer]:
    """Load a model folder written by :func:`save_ngram`."""
    data = json.loads((folder / "config.json").read_text())
    if data.pop("architecture", None) != ARCHITECTURE:
        raise ValueError(f"{folder} does not hold a {ARCHITECTURE} model")
    with np.load(folder / "ngram.npz") as arrays:
        tables = {name: arrays[name] for name in arrays.files}
    return NgramModel(NgramConfig(**data), tables), tokenizer_from_json((folder / "tokenizer.json").read_text())
