"""A training worker process: ``python -m services.trainer.worker <spec.json>``.

Started by the trainer service with its device pinned (``CUDA_VISIBLE_DEVICES``; torch threads on the
CPU). It runs one attempt of one job through the shared loop: prepare, build, resume from a checkpoint when
told to, train with periodic evaluation and checkpoints, stop early or on SIGTERM (cancel), then evaluate on
the whole validation split and export the model folder. Progress leaves as ``TrainingEvent`` frames on
file descriptor 1 (stdout is re-pointed at stderr so stray prints cannot corrupt the channel); in a pod of a
Kubeflow ``PyTorchJob`` (``LATHE_TRAINER_JOB`` set) they stream to the trainer's ``ReportWorkerEvents`` RPC
instead, and the trainer asking the worker to stop there (a cancel) stops it as a broken pipe does. A pod's
spec names no folder of the trainer's: its inputs are staged in the artifact store, and the worker first
fetches them, verified, into the pod's scratch volume (:mod:`services.trainer.adapters.staging`).

When ``world_size`` > 1 it runs once per rank under ``torchrun`` (see :mod:`services.trainer.distributed`):
every rank trains its slice of each global batch under DDP, evaluations are sharded and summed over ranks,
stop decisions are agreed by all ranks each step, and rank 0 alone emits events, writes checkpoints and
exports the model (the other ranks close their copy of the event channel at start). Every rank writes a
small marker file ``attempt-{n}.rank-{r}.json`` (pid, rank, steps trained) into the job's work folder.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch
from google.protobuf.timestamp_pb2 import Timestamp

from lathe.kit.artifacts import open_store
from lathe.trainer.v1 import checkpoint_pb2, training_config_pb2, training_event_pb2, training_job_pb2
from services.trainer import distributed
from services.trainer.adapters import staging
from services.trainer.adapters.frames import Sink, open_sink
from services.trainer.domain.config import metric_goal_minimizes
from services.trainer.recipes.base import Recipe, RecipeContext
from services.trainer.recipes.registry import RECIPES

Event = training_event_pb2.TrainingEvent
EXIT_CANCELLED = 3


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


def die_with_parent() -> None:
    """Ask Linux to kill this process when the service that started it dies (no orphaned training)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Loop:
    """The loop every iterative recipe shares: steps, logging, evaluation, checkpoints, early stopping."""

    def __init__(self, spec: dict[str, Any], sink: Sink | None,
                 topology: distributed.Topology | None = None) -> None:
        self.spec = spec
        self.sink = sink
        self.topology = topology = topology or distributed.Topology()
        self.job = training_job_pb2.TrainingJob.FromString(base64.b64decode(spec["job"]))
        self.job_name = spec["job_name"]
        self.store = open_store(spec["artifact_root"])
        self.work_dir = Path(spec["work_dir"])
        self.stop_requested = False
        self.total_steps = int(spec["total_steps"])
        parent = Path(spec["parent_folder"]) if spec.get("parent_folder") else None
        device = spec["device"]
        if device == "cuda" and topology.distributed:
            device = f"cuda:{topology.local_rank}"
        self.device = device
        context = RecipeContext(job=self.job, data_dir=Path(spec["data_dir"]), device=device,
                                seed=int(self.job.options.seed), total_steps=self.total_steps,
                                parent_folder=parent, rank=topology.rank, world_size=topology.world_size)
        self.recipe: Recipe = RECIPES[self.job.recipe](context)
        policy = self.job.options.checkpoint_policy
        self.best_metric = policy.best_metric
        self.minimize = metric_goal_minimizes(policy.best_metric, policy.best_metric_goal)
        self.state: dict[str, Any] = {"step": 0, "tokens": 0, "examples": 0, "best_value": None, "best_step": 0,
                                      "early_best": None, "early_best_step": 0, "bad_evals": 0,
                                      "baseline": None, "latest": {}}

    def emit(self, **payload: Any) -> None:
        if self.sink is None:  # ranks other than 0 stay silent
            return
        event = Event(event_time=_now())
        for name, message in payload.items():
            getattr(event, name).CopyFrom(message)
        self.sink.emit(event)

    def log(self, severity: int, message: str) -> None:
        self.emit(log_message=Event.LogMessage(severity=severity, message=message[:4096]))

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, metrics: dict[str, float], is_best: bool) -> None:
        if not self.topology.is_writer:
            return
        step = self.state["step"]
        payload = {"recipe": self.recipe.state_dict(), "loop": self.state, "job": self.job.SerializeToString(),
                   "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                           "python": random.getstate(),
                           "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}}
        tokenizer = getattr(self.recipe, "tokenizer", None)
        if tokenizer is not None:
            # Stored with the weights so a checkpoint can be sampled from without the job's data.
            payload["tokenizer"] = tokenizer.to_json()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.work_dir, suffix=".ckpt", delete=False) as handle:
            torch.save(payload, handle)
            path = Path(handle.name)
        try:
            ref = self.store.put_file(path)
        finally:
            path.unlink(missing_ok=True)
        checkpoint = checkpoint_pb2.Checkpoint(
            name=f"{self.job_name}/checkpoints/step-{step:09d}", step=step, epoch=self.epoch(), uri=ref.uri,
            sha256=ref.sha256, size_bytes=ref.size, metrics=metrics, is_best=is_best, create_time=_now())
        self.emit(checkpoint_saved=Event.CheckpointSaved(checkpoint=checkpoint))

    def resume(self, checkpoint: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory(dir=self.work_dir) as tmp:
            path = self.store.fetch(checkpoint["uri"], Path(tmp) / "checkpoint.pt",
                                    expected_sha256=checkpoint["sha256"])
            payload = torch.load(path, map_location="cpu", weights_only=False)
        saved_job = training_job_pb2.TrainingJob.FromString(payload["job"])
        if saved_job.recipe != self.job.recipe:
            raise ValueError("the checkpoint was written by another recipe")
        self.recipe.load_state_dict(payload["recipe"])
        self.state = payload["loop"]
        torch.set_rng_state(payload["rng"]["torch"])
        np.random.set_state(payload["rng"]["numpy"])
        random.setstate(payload["rng"]["python"])
        if payload["rng"]["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(payload["rng"]["cuda"])

    def epoch(self) -> float:
        train_tokens = self.recipe.train_tokens()
        return self.state["tokens"] / train_tokens if train_tokens else 0.0

    # ------------------------------------------------------------------ the loop

    def improved(self, value: float, best: float | None, minimize: bool, min_delta: float = 0.0) -> bool:
        if best is None:
            return True
        return value < best - min_delta if minimize else value > best + min_delta

    def evaluate(self, *, final: bool) -> dict[str, float]:
        result = self.recipe.evaluate(final=final)
        baseline = self.state["baseline"] or {}
        metrics = {f"validation/{k}": v for k, v in result.metrics.items()}
        metrics["train/loss"] = self.state["latest"].get("train/loss", float("nan"))
        value = metrics.get(self.best_metric)
        is_best = value is not None and self.improved(value, self.state["best_value"], self.minimize)
        if is_best:
            self.state["best_value"], self.state["best_step"] = value, self.state["step"]
        self.emit(evaluation=Event.Evaluation(
            step=self.state["step"], split=training_config_pb2.DATASET_SPLIT_VALIDATION, metrics=result.metrics,
            baseline_metrics=baseline, example_count=result.example_count, is_final=final, is_best=is_best))
        self.state["latest"].update({k: v for k, v in metrics.items() if k != "train/loss"})
        self.last_eval_best = is_best
        return metrics

    def should_stop_early(self, metrics: dict[str, float]) -> bool:
        if not self.job.options.HasField("early_stopping"):
            return False
        e = self.job.options.early_stopping
        value = metrics.get(e.metric)
        if value is None:
            return False
        if self.improved(value, self.state["early_best"], metric_goal_minimizes(e.metric, e.goal), e.min_delta):
            self.state["early_best"], self.state["early_best_step"], self.state["bad_evals"] = \
                value, self.state["step"], 0
            return False
        self.state["bad_evals"] += 1
        if self.state["bad_evals"] >= e.patience:
            self.emit(early_stopped=Event.EarlyStopped(
                step=self.state["step"], metric=e.metric, best_value=self.state["early_best"],
                best_step=self.state["early_best_step"], patience=e.patience))
            return True
        return False

    def run(self) -> int:
        o = self.job.options
        self.recipe.prepare()
        self.recipe.build()
        resume = self.spec.get("resume")
        if resume:
            self.resume(resume)
        self.mark(trained_steps=0)
        world = self.topology.world_size
        self.emit(job_started=Event.JobStarted(
            devices=list(self.spec.get("devices") or [self.spec["device_name"]]),
            # The launcher's pid when torchrun started this rank (the process the service supervises).
            worker_pid=os.getppid() if self.topology.distributed else os.getpid(), host=socket.gethostname(),
            world_size=world,
            resumed_from_step=resume["step"] if resume else 0,
            resumed_from_checkpoint=resume["name"] if resume else "", total_steps=self.total_steps))
        if self.state["baseline"] is None:
            self.state["baseline"] = self.recipe.baseline()
        self.last_eval_best = False
        stopped_early = False
        interval_start, interval_tokens, interval_examples = time.perf_counter(), 0, 0
        run_start, run_start_step = time.perf_counter(), self.state["step"]
        trained = 0
        while self.state["step"] < self.total_steps and not stopped_early:
            if self.should_stop():
                self.mark(trained_steps=trained, stopped=True)
                return EXIT_CANCELLED
            step = self.state["step"] + 1
            result = self.recipe.train_step(step)
            trained += 1
            if self.topology.distributed:
                # The global mean loss, and one stop decision for all ranks (a cancel seen by any rank stops
                # every rank after the same step, so none waits on a collective the others left).
                loss, stop = distributed.all_reduce([result.loss, float(self.local_stop())], device=self.device)
                result.loss = loss / world
                self.stop_everywhere = stop > 0
            self.state["step"] = step
            self.state["tokens"] += result.tokens
            self.state["examples"] += result.examples
            self.state["latest"]["train/loss"] = result.loss
            interval_tokens += result.tokens
            interval_examples += result.examples
            if step % o.log_interval_steps == 0 or step == self.total_steps:
                now = time.perf_counter()
                elapsed = max(now - interval_start, 1e-9)
                per_step = (now - run_start) / max(step - run_start_step, 1)
                eta = Event.StepMetrics().eta
                eta.FromNanoseconds(int(per_step * (self.total_steps - step) * 1e9))
                tokens_per_second = interval_tokens / elapsed
                self.state["latest"]["tokens_per_second"] = tokens_per_second
                metrics = Event.StepMetrics(
                    step=step, epoch=self.epoch(), loss=result.loss, learning_rate=result.learning_rate,
                    tokens_per_second=tokens_per_second, examples_per_second=interval_examples / elapsed,
                    progress_fraction=step / self.total_steps, eta=eta)
                if result.grad_norm is not None:
                    metrics.grad_norm = result.grad_norm
                self.emit(step_metrics=metrics)
                interval_start, interval_tokens, interval_examples = now, 0, 0
            evaluated: dict[str, float] | None = None
            if self.recipe.iterative and step % o.eval_interval_steps == 0 and step < self.total_steps:
                evaluated = self.evaluate(final=False)
                stopped_early = self.should_stop_early(evaluated)
            if self.recipe.iterative and (step % o.checkpoint_policy.interval_steps == 0 or stopped_early
                                          or step == self.total_steps):
                metrics = dict(self.state["latest"]) if evaluated is None else evaluated
                self.save_checkpoint(metrics, is_best=evaluated is not None and self.last_eval_best)
        self.mark(trained_steps=trained)
        if self.should_stop():
            return EXIT_CANCELLED
        final = self.evaluate(final=True)
        if self.recipe.iterative and self.last_eval_best:
            # The final evaluation is the best so far: mark the last checkpoint as best too.
            self.save_checkpoint(final, is_best=True)
        if not self.topology.is_writer:
            return 0
        sample = self.recipe.sample("\n", 120)
        if sample:
            self.log(Event.LogMessage.SEVERITY_INFO, f"sample at step {self.state['step']}: {sample}")
        export = self.export()
        self.emit(job_succeeded=Event.JobSucceeded(
            final_metrics={**final, "tokens_per_second": self.state["latest"].get("tokens_per_second", 0.0)},
            baseline_metrics={f"validation/{k}": v for k, v in (self.state["baseline"] or {}).items()},
            artifact_uri=export["uri"], artifact_sha256=export["digest"], step=self.state["step"]))
        return 0

    def local_stop(self) -> bool:
        return self.stop_requested or (self.sink is not None and self.sink.broken)

    def should_stop(self) -> bool:
        """Whether to stop now; in a multi-rank job, the decision all ranks took at the last step."""
        if self.topology.distributed:
            return getattr(self, "stop_everywhere", False)
        return self.local_stop()

    def mark(self, **fields: Any) -> None:
        """This rank's marker file in the job's work folder (its pid, rank and progress), for operators."""
        path = self.work_dir / f"attempt-{self.spec['attempt']}.rank-{self.topology.rank}.json"
        record = {"rank": self.topology.rank, "world_size": self.topology.world_size, "pid": os.getpid(),
                  "device": self.device, "step": self.state["step"], **fields}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, path)

    def export(self) -> dict[str, Any]:
        """Write the model folder in the work folder, then store it under ``models/<job>-attempt-<n>`` in the
        artifact store (local or S3); its manifest is computed from this staging copy and every file is
        checked against it on the way in, so the digest the success event carries is what the store holds."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.work_dir, prefix=".export-"))
        try:
            architecture = self.recipe.export(staging)
            (staging / "lathe-export.json").write_text(json.dumps({
                "recipe": self.recipe.name, "training_job": self.job_name, "step": self.state["step"],
                "architecture": architecture}, indent=2, sort_keys=True, default=str))
            name = f"models/{self.job_name.rsplit('/', 1)[-1]}-attempt-{self.spec['attempt']}"
            folder = self.store.put_folder(staging, name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return {"uri": folder.uri, "digest": folder.digest.removeprefix("sha256:")}


def _report_error(sink: Sink | None, exc: BaseException) -> None:
    """Report an error before the loop exists as the loop would (an error log event), and on stderr."""
    traceback.print_exc()
    if sink is not None:
        message = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"[:4096]
        sink.emit(Event(event_time=_now(), log_message=Event.LogMessage(
            severity=Event.LogMessage.SEVERITY_ERROR, message=message)))


def main(argv: list[str]) -> int:
    """Run one attempt of one job; exit 0 on success, 3 when stopped by SIGTERM, 1 on an error."""
    die_with_parent()
    channel = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    spec = json.loads(Path(argv[1]).read_text())
    if spec["device"] == "cpu":
        torch.set_num_threads(int(spec["threads"]))
    topology = distributed.topology_from_env()
    if topology.is_writer:
        # The pipe to the local scheduler, or in a Kubernetes pod a stream to the trainer (see frames.open_sink).
        sink: Sink | None = open_sink(channel, int(spec["attempt"]))
    else:
        channel.close()
        sink = None
    if staging.is_staged(spec):
        # A pod of a PyTorchJob: its inputs are in the artifact store, fetched into the pod's scratch volume.
        try:
            spec = staging.localize(spec, staging.scratch_from(os.environ))
        except Exception as exc:
            _report_error(sink, exc)
            if sink is not None:
                sink.close()
            return 1
    distributed.init(topology, spec["device"], float(spec.get("distributed_timeout_seconds", 300)))
    loop = Loop(spec, sink, topology)

    def request_stop(signum: int, frame: object) -> None:
        loop.stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    code = 1
    try:
        code = loop.run()
    except Exception as exc:  # reported as an event; the service decides between restart and failure
        loop.log(Event.LogMessage.SEVERITY_ERROR, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        traceback.print_exc()
        code = 1
    finally:
        if sink is not None:
            sink.close()
    if topology.distributed and code != 1:
        # All ranks meet before the group is torn down (without it, about one run in four aborts at exit).
        distributed.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
