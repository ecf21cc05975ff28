"""Validation and default resolution of a training job's configuration (pure: no I/O, no gRPC).

The server stores the resolved configuration, so ``GetTrainingJob`` shows exactly what runs. Every problem
is an INVALID_ARGUMENT field violation naming the field, raised at creation, never minutes into the run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from lathe.corpus.v1 import snapshot_pb2
from lathe.kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied
from lathe.ml.ngram import max_order
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2

TrainingJob = training_job_pb2.TrainingJob
Recipe = cfg.Recipe

RECIPE_IDS = {
    cfg.RECIPE_CAUSAL_LM: "causal-lm",
    cfg.RECIPE_NGRAM_LM: "ngram-lm",
    cfg.RECIPE_EMBEDDING_FINETUNE: "embedding-finetune",
    cfg.RECIPE_PROJECTION_HEADS: "projection-heads",
}
# The recipes this trainer can run.
AVAILABLE_RECIPES = (cfg.RECIPE_CAUSAL_LM, cfg.RECIPE_NGRAM_LM, cfg.RECIPE_EMBEDDING_FINETUNE,
                     cfg.RECIPE_PROJECTION_HEADS)
QA_RECIPES = (cfg.RECIPE_EMBEDDING_FINETUNE, cfg.RECIPE_PROJECTION_HEADS)
CONFIG_FIELD = {
    cfg.RECIPE_CAUSAL_LM: "causal_lm",
    cfg.RECIPE_NGRAM_LM: "ngram_lm",
    cfg.RECIPE_EMBEDDING_FINETUNE: "embedding_finetune",
    cfg.RECIPE_PROJECTION_HEADS: "projection_heads",
}
LM_METRICS = ("validation/loss", "validation/perplexity", "train/loss")
QA_METRICS = ("validation/mrr", "validation/recall@1", "validation/recall@5", "validation/recall@10", "train/loss")
# The base models embedding-finetune can start from (loaded offline from their PyPI packages).
BASE_MODELS = ("embeddingModels/all-minilm-l6-v2",)
DEFAULT_EMBEDDING_MODEL = "embeddingModels/all-minilm-l6-v2"
EMBEDDING_MODEL_NAME = re.compile(r"^embeddingModels/[a-z0-9][a-z0-9.-]{0,62}$")
JOB_ID = re.compile(r"^[a-z][a-z0-9-]{3,62}$")
SNAPSHOT_NAME = re.compile(r"^snapshots/[a-z][a-z0-9-]{0,62}$")
VERSION_NAME = re.compile(r"^models/[a-z0-9][a-z0-9-]{0,62}/versions/[0-9]+$")
MODEL_NAME = re.compile(r"^models/[a-z0-9][a-z0-9-]{0,62}$")
LABEL_KEY = re.compile(r"^[a-z0-9_-]{1,63}$")
BYTE_VOCAB = 256


def metric_goal_minimizes(metric: str, goal: int) -> bool:
    """Whether lower values of ``metric`` are better (explicit goal, else inferred from its name)."""
    if goal == cfg.METRIC_GOAL_MINIMIZE:
        return True
    if goal == cfg.METRIC_GOAL_MAXIMIZE:
        return False
    return metric.endswith("loss") or metric.endswith("perplexity")


class _Violations:
    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def check(self, ok: bool, field: str, description: str) -> None:
        if not ok:
            self.items.append(FieldViolation(f"training_job.{field}", description))

    @property
    def ok(self) -> bool:
        return not self.items

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise InvalidArgument(f"{first.field} {first.description}", field_violations=self.items,
                                  reason="INVALID_TRAINING_CONFIG")


#: The recipes that train with ``scheduling.world_size`` > 1 (DDP, each rank on its slice of the batch).
DISTRIBUTED_RECIPES = frozenset({cfg.RECIPE_CAUSAL_LM})


@dataclass(frozen=True)
class ClusterLimits:
    """What a trainer configured for Kubernetes runs as Kubeflow PyTorchJobs: every job of ``world_size`` >=
    ``min_world_size``, in whole pods of ``ranks_per_pod`` ranks, at most ``max_world_size`` ranks. Such a job
    is checked against these limits, not against the trainer's own GPUs and CPU threads, which it never uses."""

    min_world_size: int
    max_world_size: int
    ranks_per_pod: int

    def takes(self, world_size: int) -> bool:
        """Whether a job of ``world_size`` ranks (0 meaning 1) runs on Kubernetes."""
        return max(world_size, 1) >= self.min_world_size


