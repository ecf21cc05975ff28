"""How the trainer reads a PyTorchJob's status, and which event channel a worker opens where."""

from __future__ import annotations

import io

import pytest

from services.trainer.adapters.frames import EventSink, RemoteEventSink, open_sink
from services.trainer.adapters.remote import pytorch_job_status


def job_with(*conditions: tuple[str, str], message: str = "") -> dict:
    return {"status": {"conditions": [{"type": t, "status": s, "message": message} for t, s in conditions]}}


def test_the_operators_conditions_give_the_phase_and_a_failure_keeps_its_message() -> None:
    assert pytorch_job_status({}).phase == "pending"
    assert pytorch_job_status(job_with(("Created", "True"))).phase == "pending"
    assert pytorch_job_status(job_with(("Created", "True"), ("Running", "True"))).phase == "running"
    failed = pytorch_job_status(job_with(("Running", "False"), ("Failed", "True"), message="1 Master replica failed"))
    assert (failed.phase, failed.message, failed.ended) == ("failed", "1 Master replica failed", True)
    # A condition that is no longer true does not count: a job that was restarting and now runs is running.
    assert pytorch_job_status(job_with(("Failed", "False"), ("Running", "True"))).phase == "running"
    assert pytorch_job_status(job_with(("Succeeded", "True"))).ended


def test_a_worker_streams_to_the_trainer_only_where_its_environment_names_the_job() -> None:
    local = open_sink(io.BytesIO(), 1, {"LATHE_TRAINER_ADDRESS": "trainer:50052"})  # set for every service pod
    assert isinstance(local, EventSink)
    local.close()
    with pytest.raises(ValueError, match="LATHE_TRAINER_ADDRESS"):
        open_sink(io.BytesIO(), 1, {"LATHE_TRAINER_JOB": "trainingJobs/x"})
    remote = open_sink(io.BytesIO(), 1, {"LATHE_TRAINER_JOB": "trainingJobs/x", "LATHE_TRAINER_ADDRESS": "127.0.0.1:1",
                                         "LATHE_SERVICE_TOKEN": "t"})
    assert isinstance(remote, RemoteEventSink) and not remote.broken
    remote._close_timeout = 0.5  # nothing listens there: give up quickly
    remote.close()
