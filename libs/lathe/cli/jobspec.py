"""Training job specs as YAML files (``lathe train --config job.yaml``): a documented schema, validated with
errors that name the file, line and key, turned into a ``TrainingJob`` (and an optional deployment).

The schema, every key optional unless marked (see ``examples/`` for complete files)::

    name: shakespeare-char              # display name of the job
    model: shakespeare                  # the registry model the version is registered under
    recipe: causal-lm                   # REQUIRED: causal-lm | ngram-lm | embedding-finetune | projection-heads
    parent: shakespeare:3               # continue from a registered version (NAME:VERSION or models/…)
    labels: {team: nlp}
    data:                               # default: the latest corpus
      snapshot: snapshots/abc           #   an existing snapshot, or
      filter: 'source = "x.txt"'        #   a corpus filter: a snapshot of the matching items is created …
      validation_split: 0.1             #   … with this held-out fraction (needs filter or nothing)
      split_seed: 0
      split_by: question | cluster      #   Q-A data: hold out questions or whole clusters
    architecture: {layers: 2, heads: 4, embedding_size: 64, block_size: 64, tokenizer: char, dropout: 0.0}
                                        # the recipe's own settings (causal-lm above; ngram-lm: order, tokenizer;
                                        # embedding-finetune: base_model, max_seq_length;
                                        # projection-heads: embedding_model, temperature)
    hyperparameters:
      learning_rate: 3.0e-3
      batch_size: 16
      steps: 300                        # or epochs: 1.5 (not both)
      warmup_steps: 10
      weight_decay: 0.1
      max_grad_norm: 1.0
      seed: 7
    optimisation:
      scheduler: cosine                 # constant | linear | cosine
      min_learning_rate: 3.0e-4
      early_stopping: {metric: validation/loss, patience: 3, min_delta: 0.0, goal: minimize}
    evaluation:
      metrics: [loss, perplexity]       # the metrics to report; each must be one the recipe computes
      interval_steps: 50
      batches: 4
    checkpoints: {interval_steps: 100, keep_last: 2}
    save_best: true                     # keep the best checkpoint by the early-stopping (or first) metric
    deployment:
      auto_deploy: true                 # deploy the registered version once the job succeeds
      target: local                     # local | kubernetes | huggingface | onnx | ollama
      name: shakespeare                 # the deployment ID
      health_check: {probe_text: "ROMEO:", timeout_seconds: 30, period_seconds: 60}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lathe.deployer.v1 import deployment_pb2, health_check_pb2
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2

RECIPE_METRICS = {
    "causal-lm": {"loss", "perplexity"},
    "ngram-lm": {"loss", "perplexity"},
    "embedding-finetune": {"recall@1", "recall@5", "recall@10", "mrr", "loss"},
    "projection-heads": {"recall@1", "recall@5", "recall@10", "mrr", "loss", "accuracy"},
}
RECIPES = {"causal-lm": cfg.RECIPE_CAUSAL_LM, "ngram-lm": cfg.RECIPE_NGRAM_LM,
           "embedding-finetune": cfg.RECIPE_EMBEDDING_FINETUNE, "projection-heads": cfg.RECIPE_PROJECTION_HEADS}
D = deployment_pb2.Deployment
TARGETS = {"local": D.TARGET_LOCAL, "kubernetes": D.TARGET_KUBERNETES, "huggingface": D.TARGET_HUGGINGFACE,
           "onnx": D.TARGET_ONNX, "ollama": D.TARGET_OLLAMA}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Data(_Strict):
    """Where the data come from: a snapshot, or a (filtered) snapshot of the corpus made for this job."""

    snapshot: str | None = None
    filter: str | None = None
    validation_split: float | None = Field(None, gt=0, lt=1)
    split_seed: int = 0
    split_by: Literal["question", "cluster"] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Data:
        if self.snapshot and (self.filter or self.validation_split is not None or self.split_by):
            raise ValueError("a snapshot is already split: give either snapshot, or filter/validation_split")
        return self


class CausalLm(_Strict):
    """``causal-lm`` architecture."""

    layers: int | None = Field(None, ge=1, le=48)
    heads: int | None = Field(None, ge=1, le=64)
    embedding_size: int | None = Field(None, ge=8, le=8192)
    block_size: int | None = Field(None, ge=8, le=8192)
    dropout: float | None = Field(None, ge=0, lt=1)
    tokenizer: Literal["byte", "char"] | None = None

    @model_validator(mode="after")
    def _heads_divide(self) -> CausalLm:
        if self.heads and self.embedding_size and self.embedding_size % self.heads:
            raise ValueError(f"embedding_size {self.embedding_size} is not divisible by heads {self.heads}")
        return self


class NgramLm(_Strict):
    """``ngram-lm`` settings."""

    order: int | None = Field(None, ge=1, le=10)
    tokenizer: Literal["byte", "char"] | None = None


class EmbeddingFinetune(_Strict):
    """``embedding-finetune`` settings."""

    base_model: str | None = None
    max_seq_length: int | None = Field(None, ge=8, le=512)


class ProjectionHeads(_Strict):
    """``projection-heads`` settings."""

    embedding_model: str | None = None
    temperature: float | None = Field(None, gt=0)


ARCHITECTURES: dict[str, type[_Strict]] = {"causal-lm": CausalLm, "ngram-lm": NgramLm,
                                           "embedding-finetune": EmbeddingFinetune,
                                           "projection-heads": ProjectionHeads}


class Hyperparameters(_Strict):
    """The optimiser's numbers."""

    learning_rate: float | None = Field(None, gt=0)
    batch_size: int | None = Field(None, ge=1, le=65536)
    steps: int | None = Field(None, ge=1)
    epochs: float | None = Field(None, gt=0)
    warmup_steps: int | None = Field(None, ge=0)
    weight_decay: float | None = Field(None, ge=0, le=1)
    max_grad_norm: float | None = Field(None, ge=0)
    seed: int | None = None

    @field_validator("learning_rate", "epochs", "weight_decay", "max_grad_norm")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _one_length(self) -> Hyperparameters:
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give steps or epochs, not both")
        return self


