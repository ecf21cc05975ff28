"""``Evaluate``'s side: the evaluation process, and recording its metrics on the registry version.

The evaluation runs in its own process (``services.trainer.recipes.evaluate``), like a training worker.
Its metrics reach the registry through the outbox: the handler reads the version, merges the metrics tagged
with the snapshot (``eval/<snapshot>/<metric>``, ``eval/<snapshot>/baseline/<metric>``; a split other than
validation adds ``/<split>`` after the snapshot) into its metric list and writes it back with the version's
etag, retrying on a concurrent change. Merging the same keys twice is harmless, so a redelivery is too.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import field_mask_pb2

from lathe.registry.v1 import model_version_pb2, registry_service_pb2
from lathe.trainer.v1 import trainer_service_pb2, training_config_pb2

EVALUATION_TOPIC = "registry.evaluation"
REPO_ROOT = Path(__file__).resolve().parents[3]
SPLIT_TAGS = {training_config_pb2.DATASET_SPLIT_UNSPECIFIED: "", training_config_pb2.DATASET_SPLIT_VALIDATION: "",
              training_config_pb2.DATASET_SPLIT_TRAIN: "/train", training_config_pb2.DATASET_SPLIT_TEST: "/test",
              training_config_pb2.DATASET_SPLIT_ALL: "/all"}


class EvaluationFailed(Exception):
    """The evaluation process could not evaluate the model on the data; ``invalid`` when the data are at fault."""

    def __init__(self, message: str, *, invalid: bool) -> None:
        super().__init__(message)
        self.invalid = invalid


async def run_evaluation(spec: dict[str, Any], *, threads: int, work_dir: Path) -> dict[str, Any]:
    """Run the evaluation process on ``spec`` and return its result."""
    work_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a local folder, once per evaluation
    with tempfile.NamedTemporaryFile("w", dir=work_dir, suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
        spec_path = Path(handle.name)
    env = dict(os.environ)
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.trainer.recipes.evaluate", str(spec_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=str(REPO_ROOT))
        try:
            out, err = await process.communicate()
        except asyncio.CancelledError:
            process.kill()
            raise
    finally:
        spec_path.unlink(missing_ok=True)  # noqa: ASYNC240 - a local file
    lines = [line for line in out.decode(errors="replace").splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    if "error" in result:
        raise EvaluationFailed(result["error"], invalid=result.get("kind") == "invalid")
    if process.returncode != 0 or "metrics" not in result:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise EvaluationFailed(f"the evaluation process exited with code {process.returncode}: {tail[0]}",
                               invalid=False)
    return result


def metric_entries(response: trainer_service_pb2.EvaluateResponse) -> dict[str, float]:
    """The version metrics of an evaluation, keyed ``eval/<snapshot-id>[/<split>]/<metric>``."""
    prefix = f"eval/{response.snapshot.split('/', 1)[-1]}{SPLIT_TAGS.get(response.split, '')}"
    out = {f"{prefix}/{k}": v for k, v in response.metrics.items()}
    out.update({f"{prefix}/baseline/{k}": v for k, v in response.baseline_metrics.items()})
    return {k: v for k, v in out.items() if math.isfinite(v)}


async def record_on_version(registry: Any, response: trainer_service_pb2.EvaluateResponse, attempts: int = 5) -> None:
    """Merge the evaluation's metrics into the version's metric list (etag-guarded read-modify-write)."""
    entries = metric_entries(response)
    for attempt in range(attempts):
        version = await registry.GetModelVersion(
            registry_service_pb2.GetModelVersionRequest(name=response.model_version))
        merged = {m.key: m for m in version.metrics if m.key not in entries}
        update = model_version_pb2.ModelVersion(name=version.name, etag=version.etag)
        update.metrics.extend(merged.values())
        for key, value in sorted(entries.items()):
            update.metrics.add(key=key, value=value, split=key.split("/", 1)[0])
        try:
            await registry.UpdateModelVersion(registry_service_pb2.UpdateModelVersionRequest(
                model_version=update, update_mask=field_mask_pb2.FieldMask(paths=["metrics"])))
            return
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION) or \
                    attempt == attempts - 1:
                raise
