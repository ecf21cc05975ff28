"""Dynamic batching: concurrent requests to one model run as one batch.

A batch is dispatched when it holds ``max_batch_size`` requests or when its oldest request has waited
``max_queue_delay``, whichever comes first. With a delay of 0 nothing waits on purpose: the batch is
whatever queued while the model was busy with the previous one, so a lone request pays no delay and a
crowd is served in large batches. Batches run one at a time on the model's own worker thread (torch
uses its intra-op threads inside one batch; running two at once would only make them fight).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class DynamicBatcher(Generic[T, R]):
    """Feeds submitted items to ``run_batch`` (a blocking function) in batches, on one worker thread."""

    def __init__(self, run_batch: Callable[[list[T]], list[R]], *, max_batch_size: int,
                 max_queue_delay: float, name: str) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max(1, max_batch_size)
        self.max_queue_delay = max(0.0, max_queue_delay)
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"model-{name}")
        self._worker: asyncio.Task | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait for its result (raises the batch's exception)."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="dynamic-batcher")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def run_alone_fn(self, fn: Callable[..., R], *args: object) -> R:
        """Run ``fn(*args)`` on the model's thread, between batches (health checks)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _collect(self) -> list[tuple[T, asyncio.Future[R]]]:
        batch = [await self._queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_queue_delay
        while len(batch) < self.max_batch_size:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [(item, future) for item, future in await self._collect() if not future.cancelled()]
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, [i for i, _ in batch])
            except Exception as exc:  # the whole batch failed: every caller sees why
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self.items += len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        """Stop the worker, fail what is still queued, and release the thread."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            if not future.done():
                future.cancel()
        self._executor.shutdown(wait=False)
