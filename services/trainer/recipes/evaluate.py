"""Evaluate a registered model folder on a prepared snapshot: ``python -m services.trainer.recipes.evaluate spec``.

Run by the trainer service in its own process (torch and the models stay out of the service, and a crash
cannot take it down), with the same torch thread count as a training worker so the numbers match the
training run's. Prints one JSON object on stdout: ``metrics``, ``baseline_metrics``, ``baseline``,
``example_count``, or ``error`` with ``kind`` (``invalid`` for data that do not fit the model).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from services.trainer.recipes.qa_data import DATASET_SPLITS, QaData

TEXT_FILES = {"validation": "validation.txt", "train": "train.txt"}
# The n-gram baseline of a causal-lm evaluation, as in training (order 2, bounded data).
BASELINE_ORDER = 2
MAX_TOKENS = 4_000_000


def _qa(spec: dict[str, Any], folder: Path, data_dir: Path, splits: tuple[str, ...]) -> dict[str, Any]:
    data = QaData.load(data_dir)
    if len(data.clusters) < 2:
        raise ValueError("the snapshot has fewer than two Q-A clusters")
    if spec["recipe"] == "embedding-finetune":
        import torch

        from services.trainer.recipes.qa_eval import (
            BASE_MODEL_LABEL,
            base_model_path,
            evaluate_encoder,
            load_sentence_model,
        )

        torch.manual_seed(0)
        model = load_sentence_model(folder, "cpu")
        metrics, count = evaluate_encoder(model, data, splits)
        export = json.loads((folder / "lathe-export.json").read_text()) if (folder / "lathe-export.json").exists() \
            else {}
        base_name = export.get("architecture", {}).get("config", {}).get("base_model", "")
        base = load_sentence_model(base_model_path(base_name or "embeddingModels/all-minilm-l6-v2"), "cpu",
                                   model.max_seq_length)
        baseline, _ = evaluate_encoder(base, data, splits)
        return {"metrics": metrics, "baseline_metrics": baseline, "baseline": BASE_MODEL_LABEL,
                "example_count": count}
    from lathe.ml.projection_heads import ProjectionHeads
    from services.trainer.recipes.projection_heads import evaluate_heads
    from services.trainer.recipes.qa_eval import evaluate_vectors

    model = ProjectionHeads.load(folder)
    answers, questions = data.embeddings(model.config.embedding_model)
    if answers.shape[1] != model.config.dimension:
        raise ValueError(f"the snapshot's embeddings have dimension {answers.shape[1]}, the model "
                         f"{model.config.dimension}")
    metrics, count = evaluate_heads(model, data, answers, questions, splits)
    baseline, _ = evaluate_vectors(answers, questions, data, splits)
    return {"metrics": metrics, "baseline_metrics": baseline, "example_count": count,
            "baseline": f"{model.config.embedding_model.rsplit('/', 1)[-1]} cosine similarity (frozen embeddings)"}


def _language_model(spec: dict[str, Any], folder: Path, data_dir: Path, splits: tuple[str, ...]) -> dict[str, Any]:
    import torch

    from lathe.ml.ngram import NgramConfig, NgramModel
    from services.trainer.recipes.base import token_file

    texts = [data_dir / TEXT_FILES[s] for s in splits if s in TEXT_FILES]
    if not texts or not any(t.exists() and t.stat().st_size for t in texts):
        raise ValueError(f"the snapshot has no text in the {'/'.join(splits)} split")
    text = texts[0] if len(texts) == 1 else _joined(texts, data_dir)
    if spec["recipe"] == "ngram-lm":
        from lathe.ml.ngram import load_ngram

        model, tokenizer = load_ngram(folder)
        tokens = token_file(tokenizer, text, data_dir)
        loss = model.cross_entropy(tokens.read(0, min(tokens.length, MAX_TOKENS)))
        return {"metrics": {"loss": loss, "perplexity": math.exp(min(loss, 50))}, "baseline_metrics": {},
                "baseline": "", "example_count": tokens.length}
    from lathe.ml.causal_lm import load_causal_lm

    gpt, tokenizer = load_causal_lm(folder, "cpu")
    gpt.eval()
    tokens = token_file(tokenizer, text, data_dir)
    block = gpt.config.block_size
    usable = min(tokens.length - 1, MAX_TOKENS)
    starts = np.arange(0, max(usable - block, 0), block)
    if not len(starts):
        raise ValueError(f"the split has {tokens.length} tokens, fewer than the model's block size {block}")
    losses, weights = [], []
    with torch.no_grad():
        for i in range(0, len(starts), 32):
            windows = torch.from_numpy(tokens.windows(starts[i:i + 32], block + 1))
            _, loss = gpt(windows[:, :-1].contiguous(), windows[:, 1:].contiguous())
            losses.append(loss.item())
            weights.append(len(windows))
    mean = float(np.average(losses, weights=weights))
    train = token_file(tokenizer, data_dir / "train.txt", data_dir)
    baseline: dict[str, float] = {}
    if train.length > 1:
        ngram = NgramModel.fit(NgramConfig(tokenizer.vocab_size, BASELINE_ORDER), train.read(0, min(train.length,
                                                                                                     MAX_TOKENS)))
        b = ngram.cross_entropy(tokens.read(0, min(tokens.length, MAX_TOKENS)))
        baseline = {"loss": b, "perplexity": math.exp(min(b, 50))}
    return {"metrics": {"loss": mean, "perplexity": math.exp(min(mean, 50))}, "baseline_metrics": baseline,
            "baseline": f"ngram-lm order {BASELINE_ORDER}" if baseline else "", "example_count": int(sum(weights))}


def _joined(texts: list[Path], data_dir: Path) -> Path:
    target = data_dir / ("eval-" + "-".join(t.stem for t in texts) + ".txt")
    if not target.exists():
        target.write_text("\n\n".join(t.read_text(encoding="utf-8") for t in texts if t.exists()), encoding="utf-8")
    return target


def evaluate(spec: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the spec's model folder on its data folder; ValueError when the data do not fit the model."""
    folder, data_dir = Path(spec["model_folder"]), Path(spec["data_dir"])
    splits = DATASET_SPLITS[int(spec["split"])]
    if spec["recipe"] in ("embedding-finetune", "projection-heads"):
        return _qa(spec, folder, data_dir, splits)
    if spec["recipe"] in ("causal-lm", "ngram-lm"):
        return _language_model(spec, folder, data_dir, splits)
    raise ValueError(f"recipe {spec['recipe']!r} cannot be evaluated")


def main(argv: list[str]) -> int:
    """Read the spec, evaluate, print the result (or the error) as one JSON line."""
    spec = json.loads(Path(argv[1]).read_text())
    import torch

    torch.set_num_threads(int(spec.get("threads", 1)))
    try:
        result = evaluate(spec)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(json.dumps({"error": f"{exc}", "kind": "invalid"}))
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
