"""The worker → service channel of rank 0's ``TrainingEvent`` frames.

A local worker writes length-prefixed serialized events on a pipe the scheduler reads (:class:`EventSink`).
A worker in a Kubernetes pod (a ``PyTorchJob`` the trainer submitted, see
:mod:`services.trainer.adapters.kubeflow`) has no pipe to the trainer: the pod's environment names the
trainer (``LATHE_TRAINER_ADDRESS``), the job (``LATHE_TRAINER_JOB``) and the service token
(``LATHE_SERVICE_TOKEN``), and :class:`RemoteEventSink` streams the same events to the trainer's
``ReportWorkerEvents`` RPC. :func:`open_sink` picks one of the two from the environment.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import queue
import struct
import sys
import threading
import time
from collections.abc import AsyncIterator, Mapping
from typing import BinaryIO

import grpc

from lathe.kit.clients import create_channel
from lathe.trainer.v1 import trainer_service_pb2, training_event_pb2, training_job_pb2
from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub

HEADER = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024
# The environment of a worker in a pod (rendered by kubeflow.render_pytorch_job).
ADDRESS_ENV = "LATHE_TRAINER_ADDRESS"
JOB_ENV = "LATHE_TRAINER_JOB"
TOKEN_ENV = "LATHE_SERVICE_TOKEN"
State = training_job_pb2.TrainingJob.State
# Job states in which the trainer wants the worker to stop at its next step.
STOP_STATES = frozenset({State.STATE_CANCELLING, State.STATE_CANCELLED, State.STATE_SUCCEEDED, State.STATE_FAILED})
# Refusals a reconnect cannot cure: the token is not a service's, the job is unknown or over, the attempt stale.
FINAL_CODES = frozenset({grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED,
                         grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION,
                         grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED})


def encode(event: training_event_pb2.TrainingEvent) -> bytes:
    """One frame: a 4-byte big-endian length, then the serialized event."""
    body = event.SerializeToString()
    return HEADER.pack(len(body)) + body


class EventSink:
    """Sends events from the training loop without blocking it: a queue drained by a writer thread.

    The loop only appends to an in-memory queue (microseconds); the thread writes frames to the pipe, so a
    slow reader on the other side delays delivery, never a training step.
    """

    def __init__(self, channel: BinaryIO) -> None:
        self._channel = channel
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._broken = False
        self._thread = threading.Thread(target=self._run, name="event-sink", daemon=True)
        self._thread.start()

    @property
    def broken(self) -> bool:
        """Whether the service end of the pipe went away (the worker should stop)."""
        return self._broken

    def emit(self, event: training_event_pb2.TrainingEvent) -> None:
        """Queue ``event`` for sending."""
        self._queue.put(encode(event))

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            frames = [frame]
            # Coalesce whatever else is queued into one write.
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._write(frames)
                    return
                frames.append(more)
            self._write(frames)

    def _write(self, frames: list[bytes]) -> None:
        if self._broken:
            return
        try:
            self._channel.write(b"".join(frames))
            self._channel.flush()
        except (BrokenPipeError, OSError):
            self._broken = True

    def close(self) -> None:
        """Send everything queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join()
        try:
            self._channel.close()
        except OSError:
            pass


