"""How the trainer reads a PyTorchJob's status, and which event channel a worker opens where."""

from __future__ import annotations

import io

import pytest
from pydantic import ValidationError

from services.trainer.adapters.frames import EventSink, RemoteEventSink, open_sink
from services.trainer.adapters.remote import pytorch_job_status
from services.trainer.settings import TrainerSettings


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


@pytest.mark.parametrize(("given", "used"), [
    ("10.1.2.3:50052", "10.1.2.3:50052"),
    ("trainer.lathe.svc.cluster.local:50052", "trainer.lathe.svc.cluster.local:50052"),
    ("fd00:10:244::5:50052", "[fd00:10:244::5]:50052"),  # $(POD_IP):50052 on an IPv6 cluster
    ("[fd00::5]:50052", "[fd00::5]:50052"),
])
def test_the_address_pods_report_to_is_one_grpc_can_dial(given: str, used: str) -> None:
    settings = TrainerSettings(trainer_kubernetes_trainer_address=given)
    assert settings.trainer_kubernetes_trainer_address == used


def test_an_address_that_is_not_host_and_port_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="trainer_kubernetes_trainer_address"):
        TrainerSettings(trainer_kubernetes_trainer_address="a:b:c")
