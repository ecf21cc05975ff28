"""ListTrainingJobs ``order_by``: every field of the contract, pages that neither skip nor repeat a job."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from lathe.kit.errors import from_rpc_error
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from tests.trainer.integration.conftest import State, tiny_job, wait_state


async def _walk(stub, order_by: str, size: int = 2) -> list[str]:
    names, token = [], ""
    while True:
        page = await stub.ListTrainingJobs(tpb.ListTrainingJobsRequest(order_by=order_by, page_size=size,
                                                                       page_token=token))
        names += [j.name for j in page.training_jobs]
        token = page.next_page_token
        if not token:
            return names


def _sort_key(job, field: str, descending: bool):
    if field == "priority":
        return job.scheduling.priority
    if not job.HasField(field):  # unset times sort last either way
        return float("-inf") if descending else float("inf")
    return getattr(job, field).ToNanoseconds()


async def test_list_jobs_orders_by_each_contract_field_across_pages(suite) -> None:
    stub = suite.trainer()
    names = []
    for i, priority in enumerate([0, -5, -1, -5, 0]):
        job = tiny_job(suite.snapshot, steps=400)
        job.scheduling.CopyFrom(cfg.SchedulingOptions(priority=priority))
        created = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
            training_job=job, training_job_id=f"order-{i}"))
        names.append(created.name)
    # One job runs (the device is busy), the others wait; cancel the waiting ones first, then the runner.
    await asyncio.sleep(0.5)
    for name in names:
        job = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=name))
        if job.state == State.STATE_QUEUED:
            await stub.CancelTrainingJob(tpb.CancelTrainingJobRequest(name=name))
    for name in names:
        await stub.CancelTrainingJob(tpb.CancelTrainingJobRequest(name=name))
    jobs = {n: await wait_state(stub, n, {State.STATE_CANCELLED}) for n in names}
    assert any(j.HasField("start_time") for j in jobs.values())
    assert any(not j.HasField("start_time") for j in jobs.values())

    for order_by in ("create_time", "create_time desc", "start_time", "start_time desc", "end_time desc",
                     "priority desc, create_time", "priority, end_time desc", ""):
        terms = [t.split() for t in (order_by or "create_time desc").split(",")]

        def expected_key(job, terms=terms):
            return tuple(-_sort_key(job, t[0], len(t) == 2) if len(t) == 2 else _sort_key(job, t[0], False)
                         for t in terms)

        first_desc = len(terms[0]) == 2
        ordered = sorted(jobs.values(), key=lambda j: j.name, reverse=first_desc)  # ties broken by name
        ordered = sorted(ordered, key=expected_key)
        assert await _walk(stub, order_by) == [j.name for j in ordered], order_by

    for bad in ("name", "priority sideways", "priority, priority"):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ListTrainingJobs(tpb.ListTrainingJobsRequest(order_by=bad))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert from_rpc_error(info.value).field_violations[0].field == "order_by"
    # A page token only continues the ordering it was issued for.
    page = await stub.ListTrainingJobs(tpb.ListTrainingJobsRequest(order_by="priority", page_size=2))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ListTrainingJobs(tpb.ListTrainingJobsRequest(order_by="end_time", page_size=2,
                                                                page_token=page.next_page_token))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
