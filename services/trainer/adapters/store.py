"""The trainer's database: jobs, their sequenced event log, checkpoints, and an in-memory fan-out.

Every change to a job is an event appended under the job's lock: the events, the job row (a fold over its
events) and the side effects (checkpoint rows, retention, outbox messages) commit in one transaction, and
only then are the events published to watchers. Worker events arrive in batches (one transaction per batch,
not per step), which is what keeps the log off the training loop's hot path.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.kit.db import Database
from lathe.kit.errors import NotFound
from lathe.trainer.v1 import training_event_pb2, training_job_pb2
from services.trainer.adapters.tables import checkpoints, training_events, training_jobs
from services.trainer.domain import events as domain
from services.trainer.domain.config import metric_goal_minimizes

TrainingJob = training_job_pb2.TrainingJob
Event = training_event_pb2.TrainingEvent
State = TrainingJob.State
RING = 4096

SideEffect = Callable[[AsyncSession, TrainingJob, list[Event]], Awaitable[None]]


def job_id_of(name: str) -> str:
    """The id of ``trainingJobs/{id}``."""
    return name.split("/", 1)[1]


def now_ts() -> Timestamp:
    """The current time as a Timestamp."""
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


def session_uuid(job_name: str) -> str:
    """A stable version-4-form UUID per job: the history session id and outbox key, so redelivery never
    records a second session."""
    return str(uuid.UUID(bytes=hashlib.sha256(job_name.encode()).digest()[:16], version=4))


@dataclass
class JobChannel:
    """The committed tail of one job's log, for watchers: a ring of recent events and a change signal."""

    last_sequence: int = 0
    terminal: bool = False
    ring: collections.deque = field(default_factory=lambda: collections.deque(maxlen=RING))
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, events: list[Event], terminal: bool) -> None:
        self.ring.extend(events)
        if events:
            self.last_sequence = events[-1].sequence
        self.terminal = terminal
        signal, self.changed = self.changed, asyncio.Event()
        signal.set()

    def after(self, sequence: int) -> list[Event] | None:
        """Events after ``sequence`` from the ring; None when the ring no longer reaches back that far."""
        if sequence >= self.last_sequence:
            return []
        if not self.ring or self.ring[0].sequence > sequence + 1:
            return None
        return [e for e in self.ring if e.sequence > sequence]