class EarlyStopping(_Strict):
    """Stop when ``metric`` has not improved for ``patience`` evaluations."""

    metric: str
    patience: int = Field(3, ge=1)
    min_delta: float = Field(0.0, ge=0)
    goal: Literal["minimize", "maximize"] | None = None


class Optimisation(_Strict):
    """Schedule and early stopping."""

    scheduler: Literal["constant", "linear", "cosine"] | None = None
    min_learning_rate: float | None = Field(None, ge=0)
    early_stopping: EarlyStopping | None = None


class Evaluation(_Strict):
    """What is evaluated and how often."""

    metrics: list[str] = Field(default_factory=list)
    interval_steps: int | None = Field(None, ge=1)
    batches: int | None = Field(None, ge=0)


class Checkpoints(_Strict):
    """Periodic checkpoints."""

    interval_steps: int | None = Field(None, ge=1)
    keep_last: int | None = Field(None, ge=0)


class HealthCheck(_Strict):
    """The deployment's health probe."""

    probe_text: str | None = None
    timeout_seconds: float | None = Field(None, gt=0, le=600)
    period_seconds: float | None = Field(None, gt=0)


class Deployment(_Strict):
    """Deploy the registered version after success."""

    auto_deploy: bool = False
    target: Literal["local", "kubernetes", "huggingface", "onnx", "ollama"] = "local"
    name: str | None = Field(None, pattern=r"^[a-z][a-z0-9-]{0,62}$")
    health_check: HealthCheck | None = None


