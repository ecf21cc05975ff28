"""Exports and model lifecycle events through the real history server and stub, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import json_format
from history_helpers import Session, full_session, make_session, record_many

from lathe.history.v1 import history_service_pb2 as hs
from lathe.history.v1 import lifecycle_event_pb2
from lathe.kit.errors import from_rpc_error

LifecycleEvent = lifecycle_event_pb2.LifecycleEvent


async def rpc_error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def test_csv_export_parses_back_to_the_same_rows_and_resumes(history, tokens):
    alice = history(tokens.alice)
    await alice.RecordSession(hs.RecordSessionRequest(session=full_session()))
    await record_many(alice, [make_session(i, quality=None if i % 3 else 0.25 + i / 100,
                                           tags={"poetry": i, 'odd,"tag"': 1}) for i in range(1, 40)])
    listed = (await alice.ListSessions(hs.ListSessionsRequest(page_size=500))).sessions
    chunks = [c async for c in alice.ExportSessions(hs.ExportSessionsRequest(format=hs.EXPORT_FORMAT_CSV))]
    assert len(chunks) > 3, "the test server's 2 KiB chunks split this export"
    assert all(len(c.data) <= 2048 or c.row_count == 1 for c in chunks)
    assert sum(c.row_count for c in chunks) == len(listed)
    rows = list(csv.DictReader(io.StringIO(b"".join(c.data for c in chunks).decode())))
    assert [r["name"] for r in rows] == [s.name for s in listed]
    for row, session in zip(rows, listed, strict=True):
        assert row["owner"] == session.owner and row["recipe"] == session.recipe
        assert datetime.fromisoformat(row["start_time"].replace("Z", "+00:00")) == \
            session.start_time.ToDatetime(tzinfo=UTC)
        assert float(row["duration"]) == session.duration.ToTimedelta().total_seconds()
        assert row["outcome"] == Session.Outcome.Name(session.outcome)
        assert json.loads(row["tag_counts"]) == dict(session.tag_counts)
        assert (json.loads(row["metrics"]) if row["metrics"] else {}) == dict(session.metrics)
        assert int(row["example_counts.succeeded"]) == session.example_counts.succeeded
        if session.HasField("quality"):
            assert float(row["quality.avg_score"]) == session.quality.avg_score
        else:
            assert row["quality.avg_score"] == ""
        assert (json.loads(row["config"]) if row["config"] else {}) == json_format.MessageToDict(session.config)
        assert int(row["revision"]) == session.revision
    full = next(r for r in rows if r["model_version"])
    assert json.loads(full["model_performances"])[1]["model"] == "external/gpt-4o"
    assert full["fine_tune.triggered"] == "true"
    # An interrupted export resumes after the last chunk received, without a second header.
    resumed = [c async for c in alice.ExportSessions(hs.ExportSessionsRequest(
        format=hs.EXPORT_FORMAT_CSV, resume_token=chunks[1].resume_token))]
    assert b"".join(c.data for c in chunks[:2] + resumed) == b"".join(c.data for c in chunks)
    error = await rpc_error(alice.ExportSessions(hs.ExportSessionsRequest(
        format=hs.EXPORT_FORMAT_JSONL, resume_token=chunks[1].resume_token)).read())
    assert [v.field for v in from_rpc_error(error).field_violations] == ["resume_token"]
    lines = b"".join([c.data async for c in alice.ExportSessions(
        hs.ExportSessionsRequest(format=hs.EXPORT_FORMAT_JSONL, order_by="start_time"))]).decode().splitlines()
    parsed = [json_format.Parse(line, Session()) for line in lines]
    assert parsed == list(reversed(listed))


def alias_move(model: str, alias: str, when: datetime, new: str = "", previous: str = "",
               actor: str = "alice") -> LifecycleEvent:
    event = LifecycleEvent(model=model, actor=actor,
                           alias_moved=LifecycleEvent.AliasMoved(alias=alias, previous_version=previous,
                                                                 new_version=new))
    event.event_time.FromDatetime(when)
    return event


async def test_alias_history_answers_which_version_was_production_at_time_t(history, tokens):
    registry = history(tokens.service)
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    v = [f"models/chat/versions/{n}" for n in range(4)]
    moves = [
        alias_move("models/chat", "production", t0, new=v[1]),
        alias_move("models/chat", "staging", t0 + timedelta(days=1), new=v[2]),
        alias_move("models/chat", "production", t0 + timedelta(days=10), new=v[2], previous=v[1], actor="bob"),
        alias_move("models/chat", "production", t0 + timedelta(days=20), previous=v[2]),
        alias_move("models/chat", "production", t0 + timedelta(days=30), new=v[3]),
        alias_move("models/other", "production", t0 + timedelta(days=5), new="models/other/versions/9"),
    ]
    # Delivered out of order, as a late outbox would: history is ordered by event_time, not arrival.
    recorded = {}
    for i in (4, 0, 3, 1, 5, 2):
        recorded[i] = await registry.RecordLifecycleEvent(hs.RecordLifecycleEventRequest(lifecycle_event=moves[i]))
    reader = history(tokens.alice)

    async def production_at(when: datetime) -> str:
        request = hs.GetAliasHistoryRequest(model="models/chat", alias="production")
        request.read_time.FromDatetime(when)
        response = await reader.GetAliasHistory(request)
        return response.current.model_version if response.HasField("current") else ""

    assert await production_at(t0 - timedelta(seconds=1)) == ""
    assert await production_at(t0) == v[1]
    assert await production_at(t0 + timedelta(days=9, hours=23)) == v[1]
    assert await production_at(t0 + timedelta(days=15)) == v[2]
    assert await production_at(t0 + timedelta(days=25)) == ""  # removed
    assert await production_at(t0 + timedelta(days=31)) == v[3]
    now = await reader.GetAliasHistory(hs.GetAliasHistoryRequest(model="models/chat", alias="production"))
    assert now.current.model_version == v[3] and not now.current.HasField("end_time")
    assert [a.model_version for a in now.assignments] == [v[3], v[2], v[1]]
    assert now.assignments[1].end_event == recorded[3].name  # ended by the removal
    assert now.assignments[1].actor == "bob"
    assert now.assignments[2].end_time == recorded[2].event_time
    walked, token = [], ""
    while True:
        page = await reader.GetAliasHistory(hs.GetAliasHistoryRequest(model="models/chat", alias="production",
                                                                      page_size=1, page_token=token))
        walked += page.assignments
        token = page.next_page_token
        if not token:
            break
    assert list(walked) == list(now.assignments)
    error = await rpc_error(reader.GetAliasHistory(hs.GetAliasHistoryRequest(model="models/chat", alias="canary")))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    future = hs.GetAliasHistoryRequest(model="models/chat", alias="production")
    future.read_time.FromDatetime(datetime.now(UTC) + timedelta(days=1))
    error = await rpc_error(reader.GetAliasHistory(future))
    assert [v.field for v in from_rpc_error(error).field_violations] == ["read_time"]
    # The same question through the event list: what happened to production before day 15.
    listed = await reader.ListLifecycleEvents(hs.ListLifecycleEventsRequest(
        filter=f'model = "models/chat" AND alias = "production" AND event_time < '
               f'"{(t0 + timedelta(days=15)).isoformat()}"'))
    assert [e.name for e in listed.lifecycle_events] == [recorded[2].name, recorded[0].name]


async def test_lifecycle_events_are_recorded_once_filtered_and_checked(history, tokens):
    registry = history(tokens.service)
    when = datetime.now(UTC) - timedelta(hours=1)
    registered = LifecycleEvent(model="models/chat", actor="alice", version_registered=LifecycleEvent.VersionRegistered(
        model_version="models/chat/versions/1", training_job="trainingJobs/j1"))
    registered.event_time.FromDatetime(when)
    deployed = LifecycleEvent(model="models/chat", deployed=LifecycleEvent.Deployed(
        deployment="deployments/web", model_version="models/chat/versions/1", revision="r1", target="local",
        traffic_percent=100))
    deployed.event_time.FromDatetime(when + timedelta(minutes=1))
    rolled = LifecycleEvent(model="models/chat", rolled_back=LifecycleEvent.RolledBack(
        deployment="deployments/web", from_version="models/chat/versions/2", to_version="models/chat/versions/1",
        automatic=True, reason="health check failed"))
    rolled.event_time.FromDatetime(when + timedelta(minutes=2))
    event_id = str(uuid.uuid4())
    first = await registry.RecordLifecycleEvent(hs.RecordLifecycleEventRequest(lifecycle_event=registered,
                                                                               lifecycle_event_id=event_id))
    assert first.name == f"lifecycleEvents/{event_id}" and first.kind == LifecycleEvent.KIND_VERSION_REGISTERED
    assert first.source == "lathe-services"
    again = await registry.RecordLifecycleEvent(hs.RecordLifecycleEventRequest(lifecycle_event=registered,
                                                                               lifecycle_event_id=event_id))
    assert again == first
    changed = LifecycleEvent()
    changed.CopyFrom(registered)
    changed.actor = "bob"
    error = await rpc_error(registry.RecordLifecycleEvent(hs.RecordLifecycleEventRequest(
        lifecycle_event=changed, lifecycle_event_id=event_id)))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    second = await registry.RecordLifecycleEvent(hs.RecordLifecycleEventRequest(lifecycle_event=deployed))
    third = await registry.RecordLifecycleEvent(hs.RecordLifecycleEventRequest(lifecycle_event=rolled))
    reader = history(tokens.bob)
    assert await reader.GetLifecycleEvent(hs.GetLifecycleEventRequest(name=second.name)) == second
    for text, expected in (
        ('model_version = "models/chat/versions/1"', [third, second, first]),
        ('model_version = "models/chat/versions/2"', [third]),
        ("kind = DEPLOYED", [second]),
        ('deployment = "deployments/web" AND kind != KIND_DEPLOYED', [third]),
        ('actor = "alice"', [first]),
        ('source = "lathe-services"', [third, second, first]),
    ):
        listed = await reader.ListLifecycleEvents(hs.ListLifecycleEventsRequest(filter=text))
        assert [e.name for e in listed.lifecycle_events] == [e.name for e in expected], text
    oldest_first = await reader.ListLifecycleEvents(hs.ListLifecycleEventsRequest(order_by="event_time", page_size=2))
    rest = await reader.ListLifecycleEvents(hs.ListLifecycleEventsRequest(
        order_by="event_time", page_size=2, page_token=oldest_first.next_page_token))
    assert [e.name for e in [*oldest_first.lifecycle_events, *rest.lifecycle_events]] == \
        [first.name, second.name, third.name]
    # Only services and admins report lifecycle events; a version of another model is refused.
    error = await rpc_error(reader.RecordLifecycleEvent(hs.RecordLifecycleEventRequest(lifecycle_event=deployed)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    foreign = LifecycleEvent()
    foreign.CopyFrom(deployed)
    foreign.deployed.model_version = "models/other/versions/1"
    future = LifecycleEvent()
    future.CopyFrom(deployed)
    future.event_time.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
    for event, field in ((foreign, "lifecycle_event.deployed.model_version"),
                         (future, "lifecycle_event.event_time"),
                         (LifecycleEvent(model="models/chat"), "lifecycle_event.event_time")):
        error = await rpc_error(registry.RecordLifecycleEvent(hs.RecordLifecycleEventRequest(lifecycle_event=event)))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in [v.field for v in from_rpc_error(error).field_violations]
    error = await rpc_error(reader.ListLifecycleEvents(hs.ListLifecycleEventsRequest(filter="colour = red")))
    assert [v.field for v in from_rpc_error(error).field_violations] == ["filter"]
    unknown = hs.GetLifecycleEventRequest(name=f"lifecycleEvents/{uuid.uuid4()}")
    error = await rpc_error(reader.GetLifecycleEvent(unknown))
    assert error.code() == grpc.StatusCode.NOT_FOUND
