"""How each event of the log changes its job (pure): the job resource is a fold over its events."""

from __future__ import annotations

from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_event_pb2, training_job_pb2

TrainingJob = training_job_pb2.TrainingJob
Event = training_event_pb2.TrainingEvent
State = TrainingJob.State
TERMINAL = frozenset({State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED})
TERMINAL_EVENTS = frozenset({"job_succeeded", "job_failed", "job_cancelled"})


def tokens_per_step(job: TrainingJob) -> int:
    """Training tokens one optimizer step consumes (0 for a recipe that does not count tokens)."""
    if job.recipe == cfg.RECIPE_CAUSAL_LM:
        return job.options.batch_size * job.causal_lm.block_size
    return 0


def apply(job: TrainingJob, event: Event) -> None:
    """Update ``job`` (in place) with ``event``, and stamp the event with the job's resulting state."""
    kind = event.WhichOneof("payload")
    if kind == "job_queued":
        job.state = State.STATE_QUEUED
    elif kind == "job_started":
        started = event.job_started
        if job.state != State.STATE_CANCELLING:
            job.state = State.STATE_RUNNING
        del job.devices[:]
        job.devices.extend(started.devices)
        if not job.HasField("start_time"):
            job.start_time.CopyFrom(event.event_time)
        job.total_steps = started.total_steps
    elif kind == "step_metrics":
        m = event.step_metrics
        job.step = m.step
        job.progress_fraction = m.progress_fraction
        if m.HasField("eta"):
            job.estimated_remaining.CopyFrom(m.eta)
        job.latest_metrics["train/loss"] = m.loss
        job.latest_metrics["learning_rate"] = m.learning_rate
        job.latest_metrics["tokens_per_second"] = m.tokens_per_second
        job.tokens_processed = m.step * tokens_per_step(job)
        job.examples_processed = m.step * job.options.batch_size
    elif kind == "evaluation":
        e = event.evaluation
        for key, value in e.metrics.items():
            job.latest_metrics[f"validation/{key}"] = value
        for key, value in e.baseline_metrics.items():
            job.baseline_metrics[f"validation/{key}"] = value
    elif kind == "checkpoint_saved":
        saved = event.checkpoint_saved
        deleted = set(saved.deleted_checkpoints)
        kept = [c for c in job.checkpoints if c.name not in deleted and c.name != saved.checkpoint.name]
        if saved.checkpoint.is_best:
            for c in kept:
                c.is_best = False
        del job.checkpoints[:]
        job.checkpoints.extend(kept)
        job.checkpoints.append(saved.checkpoint)
    elif kind == "job_succeeded":
        s = event.job_succeeded
        job.state = State.STATE_SUCCEEDED
        job.step = s.step
        job.progress_fraction = 1.0
        job.ClearField("estimated_remaining")
        for key, value in s.final_metrics.items():
            job.latest_metrics[key] = value
        for key, value in s.baseline_metrics.items():
            job.baseline_metrics[key] = value
        job.artifact_uri = s.artifact_uri
        job.artifact_sha256 = s.artifact_sha256
        if s.model_version:
            job.model_version = s.model_version
        job.end_time.CopyFrom(event.event_time)
    elif kind == "job_failed":
        job.state = State.STATE_FAILED
        job.error.CopyFrom(event.job_failed.error)
        job.ClearField("estimated_remaining")
        job.end_time.CopyFrom(event.event_time)
    elif kind == "cancellation_requested":
        job.state = State.STATE_CANCELLING
    elif kind == "job_cancelled":
        job.state = State.STATE_CANCELLED
        job.ClearField("estimated_remaining")
        job.end_time.CopyFrom(event.event_time)
    elif kind == "worker_restarted":
        if event.worker_restarted.reason != Event.WorkerRestarted.REASON_SERVICE_RESTARTED:
            job.restart_count += 1
    elif kind == "model_version_registered":
        job.model_version = event.model_version_registered.model_version
    job.update_time.CopyFrom(event.event_time)
    job.last_event_sequence = event.sequence
    event.job_state = job.state


def retention(checkpoints: list[tuple[int, float | None]], *, keep_last: int, keep_best: int,
              minimize: bool) -> set[int]:
    """The steps to keep among ``(step, best_value)``: the ``keep_last`` latest and ``keep_best`` best."""
    by_step = sorted(checkpoints, key=lambda c: c[0])
    keep = {step for step, _ in by_step[-keep_last:]} if keep_last else set()
    scored = [c for c in by_step if c[1] is not None]
    scored.sort(key=lambda c: (c[1] if minimize else -c[1], -c[0]))  # type: ignore[operator]
    keep.update(step for step, _ in scored[:keep_best])
    return keep