class JobSpec(_Strict):
    """A training job spec file."""

    name: str | None = Field(None, max_length=128)
    model: str | None = None
    recipe: Literal["causal-lm", "ngram-lm", "embedding-finetune", "projection-heads"]
    parent: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    data: Data = Field(default_factory=Data)
    architecture: dict[str, Any] = Field(default_factory=dict)
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    optimisation: Optimisation = Field(default_factory=Optimisation)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    checkpoints: Checkpoints = Field(default_factory=Checkpoints)
    save_best: bool = False
    deployment: Deployment = Field(default_factory=Deployment)

    @model_validator(mode="after")
    def _per_recipe(self) -> JobSpec:
        try:
            ARCHITECTURES[self.recipe].model_validate(self.architecture)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise _KeyError(("architecture", *first["loc"]), first["msg"].removeprefix("Value error, ")) from None
        known = RECIPE_METRICS[self.recipe]
        for i, metric in enumerate(self.evaluation.metrics):
            if metric.rsplit("/", 1)[-1] not in known:
                raise _KeyError(("evaluation", "metrics", i),
                                f"{self.recipe} does not compute {metric!r}; it reports {', '.join(sorted(known))}")
        if self.optimisation.early_stopping:
            metric = self.optimisation.early_stopping.metric
            if metric.rsplit("/", 1)[-1] not in known:
                raise _KeyError(("optimisation", "early_stopping", "metric"),
                                f"{self.recipe} does not compute {metric!r}; it reports {', '.join(sorted(known))}")
        if self.deployment.auto_deploy and self.recipe == "projection-heads":
            raise _KeyError(("deployment", "auto_deploy"), "projection-heads versions cannot be served yet")
        return self


class _KeyError(ValueError):
    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


@dataclass(frozen=True)
class SpecProblem:
    """One error of a spec file, located."""

    path: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.key or '(top level)'}: {self.message}"


