"""Export targets: a Hugging Face directory, an ONNX graph, an Ollama Modelfile layout; and their checks.

Each export writes into a fresh folder and is then checked by loading what was written with the runtime
its users will load it with (sentence-transformers, onnxruntime, transformers) and comparing its output
on the probe input with the PyTorch model's.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from services.deployer.adapters.runtimes import DEFAULT_PROBE, ProbeFailed

_ST_FILES_SKIP = {".gitattributes"}


def _st(folder: Path):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def _fresh(out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out


def export_huggingface(source: Path, kind: str, out: Path) -> Path:
    """A directory ``SentenceTransformer(out)`` loads (embedding), or safetensors + config + tokenizer."""
    _fresh(out)
    if kind == "embedding":
        _st(source).save(str(out))
    else:
        for name in ("model.safetensors", "config.json", "tokenizer.json"):
            shutil.copy2(source / name, out / name)
        (out / "README.md").write_text(
            "---\nlibrary_name: lathe\ntags: [lathe-gpt, causal-lm]\n---\n\n"
            "A lathe-gpt causal language model. Load it with `lathe.ml.causal_lm.load_causal_lm(path)`.\n")
    return out


def check_huggingface(source: Path, kind: str, out: Path, probe: str, tolerance: float = 1e-5) -> str:
    """Load the export the way its users would and compare its probe output with the source model's."""
    text = probe or DEFAULT_PROBE
    if kind == "embedding":
        got = _st(out).encode([text], convert_to_numpy=True)
        want = _st(source).encode([text], convert_to_numpy=True)
    else:
        import torch

        from lathe.ml.causal_lm import load_causal_lm

        exported, tokenizer = load_causal_lm(out)
        original, _ = load_causal_lm(source)
        idx = torch.tensor([(tokenizer.encode(text) or [0])[-exported.config.block_size:]])
        with torch.no_grad():
            got, want = exported(idx)[0].numpy(), original(idx)[0].numpy()
    diff = float(np.abs(got - want).max())
    if not np.isfinite(got).all() or diff > tolerance:
        raise ProbeFailed(f"the exported model's output differs from the source by {diff:.2e} (> {tolerance:g})")
    return f"the export loads and matches the source (max abs diff {diff:.2e})"


class _Embedder:
    """Transformer + the folder's pooling (+ normalisation) as one traceable module."""

    @staticmethod
    def build(model):
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                features = {"input_ids": input_ids, "attention_mask": attention_mask,
                            "token_type_ids": token_type_ids}
                for module in self.model:
                    features = module(features)
                return features["sentence_embedding"]

        return Wrapped().eval()


def _onnx_inputs(kind: str, source: Path, text: str):
    import torch

    if kind == "embedding":
        model = _st(source)
        encoded = model.tokenize([text, text + " (second)"])
        names = ["input_ids", "attention_mask", "token_type_ids"]
        tensors = tuple(encoded.get(n, torch.zeros_like(encoded["input_ids"])) for n in names)
        return _Embedder.build(model), tensors, names, ["sentence_embedding"]
    from lathe.ml.causal_lm import load_causal_lm

    gpt, tokenizer = load_causal_lm(source)

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gpt = gpt

        def forward(self, input_ids):
            return self.gpt(input_ids)[0]

    ids = torch.tensor([(tokenizer.encode(text) or [0])[-gpt.config.block_size:]])
    return Logits().eval(), (ids,), ["input_ids"], ["logits"]


def export_onnx(source: Path, kind: str, out: Path, opset: int, probe: str) -> Path:
    """``model.onnx`` (dynamic batch and sequence axes) plus the tokenizer files next to it."""
    import warnings

    import torch

    _fresh(out)
    module, inputs, names, outputs = _onnx_inputs(kind, source, probe or DEFAULT_PROBE)
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes[outputs[0]] = {0: "batch"} if kind == "embedding" else {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, inputs, str(out / "model.onnx"), dynamo=False, input_names=names,
                          output_names=outputs, dynamic_axes=axes, opset_version=opset or 17)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "config.json"):
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    return out


def check_onnx(source: Path, kind: str, out: Path, probe: str, tolerance: float) -> str:
    """Run the graph with onnxruntime on the probe and compare with PyTorch; ProbeFailed beyond ``tolerance``."""
    import onnxruntime as ort
    import torch

    module, inputs, names, _ = _onnx_inputs(kind, source, probe or DEFAULT_PROBE)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})[0]
    with torch.no_grad():
        want = module(*inputs).numpy()
    if got.shape != want.shape:
        raise ProbeFailed(f"onnxruntime output shape {got.shape} differs from PyTorch's {want.shape}")
    diff = float(np.abs(got - want).max())
    if not np.isfinite(got).all() or diff > tolerance:
        raise ProbeFailed(f"onnxruntime differs from PyTorch by {diff:.2e} (> {tolerance:g})")
    return f"onnxruntime matches PyTorch on the probe (max abs diff {diff:.2e})"


def export_ollama(source: Path, kind: str, out: Path, *, parameters: dict[str, str], system_prompt: str,
                  quantization: str, model_tag: str) -> Path:
    """A Modelfile whose ``FROM .`` imports the safetensors weights in the same folder (BERT embeddings)."""
    _fresh(out)
    config = json.loads((source / "config.json").read_text())
    if "BertModel" not in config.get("architectures", []):
        raise ProbeFailed(f"Ollama imports BERT embedding models; this one is {config.get('architectures')}")
    for item in source.iterdir():
        if item.name in _ST_FILES_SKIP:
            continue
        if item.is_dir():
            shutil.copytree(item, out / item.name)
        else:
            shutil.copy2(item, out / item.name)
    lines = ["# Import with: ollama create " + model_tag + " -f Modelfile"
             + (f" --quantize {quantization}" if quantization else ""), "FROM ."]
    lines += [f"PARAMETER {key} {value}" for key, value in sorted(parameters.items())]
    if system_prompt:
        lines.append('SYSTEM """' + system_prompt.replace('"""', "'''") + '"""')
    (out / "Modelfile").write_text("\n".join(lines) + "\n")
    return out


def check_ollama(source: Path, out: Path, probe: str) -> str:
    """Ollama itself does not run here: check the Modelfile and that the weights it imports load and match."""
    modelfile = (out / "Modelfile").read_text()
    if "FROM ." not in modelfile:
        raise ProbeFailed("the Modelfile has no FROM line")
    message = check_huggingface(source, "embedding", out, probe)
    return f"Modelfile written; {message} (ollama itself is not run here)"