class RemoteEventSink:
    """Streams the events to the trainer's ``ReportWorkerEvents`` RPC: rank 0's channel in a pod.

    The loop sees the :class:`EventSink` contract: ``emit`` only numbers the event (1, 2, 3, … per attempt)
    and keeps it in memory; a thread running its own asyncio loop streams what is kept, in batches, and
    forgets events only once the trainer acknowledges that it appended them. When the stream breaks (a
    trainer restart, a network fault) the thread reconnects with exponential backoff and resends every
    unacknowledged event; the trainer drops the ones it had already appended, so none is logged twice.

    ``broken`` turns true when the trainer asks the worker to stop (the job is cancelling or over) or
    refuses the stream for good (a stale attempt, an unknown job, a token without the service role): the
    loop then stops, as a local worker does when its pipe breaks. ``close`` sends what is left and waits
    for its acknowledgement, retrying for at most ``close_timeout`` seconds while the trainer is unreachable.
    """

    def __init__(self, address: str, token: str | None, job_name: str, attempt: int, *, batch: int = 256,
                 linger: float = 0.2, max_backoff: float = 10.0, close_timeout: float = 120.0) -> None:
        self._address = address
        self._token = token
        self._job_name = job_name
        self._attempt = attempt
        self._batch = batch
        self._linger = linger
        self._max_backoff = max_backoff
        self._close_timeout = close_timeout
        self._lock = threading.Lock()
        self._unacknowledged: collections.deque[tuple[int, training_event_pb2.TrainingEvent]] = collections.deque()
        self._numbered = 0
        self._acknowledged = 0
        self._closing = False
        self._broken = False
        self._loop = asyncio.new_event_loop()
        self._wake = asyncio.Event()
        self._thread = threading.Thread(target=self._serve, name="event-stream", daemon=True)
        self._thread.start()

    @property
    def broken(self) -> bool:
        """Whether the trainer asked the worker to stop, or refused its events for good."""
        return self._broken

    @property
    def acknowledged(self) -> int:
        """The number of the last event the trainer acknowledged."""
        return self._acknowledged

    def emit(self, event: training_event_pb2.TrainingEvent) -> None:
        """Number ``event`` and queue it for sending."""
        with self._lock:
            self._numbered += 1
            self._unacknowledged.append((self._numbered, event))
        self._signal()

    def close(self) -> None:
        """Send everything queued, wait for the trainer's acknowledgement (bounded), then stop the thread."""
        self._closing = True
        self._signal()
        self._thread.join(self._close_timeout + 30)

    def _signal(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has already finished
            self._loop.call_soon_threadsafe(self._wake.set)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._run())
        finally:
            self._loop.close()

    async def _run(self) -> None:
        channel = create_channel(self._address, token=self._token, default_timeout=None, retries=False)
        stub = TrainerServiceStub(channel)
        delay, gave_up_at = 0.2, None
        try:
            while not (self._closing and not self._unacknowledged):
                try:
                    await self._stream(stub)
                    delay = 0.2
                    continue
                except grpc.aio.AioRpcError as exc:
                    if exc.code() in FINAL_CODES:
                        self._broken = True
                        _say(f"the trainer refused this worker's events ({exc.code().name}): {exc.details()}")
                        return
                    _say(f"event stream to {self._address} broke ({exc.code().name}); retrying in {delay:.1f} s")
                if self._closing:
                    gave_up_at = gave_up_at or time.monotonic() + self._close_timeout
                    if time.monotonic() > gave_up_at:
                        _say(f"gave up: {len(self._unacknowledged)} events never reached the trainer")
                        return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
        finally:
            await channel.close()

    async def _stream(self, stub: TrainerServiceStub) -> None:
        """One stream: send the unacknowledged events, then new ones, until closed; read acknowledgements."""
        call = stub.ReportWorkerEvents(self._requests())
        async for response in call:
            with self._lock:
                while self._unacknowledged and self._unacknowledged[0][0] <= response.acknowledged_sequence:
                    self._unacknowledged.popleft()
                self._acknowledged = max(self._acknowledged, response.acknowledged_sequence)
            if response.job_state in STOP_STATES:
                self._broken = True

    async def _requests(self) -> AsyncIterator[trainer_service_pb2.ReportWorkerEventsRequest]:
        sent = self._acknowledged
        # The first request names the job and the attempt, with whatever is waiting (a resend after a reconnect).
        request = trainer_service_pb2.ReportWorkerEventsRequest(name=self._job_name, attempt=self._attempt)
        while True:
            with self._lock:
                batch = [(n, e) for n, e in self._unacknowledged if n > sent][:self._batch]
            if batch:
                request.first_sequence = batch[0][0]
                request.events.extend(e for _, e in batch)
                sent = batch[-1][0]
            if batch or request.name:
                yield request
                request = trainer_service_pb2.ReportWorkerEventsRequest()
                continue
            if self._closing:
                return  # half-close: the trainer acknowledges the rest and ends the stream
            self._wake.clear()
            with self._lock:
                waiting = any(n > sent for n, _ in self._unacknowledged)
            if not waiting and not self._closing:
                await self._wake.wait()
                if not self._closing:
                    await asyncio.sleep(self._linger)  # gather the events of a few steps into one append


def _say(message: str) -> None:
    print(f"lathe worker: {message}", file=sys.stderr, flush=True)


Sink = EventSink | RemoteEventSink


def open_sink(channel: BinaryIO, attempt: int, environ: Mapping[str, str] = os.environ) -> Sink:
    """Rank 0's event channel: a stream to the trainer when the environment names the job (a pod), else
    the pipe ``channel`` to the local scheduler."""
    job_name = environ.get(JOB_ENV, "")
    if not job_name:
        return EventSink(channel)
    address = environ.get(ADDRESS_ENV, "")
    if not address:
        raise ValueError(f"{JOB_ENV} is set but {ADDRESS_ENV} is not: the worker cannot reach the trainer")
    channel.close()
    return RemoteEventSink(address, environ.get(TOKEN_ENV) or None, job_name, attempt)