class SpecError(Exception):
    """A spec file that does not validate; ``problems`` name the line and key of each error."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _positions(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    """Record the 1-based line of every key (and sequence item) under ``node``."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            out[child] = key.start_mark.line + 1
            _positions(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _positions(item, (*path, i), out)


def load_spec(path: Path) -> JobSpec:
    """Read and validate a spec file; raises :class:`SpecError` whose problems carry line and key."""
    name = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError([SpecProblem(name, 0, "", f"cannot read the file: {exc.strerror}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError([SpecProblem(name, (mark.line + 1) if mark else 0, "",
                                     f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict):
        raise SpecError([SpecProblem(name, 1, "", "a job spec is a mapping of keys (recipe: …, data: …)")])
    lines: dict[tuple[Any, ...], int] = {}
    _positions(node, (), lines)
    try:
        return JobSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, _KeyError):
                loc, message = cause.loc, str(cause)
            problems.append(_problem(name, lines, loc, message))
        raise SpecError(problems) from None


def _problem(name: str, lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...], message: str) -> SpecProblem:
    line, probe = 0, loc
    while probe and not line:
        line = lines.get(probe, 0)
        probe = probe[:-1]
    key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    return SpecProblem(name, line or 1, key, message)


def _version_ref(ref: str) -> str:
    if ref.startswith("models/"):
        return ref
    model, _, version = ref.partition(":")
    return f"models/{model}/versions/{version}" if version else f"models/{model}@latest"


def to_training_job(spec: JobSpec, snapshot: str | None = None) -> training_job_pb2.TrainingJob:
    """The ``TrainingJob`` a spec asks for (``snapshot`` replaces the data section when the CLI made one)."""
    job = training_job_pb2.TrainingJob(recipe=RECIPES[spec.recipe], display_name=spec.name or "",
                                       labels=spec.labels,
                                       model=(spec.model if not spec.model or spec.model.startswith("models/")
                                              else f"models/{spec.model}"),
                                       parent_model_version=_version_ref(spec.parent) if spec.parent else "")
    if snapshot or spec.data.snapshot:
        source = snapshot or spec.data.snapshot or ""
        job.data_source.snapshot = source if source.startswith("snapshots/") else f"snapshots/{source}"
    else:
        job.data_source.latest_corpus.filter = spec.data.filter or ""
    arch = ARCHITECTURES[spec.recipe].model_validate(spec.architecture)
    tokenizers = {"byte": cfg.TOKENIZER_BYTE, "char": cfg.TOKENIZER_CHAR, None: cfg.TOKENIZER_UNSPECIFIED}
    if isinstance(arch, CausalLm):
        job.causal_lm.SetInParent()
        for key in ("layers", "heads", "embedding_size", "block_size"):
            setattr(job.causal_lm, key, getattr(arch, key) or 0)
        job.causal_lm.tokenizer = tokenizers[arch.tokenizer]
        if arch.dropout is not None:
            job.causal_lm.dropout = arch.dropout
    elif isinstance(arch, NgramLm):
        job.ngram_lm.SetInParent()
        job.ngram_lm.order = arch.order or 0
        job.ngram_lm.tokenizer = tokenizers[arch.tokenizer]
    elif isinstance(arch, EmbeddingFinetune):
        job.embedding_finetune.SetInParent()
        job.embedding_finetune.base_model = arch.base_model or ""
        job.embedding_finetune.max_seq_length = arch.max_seq_length or 0
    elif isinstance(arch, ProjectionHeads):
        job.projection_heads.SetInParent()
        job.projection_heads.embedding_model = arch.embedding_model or ""
        job.projection_heads.temperature = arch.temperature or 0.0
    h, o, options = spec.hyperparameters, spec.optimisation, job.options
    if h.seed is not None:
        options.seed = h.seed
    if h.steps is not None:
        options.max_steps = h.steps
    if h.epochs is not None:
        options.max_epochs = h.epochs
    options.learning_rate = h.learning_rate or 0.0
    options.batch_size = h.batch_size or 0
    for key in ("warmup_steps", "weight_decay", "max_grad_norm"):
        if getattr(h, key) is not None:
            setattr(options, key, getattr(h, key))
    schedules = {"constant": cfg.LEARNING_RATE_SCHEDULE_CONSTANT, "linear": cfg.LEARNING_RATE_SCHEDULE_LINEAR,
                 "cosine": cfg.LEARNING_RATE_SCHEDULE_COSINE}
    if o.scheduler:
        options.learning_rate_schedule = schedules[o.scheduler]
    if o.min_learning_rate is not None:
        options.min_learning_rate = o.min_learning_rate
    goals = {"minimize": cfg.METRIC_GOAL_MINIMIZE, "maximize": cfg.METRIC_GOAL_MAXIMIZE, None: 0}
    if o.early_stopping:
        options.early_stopping.metric = o.early_stopping.metric
        options.early_stopping.patience = o.early_stopping.patience
        options.early_stopping.min_delta = o.early_stopping.min_delta
        options.early_stopping.goal = goals[o.early_stopping.goal]
    options.eval_interval_steps = spec.evaluation.interval_steps or 0
    options.eval_batches = spec.evaluation.batches or 0
    policy = options.checkpoint_policy
    policy.interval_steps = spec.checkpoints.interval_steps or 0
    policy.keep_last = spec.checkpoints.keep_last or 0
    if spec.save_best:
        policy.keep_best = 1
        if o.early_stopping:
            policy.best_metric = o.early_stopping.metric
            policy.best_metric_goal = goals[o.early_stopping.goal]
    return job


def to_deployment(spec: JobSpec, model_version: str) -> deployment_pb2.Deployment:
    """The deployment a spec's ``deployment`` section asks for, of ``model_version``."""
    d = D(model_version=model_version, target=TARGETS[spec.deployment.target])
    check = spec.deployment.health_check
    if check:
        config = health_check_pb2.HealthCheckConfig(probe_text=check.probe_text or "")
        if check.timeout_seconds:
            config.timeout.FromMilliseconds(int(check.timeout_seconds * 1000))
        if check.period_seconds:
            config.period.FromMilliseconds(int(check.period_seconds * 1000))
        d.health_check_config.CopyFrom(config)
    return d


def run_config(config: Path, *, follow_job: bool, home: Path | None, check_only: bool = False) -> None:
    """``lathe train --config FILE``: validate, create the job (after its snapshot when the spec asks for a
    split), optionally follow it, and deploy the version when ``deployment.auto_deploy`` is set."""
    import asyncio
    import uuid

    import typer
    from rich.console import Console

    from lathe.cli.connect import EXIT_JOB_FAILED, EXIT_USAGE, resolve_home, run
    from lathe.cli.trainer import _print_job, follow
    from lathe.client import Lathe
    from lathe.corpus.v1 import corpus_service_pb2 as cs
    from lathe.corpus.v1 import snapshot_pb2
    from lathe.deployer.v1 import deployer_service_pb2 as ds
    from lathe.trainer.v1 import trainer_service_pb2 as tpb
    from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub

    console, err = Console(), Console(stderr=True)
    try:
        spec = load_spec(config)
    except SpecError as exc:
        for problem in exc.problems:
            err.print(f"[red]{problem}[/red]", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    if check_only:
        console.print(f"{config}: valid {spec.recipe} job spec")
        return
    deploy = spec.deployment.auto_deploy
    S = snapshot_pb2.Snapshot

    async def action() -> training_job_pb2.TrainingJob:
        async with Lathe(home=resolve_home(home)) as lathe:
            snapshot = None
            if spec.data.validation_split is not None or spec.data.split_by:
                strategies = {"cluster": snapshot_pb2.QA_SPLIT_STRATEGY_BY_CLUSTER,
                              "question": snapshot_pb2.QA_SPLIT_STRATEGY_BY_QUESTION}
                split = snapshot_pb2.SplitConfig(
                    seed=spec.data.split_seed, validation_fraction=spec.data.validation_split or 0.1,
                    qa_strategy=strategies.get(spec.data.split_by or "", 0))
                made = await lathe.corpus.CreateSnapshot(cs.CreateSnapshotRequest(
                    snapshot=S(filter=spec.data.filter or "", split_config=split,
                               display_name=spec.name or config.stem), reuse_existing=True))
                while made.state == S.STATE_CREATING:
                    await asyncio.sleep(0.5)
                    made = await lathe.corpus.GetSnapshot(cs.GetSnapshotRequest(name=made.name))
                snapshot = made.name
                train, held = made.counts.train, made.counts.validation
                console.print(f"snapshot {snapshot}: {train.text_count} texts, {train.question_count} questions "
                              f"for training; {held.text_count} texts, {held.question_count} questions held out")
            created = await lathe.trainer.CreateTrainingJob(tpb.CreateTrainingJobRequest(
                training_job=to_training_job(spec, snapshot), request_id=str(uuid.uuid4())))
            console.print(f"created {created.name} ({spec.recipe}) on {created.snapshot}")
            if not (follow_job or deploy):
                return created
            job = await follow(TrainerServiceStub(lathe.channel("trainer")), created.name)
            if job.state != training_job_pb2.TrainingJob.STATE_SUCCEEDED or not deploy:
                return job
            while not job.model_version:
                await asyncio.sleep(0.5)
                job = await lathe.trainer.GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))
            d = await lathe.deployer.CreateDeployment(ds.CreateDeploymentRequest(
                deployment_id=spec.deployment.name or "", request_id=str(uuid.uuid4()),
                deployment=to_deployment(spec, job.model_version)))
            while d.state not in (D.STATE_SERVING, D.STATE_FAILED, D.STATE_ROLLED_BACK):
                await asyncio.sleep(0.3)
                d = await lathe.deployer.GetDeployment(ds.GetDeploymentRequest(name=d.name))
            console.print(f"{d.name}: {D.State.Name(d.state).removeprefix('STATE_')} {d.resolved_model_version}")
            if d.state != D.STATE_SERVING:
                err.print(f"[red]deployment failed: {d.error.message}[/red]")
                raise typer.Exit(EXIT_JOB_FAILED)
            return job

    job = run(action)
    if follow_job or deploy:
        _print_job(job)
        if job.state != training_job_pb2.TrainingJob.STATE_SUCCEEDED:
            raise typer.Exit(EXIT_JOB_FAILED)