def _finite(value: float) -> bool:
    return math.isfinite(value)


def resolve(job: TrainingJob, *, is_admin: bool, gpu_count: int, device_names: list[str],
            max_cpu_ranks: int | None = None, cluster: ClusterLimits | None = None) -> TrainingJob:
    """A copy of ``job`` with every default resolved; INVALID_ARGUMENT naming the field for a bad value.

    ``gpu_count``, ``device_names`` and ``max_cpu_ranks`` describe this trainer's own devices; ``cluster``, when
    the trainer is configured for Kubernetes, the jobs it runs there instead (checked against it alone).
    """
    v = _Violations()
    out = TrainingJob()
    out.CopyFrom(job)
    for name in ("name", "owner", "snapshot", "state", "error", "devices", "progress_fraction", "step",
                 "total_steps", "estimated_remaining", "latest_metrics", "baseline_metrics", "checkpoints",
                 "model_version", "artifact_uri", "artifact_sha256", "restart_count", "tokens_processed",
                 "examples_processed", "last_event_sequence", "create_time", "update_time", "start_time",
                 "end_time"):
        out.ClearField(name)
    if job.recipe == cfg.RECIPE_UNSPECIFIED or job.recipe not in RECIPE_IDS:
        raise InvalidArgument.for_field("training_job.recipe", "is required: one of causal-lm, ngram-lm, "
                                        "embedding-finetune, projection-heads")
    if job.recipe not in AVAILABLE_RECIPES:
        raise InvalidArgument.for_field("training_job.recipe",
                                        f"{RECIPE_IDS[job.recipe]} is not available on this trainer yet",
                                        reason="RECIPE_UNAVAILABLE")
    case = job.WhichOneof("recipe_config")
    if case is not None and case != CONFIG_FIELD[job.recipe]:
        raise InvalidArgument.for_field(f"training_job.{case}",
                                        f"does not configure the recipe {RECIPE_IDS[job.recipe]}")
    v.check(len(job.display_name) <= 128, "display_name", "must be at most 128 characters")
    v.check(len(job.labels) <= 64, "labels", "must have at most 64 entries")
    for key, value in job.labels.items():
        v.check(bool(LABEL_KEY.match(key)), f"labels[{key}]", "key must match [a-z0-9_-]{1,63}")
        v.check(len(value) <= 256, f"labels[{key}]", "value must be at most 256 characters")
    source = job.data_source.WhichOneof("source")
    v.check(source is not None, "data_source", "must name a snapshot or select the latest corpus")
    if source == "snapshot":
        v.check(bool(SNAPSHOT_NAME.match(job.data_source.snapshot)), "data_source.snapshot",
                "must be a snapshot name, snapshots/{snapshot}")
    if job.parent_model_version:
        v.check(bool(VERSION_NAME.match(job.parent_model_version)), "parent_model_version",
                "must be a model version name, models/{model}/versions/{version}")
    if job.model:
        v.check(bool(MODEL_NAME.match(job.model)), "model", "must be a model name, models/{model}")
    elif job.parent_model_version and VERSION_NAME.match(job.parent_model_version):
        out.model = job.parent_model_version.split("/versions/")[0]
    else:
        out.model = f"models/{RECIPE_IDS[job.recipe]}"

    _resolve_scheduling(out, v, is_admin=is_admin, gpu_count=gpu_count, device_names=device_names,
                        max_cpu_ranks=max_cpu_ranks, cluster=cluster)
    if job.recipe == cfg.RECIPE_CAUSAL_LM:
        _resolve_causal_lm(out, v)
    elif job.recipe == cfg.RECIPE_EMBEDDING_FINETUNE:
        _resolve_embedding_finetune(out, v)
    elif job.recipe == cfg.RECIPE_PROJECTION_HEADS:
        _resolve_projection_heads(out, v)
    else:
        _resolve_ngram(out, v)
    _resolve_options(out, v)
    v.raise_if_any()
    return out


