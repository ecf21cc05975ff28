"""Builders and helpers shared by the history integration tests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf import struct_pb2
from google.rpc import status_pb2

from lathe.history.v1 import history_service_pb2 as hs
from lathe.history.v1 import session_pb2
from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub

Session = session_pb2.Session
BASE_TIME = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def make_session(i: int = 0, *, owner: str = "", recipe: str = "causal-lm", start: datetime | None = None,
                 minutes: int = 10, outcome: int = Session.OUTCOME_SUCCEEDED, quality: float | None = 0.5,
                 tags: dict[str, int] | None = None, triggered: bool = False, saved: int = 0,
                 generated: int = 100) -> Session:
    """A valid session; ``i`` spreads start times one hour apart from BASE_TIME."""
    start = start or BASE_TIME + timedelta(hours=i)
    session = Session(owner=owner, recipe=recipe, outcome=outcome,
                      training_job=f"trainingJobs/job-{i}", snapshot="snapshots/snap-1",
                      example_counts=Session.Counts(requested=generated + 5, succeeded=generated, failed=5),
                      tag_counts=tags if tags is not None else {"poetry": 3})
    session.start_time.FromDatetime(start)
    session.end_time.FromDatetime(start + timedelta(minutes=minutes))
    session.duration.FromSeconds(minutes * 60)
    if quality is not None:
        session.quality.CopyFrom(Session.Quality(min_score=max(0.0, quality - 0.1), avg_score=quality,
                                                 max_score=min(1.0, quality + 0.1), sample_count=10))
    if outcome == Session.OUTCOME_FAILED:
        session.error.CopyFrom(status_pb2.Status(code=13, message="out of memory"))
    if triggered:
        session.fine_tune.CopyFrom(Session.FineTune(triggered=True, threshold=1000,
                                                    training_job="trainingJobs/ft-1"))
    if saved:
        session.storage_choices.append(Session.StorageChoice(artifact="examples", mode=Session.StorageChoice.MODE_SAVED,
                                                             uri="file:///tmp/x", example_count=saved))
    return session


def full_session() -> Session:
    """A session with every field of the contract set."""
    session = make_session(0, owner="alice", tags={"poetry": 4, "news": 2}, triggered=True, saved=40)
    session.model_version = "models/tiny-gpt/versions/3"
    session.config.CopyFrom(struct_pb2.Struct())
    session.config.update({"lr": 0.0003, "layers": 4, "tokenizer": "byte", "nested": {"a": [1, 2]}})
    session.token_counts.CopyFrom(Session.Counts(requested=5000, succeeded=4800, failed=200))
    session.training_examples_before = 900
    session.training_examples_after = 1040
    session.best_model = "models/tiny-gpt/versions/3"
    session.model_performances.extend([
        Session.ModelPerformance(model="models/tiny-gpt/versions/3", wins=7, avg_quality=0.71, sample_count=10),
        Session.ModelPerformance(model="external/gpt-4o", wins=3, avg_quality=0.64, sample_count=10),
    ])
    session.storage_choices.append(Session.StorageChoice(artifact="checkpoints",
                                                         mode=Session.StorageChoice.MODE_IN_MEMORY))
    session.metrics.update({"val_loss": 1.234, "perplexity": 3.43, "recall_at_5": 0.8})
    return session


async def record_many(stub: HistoryServiceStub, sessions: list[Session], concurrency: int = 16) -> list[Session]:
    """Record sessions concurrently (each with its own session id); returns them as stored, in input order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(session: Session) -> Session:
        async with gate:
            return await stub.RecordSession(hs.RecordSessionRequest(session=session, session_id=str(uuid.uuid4())))

    return list(await asyncio.gather(*(one(s) for s in sessions)))


def without_output(session: Session) -> Session:
    """A copy with the server-set fields cleared."""
    copy = Session()
    copy.CopyFrom(session)
    for name in ("name", "create_time", "update_time", "revision"):
        copy.ClearField(name)
    return copy
