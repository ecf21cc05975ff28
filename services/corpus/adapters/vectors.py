"""Embeddings as stored vectors: compute what is missing in batches, keep float32 arrays in the artifact store."""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lathe.kit.artifacts import ArtifactStore
from lathe.kit.db import Database
from services.corpus.adapters import store
from services.corpus.adapters.embedder import Embedder
from services.corpus.adapters.tables import answers, embeddings, questions, texts
from services.corpus.domain.content import EntityRef

ENTITY_TYPES = {"text": 1, "answer": 2, "question": 3}
# The tokenizer truncates at max_seq_length word pieces anyway; cutting a long text first spares tokenizing
# megabytes only to throw them away (16 KiB of characters is far more than 256 word pieces).
MAX_EMBED_CHARS = 16 * 1024


@dataclass(frozen=True)
class EmbedItem:
    """One entity to embed: its name, kind, content and content hash."""

    entity: str
    kind: str
    content: str
    content_sha256: str


def to_npy(array: np.ndarray) -> bytes:
    """A float32 array as ``.npy`` bytes (dtype and shape travel with the data)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


class VectorStore:
    """Computes, stores and reads embeddings."""

    def __init__(self, db: Database, embedder: Embedder, artifacts: ArtifactStore, *, chunk_size: int = 1024) -> None:
        self.db = db
        self.embedder = embedder
        self.artifacts = artifacts
        self.chunk_size = chunk_size
        self._arrays: OrderedDict[str, np.ndarray] = OrderedDict()

    async def missing(self, model: str, entities: Sequence[str]) -> list[str]:
        """The entities without an embedding by ``model``."""
        async with self.db.sessions() as session:
            have = await store.embedding_rows(session, model, entities)
        return [e for e in entities if e not in have]

    async def ensure(self, model: str, items: Sequence[EmbedItem],
                     on_progress: Callable[[int, int], Awaitable[None]] | None = None) -> int:
        """Compute and store the embeddings by ``model`` that ``items`` lack; returns how many were computed.

        Work goes in chunks, each stored in its own transaction, so an interrupted run keeps its progress.
        ``on_progress(done, total)`` is awaited after every chunk.
        """
        wanted = {i.entity: i for i in items}
        todo = [wanted[e] for e in await self.missing(model, list(wanted))]
        spec = self.embedder.spec(model)
        done = 0
        if on_progress:
            await on_progress(0, len(todo))
        for start in range(0, len(todo), self.chunk_size):
            part = todo[start:start + self.chunk_size]
            vectors = await self.embedder.encode(model, [i.content[:MAX_EMBED_CHARS] for i in part])
            ref = await asyncio.to_thread(self.artifacts.put_bytes, to_npy(vectors))
            when = store.now()
            rows = [{"entity": i.entity, "model": model, "entity_type": ENTITY_TYPES[i.kind],
                     "dimension": spec.dimension, "content_sha256": i.content_sha256, "artifact_uri": ref.uri,
                     "artifact_sha256": ref.sha256, "row_index": n, "create_time": when} for n, i in enumerate(part)]
            try:
                async with self.db.sessions.begin() as session:
                    await session.execute(embeddings.insert(), rows)
            except IntegrityError:
                # Someone embedded some of these meanwhile (a concurrent batch): keep theirs, store the rest.
                async with self.db.sessions.begin() as session:
                    have = await store.embedding_rows(session, model, [r["entity"] for r in rows])
                    fresh = [r for r in rows if r["entity"] not in have]
                    if fresh:
                        await session.execute(embeddings.insert(), fresh)
            done += len(part)
            if on_progress:
                await on_progress(done, len(todo))
        return done

    def vectors(self, uri: str, sha256: str) -> np.ndarray:
        """The array of an artifact, verified, with a small cache (synchronous: call in a thread)."""
        if uri in self._arrays:
            self._arrays.move_to_end(uri)
            return self._arrays[uri]
        array = np.load(io.BytesIO(self.artifacts.read_bytes(uri, expected_sha256=sha256)), allow_pickle=False)
        self._arrays[uri] = array
        while len(self._arrays) > 64:
            self._arrays.popitem(last=False)
        return array

    async def values(self, rows: Sequence[dict]) -> list[np.ndarray]:
        """The vectors of embedding rows."""
        def load() -> list[np.ndarray]:
            return [self.vectors(r["artifact_uri"], r["artifact_sha256"])[r["row_index"]] for r in rows]
        return await asyncio.to_thread(load)


async def load_items(db: Database, refs: Sequence[EntityRef]) -> dict[str, EmbedItem]:
    """The content of entities by name (entities that do not exist are absent)."""
    out: dict[str, EmbedItem] = {}
    by_kind: dict[str, list[EntityRef]] = {"text": [], "answer": [], "question": []}
    for ref in refs:
        by_kind[ref.kind].append(ref)
    async with db.sessions() as session:
        for part in store.chunks(by_kind["text"]):
            query = select(texts.c.id, texts.c.content, texts.c.content_sha256).where(
                texts.c.id.in_([r.id for r in part]))
            for row in (await session.execute(query)).all():
                out[f"texts/{row.id}"] = EmbedItem(f"texts/{row.id}", "text", row.content, row.content_sha256)
        for kind, table in (("answer", answers), ("question", questions)):
            for part in store.chunks(by_kind[kind]):
                query = select(table.c.id, table.c.cluster_id, table.c.content, table.c.content_sha256).where(
                    table.c.id.in_([r.id for r in part]))
                for row in (await session.execute(query)).all():
                    name = f"qaClusters/{row.cluster_id}/{kind}s/{row.id}"
                    out[name] = EmbedItem(name, kind, row.content, row.content_sha256)
    return out