def _resolve_scheduling(out: TrainingJob, v: _Violations, *, is_admin: bool, gpu_count: int,
                        device_names: list[str], max_cpu_ranks: int | None, cluster: ClusterLimits | None) -> None:
    s = out.scheduling
    v.check(-100 <= s.priority <= 100, "scheduling.priority", "must be in [-100, 100]")
    if s.priority > 0 and not is_admin:
        raise PermissionDenied("only admins may queue jobs with a priority above 0", reason="PRIORITY_RESTRICTED",
                               metadata={"field": "training_job.scheduling.priority"})
    v.check(0 <= s.max_restarts <= 10, "scheduling.max_restarts", "must be in [0, 10]")
    v.check(s.world_size >= 0, "scheduling.world_size", "must be positive")
    if s.world_size == 0:
        s.world_size = 1
    request = s.device_request
    if s.world_size > 1:
        v.check(out.recipe in DISTRIBUTED_RECIPES, "scheduling.world_size",
                "must be 1 for this recipe (only causal-lm trains with world_size > 1)")
        v.check(not request.device, "scheduling.device_request.device",
                "must be empty when world_size > 1 (the job takes any free devices of its kind)")
    if cluster is not None and s.world_size > 0 and cluster.takes(s.world_size):
        _check_cluster(s, v, cluster)
    else:
        _check_local_devices(out, v, gpu_count=gpu_count, device_names=device_names, max_cpu_ranks=max_cpu_ranks)
    v.check(request.min_memory_bytes >= 0, "scheduling.device_request.min_memory_bytes", "must not be negative")


def _check_local_devices(out: TrainingJob, v: _Violations, *, gpu_count: int, device_names: list[str],
                         max_cpu_ranks: int | None) -> None:
    """A job that runs on this trainer: its device kind, device and world size must be ones it has."""
    s = out.scheduling
    request = s.device_request
    if request.kind == cfg.DEVICE_KIND_CUDA and gpu_count == 0:
        raise FailedPrecondition("this trainer has no CUDA GPU", reason="NO_GPU",
                                 metadata={"field": "training_job.scheduling.device_request.kind"})
    if s.world_size > 1:
        on_gpus = request.kind == cfg.DEVICE_KIND_CUDA or (request.kind == cfg.DEVICE_KIND_UNSPECIFIED
                                                           and gpu_count > 0)
        # One GPU per rank; on the CPU one device hosts every rank, each with at least one torch thread.
        limit = gpu_count if on_gpus else max_cpu_ranks
        if limit is not None and s.world_size > limit and v.ok:
            raise FailedPrecondition(
                f"world_size {s.world_size} exceeds the {limit} {'GPUs' if on_gpus else 'CPU threads'} this "
                "trainer can ever provide", reason="WORLD_SIZE_UNAVAILABLE",
                metadata={"field": "training_job.scheduling.world_size", "limit": str(limit)})
    if request.device:
        v.check(request.device in device_names, "scheduling.device_request.device",
                f"is not a device of this trainer (devices: {', '.join(device_names)})")


def _check_cluster(s: cfg.SchedulingOptions, v: _Violations, cluster: ClusterLimits) -> None:
    """A job that runs as a PyTorchJob: whole pods, within the cluster's limit; the trainer's own devices (a GPU
    or not, its CPU threads) do not matter, the pods bring theirs."""
    v.check(s.world_size <= cluster.max_world_size, "scheduling.world_size",
            f"must be at most {cluster.max_world_size}, the largest job this trainer runs on Kubernetes")
    v.check(s.world_size % cluster.ranks_per_pod == 0, "scheduling.world_size",
            f"must be a multiple of {cluster.ranks_per_pod}: the job runs on Kubernetes in pods of "
            f"{cluster.ranks_per_pod} ranks each")
    if s.world_size == 1:  # (a larger job's device is refused above already)
        v.check(not s.device_request.device, "scheduling.device_request.device",
                "must be empty: the job runs on Kubernetes, on its pods' devices")


def _resolve_causal_lm(out: TrainingJob, v: _Violations) -> None:
    c = out.causal_lm
    if c.tokenizer == cfg.TOKENIZER_UNSPECIFIED:
        c.tokenizer = cfg.TOKENIZER_BYTE
    c.layers = c.layers or 4
    c.heads = c.heads or 4
    c.embedding_size = c.embedding_size or 128
    c.block_size = c.block_size or 256
    if not c.HasField("dropout"):
        c.dropout = 0.0
    if not c.HasField("bias"):
        c.bias = False
    v.check(1 <= c.layers <= 64, "causal_lm.layers", "must be in [1, 64]")
    v.check(1 <= c.embedding_size <= 16384, "causal_lm.embedding_size", "must be in [1, 16384]")
    v.check(c.heads >= 1 and c.embedding_size % c.heads == 0, "causal_lm.heads",
            f"must be positive and divide embedding_size ({c.embedding_size})")
    v.check(1 <= c.block_size <= 8192, "causal_lm.block_size", "must be in [1, 8192]")
    v.check(_finite(c.dropout) and 0 <= c.dropout < 1, "causal_lm.dropout", "must be in [0, 1)")


