"""The worker → service channel: length-prefixed serialized ``TrainingEvent`` frames on a pipe."""

from __future__ import annotations

import queue
import struct
import threading
from typing import BinaryIO

from lathe.trainer.v1 import training_event_pb2

HEADER = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024


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