class JobStore:
    """Jobs, events and checkpoints in the trainer database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._locks: dict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        # The jobs this trainer holds the lease of (their worker's events are appended here) and their latest
        # state: only those are cached, since a job another replica runs changes without this one hearing of it.
        self._held: set[str] = set()
        self._cache: dict[str, tuple[TrainingJob, int]] = {}
        self._channels: dict[str, JobChannel] = {}
        self.side_effects: list[SideEffect] = []

    # ------------------------------------------------------------------ reads

    async def get(self, job_id: str) -> tuple[TrainingJob, str, int]:
        """The job, its owner and its current attempt; NOT_FOUND if it does not exist."""
        if job_id in self._cache:
            job, attempt = self._cache[job_id]
            copy = TrainingJob()
            copy.CopyFrom(job)
            return copy, job.owner, attempt
        async with self._db.sessions() as session:
            row = (await session.execute(select(training_jobs.c.resource, training_jobs.c.owner,
                                                training_jobs.c.attempt)
                                         .where(training_jobs.c.job_id == job_id))).first()
        if row is None:
            raise NotFound(f"trainingJobs/{job_id} does not exist", reason="TRAINING_JOB_NOT_FOUND",
                           metadata={"name": f"trainingJobs/{job_id}"})
        return TrainingJob.FromString(row.resource), row.owner, row.attempt

    async def exists(self, job_id: str) -> bool:
        """Whether a job with this id exists."""
        async with self._db.sessions() as session:
            return (await session.execute(select(training_jobs.c.job_id)
                                          .where(training_jobs.c.job_id == job_id))).first() is not None

    async def jobs_in(self, states: list[int]) -> list[tuple[str, int, int]]:
        """``(job_id, priority, attempt)`` of jobs in ``states``, highest priority then oldest first."""
        async with self._db.sessions() as session:
            rows = (await session.execute(
                select(training_jobs.c.job_id, training_jobs.c.priority, training_jobs.c.attempt)
                .where(training_jobs.c.state.in_(states))
                .order_by(training_jobs.c.priority.desc(), training_jobs.c.create_time, training_jobs.c.job_id)
            )).all()
        return [(r.job_id, r.priority, r.attempt) for r in rows]

    async def queue_position(self, session: AsyncSession, priority: int) -> int:
        """How many queued jobs would start before a new one of ``priority``."""
        return int((await session.execute(select(func.count()).select_from(training_jobs).where(
            training_jobs.c.state == State.STATE_QUEUED, training_jobs.c.priority >= priority))).scalar_one())

    async def list_jobs(self, where: list[Any], order: list[Any], limit: int) -> list[TrainingJob]:
        """A page of jobs matching ``where`` in ``order``."""
        async with self._db.sessions() as session:
            rows = (await session.execute(select(training_jobs.c.job_id, training_jobs.c.resource)
                                          .where(and_(*where)).order_by(*order).limit(limit))).all()
        out = []
        for row in rows:
            cached = self._cache.get(row.job_id)
            out.append(cached[0] if cached else TrainingJob.FromString(row.resource))
        return out

    async def read_events(self, job_id: str, after: int, limit: int, *, descending: bool = False,
                          where: list[Any] | None = None) -> list[Event]:
        """Up to ``limit`` events after sequence ``after`` (before it when ``descending``)."""
        t = training_events
        clauses = [t.c.job_id == job_id, t.c.sequence < after if descending else t.c.sequence > after,
                   *(where or [])]
        async with self._db.sessions() as session:
            rows = (await session.execute(select(t.c.payload).where(and_(*clauses))
                                          .order_by(t.c.sequence.desc() if descending else t.c.sequence)
                                          .limit(limit))).all()
        return [Event.FromString(r.payload) for r in rows]

    async def last_checkpoint(self, job_id: str) -> dict[str, Any] | None:
        """The latest retained checkpoint of the job (what a restart resumes from)."""
        c = checkpoints
        async with self._db.sessions() as session:
            row = (await session.execute(select(c.c.step, c.c.uri, c.c.sha256).where(
                c.c.job_id == job_id, c.c.deleted.is_(False)).order_by(c.c.step.desc()).limit(1))).first()
        if row is None:
            return None
        return {"step": row.step, "uri": row.uri, "sha256": row.sha256,
                "name": f"trainingJobs/{job_id}/checkpoints/step-{row.step:09d}"}

    async def channel(self, job_id: str) -> JobChannel:
        """The job's fan-out channel (created from the database on first use)."""
        if job_id not in self._channels:
            job, _, _ = await self.get(job_id)
            if job_id not in self._channels:
                self._channels[job_id] = JobChannel(last_sequence=job.last_event_sequence,
                                                    terminal=job.state in domain.TERMINAL)
        return self._channels[job_id]

    # ------------------------------------------------------------------ writes

    async def create(self, job: TrainingJob, attempt_after: Callable[[AsyncSession], Awaitable[None]]) -> TrainingJob:
        """Insert a new job with its first event (``job_queued``) in one transaction."""
        job_id = job_id_of(job.name)
        async with self._locks[job_id], self._db.sessions.begin() as session:
            position = await self.queue_position(session, job.scheduling.priority)
            event = Event(event_time=job.create_time, job_queued=Event.JobQueued(
                priority=job.scheduling.priority, queue_position=position))
            self._stamp(job, event, 1, 0)
            domain.apply(job, event)
            await session.execute(training_jobs.insert().values(
                job_id=job_id, owner=job.owner, state=job.state, recipe=job.recipe,
                priority=job.scheduling.priority, snapshot=job.snapshot,
                parent_model_version=job.parent_model_version, model_version="", labels=dict(job.labels),
                create_time=job.create_time.ToDatetime(UTC), update_time=job.create_time.ToDatetime(UTC),
                attempt=0, last_event_sequence=1, resource=job.SerializeToString()))
            await session.execute(training_events.insert().values(self._event_row(job_id, event)))
            await attempt_after(session)
        return job

    @staticmethod
    def _stamp(job: TrainingJob, event: Event, sequence: int, attempt: int) -> None:
        event.sequence = sequence
        event.name = f"{job.name}/events/{sequence}"
        event.attempt = attempt
        if not event.HasField("event_time"):
            event.event_time.CopyFrom(now_ts())

    @staticmethod
    def _event_row(job_id: str, event: Event) -> dict[str, Any]:
        return {"job_id": job_id, "sequence": event.sequence, "event_type": event.WhichOneof("payload") or "",
                "attempt": event.attempt, "event_time": event.event_time.ToDatetime(UTC),
                "payload": event.SerializeToString()}

    async def append(self, job_id: str, new_events: list[Event], *, attempt: int | None = None,
                     only_if: Callable[[TrainingJob], bool] | None = None,
                     runner: str | None = None) -> TrainingJob | None:
        """Append events to the job's log (and apply them) in one transaction; returns the job after them.

        ``attempt`` sets the job's current worker attempt first (a launch); ``only_if`` skips the append (and
        returns None) unless the job, read under the lock, satisfies it; so does ``runner`` unless that trainer
        still holds the job's claim (:meth:`claim`): a launch whose lease lapsed and was taken over meanwhile
        must not log a start, and the row lock makes the check and the start one step against a rival claim.
        """
        async with self._locks[job_id]:
            async with self._db.sessions.begin() as session:
                job, current_attempt, holder = await self._read_locked(session, job_id)
                if (only_if is not None and not only_if(job)) or (runner is not None and holder != runner):
                    return None
                if attempt is not None:
                    current_attempt = attempt
                sequence = job.last_event_sequence
                for event in new_events:
                    sequence += 1
                    self._stamp(job, event, sequence, current_attempt)
                    kind = event.WhichOneof("payload")
                    if kind == "checkpoint_saved":
                        await self._record_checkpoint(session, job, event)
                    domain.apply(job, event)
                for effect in self.side_effects:
                    await effect(session, job, new_events)
                if new_events:
                    await session.execute(training_events.insert(),
                                          [self._event_row(job_id, e) for e in new_events])
                values: dict[str, Any] = {
                    "state": job.state, "attempt": current_attempt, "last_event_sequence": job.last_event_sequence,
                    "update_time": job.update_time.ToDatetime(UTC), "model_version": job.model_version,
                    "resource": job.SerializeToString()}
                if job.HasField("start_time"):
                    values["start_time"] = job.start_time.ToDatetime(UTC)
                if job.HasField("end_time"):
                    values["end_time"] = job.end_time.ToDatetime(UTC)
                if job.state in domain.TERMINAL:
                    values["lease_expire_time"] = None  # an ended job needs no claim (its runner stays on record)
                await session.execute(update(training_jobs).where(training_jobs.c.job_id == job_id).values(**values))
            terminal = job.state in domain.TERMINAL
            if terminal or job_id not in self._held:
                self._cache.pop(job_id, None)
            else:
                self._cache[job_id] = (job, current_attempt)
            channel = await self.channel(job_id)
            channel.publish(new_events, terminal)
            copy = TrainingJob()
            copy.CopyFrom(job)
            return copy

    async def _read_locked(self, session: AsyncSession, job_id: str) -> tuple[TrainingJob, int, str | None]:
        """The job, its attempt and its runner as committed, its row locked until ``session`` ends (PostgreSQL;
        SQLite serializes writers anyway): a replica sharing the database may have appended since this one cached
        it, and two appends must never number their events alike."""
        t = training_jobs
        row = (await session.execute(select(t.c.resource, t.c.attempt, t.c.last_event_sequence, t.c.runner)
                                     .where(t.c.job_id == job_id).with_for_update())).first()
        if row is None:
            raise NotFound(f"trainingJobs/{job_id} does not exist", reason="TRAINING_JOB_NOT_FOUND",
                           metadata={"name": f"trainingJobs/{job_id}"})
        cached = self._cache.get(job_id)
        if cached is not None and cached[0].last_event_sequence == row.last_event_sequence:
            job = TrainingJob()
            job.CopyFrom(cached[0])
            return job, cached[1], row.runner
        return TrainingJob.FromString(row.resource), row.attempt, row.runner

    # ------------------------------------------------------------------ leases (which trainer runs a job)

    async def claim(self, job_id: str, runner: str, states: list[int], lease_seconds: float) -> bool:
        """Make ``runner`` the job's runner for ``lease_seconds`` if the job is in ``states`` and unclaimed, or
        claimed by ``runner`` already, or its lease has expired (its runner died); False when another live
        trainer holds it or the job has moved on. One conditional UPDATE, so of two trainers racing for a job
        exactly one wins."""
        t = training_jobs
        now = utcnow()
        async with self._db.sessions.begin() as session:
            result = await session.execute(update(t).where(
                t.c.job_id == job_id, t.c.state.in_(states),
                or_(t.c.runner.is_(None), t.c.runner == runner, t.c.lease_expire_time.is_(None),
                    t.c.lease_expire_time < now))
                .values(runner=runner, lease_expire_time=now + timedelta(seconds=lease_seconds)))
        self._cache.pop(job_id, None)  # another runner may have written the job since this trainer cached it
        if result.rowcount != 1:
            self._held.discard(job_id)
            return False
        self._held.add(job_id)
        return True

    async def renew(self, runner: str, job_ids: list[str], lease_seconds: float) -> dict[str, tuple[int, str]]:
        """Extend ``runner``'s leases on ``job_ids`` (those it still holds and that have not ended); returns
        ``job_id -> (state, runner)`` of each of them as it is now, so the caller sees the ones it lost."""
        if not job_ids:
            return {}
        t = training_jobs
        now = utcnow()
        async with self._db.sessions.begin() as session:
            await session.execute(update(t).where(
                t.c.job_id.in_(job_ids), t.c.runner == runner, t.c.state.not_in(list(domain.TERMINAL)))
                .values(lease_expire_time=now + timedelta(seconds=lease_seconds)))
            rows = (await session.execute(select(t.c.job_id, t.c.state, t.c.runner, t.c.last_event_sequence)
                                          .where(t.c.job_id.in_(job_ids)))).all()
        for row in rows:
            cached = self._cache.get(row.job_id)
            if cached is not None and cached[0].last_event_sequence != row.last_event_sequence:
                self._cache.pop(row.job_id, None)  # another replica appended to it (a cancel, say)
            if row.runner != runner or row.state in domain.TERMINAL:
                self._held.discard(row.job_id)
                self._cache.pop(row.job_id, None)
        return {r.job_id: (r.state, r.runner or "") for r in rows}

    async def runs_elsewhere(self, job_id: str, runner: str) -> bool:
        """Whether a trainer other than ``runner`` holds a live lease on the job."""
        t = training_jobs
        async with self._db.sessions() as session:
            row = (await session.execute(select(t.c.runner, t.c.lease_expire_time)
                                         .where(t.c.job_id == job_id))).first()
        return row is not None and row.runner not in (None, runner) and row.lease_expire_time is not None \
            and _aware(row.lease_expire_time) > utcnow()

    async def claimable(self, states: list[int], runner: str) -> list[str]:
        """Jobs in ``states`` that ``runner`` may claim: its own, unclaimed ones, and those whose lease has
        expired; highest priority then oldest first."""
        t = training_jobs
        async with self._db.sessions() as session:
            rows = (await session.execute(
                select(t.c.job_id).where(t.c.state.in_(states), or_(
                    t.c.runner.is_(None), t.c.runner == runner, t.c.lease_expire_time.is_(None),
                    t.c.lease_expire_time < utcnow()))
                .order_by(t.c.priority.desc(), t.c.create_time, t.c.job_id))).all()
        return [r.job_id for r in rows]

    async def _record_checkpoint(self, session: AsyncSession, job: TrainingJob, event: Event) -> None:
        """Insert the checkpoint row and apply the retention policy, naming the dropped ones on the event."""
        c = checkpoints
        job_id = job_id_of(job.name)
        saved = event.checkpoint_saved.checkpoint
        policy = job.options.checkpoint_policy
        best_value = saved.metrics.get(policy.best_metric) if saved.is_best else None
        existing = (await session.execute(select(c.c.step).where(c.c.job_id == job_id, c.c.step == saved.step))).first()
        values = {"epoch": saved.epoch, "uri": saved.uri, "sha256": saved.sha256, "size_bytes": saved.size_bytes,
                  "metrics": dict(saved.metrics), "best_value": best_value, "is_best": saved.is_best,
                  "deleted": False, "create_time": saved.create_time.ToDatetime(UTC)}
        if existing is None:
            await session.execute(c.insert().values(job_id=job_id, step=saved.step, **values))
        else:  # a restarted attempt saved the same step again
            await session.execute(update(c).where(c.c.job_id == job_id, c.c.step == saved.step).values(**values))
        if saved.is_best:
            await session.execute(update(c).where(c.c.job_id == job_id, c.c.step != saved.step).values(is_best=False))
        rows = (await session.execute(select(c.c.step, c.c.best_value).where(
            c.c.job_id == job_id, c.c.deleted.is_(False)))).all()
        keep = domain.retention([(r.step, r.best_value) for r in rows], keep_last=policy.keep_last,
                                keep_best=policy.keep_best,
                                minimize=metric_goal_minimizes(policy.best_metric, policy.best_metric_goal))
        dropped = sorted(r.step for r in rows if r.step not in keep)
        if dropped:
            await session.execute(update(c).where(c.c.job_id == job_id, c.c.step.in_(dropped)).values(deleted=True))
            event.checkpoint_saved.deleted_checkpoints.extend(
                f"{job.name}/checkpoints/step-{s:09d}" for s in dropped)

    async def list_checkpoints(self, job_id: str, where: list[Any], order: list[Any], limit: int) -> list[Any]:
        """Retained checkpoint rows of a job."""
        c = checkpoints
        async with self._db.sessions() as session:
            return list((await session.execute(select(c).where(c.c.job_id == job_id, c.c.deleted.is_(False),
                                                                *where).order_by(*order).limit(limit))).all())

    def forget(self) -> None:
        """Drop in-memory caches (service stop)."""
        self._cache.clear()
        self._held.clear()
        for channel in self._channels.values():
            channel.publish([], channel.terminal)


def utcnow() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """``moment`` as UTC-aware (SQLite hands back naive datetimes)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