def _resolve_ngram(out: TrainingJob, v: _Violations) -> None:
    c = out.ngram_lm
    if c.tokenizer == cfg.TOKENIZER_UNSPECIFIED:
        c.tokenizer = cfg.TOKENIZER_BYTE
    c.order = c.order or 3
    if c.smoothing == cfg.NgramLmConfig.SMOOTHING_UNSPECIFIED:
        c.smoothing = cfg.NgramLmConfig.SMOOTHING_KNESER_NEY
    if not c.HasField("add_k"):
        c.add_k = 1.0
    if not c.HasField("discount"):
        c.discount = 0.75
    v.check(1 <= c.order <= 10, "ngram_lm.order", "must be in [1, 10]")
    if c.tokenizer == cfg.TOKENIZER_BYTE:
        v.check(c.order <= max_order(BYTE_VOCAB), "ngram_lm.order",
                f"must be at most {max_order(BYTE_VOCAB)} with the byte tokenizer")
    v.check(_finite(c.add_k) and c.add_k > 0, "ngram_lm.add_k", "must be positive")
    v.check(_finite(c.discount) and 0 < c.discount < 1, "ngram_lm.discount", "must be in (0, 1)")


def _resolve_embedding_finetune(out: TrainingJob, v: _Violations) -> None:
    c = out.embedding_finetune
    if not c.base_model:
        c.base_model = BASE_MODELS[0]
    elif "/" not in c.base_model:
        c.base_model = f"embeddingModels/{c.base_model}"
    v.check(c.base_model in BASE_MODELS, "embedding_finetune.base_model",
            f"must be one of {', '.join(BASE_MODELS)}")
    v.check(c.max_seq_length >= 0, "embedding_finetune.max_seq_length", "must be in [8, 512]")
    c.max_seq_length = c.max_seq_length or 256
    v.check(8 <= c.max_seq_length <= 512, "embedding_finetune.max_seq_length", "must be in [8, 512]")
    if c.loss == cfg.EmbeddingFinetuneConfig.LOSS_UNSPECIFIED:
        c.loss = cfg.EmbeddingFinetuneConfig.LOSS_MULTIPLE_NEGATIVES_RANKING
    if not c.HasField("similarity_scale"):
        c.similarity_scale = 20.0
    v.check(_finite(c.similarity_scale) and 0 < c.similarity_scale <= 1000, "embedding_finetune.similarity_scale",
            "must be positive (at most 1000)")


def _resolve_projection_heads(out: TrainingJob, v: _Violations) -> None:
    c = out.projection_heads
    if not c.embedding_model:
        c.embedding_model = DEFAULT_EMBEDDING_MODEL
    elif "/" not in c.embedding_model:
        c.embedding_model = f"embeddingModels/{c.embedding_model}"
    v.check(bool(EMBEDDING_MODEL_NAME.match(c.embedding_model)), "projection_heads.embedding_model",
            "must be an embedding model name, embeddingModels/{embedding_model}")
    # proto3 cannot tell an unset temperature from 0: 0 takes the default, a negative value is rejected.
    v.check(_finite(c.temperature) and 0 <= c.temperature <= 100, "projection_heads.temperature",
            "must be positive (at most 100)")
    c.temperature = c.temperature or 0.05
    if not c.HasField("answer_weight"):
        c.answer_weight = 0.5
    v.check(_finite(c.answer_weight) and 0 <= c.answer_weight <= 1, "projection_heads.answer_weight",
            "must be in [0, 1]")
    if c.projection == cfg.ProjectionHeadsConfig.PROJECTION_UNSPECIFIED:
        c.projection = cfg.ProjectionHeadsConfig.PROJECTION_NONE
    v.check(c.projection != cfg.ProjectionHeadsConfig.PROJECTION_LEARNED, "projection_heads.projection",
            "PROJECTION_LEARNED is not available on this trainer yet; use PROJECTION_RIDGE (closed form)")
    if not c.HasField("ridge_lambda"):
        c.ridge_lambda = 1.0
    v.check(_finite(c.ridge_lambda) and c.ridge_lambda > 0, "projection_heads.ridge_lambda", "must be positive")


