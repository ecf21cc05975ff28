"""Pure rules of deployments: names, model references, which recipe a target can take, option limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lathe.kit.errors import FailedPrecondition, InvalidArgument

DEPLOYMENT_ID_RE = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_DEPLOYMENT_NAME_RE = re.compile(r"^deployments/([^/]+)$")
_REVISION_NAME_RE = re.compile(r"^deployments/([^/]+)/revisions/([^/]+)$")
_VERSION_RE = re.compile(r"^models/([a-z0-9][a-z0-9_.-]{0,62})/versions/([1-9][0-9]{0,17})$")
_ALIAS_RE = re.compile(r"^models/([a-z0-9][a-z0-9_.-]{0,62})@([a-z][a-z0-9_-]{0,62})$")
MAX_REASON = 1024
MAX_BATCH = 1024

# The model kinds the deployer can serve or export, by the registry version's recipe.
KIND_BY_RECIPE = {
    "causal-lm": "causal-lm",
    "embedding-finetune": "embedding",
    "embedding": "embedding",
    "sentence-transformers": "embedding",
    "projection-heads": "projection-heads",
    "ngram-lm": "ngram-lm",
}
# Recipes that exist in Lathe but whose artifact format the deployer does not serve (yet), with why.
UNSUPPORTED_RECIPES: dict[str, str] = {}
# Why an export target cannot take a kind that only the deployer's own runtimes (local, kubernetes) serve.
NOT_EXPORTABLE = {
    "projection-heads": "a projection-heads model is numpy routing heads over a separate base encoder, "
                        "scored by Lathe's own search; there is no Hugging Face, ONNX or Ollama model format "
                        "for it",
    "ngram-lm": "an n-gram model is count tables with Kneser-Ney/add-k smoothing, not a neural network; there "
                "is no Hugging Face, ONNX or Ollama model format for it",
}
TARGETS = ("local", "kubernetes", "huggingface", "onnx", "ollama")
EXPORT_TARGETS = ("huggingface", "onnx", "ollama")


@dataclass(frozen=True)
class ModelRef:
    """A requested model version: a numbered version or an alias of a model."""

    model: str
    version: int | None = None
    alias: str | None = None

    @property
    def name(self) -> str:
        """The registry name of the reference."""
        if self.version is not None:
            return f"models/{self.model}/versions/{self.version}"
        return f"models/{self.model}@{self.alias}"


def validate_deployment_id(deployment_id: str, field: str = "deployment_id") -> str:
    """INVALID_ARGUMENT unless ``deployment_id`` is a DNS-1123 label (it is also a Kubernetes name)."""
    if not DEPLOYMENT_ID_RE.match(deployment_id):
        raise InvalidArgument.for_field(
            field, f"{deployment_id!r} must be 1-63 lowercase letters, digits and '-', start with a letter and "
                   "end with a letter or digit")
    return deployment_id


def parse_deployment_name(name: str, field: str = "name") -> str:
    """The deployment ID of ``deployments/{deployment}``; INVALID_ARGUMENT otherwise."""
    match = _DEPLOYMENT_NAME_RE.match(name)
    if not match:
        raise InvalidArgument.for_field(field, f"{name!r} is not of the form deployments/{{deployment}}")
    return validate_deployment_id(match.group(1), field)


def parse_revision_name(name: str, field: str = "name") -> tuple[str, int]:
    """``(deployment_id, number)`` of ``deployments/{deployment}/revisions/{n}``; INVALID_ARGUMENT otherwise."""
    match = _REVISION_NAME_RE.match(name)
    if not match or not match.group(2).isdigit() or int(match.group(2)) < 1:
        raise InvalidArgument.for_field(
            field, f"{name!r} is not of the form deployments/{{deployment}}/revisions/{{number}}")
    return validate_deployment_id(match.group(1), field), int(match.group(2))


def revision_name(deployment_id: str, number: int | None) -> str:
    """The resource name of a revision (empty for None)."""
    return f"deployments/{deployment_id}/revisions/{number}" if number else ""


def parse_model_ref(text: str, field: str = "deployment.model_version") -> ModelRef:
    """A version name or an alias name; INVALID_ARGUMENT naming ``field`` otherwise."""
    if match := _VERSION_RE.match(text):
        return ModelRef(match.group(1), version=int(match.group(2)))
    if match := _ALIAS_RE.match(text):
        return ModelRef(match.group(1), alias=match.group(2))
    raise InvalidArgument.for_field(
        field, f"{text!r} must be models/{{model}}/versions/{{version}} or models/{{model}}@{{alias}}")


def model_kind(recipe: str, version: str) -> str:
    """The servable kind of a registry recipe; FAILED_PRECONDITION (UNSUPPORTED_RECIPE) when there is none."""
    if recipe in KIND_BY_RECIPE:
        return KIND_BY_RECIPE[recipe]
    why = UNSUPPORTED_RECIPES.get(recipe, "the deployer serves the recipes " + ", ".join(sorted(KIND_BY_RECIPE)))
    raise FailedPrecondition(f"{version} has the unsupported recipe {recipe!r}: {why}",
                             reason="UNSUPPORTED_RECIPE", metadata={"recipe": recipe, "model_version": version})


def check_target_takes(target: str, kind: str, architecture: str, version: str) -> None:
    """FAILED_PRECONDITION when ``target`` cannot take a model of ``kind`` / ``architecture``."""
    if target in EXPORT_TARGETS and kind in NOT_EXPORTABLE:
        raise FailedPrecondition(
            f"{version} cannot be exported to the {target} target: {NOT_EXPORTABLE[kind]}. Deploy it to the "
            "local or kubernetes target, which serve it over the Open Inference Protocol.",
            reason="TARGET_KIND_UNSUPPORTED", metadata={"target": target, "kind": kind})
    if target == "ollama" and kind == "causal-lm":
        raise FailedPrecondition(
            f"{version} is a custom lathe-gpt transformer; Ollama imports GGUF or the safetensors of known "
            "architectures (Llama, Mistral, Gemma, Phi-3, BERT), and no GGUF converter for lathe-gpt exists here, "
            "so it cannot be exported for Ollama. Use the huggingface or onnx target instead.",
            reason="OLLAMA_ARCHITECTURE_UNSUPPORTED", metadata={"architecture": architecture or "lathe-gpt"})


def validate_reason(reason: str, field: str = "reason") -> None:
    """INVALID_ARGUMENT if ``reason`` is longer than 1,024 characters."""
    if len(reason) > MAX_REASON:
        raise InvalidArgument.for_field(field, f"must be at most {MAX_REASON} characters")


def validate_canary_percent(percent: int, field: str = "deployment.canary.traffic_percent") -> None:
    """INVALID_ARGUMENT unless 1 ≤ ``percent`` ≤ 99."""
    if not 1 <= percent <= 99:
        raise InvalidArgument.for_field(field, f"must be between 1 and 99 (got {percent})")


_LABEL_KEY = re.compile(r"^[a-z0-9_-]{1,63}$")


def validate_labels(labels: dict[str, str], field: str = "deployment.labels") -> None:
    """At most 64 labels with lowercase keys of 1-63 characters and values up to 256."""
    if len(labels) > 64:
        raise InvalidArgument.for_field(field, "at most 64 labels are allowed")
    for key, value in labels.items():
        if not _LABEL_KEY.match(key):
            raise InvalidArgument.for_field(f"{field}.{key}", "keys are 1-63 of a-z, 0-9, '_' and '-'")
        if len(value) > 256:
            raise InvalidArgument.for_field(f"{field}.{key}", "values are at most 256 characters")


def validate_batching(max_batch_size: int, max_queue_delay_s: float, field: str) -> None:
    """INVALID_ARGUMENT for a batch size outside 0..1,024 or a delay outside 0..1 s."""
    if not 0 <= max_batch_size <= MAX_BATCH:
        raise InvalidArgument.for_field(f"{field}.max_batch_size", f"must be between 0 and {MAX_BATCH}")
    if not 0 <= max_queue_delay_s <= 1.0:
        raise InvalidArgument.for_field(f"{field}.max_queue_delay", "must be between 0 and 1 second")


def validate_health_timing(timeout_s: float | None, period_s: float | None, field: str,
                           min_period_s: float = 5.0) -> None:
    """Timeout in (0, 600] seconds; period 0 (off) or at least ``min_period_s`` (5 seconds) and at most a day."""
    if timeout_s is not None and not 0 < timeout_s <= 600:
        raise InvalidArgument.for_field(f"{field}.timeout", "must be more than 0 and at most 10 minutes")
    if period_s is not None and period_s != 0 and not min_period_s <= period_s <= 86400:
        raise InvalidArgument.for_field(f"{field}.period", f"must be 0 (off) or between {min_period_s:g} seconds "
                                        "and one day")


def validate_image(image: str, field: str) -> None:
    """INVALID_ARGUMENT for an image without a pinned tag or digest."""
    if not image:
        return
    if "@sha256:" in image:
        return
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    if not tag or tag == "latest":
        raise InvalidArgument.for_field(field, f"{image!r} must be pinned by a tag other than 'latest' or a digest")
