"""``GenerateSamples``: validated sampling parameters, and a causal-lm loaded from a checkpoint or a version.

Loading and generating are CPU-bound and blocking; the servicer runs them in a thread. torch is imported on
first use, so a trainer that never samples does not pay for it at start-up.
"""

from __future__ import annotations

import io
import math
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lathe.kit.artifacts import ArtifactStore, ChecksumMismatch
from lathe.kit.errors import DataLoss, FailedPrecondition, FieldViolation, InvalidArgument
from lathe.kit.manifest import folder_manifest, manifest_digest
from lathe.ml.tokenizers import ByteTokenizer, Tokenizer, tokenizer_from_json
from lathe.trainer.v1 import trainer_service_pb2 as pb
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2

MAX_PROMPT_BYTES = 4096
MAX_NEW_TOKENS = 2048
DEFAULT_NEW_TOKENS = 200
DEFAULT_TEMPERATURE = 0.8
MAX_SAMPLES = 8
# One sampling at a time per trainer: it runs on the CPU beside training and must not starve it.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Sampling:
    """The resolved sampling parameters of a request."""

    prompt: str
    max_new_tokens: int
    temperature: float
    top_k: int
    count: int
    seed: int


def resolve(request: pb.GenerateSamplesRequest) -> Sampling:
    """Defaults applied and ranges checked; INVALID_ARGUMENT naming every bad field."""
    violations: list[FieldViolation] = []

    def check(ok: bool, field: str, description: str) -> None:
        if not ok:
            violations.append(FieldViolation(field, description))

    check(bool(request.name) != bool(request.model_version), "name",
          "exactly one of name and model_version must be set")
    check(not (request.model_version and request.checkpoint), "checkpoint",
          "must be empty when model_version is set")
    check(len(request.prompt.encode("utf-8")) <= MAX_PROMPT_BYTES, "prompt",
          f"must be at most {MAX_PROMPT_BYTES} bytes of UTF-8")
    check(0 <= request.max_new_tokens <= MAX_NEW_TOKENS, "max_new_tokens", f"must be in [1, {MAX_NEW_TOKENS}]")
    temperature = request.temperature if request.HasField("temperature") else DEFAULT_TEMPERATURE
    check(math.isfinite(temperature) and 0 <= temperature <= 10, "temperature", "must be in [0, 10]")
    check(request.top_k >= 0, "top_k", "must not be negative")
    check(0 <= request.sample_count <= MAX_SAMPLES, "sample_count", f"must be in [1, {MAX_SAMPLES}]")
    if violations:
        raise InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in violations),
                              reason="INVALID_FIELD", field_violations=violations)
    seed = request.seed if request.HasField("seed") else random.SystemRandom().randrange(1, 2**31)
    return Sampling(prompt=request.prompt, max_new_tokens=request.max_new_tokens or DEFAULT_NEW_TOKENS,
                    temperature=temperature, top_k=request.top_k, count=request.sample_count or 1, seed=seed)


def rebuild_tokenizer(job: training_job_pb2.TrainingJob, data_dir: Path | None, parent: Path | None) -> Tokenizer:
    """The job's tokenizer for checkpoints that predate storing it: the recipe's deterministic choice."""
    from services.trainer.recipes.base import build_tokenizer

    if parent is not None and (parent / "tokenizer.json").exists():
        return tokenizer_from_json((parent / "tokenizer.json").read_text())
    if job.causal_lm.tokenizer in (cfg.TOKENIZER_BYTE, cfg.TOKENIZER_UNSPECIFIED):
        return ByteTokenizer()
    if data_dir is None:
        raise FailedPrecondition("the checkpoint does not carry its tokenizer and the job's data are gone",
                                 reason="TOKENIZER_UNAVAILABLE")
    return build_tokenizer(job.causal_lm.tokenizer, data_dir / "train.txt")


def load_checkpoint(store: ArtifactStore, uri: str, sha256: str) -> tuple[Any, Tokenizer | None, int]:
    """The model of a causal-lm checkpoint (eval mode, CPU), its tokenizer when stored, and its step."""
    import torch

    from lathe.ml.causal_lm import GPT, GPTConfig

    try:
        data = store.read_bytes(uri, expected_sha256=sha256)
    except ChecksumMismatch as exc:
        raise DataLoss(f"the checkpoint {uri} does not match its recorded sha256: {exc.message}",
                       reason="ARTIFACT_CHECKSUM_MISMATCH") from None
    payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    state = payload["recipe"]
    model = GPT(GPTConfig(**state["gpt_config"]))
    model.load_state_dict(state["model"])
    tokenizer = tokenizer_from_json(payload["tokenizer"]) if payload.get("tokenizer") else None
    return model.eval(), tokenizer, int(payload["loop"]["step"])


def load_version(folder: Path, digest: str) -> tuple[Any, Tokenizer]:
    """The model folder of a registered version, verified against the version's manifest digest."""
    from lathe.ml.causal_lm import load_causal_lm

    if not folder.is_dir():
        raise FailedPrecondition(f"the version's artifact folder {folder} is not on this trainer",
                                 reason="ARTIFACT_UNAVAILABLE", metadata={"field": "model_version"})
    if digest:
        actual = manifest_digest(folder_manifest(folder)).removeprefix("sha256:")
        if actual != digest.removeprefix("sha256:"):
            raise DataLoss(f"the version's artifact {folder} does not match its recorded digest",
                           reason="ARTIFACT_CHECKSUM_MISMATCH")
    return load_causal_lm(folder)


def generate(model: Any, tokenizer: Tokenizer, sampling: Sampling) -> list[str]:
    """``sampling.count`` continuations of the prompt (without it), reproducible from ``sampling.seed``."""
    import torch

    ids = tokenizer.encode(sampling.prompt) if sampling.prompt else []
    start = ids or tokenizer.encode("\n") or [0]
    with _LOCK, torch.no_grad():
        idx = torch.tensor([start] * sampling.count, dtype=torch.long)
        generator = torch.Generator().manual_seed(sampling.seed)
        out = model.generate(idx, sampling.max_new_tokens, temperature=sampling.temperature,
                             top_k=sampling.top_k or None, generator=generator)
    return [tokenizer.decode(row[len(start):].tolist()) for row in out]