def _resolve_options(out: TrainingJob, v: _Violations) -> None:
    o = out.options
    lm = out.recipe == cfg.RECIPE_CAUSAL_LM
    qa = out.recipe in QA_RECIPES
    metrics = QA_METRICS if qa else LM_METRICS
    length = o.WhichOneof("length")
    if out.recipe == cfg.RECIPE_PROJECTION_HEADS:
        # A closed-form fit: one pass whatever the requested length.
        o.max_steps = 1
        length = "max_steps"
    elif length is None and out.recipe == cfg.RECIPE_EMBEDDING_FINETUNE:
        o.max_epochs = 1.0
        length = "max_epochs"
    if length == "max_steps":
        v.check(o.max_steps > 0, "options.max_steps", "must be positive")
    elif length == "max_epochs":
        v.check(_finite(o.max_epochs) and o.max_epochs > 0, "options.max_epochs", "must be positive")
    else:
        o.max_steps = 5000 if lm else 1
    v.check(_finite(o.learning_rate) and o.learning_rate >= 0, "options.learning_rate",
            "must be positive and finite")
    if o.learning_rate == 0:
        o.learning_rate = 2e-5 if out.recipe == cfg.RECIPE_EMBEDDING_FINETUNE else 6e-4
    if o.learning_rate_schedule == cfg.LEARNING_RATE_SCHEDULE_UNSPECIFIED:
        o.learning_rate_schedule = cfg.LEARNING_RATE_SCHEDULE_COSINE
    if not o.HasField("min_learning_rate"):
        o.min_learning_rate = o.learning_rate / 10
    v.check(_finite(o.min_learning_rate) and 0 <= o.min_learning_rate <= o.learning_rate,
            "options.min_learning_rate", "must be in [0, learning_rate]")
    if not o.HasField("warmup_steps"):
        if out.recipe == cfg.RECIPE_EMBEDDING_FINETUNE:
            # 10% of the steps; with max_epochs the step count is known only at start, so the recipe resolves it.
            if length == "max_steps":
                o.warmup_steps = max(1, o.max_steps // 10)
        else:
            o.warmup_steps = 100 if lm else 0
            if length == "max_steps":
                o.warmup_steps = min(o.warmup_steps, o.max_steps // 10)
    v.check(o.warmup_steps >= 0, "options.warmup_steps", "must not be negative")
    v.check(o.batch_size >= 0, "options.batch_size", "must not be negative")
    o.batch_size = o.batch_size or 64
    v.check(o.gradient_accumulation_steps >= 0, "options.gradient_accumulation_steps", "must not be negative")
    o.gradient_accumulation_steps = o.gradient_accumulation_steps or 1
    divisor = o.gradient_accumulation_steps * max(out.scheduling.world_size, 1)
    v.check(o.batch_size % divisor == 0, "options.batch_size",
            f"must be divisible by world_size * gradient_accumulation_steps ({divisor})")
    if not o.HasField("weight_decay"):
        o.weight_decay = 0.1 if lm else 0.01
    v.check(_finite(o.weight_decay) and 0 <= o.weight_decay <= 1, "options.weight_decay", "must be in [0, 1]")
    if not o.HasField("max_grad_norm"):
        o.max_grad_norm = 1.0
    v.check(_finite(o.max_grad_norm) and o.max_grad_norm >= 0, "options.max_grad_norm", "must not be negative")
    v.check(o.eval_interval_steps >= 0, "options.eval_interval_steps", "must not be negative")
    o.eval_interval_steps = o.eval_interval_steps or 250
    v.check(o.eval_batches >= 0, "options.eval_batches", "must not be negative")
    v.check(o.log_interval_steps >= 0, "options.log_interval_steps", "must not be negative")
    o.log_interval_steps = o.log_interval_steps or 1
    if o.precision == cfg.PRECISION_BFLOAT16:
        v.check(out.scheduling.device_request.kind != cfg.DEVICE_KIND_CPU, "options.precision",
                "bfloat16 needs a GPU; the job requests the CPU")
    p = o.checkpoint_policy
    v.check(p.interval_steps >= 0, "options.checkpoint_policy.interval_steps", "must be positive")
    p.interval_steps = p.interval_steps or 500
    v.check(p.keep_last >= 0, "options.checkpoint_policy.keep_last", "must be at least 1")
    p.keep_last = p.keep_last or 1
    v.check(p.keep_best >= 0, "options.checkpoint_policy.keep_best", "must not be negative")
    if o.HasField("early_stopping"):
        e = o.early_stopping
        v.check(e.metric in metrics, "options.early_stopping.metric",
                f"must be one of {', '.join(metrics)} for this recipe")
        v.check(e.patience >= 0, "options.early_stopping.patience", "must be positive")
        e.patience = e.patience or 3
        v.check(_finite(e.min_delta) and e.min_delta >= 0, "options.early_stopping.min_delta",
                "must not be negative")
    if not p.best_metric:
        p.best_metric = o.early_stopping.metric if o.HasField("early_stopping") else \
            ("validation/mrr" if qa else "validation/loss")
    v.check(p.best_metric in metrics, "options.checkpoint_policy.best_metric",
            f"must be one of {', '.join(metrics)} for this recipe")


def check_data_fits(job: TrainingJob, *, train_characters: int, validation_characters: int) -> None:
    """INVALID_ARGUMENT when the snapshot's splits are too small for the job (e.g. ``block_size``)."""
    if train_characters <= 0:
        raise InvalidArgument.for_field("training_job.data_source", "the snapshot has no training text",
                                        reason="EMPTY_TRAINING_SPLIT")
    if validation_characters <= 0:
        raise InvalidArgument.for_field("training_job.data_source", "the snapshot has no validation text",
                                        reason="EMPTY_VALIDATION_SPLIT")
    if job.recipe == cfg.RECIPE_CAUSAL_LM:
        block = job.causal_lm.block_size
        smallest = min(train_characters, validation_characters)
        if block >= smallest:
            raise InvalidArgument.for_field(
                "training_job.causal_lm.block_size",
                f"must be smaller than the data: {block} >= {smallest} characters in the smallest split "
                f"(train {train_characters}, validation {validation_characters})", reason="BLOCK_SIZE_TOO_LARGE")


def check_qa_data(job: TrainingJob, snapshot: snapshot_pb2.Snapshot) -> None:
    """INVALID_ARGUMENT when a Q-A recipe's snapshot lacks what it needs (clusters, held-out questions, vectors)."""
    counts = snapshot.counts
    field = "training_job.data_source"
    clusters = counts.total.qa_cluster_count
    if clusters == 0:
        raise InvalidArgument.for_field(field, f"{snapshot.name} has no Q-A clusters; the {RECIPE_IDS[job.recipe]} "
                                        "recipe trains on question-answer clusters", reason="NO_QA_CLUSTERS")
    if clusters < 2:
        raise InvalidArgument.for_field(field, f"{snapshot.name} has {clusters} Q-A cluster; retrieval needs at "
                                        "least two", reason="TOO_FEW_QA_CLUSTERS")
    if counts.validation.question_count == 0:
        raise InvalidArgument.for_field(field, f"{snapshot.name} has no held-out (validation) questions to "
                                        "measure retrieval on", reason="EMPTY_VALIDATION_SPLIT")
    if job.recipe == cfg.RECIPE_EMBEDDING_FINETUNE and counts.train.question_count == 0:
        raise InvalidArgument.for_field(field, f"{snapshot.name} has no training questions",
                                        reason="EMPTY_TRAINING_SPLIT")
    if job.recipe == cfg.RECIPE_PROJECTION_HEADS and \
            job.projection_heads.embedding_model not in snapshot.embedding_models:
        raise InvalidArgument.for_field(
            "training_job.projection_heads.embedding_model",
            f"{snapshot.name} holds no embeddings by {job.projection_heads.embedding_model} (it has: "
            f"{', '.join(snapshot.embedding_models) or 'none'}); create the snapshot with that embedding model",
            reason="SNAPSHOT_NOT_EMBEDDED")


def total_steps(job: TrainingJob, train_tokens: int) -> int:
    """The planned number of optimizer steps (``max_epochs`` converted with the training split's size)."""
    o = job.options
    if o.WhichOneof("length") == "max_epochs":
        per_step = o.batch_size * (job.causal_lm.block_size if job.recipe == cfg.RECIPE_CAUSAL_LM else 1)
        return max(1, math.ceil(o.max_epochs * train_tokens / max(per_step, 1)))
    return o.max_steps


def validate_job_id(job_id: str) -> None:
    """INVALID_ARGUMENT unless ``job_id`` is 4-63 characters of [a-z0-9-] starting with a letter."""
    if not JOB_ID.match(job_id):
        raise InvalidArgument.for_field("training_job_id",
                                        "must be 4-63 characters of [a-z0-9-], starting with a letter")
