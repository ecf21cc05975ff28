"""``lathe train --follow`` and ``lathe jobs`` against a real suite: the live progress ends with the job."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from lathe.cli.app import app
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from tests.trainer.integration.conftest import State


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Training jobs run on PostgreSQL only (each costs seconds of CPU); the cheap tests run on both."""
    return postgres_url


async def test_train_follow_streams_progress_until_the_job_succeeds(suite, tmp_path) -> None:
    env = {"LATHE_TRAINER_ADDRESS": suite.trainer_server.address, "LATHE_TOKEN": suite.tokens.alice,
           "COLUMNS": "200", "LATHE_HOME": str(tmp_path / "cli-home")}

    def lathe(*args: str):
        return CliRunner().invoke(app, list(args), env=env)

    # The CLI runs its own event loop in a thread; the servers keep serving on this one meanwhile.
    followed = await asyncio.to_thread(
        lathe, "train", "--recipe", "causal-lm", "--snapshot", suite.snapshot, "--steps", "30",
        "--batch-size", "8", "--block-size", "32", "--layers", "1", "--lr", "0.003", "--follow")
    assert followed.exit_code == 0, followed.output
    created = next(line for line in followed.output.splitlines() if line.startswith("created trainingJobs/"))
    name = created.split()[1]
    job = await suite.trainer().GetTrainingJob(tpb.GetTrainingJobRequest(name=name))
    assert job.state == State.STATE_SUCCEEDED and job.step == 30
    # The progress bar reached the last step, and the summary shows the finished job.
    assert "step 30/30" in followed.output and "SUCCEEDED" in followed.output
    assert "validation/loss" in followed.output

    listed = await asyncio.to_thread(lathe, "jobs", "--state", "SUCCEEDED")
    assert listed.exit_code == 0 and name in listed.output
    bad = await asyncio.to_thread(lathe, "train", "--recipe", "causal-lm", "--snapshot", suite.snapshot,
                                  "--lr", "-1")
    assert bad.exit_code == 2 and "learning_rate" in bad.output
